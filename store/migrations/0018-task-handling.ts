import { sql, type Kysely } from 'kysely';

/**
 * Caseworkers work their tasks: a due date (set when the task opens, from the rule's follow-up or the default),
 * who took it and when, the outcome it was closed with, when it was escalated for being overdue, and notes
 * written while working it. Notes are free text that may name the resident: retention and erasure clear them
 * (store/caseworker-tasks.ts removeTaskNotesOfOutreach), as they clear the closing note.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('caseworker_tasks')
    .addColumn('due_at', 'timestamptz')
    .addColumn('assigned_to', 'text')
    .addColumn('assigned_at', 'timestamptz')
    .addColumn('outcome', 'text', (c) => c.check(sql`outcome in ('reached-by-phone', 'visited', 'applied-at-counter', 'not-eligible', 'could-not-reach')`))
    .addColumn('escalated_at', 'timestamptz')
    .execute();
  // The queue sorts open tasks by due date.
  await db.schema.createIndex('caseworker_tasks_open_due').on('caseworker_tasks').columns(['ward', 'due_at']).where(sql.ref('status'), '=', 'open').execute();
  await db.schema
    .createTable('caseworker_task_notes')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('task_id', 'integer', (c) => c.notNull().references('caseworker_tasks.id'))
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('written_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('text', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('caseworker_task_notes_task').on('caseworker_task_notes').column('task_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('caseworker_task_notes').execute();
  await db.schema.dropIndex('caseworker_tasks_open_due').ifExists().execute();
  await db.schema
    .alterTable('caseworker_tasks')
    .dropColumn('escalated_at')
    .dropColumn('outcome')
    .dropColumn('assigned_at')
    .dropColumn('assigned_to')
    .dropColumn('due_at')
    .execute();
}
