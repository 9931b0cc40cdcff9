/**
 * Caseworker follow-up tasks: the one place that opens, lists and closes them.
 * A task carries the ward of the resident it is about, so each ward works its
 * own queue and a caseworker sees only their wards.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { CaseworkerTask, CaseworkerTaskNote, Database } from './schema';
import type { OutreachRef, TaskKind, TaskOutcome } from './vocabulary';
import { writeAudit, writeAudits } from './audit';

export type { TaskKind, TaskOutcome };

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
  /** When the task is due (engine/casework/task-due.ts); absent: no due date (it is never escalated). */
  dueAt?: Date;
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
      due_at: request.dueAt ?? null,
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
  /** Only tasks covering a scheme of this rule (the lead's own or one merged into it). */
  ruleId?: string;
  kind?: TaskKind;
  /** Only open tasks past their due date (at `now`, default the database's clock). */
  overdue?: boolean;
  /** Only tasks assigned to this actor (`staff:<subject>`): "mine". */
  assignedTo?: string;
  /** Only tasks nobody took yet. */
  unassigned?: boolean;
  /** Only tasks escalated for being overdue (true), or never escalated (false). */
  escalated?: boolean;
  now?: Date;
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
  let query = db.selectFrom('caseworker_tasks as t').selectAll('t').where('t.merged_into', 'is', null);
  if (filter.status !== 'all') query = query.where('t.status', '=', filter.status);
  if (filter.wards) query = query.where('t.ward', 'in', [...filter.wards]);
  if (filter.kind) query = query.where('t.kind', '=', filter.kind);
  if (filter.ruleId) {
    const ruleId = filter.ruleId;
    query = query.where((eb) =>
      eb.or([
        eb('t.rule_id', '=', ruleId),
        eb.exists(eb.selectFrom('caseworker_tasks as m').select('m.id').whereRef('m.merged_into', '=', 't.id').where('m.rule_id', '=', ruleId)),
      ]),
    );
  }
  if (filter.overdue) {
    query = query.where('t.status', '=', 'open').where('t.due_at', '<', filter.now ?? sql<Date>`now()`);
  }
  if (filter.assignedTo !== undefined) query = query.where('t.assigned_to', '=', filter.assignedTo);
  if (filter.unassigned) query = query.where('t.assigned_to', 'is', null);
  if (filter.escalated !== undefined) query = query.where('t.escalated_at', filter.escalated ? 'is not' : 'is', null);
  const leads = await query
    // The queue's order: what is due first; tasks without a due date (opened before due dates existed) last.
    .orderBy(sql`t.due_at asc nulls last`)
    .orderBy('t.id')
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
 * the staff member who closed it; a merged one names its lead (detail.mergedInto). The note is kept once, on the lead;
 * the outcome on every row (ids and the outcome in the audit, never the note's text).
 */
export async function closeCaseworkerTask(
  db: Kysely<Database>,
  task: CaseworkerTask,
  actor: string,
  note: string | null,
  outcome: TaskOutcome | null = null,
): Promise<ClosedTask> {
  return inTransaction(db, async (tx) => {
    // The lock openCaseworkerTask takes: no task merges into this lead while it closes.
    await lockResidentTasks(tx, task.resident_id);
    const leadTaskId = task.merged_into ?? task.id;
    const closedAt = new Date();
    const closedColumns = ['id', 'resident_id', 'rule_id', 'rule_version', 'outreach_id', 'kind'] as const;
    const lead = await tx
      .updateTable('caseworker_tasks')
      .set({ status: 'closed', closed_at: closedAt, closed_by: actor, note, outcome })
      .where('id', '=', leadTaskId)
      .where('status', '=', 'open')
      .returning(closedColumns)
      .executeTakeFirst();
    const merged = await tx
      .updateTable('caseworker_tasks')
      .set({ status: 'closed', closed_at: closedAt, closed_by: actor, outcome })
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
        detail: { taskId: row.id, kind: row.kind, ...(outcome ? { outcome } : {}), ...detail },
      })),
    );
    return { leadTaskId, closedTaskIds: closed.map((c) => c.row.id) };
  });
}

/** What a change to a task found: the lead task it changed (a merged task's lead), or why it did not. */
export type TaskChange =
  { outcome: 'changed'; task: CaseworkerTask } | { outcome: 'closed'; task: CaseworkerTask } | { outcome: 'taken'; task: CaseworkerTask };

