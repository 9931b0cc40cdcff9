import { sql, type Kysely } from 'kysely';

// SMTP answers, bounces and the transport that delivered.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('deliveries')
    // The SMTP transport (by name, never its URL: it may hold credentials) that accepted the notice.
    .addColumn('smtp_transport', 'text')
    // Every answer of every transport to every attempt, in order; kept apart from `detail`, which the ledger rewrites.
    .addColumn('smtp_answers', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  // Bounces find their notice by Message-ID.
  await db.schema.createIndex('deliveries_provider_ref').on('deliveries').column('provider_ref').execute();

  // One row per recipient of every delivery status notification received: duplicates are
  // recognised (a report posted twice changes nothing twice), unmatched ones are kept for review.
  await db.schema
    .createTable('email_bounces')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('report_key', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('diagnostic', 'text')
    .addColumn('reporting_mta', 'text')
    .addColumn('delivery_id', 'integer', (c) => c.references('deliveries.id'))
    .addColumn('resident_id', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('email_bounces_once', ['report_key', 'recipient'])
    .execute();
  await db.schema.createIndex('email_bounces_delivery').on('email_bounces').column('delivery_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('email_bounces').ifExists().execute();
  await db.schema.dropIndex('deliveries_provider_ref').ifExists().execute();
  await db.schema.alterTable('deliveries').dropColumn('smtp_answers').dropColumn('smtp_transport').execute();
}
