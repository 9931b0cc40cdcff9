/**
 * Caseworker follow-up tasks: the one place that opens, lists and closes them.
 * A task carries the ward of the resident it is about, so each ward works its
 * own queue and a caseworker sees only their wards.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { CaseworkerTask, Database } from './schema';
import type { OutreachRef, TaskKind } from './vocabulary';
import { writeAudit, writeAudits } from './audit';

export type { TaskKind };

export interface OpenTaskRequest extends OutreachRef {
  kind: TaskKind;
  actor: string;
  /** Added to the task-opened audit record (ids and enums only). */
  detail?: Record<string, unknown>;
  /**
   * Merged tasks (real ms; 0 or absent: never merged): an open task of its own of the same kind for the same
   * resident created less than this long ago takes the new one in (`merged_into`), so the caseworker sees one task.
   */
  mergeWindowMs?: number;
}

/**
 * Opens a task for an outreach; at most one per outreach and kind (a repeat returns the one there is). Every
 * outreach keeps its own row; within the merge window the row points at the resident's open lead task of that kind.
 */
export async function openCaseworkerTask(
  db: Kysely<Database>,
  request: OpenTaskRequest,
): Promise<{ taskId: number; created: boolean; mergedInto: number | null }> {
  const windowMs = request.mergeWindowMs ?? 0;
  if (!(windowMs > 0)) return insertTask(db, request, null);
  return inTransaction(db, async (tx) => {
    // Two outreach of one resident may open their tasks at the same instant: one at a time, so exactly one
    // becomes the lead. Closing takes the same lock, so no task merges into a lead closed meanwhile.
    await lockResidentTasks(tx, request.residentId);
    const lead = await tx
      .selectFrom('caseworker_tasks')
      .select('id')
      .where('resident_id', '=', request.residentId)
      .where('kind', '=', request.kind)
      .where('status', '=', 'open')
      .where('merged_into', 'is', null)
      .where('outreach_id', '!=', request.outreachId)
      // A ward works its own queue: a resident who moved ward meanwhile gets a new task there.
      .where(sql<boolean>`ward is not distinct from (select ward from residents where id = ${request.residentId})`)
      .where('created_at', '>', sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return insertTask(tx, request, lead?.id ?? null);
  });
}

async function insertTask(
  db: Kysely<Database>,
  request: OpenTaskRequest,
  mergedInto: number | null,
): Promise<{ taskId: number; created: boolean; mergedInto: number | null }> {
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
      merged_into: mergedInto,
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
      detail: { taskId: inserted.id, kind: request.kind, ...request.detail, ...(mergedInto !== null ? { mergedInto } : {}) },
    });
    return { taskId: inserted.id, created: true, mergedInto };
  }
  const existing = await db
    .selectFrom('caseworker_tasks')
    .select(['id', 'merged_into'])
    .where('outreach_id', '=', request.outreachId)
    .where('kind', '=', request.kind)
    .executeTakeFirstOrThrow();
  return { taskId: existing.id, created: false, mergedInto: existing.merged_into };
}