/** The task as the caseworker works it: the task itself, or the lead it was merged into. */
export async function leadTaskOf(db: Kysely<Database>, task: CaseworkerTask): Promise<CaseworkerTask> {
  if (task.merged_into === null) return task;
  return db.selectFrom('caseworker_tasks').selectAll().where('id', '=', task.merged_into).executeTakeFirstOrThrow();
}

/** A staff subject as the ID token names it, optionally written `staff:<subject>` (an assignee given by a person). */
export const STAFF_SUBJECT = /^(staff:)?[A-Za-z0-9._:@|+-]{1,200}$/;

/** The actor a staff subject stands for in tasks and the audit log: `staff:<subject>`. */
export function staffActorOf(subject: string): string {
  return subject.startsWith('staff:') ? subject : `staff:${subject}`;
}

/**
 * Assigns an open task (its lead, for a merged one) to `assignee` (`staff:<subject>`), audited under `actor` with
 * ids only. `onlyIfFree`: a claim, refused ('taken') when someone else holds it already. Closed tasks are not changed.
 */
export async function assignCaseworkerTask(
  db: Kysely<Database>,
  task: CaseworkerTask,
  actor: string,
  assignee: string,
  options: { onlyIfFree?: boolean } = {},
): Promise<TaskChange> {
  return inTransaction(db, async (tx) => {
    await lockResidentTasks(tx, task.resident_id);
    const lead = await tx
      .selectFrom('caseworker_tasks')
      .selectAll()
      .where('id', '=', task.merged_into ?? task.id)
      .executeTakeFirstOrThrow();
    if (lead.status !== 'open') return { outcome: 'closed', task: lead };
    if (options.onlyIfFree && lead.assigned_to !== null && lead.assigned_to !== assignee) return { outcome: 'taken', task: lead };
    if (lead.assigned_to === assignee) return { outcome: 'changed', task: lead };
    const updated = await tx
      .updateTable('caseworker_tasks')
      .set({ assigned_to: assignee, assigned_at: new Date() })
      .where('id', '=', lead.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(tx, {
      actor,
      action: options.onlyIfFree ? 'task-claimed' : 'task-assigned',
      residentId: lead.resident_id,
      ruleId: lead.rule_id,
      ruleVersion: lead.rule_version,
      outreachId: lead.outreach_id,
      detail: { taskId: lead.id, kind: lead.kind, assignedTo: assignee, ...(lead.assigned_to !== null ? { previouslyAssignedTo: lead.assigned_to } : {}) },
    });
    return { outcome: 'changed', task: updated };
  });
}

/** Adds a note to a task (its lead, for a merged one). The audit records that a note was written (its id), never its text. */
export async function addTaskNote(db: Kysely<Database>, task: CaseworkerTask, author: string, text: string): Promise<{ noteId: number; taskId: number }> {
  return inTransaction(db, async (tx) => {
    const lead = await leadTaskOf(tx, task);
    const note = await tx.insertInto('caseworker_task_notes').values({ task_id: lead.id, author, text }).returning('id').executeTakeFirstOrThrow();
    await writeAudit(tx, {
      actor: author,
      action: 'task-note-added',
      residentId: lead.resident_id,
      ruleId: lead.rule_id,
      ruleVersion: lead.rule_version,
      outreachId: lead.outreach_id,
      detail: { taskId: lead.id, kind: lead.kind, noteId: note.id },
    });
    return { noteId: note.id, taskId: lead.id };
  });
}

/** The notes of a task (of its lead, for a merged one), oldest first. */
export async function taskNotes(db: Kysely<Database>, task: CaseworkerTask): Promise<CaseworkerTaskNote[]> {
  const lead = await leadTaskOf(db, task);
  return db.selectFrom('caseworker_task_notes').selectAll().where('task_id', '=', lead.id).orderBy('id').execute();
}

/** The outreach an open lead task covers: its own and those of the open tasks merged into it (the lead's first). */
export async function openSchemesOfTask(db: Kysely<Database>, task: CaseworkerTask): Promise<string[]> {
  const leadId = task.merged_into ?? task.id;
  const rows = await db
    .selectFrom('caseworker_tasks')
    .select(['id', 'outreach_id'])
    .where((eb) => eb.or([eb('id', '=', leadId), eb('merged_into', '=', leadId)]))
    .where('status', '=', 'open')
    .orderBy('id')
    .execute();
  return rows.map((r) => r.outreach_id);
}

/**
 * Marks an open task escalated: it is past its due date (its follow-up workflow calls this at the due time).
 * Once only; the audit record (`task-escalated`, for the ward's supervisors) names the task, its ward and due date.
 * Answers whether the task is still open, and whether this call escalated it.
 */
export async function escalateCaseworkerTask(db: Kysely<Database>, taskId: number, actor = 'engine'): Promise<{ open: boolean; escalated: boolean }> {
  return inTransaction(db, async (tx) => {
    const row = await tx
      .updateTable('caseworker_tasks')
      .set({ escalated_at: new Date() })
      .where('id', '=', taskId)
      .where('status', '=', 'open')
      .where('escalated_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      const current = await tx.selectFrom('caseworker_tasks').select('status').where('id', '=', taskId).executeTakeFirst();
      return { open: current?.status === 'open', escalated: false };
    }
    await writeAudit(tx, {
      actor,
      action: 'task-escalated',
      residentId: row.resident_id,
      ruleId: row.rule_id,
      ruleVersion: row.rule_version,
      outreachId: row.outreach_id,
      detail: { taskId: row.id, kind: row.kind, ward: row.ward, dueAt: row.due_at?.toISOString() ?? null, assignedTo: row.assigned_to },
    });
    return { open: true, escalated: true };
  });
}

/** Sets the due date of a task that has none (a returned letter's, opened in its own transaction); answers the due date it has. */
export async function setTaskDueDate(db: Kysely<Database>, taskId: number, dueAt: Date): Promise<Date | null> {
  const set = await db
    .updateTable('caseworker_tasks')
    .set({ due_at: dueAt })
    .where('id', '=', taskId)
    .where('due_at', 'is', null)
    .returning('due_at')
    .executeTakeFirst();
  if (set) return set.due_at;
  const row = await db.selectFrom('caseworker_tasks').select('due_at').where('id', '=', taskId).executeTakeFirst();
  return row?.due_at ?? null;
}

/** Whether a task is open (false for a closed or unknown one). */
export async function isCaseworkerTaskOpen(db: Kysely<Database>, taskId: number): Promise<boolean> {
  const row = await db.selectFrom('caseworker_tasks').select('status').where('id', '=', taskId).executeTakeFirst();
  return row?.status === 'open';
}

/**
 * Deletes the tasks of the outreach selected by `outreachIds` (a subquery of outreach
 * ids). For clearing a generated population; the engine closes tasks, never deletes them.
 */
export async function deleteCaseworkerTasksOfOutreach(db: Kysely<Database>, outreachIds: RawBuilder<unknown>): Promise<void> {
  // A task that stays while the lead it was merged into goes becomes a task of its own (merged_into references the lead).
  await sql`update caseworker_tasks set merged_into = null
    where merged_into in (select id from caseworker_tasks where outreach_id in ${outreachIds}) and outreach_id not in ${outreachIds}`.execute(db);
  await sql`delete from caseworker_task_notes where task_id in (select id from caseworker_tasks where outreach_id in ${outreachIds})`.execute(db);
  await sql`delete from caseworker_tasks where outreach_id in ${outreachIds}`.execute(db);
}

/**
 * Retention and erasure: the free-text notes caseworkers wrote on the tasks of these outreach — the closing note
 * and the notes written while working them (they may name the resident) — are removed; the task, its kind,
 * outcome, who worked and closed it and when stay. Answers how many notes went.
 */
export async function removeTaskNotesOfOutreach(db: Kysely<Database>, outreachIds: readonly string[]): Promise<number> {
  if (outreachIds.length === 0) return 0;
  const result = await db
    .updateTable('caseworker_tasks')
    .set({ note: null })
    .where('outreach_id', 'in', [...outreachIds])
    .where('note', 'is not', null)
    .executeTakeFirst();
  const notes = await db
    .deleteFrom('caseworker_task_notes')
    .where('task_id', 'in', (eb) =>
      eb
        .selectFrom('caseworker_tasks')
        .select('id')
        .where('outreach_id', 'in', [...outreachIds]),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) + Number(notes.numDeletedRows);
}
