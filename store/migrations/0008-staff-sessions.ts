import { sql, type Kysely } from 'kysely';

// Staff sign-in (OpenID Connect): server-side sessions and the short-lived state of a sign-in in progress.
// Neither table holds a secret in clear: the session id and the sign-in state are stored as sha256 hashes,
// the PKCE verifier and nonce only as a hash of what the browser's sign-in cookie carries.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('staff_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('roles', 'jsonb', (c) => c.notNull())
    .addColumn('wards', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The absolute end; the idle limit is counted from last_seen_at with the configured timeout.
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('staff_sessions_subject').on('staff_sessions').column('subject').execute();
  await db.schema.createIndex('staff_sessions_expires').on('staff_sessions').column('expires_at').execute();

  await db.schema
    .createTable('staff_login_states')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('cookie_hash', 'text', (c) => c.notNull())
    .addColumn('return_to', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('staff_login_states_expires').on('staff_login_states').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('staff_login_states').ifExists().execute();
  await db.schema.dropTable('staff_sessions').ifExists().execute();
}
