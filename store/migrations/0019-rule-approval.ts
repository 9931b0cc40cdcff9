import { sql, type Kysely } from 'kysely';

/**
 * Four eyes on rules: a process start stores a new rule version as a draft and never publishes it; an author
 * submits it (`awaiting-approval`, `submitted_by`), and a different person with the approver role approves
 * it, which publishes it (`approved_by`, `published_at`). Versions published before keep their status;
 * `published_at` of a version not yet published is null from now on.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('rule_versions')
    .addColumn('submitted_by', 'text')
    .addColumn('submitted_at', 'timestamptz')
    .addColumn('approved_by', 'text')
    .execute();
  await db.schema
    .alterTable('rule_versions')
    .alterColumn('published_at', (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable('rule_versions')
    .alterColumn('published_at', (c) => c.dropDefault())
    .execute();
  await sql`update rule_versions set published_at = null where status = 'draft'`.execute(db);
  await db.schema
    .alterTable('rule_versions')
    .addCheckConstraint('rule_versions_status', sql`status in ('draft', 'awaiting-approval', 'published', 'withdrawn')`)
    .execute();
  await db.schema
    .alterTable('rule_versions')
    .addCheckConstraint('rule_versions_four_eyes', sql`approved_by is null or submitted_by is null or approved_by <> submitted_by`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('rule_versions').dropConstraint('rule_versions_four_eyes').execute();
  await db.schema.alterTable('rule_versions').dropConstraint('rule_versions_status').execute();
  await sql`update rule_versions set published_at = now() where published_at is null`.execute(db);
  await db.schema
    .alterTable('rule_versions')
    .alterColumn('published_at', (c) => c.setNotNull())
    .execute();
  await db.schema.alterTable('rule_versions').dropColumn('approved_by').dropColumn('submitted_at').dropColumn('submitted_by').execute();
}
