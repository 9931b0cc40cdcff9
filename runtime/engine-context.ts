import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngineConfig, type EngineConfig } from '../config/engine-config';
import { openDatabase, type DatabaseHandle } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { getOrCreateSetting } from '../db/engine-settings';
import { loadRuleSet, projectRuleSetOptions, type LoadedRule } from '../rule-language/load-rules';
import type { ParameterSet } from '../rule-language/parameters';
import { registerRules } from '../rule-language/rule-registry';
import { newLinkSecret, ResponseLinks } from '../outreach/response-links';
import { generateVapidKeys, type VapidKeys } from '../channels/web-push';
import { resolveVapidKeys } from '../channels/push-config';

export const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');

/** What every part of the engine shares: settings, the database, the rules, the keys. */
export interface EngineContext {
  config: EngineConfig;
  database: DatabaseHandle;
  rules: LoadedRule[];
  parameters: ParameterSet;
  links: ResponseLinks;
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
    await registerRules(database.db, rules, { parameters, templatesDir });
    const { keys: vapid } = await resolveVapidKeys(
      { VAPID_PUBLIC_KEY: config.vapidPublicKey, VAPID_PRIVATE_KEY: config.vapidPrivateKey },
      () => getOrCreateSetting<VapidKeys>(database.db, 'vapid-keys', () => generateVapidKeys(config.vapidSubject)),
      config.vapidSubject,
    );
    const secret = await getOrCreateSetting<string>(database.db, 'response-link-secret', newLinkSecret);
    return {
      config,
      database,
      rules,
      parameters,
      links: new ResponseLinks(secret, config.publicBaseUrl),
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
