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
import { z } from 'zod';
import { ConfigError } from './engine-config';
import { readSecret } from './secrets';
import { processEnvironment } from './environment';
import { formatIssues } from '../foundation/zod-issues';

/**
 * What envconfig itself lets through and should not: it reads any TEMPORAL_TLS other than `true`/`1` as
 * off (a typo turns TLS off), and a client certificate without its key as no client certificate at all
 * (mTLS silently not used). An API key goes over TLS only, but to a loopback address (a local cluster).
 */
const onOff = z.enum(['true', 'false', '1', '0'], { error: 'expected true or false (or 1 or 0)' }).optional();
const TemporalEnvSchema = z
  .object({
    TEMPORAL_ADDRESS: z.string().trim().min(1, 'expected host:port').optional(),
    TEMPORAL_NAMESPACE: z.string().trim().min(1, 'expected a namespace name').optional(),
    TEMPORAL_TLS: onOff,
    TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: onOff,
    TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_CERT_DATA: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_KEY_DATA: z.string().min(1).optional(),
    TEMPORAL_API_KEY: z.string().min(1).optional(),
  })
  .superRefine((env, context) => {
    const cert = env.TEMPORAL_TLS_CLIENT_CERT_PATH ?? env.TEMPORAL_TLS_CLIENT_CERT_DATA;
    const key = env.TEMPORAL_TLS_CLIENT_KEY_PATH ?? env.TEMPORAL_TLS_CLIENT_KEY_DATA;
    if (cert && !key) context.addIssue({ code: 'custom', path: ['TEMPORAL_TLS_CLIENT_KEY_PATH'], message: 'a client certificate needs its key (mTLS)' });
    if (key && !cert) context.addIssue({ code: 'custom', path: ['TEMPORAL_TLS_CLIENT_CERT_PATH'], message: 'a client key needs its certificate (mTLS)' });
    const tlsOff = env.TEMPORAL_TLS === 'false' || env.TEMPORAL_TLS === '0';
    if (env.TEMPORAL_API_KEY && tlsOff && !isLoopback(env.TEMPORAL_ADDRESS)) {
      context.addIssue({ code: 'custom', path: ['TEMPORAL_TLS'], message: 'an API key is sent over TLS only (TLS may be off for a loopback address)' });
    }
  });

function isLoopback(address: string | undefined): boolean {
  const host = (address ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

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
  const checked = TemporalEnvSchema.safeParse(vars);
  if (!checked.success) throw new ConfigError(`Temporal connection settings: ${formatIssues(checked.error.issues, '').join('; ')}`);
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
