import { sql, type Kysely } from 'kysely';

/**
 * Calling systems (the resident registry, the bounce mailbox, the print
 * vendor, auditors' tools) and the ward of each caseworker task.
 *
 * A client's secret is never stored: the row keeps a random salt, from which
 * the secret is derived with a pepper held outside the database
 * (CLIENT_SECRET_PEPPER), and a SHA-256 of the secret to check the derivation.
 * Someone who reads this table cannot sign a request.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('event-source', 'bounce-source', 'print-vendor', 'auditor')`))
    .addColumn('salt', 'text', (c) => c.notNull())
    .addColumn('secret_sha256', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    .execute();

  // The JWT ids a client used in the last minutes: a request replayed within
  // the token's validity is refused. Rows older than the window are pruned.
  await db.schema
    .createTable('api_client_request_ids')
    .addColumn('client_id', 'text', (c) => c.notNull().references('api_clients.id'))
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('api_client_request_ids_pk', ['client_id', 'jti'])
    .execute();
  await db.schema.createIndex('api_client_request_ids_expiry').on('api_client_request_ids').column('expires_at').execute();

  // A caseworker sees only the tasks of their wards: the task carries the ward
  // of the resident it is about, as it was when the task was opened.
  await db.schema.alterTable('caseworker_tasks').addColumn('ward', 'text').execute();
  await sql`update caseworker_tasks t set ward = r.ward from residents r where r.id = t.resident_id`.execute(db);
  await db.schema.createIndex('caseworker_tasks_ward_status').on('caseworker_tasks').columns(['ward', 'status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('caseworker_tasks_ward_status').execute();
  await db.schema.alterTable('caseworker_tasks').dropColumn('ward').execute();
  await db.schema.dropTable('api_client_request_ids').execute();
  await db.schema.dropTable('api_clients').execute();
}
