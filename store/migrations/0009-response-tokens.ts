import { sql, type Kysely } from 'kysely';

// Residents' response links: opaque random tokens (and the shorter codes printed
// on letters), stored only as HMAC-SHA256 of the token under a link key that
// lives outside the database, so a reader of this table can neither use a row
// nor test guesses against it. `key_id` names the key that made the hash, so
// rotated keys keep older links working until they expire. Expiry is not
// stored: it follows from outreach.ended_at and the configured grace.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('response_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('outreach_id', 'text', (c) => c.notNull().references('outreach.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('acknowledged', 'applied', 'not-for-me', 'stop')`))
    // link: the token in an email or push; code: typed from a letter; legacy: a signed link of the earlier format, carried over.
    .addColumn('form', 'text', (c) => c.notNull().check(sql`form in ('link', 'code', 'legacy')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Set on the token through which the resident answered.
    .addColumn('used_at', 'timestamptz')
    .execute();
  // "Answered once" looks at every token of the outreach.
  await db.schema.createIndex('response_tokens_outreach').on('response_tokens').column('outreach_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('response_tokens').ifExists().execute();
}
