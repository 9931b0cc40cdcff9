/**
 * The composition root: builds, once per process, what the service, the
 * worker and the command line share — settings, the database (migrated), the
 * rules, the keys, the Temporal client — so no entry point assembles them by hand.
 */
import { Client, Connection } from '@temporalio/client';
import { loadEngineConfig, type EngineConfig } from '../config/engine-config';
import { temporalConnectionSettings, type TemporalConnectionSettings } from '../config/temporal-connection';
import { openEngineContext, type EngineContext, type EngineContextOptions } from './engine-context';
import { readOrCreateLocalSecret } from '../config/secrets';
import { processEnvironment } from '../config/environment';

export interface Engine {
  context: EngineContext;
  config: EngineConfig;
  /** How to reach Temporal (the worker opens its own native connection with the same settings). */
  temporalSettings: TemporalConnectionSettings;
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
}

export async function createEngine(options: CreateEngineOptions = {}): Promise<Engine> {
  const env = options.env ?? processEnvironment();
  const config = options.config ?? loadEngineConfig(env);
  const temporalSettings = temporalConnectionSettings(env, options.temporalAddress ?? config.temporalAddress);
  const context = await openEngineContext({ ...options, config });
  let connection: Connection;
  try {
    connection = await Connection.connect(temporalSettings.options);
  } catch (error) {
    await context.close();
    throw error;
  }
  let clientSecretPepper: string | undefined;
  return {
    context,
    config,
    temporalSettings,
    temporal: new Client({ connection, namespace: temporalSettings.namespace }),
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
