/**
 * The composition root: builds, once per process, what the service, the
 * worker and the command line share — settings, the database (migrated), the
 * rules, the keys, the Temporal client — so no entry point assembles them by hand.
 */
import type { Client, Connection } from '@temporalio/client';
import { loadEngineConfig, type EngineConfig } from '../config/engine-config';
import type { PayloadKeyRing } from '../config/payload-keys';
import { connectTemporalClient, temporalSetup, type TemporalSetup } from './temporal-client';
import { openEngineContext, type EngineContext, type EngineContextOptions } from './engine-context';
import { readOrCreateLocalSecret } from '../config/secrets';
import { processEnvironment } from '../config/environment';

export interface Engine {
  context: EngineContext;
  config: EngineConfig;
  /** How to reach Temporal and the payload codec (the worker opens its own native connection with the same settings). */
  temporalSettings: TemporalSetup;
  temporal: Client;
  /**
   * Derives calling systems' secrets (service/auth/calling-systems.ts); from CLIENT_SECRET_PEPPER. Read on first use, so a
   * process that never authenticates a calling system (the worker) neither needs nor generates it.
   */
  readonly clientSecretPepper: string;
  close(): Promise<void>;
}

export interface CreateEngineOptions extends EngineContextOptions {
  env?: NodeJS.ProcessEnv;
  /** A Temporal frontend to use instead of TEMPORAL_ADDRESS (the demo's and the tests' own server). */
  temporalAddress?: string;
  warn?: (message: string) => void;
  /** Payload keys instead of PAYLOAD_KEYS (tests of key rotation). */
  payloadKeys?: PayloadKeyRing;
}

export async function createEngine(options: CreateEngineOptions = {}): Promise<Engine> {
  const env = options.env ?? processEnvironment();
  const config = options.config ?? loadEngineConfig(env);
  const temporalSettings = temporalSetup({
    env,
    address: options.temporalAddress ?? config.temporalAddress,
    dataDir: config.dataDir,
    warn: options.warn,
    ...(options.payloadKeys ? { payloadKeys: options.payloadKeys } : {}),
  });
  const context = await openEngineContext({ ...options, config });
  let connection: Connection;
  let temporal: Client;
  try {
    ({ connection, client: temporal } = await connectTemporalClient(temporalSettings));
  } catch (error) {
    await context.close();
    throw error;
  }
  let clientSecretPepper: string | undefined;
  return {
    context,
    config,
    temporalSettings,
    temporal,
    get clientSecretPepper() {
      clientSecretPepper ??= readOrCreateLocalSecret(env, 'CLIENT_SECRET_PEPPER', { dataDir: config.dataDir, warn: options.warn });
      return clientSecretPepper;
    },
    close: async () => {
      await connection.close();
      await context.close();
    },
  };
}
