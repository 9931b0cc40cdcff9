import { sql, type Kysely } from 'kysely';

/**
 * Parameters (amounts and thresholds by fiscal year, `parameters/*.yaml`) under the same four eyes as rules:
 * a process start stores a parameter file whose definition differs from the last stored one as a new draft
 * version (numbered by the engine, 1, 2, …); an author submits it, and a different person with the approver
 * role approves it, which puts it in force. Evaluation reads, for each parameter, its highest published
 * version — never a file.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('parameter_versions')
    .addColumn('parameter_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version >= 1`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('draft', 'awaiting-approval', 'published')`))
    .addColumn('definition', 'jsonb', (c) => c.notNull())
    .addColumn('source_file', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('submitted_by', 'text')
    .addColumn('submitted_at', 'timestamptz')
    .addColumn('approved_by', 'text')
    .addColumn('published_at', 'timestamptz')
    .addPrimaryKeyConstraint('parameter_versions_pkey', ['parameter_id', 'version'])
    .addCheckConstraint('parameter_versions_four_eyes', sql`approved_by is null or submitted_by is null or approved_by <> submitted_by`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('parameter_versions').execute();
}
