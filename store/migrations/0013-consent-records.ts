import { sql, type Kysely } from 'kysely';

/**
 * Consent as a record (issue 12): every grant, change and withdrawal of a purpose, and every change of a
 * resident's contact preferences, is one append-only row of consent_history (when, through which
 * channel, the version of the purpose's wording the resident saw, an optional expiry, who recorded it).
 * `consents` stays the current state per resident and purpose — what the population SQL reads — with
 * the expiry and wording version of the grant in force. Existing consents are carried over as a
 * 'grant' entry (and a 'withdraw' entry where withdrawn) through the channel 'migrated'.
 *
 * Contact preferences on the resident: the channels wanted, in order (null = no preference), and quiet
 * hours (local Tokyo time, both or neither). One-click unsubscribe tokens of notice emails are kept
 * only as keyed hashes, like response links.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('consents')
    .addColumn('expires_on', 'date')
    .addColumn('wording_version', 'integer', (c) => c.check(sql`wording_version > 0`))
    .execute();

  await db.schema
    .createTable('consent_history')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('resident_id', 'text', (c) => c.notNull().references('residents.id').onDelete('cascade'))
    .addColumn('purpose', 'text')
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('grant', 'change', 'withdraw', 'preferences')`))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('wording_version', 'integer')
    .addColumn('expires_on', 'date')
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addCheckConstraint('consent_history_purpose', sql`(action = 'preferences') = (purpose is null)`)
    .execute();
  await db.schema.createIndex('consent_history_resident').on('consent_history').columns(['resident_id', 'id']).execute();
  // Append-only: the history is what the city shows when asked "when did I agree to this?".
  await sql`create or replace function consent_history_append_only() returns trigger language plpgsql as $$
    begin raise exception 'consent_history is append-only'; end $$`.execute(db);
  await sql`create trigger consent_history_no_update before update on consent_history
    for each row execute function consent_history_append_only()`.execute(db);

  await sql`insert into consent_history (resident_id, purpose, action, channel, recorded_by, recorded_at)
    select resident_id, purpose, 'grant', 'migrated', 'migration', granted_at from consents order by granted_at`.execute(db);
  await sql`insert into consent_history (resident_id, purpose, action, channel, recorded_by, recorded_at)
    select resident_id, purpose, 'withdraw', 'migrated', 'migration', withdrawn_at from consents where withdrawn_at is not null order by withdrawn_at`.execute(
    db,
  );

  await db.schema
    .alterTable('residents')
    .addColumn('contact_channels', 'jsonb')
    .addColumn('quiet_hours_start', 'text', (c) => c.check(sql`quiet_hours_start ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'`))
    .addColumn('quiet_hours_end', 'text', (c) => c.check(sql`quiet_hours_end ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'`))
    .execute();
  await sql`alter table residents add constraint residents_quiet_hours_both check ((quiet_hours_start is null) = (quiet_hours_end is null))`.execute(db);

  await db.schema
    .createTable('unsubscribe_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('resident_id', 'text', (c) => c.notNull().references('residents.id').onDelete('cascade'))
    .addColumn('outreach_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('unsubscribe_tokens_resident').on('unsubscribe_tokens').column('resident_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('unsubscribe_tokens').ifExists().execute();
  await sql`alter table residents drop constraint if exists residents_quiet_hours_both`.execute(db);
  await db.schema.alterTable('residents').dropColumn('contact_channels').dropColumn('quiet_hours_start').dropColumn('quiet_hours_end').execute();
  await db.schema.dropTable('consent_history').ifExists().execute();
  await sql`drop function if exists consent_history_append_only()`.execute(db);
  await db.schema.alterTable('consents').dropColumn('expires_on').dropColumn('wording_version').execute();
}
