import type { Kysely } from 'kysely';

// Foreign keys to residents without an index make every deleted resident scan these tables.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('push_subscriptions_resident').on('push_subscriptions').column('resident_id').execute();
  await db.schema.createIndex('life_events_resident').on('life_events').column('resident_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('life_events_resident').ifExists().execute();
  await db.schema.dropIndex('push_subscriptions_resident').ifExists().execute();
}
