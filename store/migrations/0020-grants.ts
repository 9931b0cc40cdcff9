import { sql, type Kysely } from 'kysely';

/**
 * Take-up (効果検証): the grants of the schemes the engine told residents about. A benefit system (a calling
 * system with the new client role `benefit-system`) or a caseworker records that the benefit an outreach was about
 * was granted; the take-up figures count them beside the answers.
 *
 * One grant per outreach (the primary key): recording the same grant again changes nothing, a changed date
 * updates the row (store/grants.ts, the only writer, audits the previous date).
 *
 * Retention: a grant holds ids and dates only — the outreach, a date, who recorded it (`client:<id>` or
 * `staff:<subject>`) — and no contact data, so the retention run and erasure leave it as they leave `outreach`.
 *
 * Numbered 0020: 0018 and 0019 are reserved for other work. The Migrator orders by name and only refuses a
 * migration named before the last one executed, so a database that ran 0020 first still takes 0018 and 0019 —
 * as long as they are merged before any installation runs 0020 (kysely refuses them afterwards without
 * `allowUnorderedMigrations`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('grants')
    .addColumn('outreach_id', 'text', (c) => c.primaryKey().references('outreach.id'))
    .addColumn('granted_on', 'date', (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('benefit-system', 'caseworker')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz')
    .execute();
  // Benefit systems report grants as calling systems of their own role.
  await sql`alter table api_clients drop constraint if exists api_clients_role_check`.execute(db);
  await sql`alter table api_clients add constraint api_clients_role_check check (role in ('event-source', 'bounce-source', 'print-vendor', 'auditor', 'benefit-system'))`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table api_clients drop constraint if exists api_clients_role_check`.execute(db);
  await sql`alter table api_clients add constraint api_clients_role_check check (role in ('event-source', 'bounce-source', 'print-vendor', 'auditor'))`.execute(
    db,
  );
  await db.schema.dropTable('grants').ifExists().execute();
}
