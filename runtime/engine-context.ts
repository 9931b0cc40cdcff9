import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngineConfig, type EngineConfig } from '../config/engine-config';
import { openDatabase, type DatabaseHandle } from '../store/connect';
import { migrateToLatest } from '../store/migrate';
import { loadRuleSet, projectRuleSetOptions, type LoadedRule } from '../engine/rule-language/load-rules';
import type { ParameterSet } from '../engine/rule-language/parameters';
import { registerRules } from '../engine/rule-language/rule-registry';
import { registerParameters } from '../engine/rule-language/parameter-registry';
import type { VapidKeys } from '../channels/push/web-push';
import { dropStoredVapidPrivateKey, installationVapidKeys, resolveVapidKeys, vapidEnvironment } from '../channels/push/push-config';
import { letterAddressProblem, loadLinkKeys, ResponseLinks } from '../engine/outreach/response-links';
import { processEnvironment } from '../config/environment';
import { loadOutreachIdKey, type OutreachIdKey } from '../engine/outreach/outreach-ids';

export const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');

/** What every part of the engine shares: settings, the database, the rules, the keys. */
export interface EngineContext {
  config: EngineConfig;
  database: DatabaseHandle;
  rules: LoadedRule[];
  parameters: ParameterSet;
  links: ResponseLinks;
  /** Makes the opaque outreach (workflow) ids of new outreach (engine/outreach/outreach-ids.ts). */
  outreachIdKey: OutreachIdKey;
  vapid: VapidKeys;
  rulesDir: string;
  templatesDir: string;
  close(): Promise<void>;
}

export interface EngineContextOptions {
  config?: EngineConfig;
  rulesDir?: string;
  templatesDir?: string;
  parametersDir?: string;
  /** The PGlite folder used when no DATABASE_URL is set. */
  pgliteDir?: string;
  /** Where the secrets are read from (`RESPONSE_LINK_KEYS`, `VAPID_PRIVATE_KEY_FILE`…); the process environment by default. */
  env?: NodeJS.ProcessEnv;
  /** Told when a secret is not configured and one is generated for this installation; stderr by default. */
  warn?: (message: string) => void;
}

/**
 * Opens the database (migrating it), loads and stores the rules, and reads the
 * engine's keys — creating the VAPID keys and the link secret on first run.
 */
export async function openEngineContext(options: EngineContextOptions = {}): Promise<EngineContext> {
  const config = options.config ?? loadEngineConfig();
  const rulesDir = options.rulesDir ?? join(PROJECT_ROOT, 'rules');
  const templatesDir = options.templatesDir ?? join(PROJECT_ROOT, 'templates');
  const defaults = projectRuleSetOptions(PROJECT_ROOT, [rulesDir]);
  const { rules, parameters } = loadRuleSet({ ...defaults, templatesDir, parametersDir: options.parametersDir ?? defaults.parametersDir });
  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: options.pgliteDir ?? join(config.dataDir, 'pgdata') });
  try {
    await migrateToLatest(database.db);
    // Parameters first: a rule version is approved only once the parameters it reads are in force.
    await registerParameters(database.db, parameters);
    await registerRules(database.db, rules, { parameters, templatesDir });
    // Secrets come from the environment or files it names, never from the
    // database; where none is configured, one is generated into the data
    // folder (0600) with a warning, and secrets earlier versions kept in
    // engine_settings are moved out.
    const env = options.env ?? processEnvironment();
    const warn = options.warn ?? ((message: string) => process.stderr.write(`[oshirase] warning: ${message}\n`));
    const { keys: vapid, source } = await resolveVapidKeys(
      vapidEnvironment({ VAPID_PUBLIC_KEY: config.vapidPublicKey, VAPID_PRIVATE_KEY: config.vapidPrivateKey }, env),
      () => installationVapidKeys(database.db, { dataDir: config.dataDir, subject: config.vapidSubject, warn }),
      config.vapidSubject,
    );
    if (source === 'environment') await dropStoredVapidPrivateKey(database.db);
    const linkKeys = await loadLinkKeys(database.db, env, { dataDir: config.dataDir, graceDays: config.responseLinkGraceDays, warn });
    const outreachIdKey = loadOutreachIdKey(env, { dataDir: config.dataDir, warn });
    const addressProblem = letterAddressProblem(config.publicBaseUrl);
    if (addressProblem) warn(addressProblem);
    return {
      config,
      database,
      rules,
      parameters,
      links: new ResponseLinks(database.db, linkKeys, config.publicBaseUrl, config.responseLinkGraceDays),
      outreachIdKey,
      vapid,
      rulesDir,
      templatesDir,
      close: () => database.close(),
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
