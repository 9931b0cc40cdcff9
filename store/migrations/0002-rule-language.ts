import { sql, type Kysely } from 'kysely';

// The attributes of the catalog (engine/rule-language/attribute-catalog.ts), the trigger
// date of each outreach, and cross-rule suppressions.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('residents')
    .addColumn('income_bracket', 'integer', (c) => c.check(sql`income_bracket between 1 and 8`))
    .addColumn('insurance_type', 'text')
    .addColumn('disability_certificate', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('moved_in_on', 'date')
    .execute();
  await db.schema.createIndex('residents_birth_date').on('residents').column('birth_date').execute();

  await db.schema.alterTable('outreach').addColumn('trigger_date', 'date').addColumn('member_id', 'text').execute();

  await db.schema
    .createTable('suppressions')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('household_id', 'text', (c) => c.notNull())
    // A purpose, or '*' for every purpose but the source's own.
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('source_outreach_id', 'text', (c) => c.notNull().references('outreach.id'))
    .addColumn('source_purpose', 'text', (c) => c.notNull())
    // Instants, not dates: they run on the outreach's clock (shortened in demos and tests).
    .addColumn('from_at', 'timestamptz', (c) => c.notNull())
    .addColumn('until_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('suppressions_once', ['source_outreach_id', 'purpose'])
    .execute();
  await db.schema.createIndex('suppressions_household').on('suppressions').columns(['household_id', 'until_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('suppressions').ifExists().execute();
  await db.schema.alterTable('outreach').dropColumn('trigger_date').dropColumn('member_id').execute();
  await db.schema.dropIndex('residents_birth_date').ifExists().execute();
  await db.schema
    .alterTable('residents')
    .dropColumn('income_bracket')
    .dropColumn('insurance_type')
    .dropColumn('disability_certificate')
    .dropColumn('moved_in_on')
    .execute();
}
