/**
 * How the engine's processes reach the Temporal frontend: address,
 * namespace, TLS / mTLS and API key, through Temporal's own environment
 * configuration (`@temporalio/envconfig`: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_TLS, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH,
 * TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY,
 * or a TOML profile named by TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE), so the
 * same settings work for the `temporal` CLI and for the engine.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError } from './engine-config';
import { readSecret } from './secrets';
import { processEnvironment } from './environment';

export interface TemporalConnectionSettings {
  /** For `Connection.connect` (client) and `NativeConnection.connect` (worker): same fields. */
  options: NativeConnectionOptions & { address: string };
  namespace: string;
}

/** The connection settings from the environment; `address` overrides TEMPORAL_ADDRESS (the demo's own dev server). */
export function temporalConnectionSettings(env: NodeJS.ProcessEnv = processEnvironment(), address?: string): TemporalConnectionSettings {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) vars[key] = value;
  // The API key is a secret: TEMPORAL_API_KEY or a file named by TEMPORAL_API_KEY_FILE.
  const apiKey = readSecret(env, 'TEMPORAL_API_KEY');
  if (apiKey !== undefined) vars.TEMPORAL_API_KEY = apiKey;
  delete vars.TEMPORAL_API_KEY_FILE;
  if (address) vars.TEMPORAL_ADDRESS = address;
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    // No implicit config file: the engine's settings are its environment (a profile only when named).
    loaded = loadClientConnectConfig({ overrideEnvVars: vars, disableFile: vars.TEMPORAL_CONFIG_FILE === undefined });
  } catch (error) {
    throw new ConfigError(`Temporal connection settings: ${error instanceof Error ? error.message : String(error)}`);
  }
  const resolved = loaded.connectionOptions.address;
  if (!resolved) throw new ConfigError('TEMPORAL_ADDRESS is not set: point it at a Temporal frontend (host:port)');
  return { options: { ...loaded.connectionOptions, address: resolved }, namespace: loaded.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default' };
}
