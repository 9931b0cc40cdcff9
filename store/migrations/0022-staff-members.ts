import { sql, type Kysely } from 'kysely';

/**
 * The staff the service has seen sign in: the colleagues a task can be given to from the console. Who works
 * which ward is the identity provider's to say; this table only remembers what its claims said at each
 * person's last sign-in (roles and wards as mapped by config/staff-roles.yaml), so the console can offer
 * "a caseworker or supervisor of this task's ward" without asking the provider, which has no such query.
 *
 * Sessions (0008) are not that list: they are pruned a day after they end. One row a person, updated at every
 * sign-in. Staff data only (subject, display name, roles, wards, when): no resident's personal data.
 *
 * Numbered 0022, a number reserved for it, though 0024 was merged first: the Migrator orders by name and refuses
 * a pending migration named before one already executed, so a database that ran 0024 without this one does not
 * migrate further (kysely's `allowUnorderedMigrations` is not set). Fresh databases — the tests', a new
 * installation — take both in order.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('staff_members')
    .addColumn('subject', 'text', (c) => c.primaryKey())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('roles', 'jsonb', (c) => c.notNull())
    .addColumn('wards', 'jsonb', (c) => c.notNull())
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_signed_in_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // The console asks "who works this ward": a containment query on the wards list.
  await sql`create index staff_members_wards on staff_members using gin (wards)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('staff_members').ifExists().execute();
}
