import { sql, type Kysely } from 'kysely';

/**
 * The register as the city's resident registry gives it: names in kana, the
 * date the residence status last changed (a move-out, a death), and the
 * relationships between residents that let one act or be told for another —
 * a parent or guardian of a child, a family carer, a legal representative.
 * A household stays what it was: the residents sharing a `household_id`
 * (世帯番号); it has no fact of its own to keep in a table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('residents')
    .addColumn('family_name_kana', 'text')
    .addColumn('given_name_kana', 'text')
    .addColumn('residence_status_on', 'date')
    .addColumn('updated_at', 'timestamptz')
    .execute();
  await db.schema
    .alterTable('residents')
    .addCheckConstraint('residents_residence_status', sql`residence_status in ('registered', 'moved-out', 'deceased')`)
    .execute();

  await db.schema
    .createTable('resident_relationships')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('guardian_of', 'carer_of', 'legal_representative_of')`))
    .addColumn('from_resident_id', 'text', (c) => c.notNull().references('residents.id'))
    .addColumn('to_resident_id', 'text', (c) => c.notNull().references('residents.id'))
    .addColumn('since', 'date')
    .addColumn('until', 'date')
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz')
    .addUniqueConstraint('resident_relationships_pair', ['kind', 'from_resident_id', 'to_resident_id'])
    .addCheckConstraint('resident_relationships_not_self', sql`from_resident_id <> to_resident_id`)
    .addCheckConstraint('resident_relationships_dates', sql`until is null or since is null or since <= until`)
    .execute();
  await db.schema.createIndex('resident_relationships_to').on('resident_relationships').column('to_resident_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('resident_relationships').ifExists().execute();
  await db.schema.alterTable('residents').dropConstraint('residents_residence_status').execute();
  await db.schema
    .alterTable('residents')
    .dropColumn('family_name_kana')
    .dropColumn('given_name_kana')
    .dropColumn('residence_status_on')
    .dropColumn('updated_at')
    .execute();
}