/** Serialises the task writes of one resident until the end of the transaction. */
async function lockResidentTasks(tx: Kysely<Database>, residentId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${'caseworker-tasks:' + residentId}))`.execute(tx);
}

/** Runs `work` in a transaction: the caller's when `db` is one already (letters returned open tasks in theirs), else a new one. */
async function inTransaction<T>(db: Kysely<Database>, work: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
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

/** One scheme a listed task covers: the outreach whose task it is (the lead's own or a task merged into it). */
export interface TaskScheme {
  taskId: number;
  outreachId: string;
  ruleId: string;
  ruleVersion: number;
}

/** A task as a caseworker sees it: a lead task (merged_into null) with every scheme it covers, its own first. */
export type ListedTask = CaseworkerTask & { schemes: TaskScheme[] };

/** Lead tasks only: a task merged into another is one of the schemes of its lead, listed and closed with it. */
export async function listCaseworkerTasks(db: Kysely<Database>, filter: TaskFilter): Promise<ListedTask[]> {
  if (filter.wards && filter.wards.length === 0) return [];
  let query = db.selectFrom('caseworker_tasks').selectAll().where('merged_into', 'is', null);
  if (filter.status !== 'all') query = query.where('status', '=', filter.status);
  if (filter.wards) query = query.where('ward', 'in', [...filter.wards]);
  const leads = await query
    .orderBy('id')
    .limit(filter.limit ?? 1000)
    .execute();
  if (leads.length === 0) return [];
  const merged = await db
    .selectFrom('caseworker_tasks')
    .select(['id', 'merged_into', 'outreach_id', 'rule_id', 'rule_version'])
    // One array parameter, however many leads: the command line lists every task.
    .where(sql<boolean>`merged_into = any(${leads.map((t) => t.id)}::integer[])`)
    .orderBy('id')
    .execute();
  return leads.map((lead) => ({
    ...lead,
    schemes: [lead, ...merged.filter((m) => m.merged_into === lead.id)].map((t) => ({
      taskId: t.id,
      outreachId: t.outreach_id,
      ruleId: t.rule_id,
      ruleVersion: t.rule_version,
    })),
  }));
}

export async function findCaseworkerTask(db: Kysely<Database>, taskId: number): Promise<CaseworkerTask | undefined> {
  return db.selectFrom('caseworker_tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
}

export interface ClosedTask {
  /** The lead task that was closed: the task itself, or the one it was merged into. */
  leadTaskId: number;
  /** Every task this call closed (the lead first, then its merged tasks); empty when the lead was closed already. */
  closedTaskIds: number[];
}

/**
 * Closes an open task with a note, together with the tasks merged into it: one task as the caseworker sees it.
 * Closing a merged task by its own id closes its lead (and so the whole task). Each closed row is audited under
 * the staff member who closed it; a merged one names its lead (detail.mergedInto). The note is kept once, on the lead.
 */
export async function closeCaseworkerTask(db: Kysely<Database>, task: CaseworkerTask, actor: string, note: string | null): Promise<ClosedTask> {
  return inTransaction(db, async (tx) => {
    // The lock openCaseworkerTask takes: no task merges into this lead while it closes.
    await lockResidentTasks(tx, task.resident_id);
    const leadTaskId = task.merged_into ?? task.id;
    const closedAt = new Date();
    const closedColumns = ['id', 'resident_id', 'rule_id', 'rule_version', 'outreach_id', 'kind'] as const;
    const lead = await tx
      .updateTable('caseworker_tasks')
      .set({ status: 'closed', closed_at: closedAt, closed_by: actor, note })
      .where('id', '=', leadTaskId)
      .where('status', '=', 'open')
      .returning(closedColumns)
      .executeTakeFirst();
    const merged = await tx
      .updateTable('caseworker_tasks')
      .set({ status: 'closed', closed_at: closedAt, closed_by: actor })
      .where('merged_into', '=', leadTaskId)
      .where('status', '=', 'open')
      .returning(closedColumns)
      .execute();
    merged.sort((a, b) => a.id - b.id);
    const closed = [
      ...(lead ? [{ row: lead, detail: { withNote: note !== null, ...(merged.length > 0 ? { closedWith: merged.map((m) => m.id) } : {}) } }] : []),
      ...merged.map((row) => ({ row, detail: { mergedInto: leadTaskId } })),
    ];
    await writeAudits(
      tx,
      closed.map(({ row, detail }) => ({
        actor,
        action: 'task-closed',
        residentId: row.resident_id,
        ruleId: row.rule_id,
        ruleVersion: row.rule_version,
        outreachId: row.outreach_id,
        detail: { taskId: row.id, kind: row.kind, ...detail },
      })),
    );
    return { leadTaskId, closedTaskIds: closed.map((c) => c.row.id) };
  });
}

/**
 * Deletes the tasks of the outreach selected by `outreachIds` (a subquery of outreach
 * ids). For clearing a generated population; the engine closes tasks, never deletes them.
 */
export async function deleteCaseworkerTasksOfOutreach(db: Kysely<Database>, outreachIds: RawBuilder<unknown>): Promise<void> {
  // A task that stays while the lead it was merged into goes becomes a task of its own (merged_into references the lead).
  await sql`update caseworker_tasks set merged_into = null
    where merged_into in (select id from caseworker_tasks where outreach_id in ${outreachIds}) and outreach_id not in ${outreachIds}`.execute(db);
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
