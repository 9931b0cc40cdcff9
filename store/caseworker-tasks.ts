/**
 * Caseworker follow-up tasks: the one place that opens, lists and closes them.
 * A task carries the ward of the resident it is about, so each ward works its
 * own queue and a caseworker sees only their wards.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { CaseworkerTask, Database } from './schema';
import type { OutreachRef, TaskKind } from './vocabulary';
import { writeAudit } from './audit';

export type { TaskKind };

export interface OpenTaskRequest extends OutreachRef {
  kind: TaskKind;
  actor: string;
  /** Added to the task-opened audit record (ids and enums only). */
  detail?: Record<string, unknown>;
}

/** Opens a task for an outreach; at most one per outreach and kind (a repeat returns the open one). */
export async function openCaseworkerTask(db: Kysely<Database>, request: OpenTaskRequest): Promise<{ taskId: number; created: boolean }> {
  const inserted = await db
    .insertInto('caseworker_tasks')
    .values({
      outreach_id: request.outreachId,
      resident_id: request.residentId,
      rule_id: request.ruleId,
      rule_version: request.ruleVersion,
      kind: request.kind,
      status: 'open',
      ward: sql<string | null>`(select ward from residents where id = ${request.residentId})`,
    })
    .onConflict((oc) => oc.columns(['outreach_id', 'kind']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) {
    await writeAudit(db, {
      actor: request.actor,
      action: 'task-opened',
      residentId: request.residentId,
      ruleId: request.ruleId,
      ruleVersion: request.ruleVersion,
      outreachId: request.outreachId,
      detail: { taskId: inserted.id, kind: request.kind, ...request.detail },
    });
    return { taskId: inserted.id, created: true };
  }
  const existing = await findTaskOfOutreach(db, request.outreachId, request.kind);
  return { taskId: existing.id, created: false };
}

/** The task of one kind for an outreach (there is at most one); throws when there is none. */
export async function findTaskOfOutreach(db: Kysely<Database>, outreachId: string, kind: TaskKind): Promise<{ id: number }> {
  return db.selectFrom('caseworker_tasks').select('id').where('outreach_id', '=', outreachId).where('kind', '=', kind).executeTakeFirstOrThrow();
}

export interface TaskFilter {
  status: 'open' | 'closed' | 'all';
  /** Only these wards (a caseworker's); undefined for every ward. */
  wards?: readonly string[];
  limit?: number;
}

export async function listCaseworkerTasks(db: Kysely<Database>, filter: TaskFilter): Promise<CaseworkerTask[]> {
  if (filter.wards && filter.wards.length === 0) return [];
  let query = db.selectFrom('caseworker_tasks').selectAll();
  if (filter.status !== 'all') query = query.where('status', '=', filter.status);
  if (filter.wards) query = query.where('ward', 'in', [...filter.wards]);
  return query
    .orderBy('id')
    .limit(filter.limit ?? 1000)
    .execute();
}

export async function findCaseworkerTask(db: Kysely<Database>, taskId: number): Promise<CaseworkerTask | undefined> {
  return db.selectFrom('caseworker_tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
}

/** Closes an open task with a note; false when it was already closed. Audited under the staff member who closed it. */
export async function closeCaseworkerTask(db: Kysely<Database>, task: CaseworkerTask, actor: string, note: string | null): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const result = await tx
      .updateTable('caseworker_tasks')
      .set({ status: 'closed', closed_at: new Date(), closed_by: actor, note })
      .where('id', '=', task.id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await writeAudit(tx, {
      actor,
      action: 'task-closed',
      residentId: task.resident_id,
      ruleId: task.rule_id,
      ruleVersion: task.rule_version,
      outreachId: task.outreach_id,
      detail: { taskId: task.id, kind: task.kind, withNote: note !== null },
    });
    return true;
  });
}

/**
 * Deletes the tasks of the outreach selected by `outreachIds` (a subquery of outreach
 * ids). For clearing a generated population; the engine closes tasks, never deletes them.
 */
export async function deleteCaseworkerTasksOfOutreach(db: Kysely<Database>, outreachIds: RawBuilder<unknown>): Promise<void> {
  await sql`delete from caseworker_tasks where outreach_id in ${outreachIds}`.execute(db);
}

/**
 * Retention and erasure: the free-text notes caseworkers wrote when closing the tasks of these outreach
 * (they may name the resident) are removed; the task, its kind, who closed it and when stay.
 */
export async function removeTaskNotesOfOutreach(db: Kysely<Database>, outreachIds: readonly string[]): Promise<number> {
  if (outreachIds.length === 0) return 0;
  const result = await db
    .updateTable('caseworker_tasks')
    .set({ note: null })
    .where('outreach_id', 'in', [...outreachIds])
    .where('note', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
