import { sql, type Kysely } from 'kysely';

// Population evaluation asks "who consented to purpose P" for a whole partition at once.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('consents_in_force').on('consents').columns(['purpose', 'resident_id']).where(sql.ref('withdrawn_at'), 'is', null).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('consents_in_force').ifExists().execute();
}
