import { sql, type Kysely } from 'kysely';

// print batches, letter cancellation and returned mail.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('residents')
    .addColumn('postal_status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('unverified')
        .check(sql`postal_status in ('unverified', 'valid', 'invalid')`),
    )
    .execute();

  await db.schema
    .createTable('print_batches')
    .addColumn('id', 'date', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('created')
        .check(sql`status in ('created', 'closing', 'handed-to-printer', 'posted')`),
    )
    .addColumn('cut_off_at', 'timestamptz', (c) => c.notNull())
    .addColumn('letter_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('page_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('merged_pdf_path', 'text')
    .addColumn('merged_pdf_sha256', 'text')
    .addColumn('manifest_path', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('handed_at', 'timestamptz')
    .addColumn('posted_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('letters')
    .addColumn('delivery_id', 'integer', (c) => c.primaryKey().references('deliveries.id'))
    .addColumn('reference', 'text', (c) => c.notNull().unique())
    .addColumn('batch_id', 'date', (c) => c.notNull().references('print_batches.id'))
    .addColumn('outreach_id', 'text', (c) => c.notNull().references('outreach.id'))
    .addColumn('resident_id', 'text', (c) => c.notNull().references('residents.id'))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('queued')
        .check(sql`status in ('queued', 'cancelled', 'printed', 'posted', 'returned')`),
    )
    .addColumn('postage_class', 'text', (c) =>
      c
        .notNull()
        .defaultTo('standard')
        .check(sql`postage_class in ('standard', 'registered')`),
    )
    .addColumn('postal_code', 'text', (c) => c.notNull())
    .addColumn('pages', 'integer', (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('pdf_path', 'text', (c) => c.notNull())
    .addColumn('content', 'jsonb', (c) => c.notNull())
    .addColumn('first_page', 'integer')
    .addColumn('last_page', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('printed_at', 'timestamptz')
    .addColumn('posted_at', 'timestamptz')
    .addColumn('returned_at', 'timestamptz')
    .addColumn('return_reason', 'text')
    .execute();
  // Closing a batch reads its queued letters; an ending outreach looks for its own.
  await db.schema.createIndex('letters_batch_status').on('letters').columns(['batch_id', 'status']).execute();
  await db.schema.createIndex('letters_outreach').on('letters').column('outreach_id').execute();
  await db.schema.createIndex('letters_resident').on('letters').column('resident_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('letters').ifExists().execute();
  await db.schema.dropTable('print_batches').ifExists().execute();
  await db.schema.alterTable('residents').dropColumn('postal_status').execute();
}
