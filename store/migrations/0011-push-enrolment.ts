import { sql, type Kysely } from 'kysely';

// Push enrolment: a browser subscribes for a resident only through a
// single-use token the resident received in a notice or from a caseworker at
// the counter. The token is 192 random bits, so its plain sha256 is enough to
// keep the table useless to a reader (no guess can be tested against it); the
// token itself is never stored. `issued_by` says where it came from:
// `notice:<outreach id>` or `staff:<subject>`.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('push_enrolments')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('resident_id', 'text', (c) => c.notNull().references('residents.id'))
    .addColumn('issued_by', 'text', (c) => c.notNull().check(sql`issued_by ~ '^(notice|staff):.+'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    // The subscription the token enrolled, for the audit trail's sake (kept when the browser unsubscribes).
    .addColumn('subscription_id', 'integer')
    .execute();
  await db.schema.createIndex('push_enrolments_resident').on('push_enrolments').column('resident_id').execute();
  // When the same browser last enrolled again (its keys refreshed, not counted as another device).
  await db.schema.alterTable('push_subscriptions').addColumn('refreshed_at', 'timestamptz').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('push_subscriptions').dropColumn('refreshed_at').execute();
  await db.schema.dropTable('push_enrolments').ifExists().execute();
}
