import { sql, type Kysely } from 'kysely';

/**
 * The outbox of workflow starts. An outreach row is stored (in the event's transaction) before its workflow
 * is started; a crash in between left a row that nothing ever started. `workflow_pending` is set with the
 * row by the engine's own writers (recordOutreach, the intake) and cleared once Temporal has the workflow
 * (started, or already started); the outbox sweeper starts what stays pending past a grace period.
 * Rows stored before this migration have their workflows: the default is false.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('outreach')
    .addColumn('workflow_pending', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`create index outreach_workflow_pending on outreach (started_at) where workflow_pending`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists outreach_workflow_pending`.execute(db);
  await db.schema.alterTable('outreach').dropColumn('workflow_pending').execute();
}
