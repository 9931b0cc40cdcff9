import type { Kysely } from 'kysely';

/**
 * One notice per recipient and moment. Notices due to the same recipient on the same channel within the
 * merge window go out as one message: the send that goes first (the lead) carries the others, whose own
 * ledger rows point at it (`deliveries.bundled_into`) and settle with it — so every outreach still finds its
 * own step in the ledger and ends on its own answer. Caseworker tasks of the same kind opened for the same
 * resident within the window become one task: the later ones point at the first (`merged_into`), are listed
 * with it, and close with it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('deliveries')
    .addColumn('bundled_into', 'integer', (c) => c.references('deliveries.id'))
    .execute();
  await db.schema.createIndex('deliveries_bundled_into').on('deliveries').column('bundled_into').where('bundled_into', 'is not', null).execute();
  await db.schema
    .alterTable('caseworker_tasks')
    .addColumn('merged_into', 'integer', (c) => c.references('caseworker_tasks.id'))
    .execute();
  await db.schema.createIndex('caseworker_tasks_merged_into').on('caseworker_tasks').column('merged_into').where('merged_into', 'is not', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('caseworker_tasks_merged_into').ifExists().execute();
  await db.schema.alterTable('caseworker_tasks').dropColumn('merged_into').execute();
  await db.schema.dropIndex('deliveries_bundled_into').ifExists().execute();
  await db.schema.alterTable('deliveries').dropColumn('bundled_into').execute();
}
