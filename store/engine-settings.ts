import type { Kysely } from 'kysely';
import type { Database } from './schema';

/**
 * Returns the stored value of an engine setting, creating it on first use.
 * Concurrent first uses agree on one value: the first insert wins.
 */
export async function getOrCreateSetting<T>(db: Kysely<Database>, key: string, create: () => T): Promise<T> {
  const existing = await db.selectFrom('engine_settings').select('value').where('key', '=', key).executeTakeFirst();
  if (existing) return existing.value as T;
  await db
    .insertInto('engine_settings')
    .values({ key, value: JSON.stringify(create()) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const stored = await db.selectFrom('engine_settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return stored.value as T;
}
