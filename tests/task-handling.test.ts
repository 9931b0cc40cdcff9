/**
 * Caseworkers work their tasks, on the real PostgreSQL, Temporal and HTTP service: a task the engine opens is
 * due when its rule's follow-up says (plan days on the tests' fast clock) and starts its follow-up workflow;
 * caseworkers claim, assign, write notes and close with an outcome, in their own wards only; "applied at the
 * counter" answers the running outreach; a task still open at its due date is escalated by its workflow, and one
 * closed before is not. Nothing asserts a duration: the tests wait for states and compare orders.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { makeOpenCaseworkerTask } from '../activities/open-caseworker-task';
import { TASKS_CLAIM, TASKS_CLOSE, TASKS_LIST, TASKS_NOTE } from '../cli/task-commands';
import { closeTaskWithOutcome } from '../engine/casework/close-task';
import { taskFollowUpWorkflowId, type TaskFollowUpResult } from '../engine/casework/task-contract';
import { followUpTask } from '../engine/casework/task-follow-up';
import { DEFAULT_TASK_DUE_DAYS, taskDueAt } from '../engine/casework/task-due';
import { findCaseworkerTask, openCaseworkerTask, removeTaskNotesOfOutreach } from '../store/caseworker-tasks';
import { addDays, todayInTokyo } from '../foundation/tokyo-calendar';
import { capturingContext } from './support/command-context';
import { outreachRow } from './support/rows';
import { TestEngine, outreachIdOf, waitFor, type TestResident } from './support/test-engine';
import { startTestService, tableCounts, type TestService } from './support/test-service';

/** The engine's plan day: a task is due DEFAULT_TASK_DUE_DAYS of them (7.5 s) after it opens. */
const MS_PER_DAY = 1500;

let engine: TestEngine;
let svc: TestService;
beforeAll(async () => {
  engine = await TestEngine.start({ env: { OSHIRASE_MS_PER_DAY: String(MS_PER_DAY) } });
  svc = await startTestService(engine, { msPerDay: 60_000, staffSignIn: true });
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop({ terminateRunning: true });
});

interface Scheme {
  outreachId: string;
  ruleId: string;
  ruleVersion: number;
  residentId: string;
}

async function residentIn(ward: string): Promise<TestResident> {
  const resident = await engine.addResident({ consents: ['child-benefits'] });
  await engine.db.updateTable('residents').set({ ward }).where('id', '=', resident.id).execute();
  return resident;
}

/** An outreach row without a workflow (the task is the subject). */
async function outreachOf(resident: TestResident, ruleId = 'child-allowance'): Promise<Scheme> {
  const outreachId = `${ruleId}:${resident.id}:${randomUUID().slice(0, 8)}`;
  await engine.db
    .insertInto('outreach')
    .values(outreachRow(outreachId, resident.id, { rule_id: ruleId, status: 'no-response' }))
    .execute();
  return { outreachId, ruleId, ruleVersion: 2, residentId: resident.id };
}

/** A task opened as the engine opens it: due date and follow-up workflow. */
async function engineTask(scheme: Scheme) {
  const { deps, close } = engine.activityDeps();
  onTestFinished(close);
  return makeOpenCaseworkerTask(deps)({ ...scheme, kind: 'no-response' });
}

/** A task without a follow-up (as a returned letter opens one): the API's subject. */
async function plainTask(ward: string) {
  const resident = await residentIn(ward);
  const scheme = await outreachOf(resident);
  const { taskId } = await openCaseworkerTask(engine.db, { ...scheme, kind: 'no-response', actor: 'engine' });
  return { resident, scheme, taskId };
}

const followUpResult = (taskId: number) => engine.client.workflow.getHandle(taskFollowUpWorkflowId(taskId)).result() as Promise<TaskFollowUpResult>;

function post(path: string, staff: { cookie: string; csrfToken: string }, body: unknown = {}): Promise<Response> {
  return fetch(`${svc.service.internalUrl}${path}`, {
    method: 'POST',
    headers: { Cookie: staff.cookie, 'x-csrf-token': staff.csrfToken, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function listed(staff: { cookie: string }, query: string): Promise<Array<{ id: number; due_at: string | null; assigned_to: string | null }>> {
  const response = await fetch(`${svc.service.internalUrl}/api/v1/tasks?${query}`, { headers: { Cookie: staff.cookie } });
  expect(response.status, query).toBe(200);
  return ((await response.json()) as { tasks: Array<{ id: number; due_at: string | null; assigned_to: string | null }> }).tasks;
}

describe('due dates', () => {
  it('in production, the end of the fifth office working day (weekends, holidays and the year-end closure skipped)', () => {
    // Friday 25 December 2026, 10:00 in Tokyo: Mon 28th, then 4-7 January (29 Dec - 3 Jan closed).
    expect(taskDueAt(new Date('2026-12-25T10:00:00+09:00'), 5, 86_400_000).toISOString()).toBe(new Date('2027-01-08T00:00:00+09:00').toISOString());
    // A Wednesday: Thu, Fri, Mon, Tue, Wed.
    expect(taskDueAt(new Date('2026-06-10T16:00:00+09:00'), 5, 86_400_000).toISOString()).toBe(new Date('2026-06-18T00:00:00+09:00').toISOString());
  });

  it('on a fast plan clock, plan days after opening', () => {
    expect(taskDueAt(new Date(1_000_000), 2, 2000).getTime()).toBe(1_004_000);
  });

  it('a task the engine opens is due the default working days later and has a follow-up workflow', async () => {
    const scheme = await outreachOf(await residentIn('chuo'));
    const before = Date.now();
    const opened = await engineTask(scheme);
    const after = Date.now();
    const task = (await findCaseworkerTask(engine.db, opened.taskId))!;
    expect(task.due_at!.getTime()).toBeGreaterThanOrEqual(before + DEFAULT_TASK_DUE_DAYS * MS_PER_DAY);
    expect(task.due_at!.getTime()).toBeLessThanOrEqual(after + DEFAULT_TASK_DUE_DAYS * MS_PER_DAY);
    const described = await engine.client.workflow.getHandle(taskFollowUpWorkflowId(opened.taskId)).describe();
    expect(described.type).toBe('taskFollowUpWorkflow');
    // Opening again (a retried activity) opens nothing and starts nothing new.
    expect(await engineTask(scheme)).toEqual({ taskId: opened.taskId, created: false, mergedInto: null });
    await closeTaskWithOutcome({ db: engine.db, temporal: engine.client }, task, 'staff:test', { outcome: 'could-not-reach', note: null, via: 'console' });
    expect(await followUpResult(opened.taskId)).toEqual({ taskId: opened.taskId, escalated: false });
  });
});

describe('a task opened without a due date (a returned letter opens its own, in its transaction)', () => {
  it('gets its due date from when it opened and a follow-up, once', async () => {
    const { taskId } = await plainTask('chuo');
    const deps = { db: engine.db, temporal: engine.client, taskQueue: engine.taskQueue, msPerDay: MS_PER_DAY };
    expect(await followUpTask(deps, taskId)).toBe(true);
    const task = (await findCaseworkerTask(engine.db, taskId))!;
    expect(task.due_at!.getTime()).toBe(task.created_at.getTime() + DEFAULT_TASK_DUE_DAYS * MS_PER_DAY);
    expect(await followUpTask(deps, taskId)).toBe(false);
    expect((await findCaseworkerTask(engine.db, taskId))!.due_at).toEqual(task.due_at);
    await closeTaskWithOutcome({ db: engine.db, temporal: engine.client }, task, 'staff:test', { outcome: 'visited', note: null, via: 'console' });
    expect(await followUpResult(taskId)).toEqual({ taskId, escalated: false });
  });
});

describe('escalation by the follow-up workflow', () => {
  it('escalates a task still open at its due date, audits it, lists it as escalated, and ends when it is closed', async () => {
    const resident = await residentIn('chuo');
    const opened = await engineTask(await outreachOf(resident));
    const escalated = await waitFor(
      'the task escalated',
      async () => {
        const task = await findCaseworkerTask(engine.db, opened.taskId);
        return task?.escalated_at ? task : undefined;
      },
      60_000,
    );
    expect(escalated.escalated_at!.getTime()).toBeGreaterThanOrEqual(escalated.due_at!.getTime());
    const actions = (await engine.audit(resident.id)).map((a) => [a.action, a.detail]);
    expect(actions).toEqual([
      ['task-opened', { taskId: opened.taskId, kind: 'no-response' }],
      ['task-escalated', { taskId: opened.taskId, kind: 'no-response', ward: 'chuo', dueAt: escalated.due_at!.toISOString(), assignedTo: null }],
    ]);

    const caseworker = await svc.signIn('caseworker-chuo');
    expect((await listed(caseworker, 'escalated=true&limit=1000')).map((t) => t.id)).toContain(opened.taskId);
    expect((await listed(caseworker, 'overdue=true&limit=1000')).map((t) => t.id)).toContain(opened.taskId);
    expect((await listed(caseworker, 'escalated=false&limit=1000')).map((t) => t.id)).not.toContain(opened.taskId);

    // Still waiting for the close; closing ends it.
    const closed = await post(`/api/v1/tasks/${opened.taskId}/close`, caseworker, { outcome: 'visited' });
    expect(closed.status).toBe(200);
    expect(await followUpResult(opened.taskId)).toEqual({ taskId: opened.taskId, escalated: true });
  });

  it('does not escalate a task closed before its due date', async () => {
    const resident = await residentIn('chuo');
    const opened = await engineTask(await outreachOf(resident));
    const task = (await findCaseworkerTask(engine.db, opened.taskId))!;
    await closeTaskWithOutcome({ db: engine.db, temporal: engine.client }, task, 'staff:test', { outcome: 'reached-by-phone', note: null, via: 'console' });
    expect(await followUpResult(opened.taskId)).toEqual({ taskId: opened.taskId, escalated: false });
    expect((await findCaseworkerTask(engine.db, opened.taskId))!.escalated_at).toBeNull();
    expect((await engine.audit(resident.id)).map((a) => a.action)).toEqual(['task-opened', 'task-closed']);
  });
});

describe('claim, assign, note and close through the API', () => {
  it('a caseworker of the ward claims, assigns, writes notes and closes with an outcome, each audited by ids', async () => {
    const { resident, scheme, taskId } = await plainTask('chuo');
    const chuo = await svc.signIn('caseworker-chuo');
    const me = `staff:${chuo.subject}`;

    expect((await listed(chuo, 'unassigned=true&limit=1000')).map((t) => t.id)).toContain(taskId);
    const claimed = await post(`/api/v1/tasks/${taskId}/claim`, chuo);
    expect(claimed.status).toBe(200);
    expect(((await claimed.json()) as { task: { assigned_to: string } }).task.assigned_to).toBe(me);
    expect((await listed(chuo, 'mine=true&limit=1000')).map((t) => t.id)).toContain(taskId);
    expect((await listed(chuo, 'unassigned=true&limit=1000')).map((t) => t.id)).not.toContain(taskId);

    const assigned = await post(`/api/v1/tasks/${taskId}/assign`, chuo, { assignee: 'staff-0099' });
    expect(assigned.status).toBe(200);
    // Someone holds it now: a claim is refused, naming who.
    const taken = await post(`/api/v1/tasks/${taskId}/claim`, chuo);
    expect(taken.status).toBe(409);
    expect(JSON.stringify(await taken.json())).toContain('staff:staff-0099');

    const note = await post(`/api/v1/tasks/${taskId}/notes`, chuo, { text: '電話: 母親と話した' });
    expect(note.status).toBe(200);
    const notes = await fetch(`${svc.service.internalUrl}/api/v1/tasks/${taskId}/notes`, { headers: { Cookie: chuo.cookie } });
    expect(((await notes.json()) as { notes: Array<{ author: string; text: string }> }).notes).toEqual([
      expect.objectContaining({ author: me, text: '電話: 母親と話した' }),
    ]);

    // Close: the outcome is required and must be one of the list (400 naming the field).
    const noOutcome = await post(`/api/v1/tasks/${taskId}/close`, chuo, {});
    expect(noOutcome.status).toBe(400);
    expect(JSON.stringify(await noOutcome.json())).toContain('outcome');
    const badOutcome = await post(`/api/v1/tasks/${taskId}/close`, chuo, { outcome: 'solved' });
    expect(badOutcome.status).toBe(400);
    const closed = await post(`/api/v1/tasks/${taskId}/close`, chuo, { outcome: 'not-eligible', note: '所得制限を超える' });
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({ leadTaskId: taskId, closedTaskIds: [taskId], alreadyClosed: false, responses: [] });
    const row = (await findCaseworkerTask(engine.db, taskId))!;
    expect(row).toMatchObject({ status: 'closed', outcome: 'not-eligible', closed_by: me, assigned_to: 'staff:staff-0099' });
    // A closed task is not assigned again.
    expect((await post(`/api/v1/tasks/${taskId}/assign`, chuo, { assignee: 'staff-0098' })).status).toBe(409);

    const audit = await engine.audit(resident.id);
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['task-opened', 'engine'],
      ['task-claimed', me],
      ['task-assigned', me],
      ['task-note-added', me],
      ['task-closed', me],
    ]);
    expect(audit.find((a) => a.action === 'task-assigned')!.detail).toEqual({
      taskId,
      kind: 'no-response',
      assignedTo: 'staff:staff-0099',
      previouslyAssignedTo: me,
    });
    expect(audit.find((a) => a.action === 'task-closed')!.detail).toMatchObject({ taskId, outcome: 'not-eligible', withNote: true });
    // Ids only: no note's text in the audit.
    const auditText = JSON.stringify(audit);
    expect(auditText).not.toContain('母親');
    expect(auditText).not.toContain('所得制限');

    // Retention and erasure remove the closing note and the notes written on the task.
    expect(await removeTaskNotesOfOutreach(engine.db, [scheme.outreachId])).toBe(2);
    expect(await engine.db.selectFrom('caseworker_task_notes').select('id').where('task_id', '=', taskId).execute()).toEqual([]);
    expect((await findCaseworkerTask(engine.db, taskId))!).toMatchObject({ note: null, outcome: 'not-eligible' });
  });

  it('sorts the queue by due date and filters by rule and kind', async () => {
    const resident = await residentIn('chuo');
    const later = await openCaseworkerTask(engine.db, {
      ...(await outreachOf(resident, 'school-support')),
      kind: 'no-response',
      actor: 'engine',
      dueAt: new Date(Date.now() + 9 * 86_400_000),
    });
    const sooner = await openCaseworkerTask(engine.db, {
      ...(await outreachOf(resident, 'school-support')),
      kind: 'deadline-passed',
      actor: 'engine',
      dueAt: new Date(Date.now() + 8 * 86_400_000),
    });
    const chuo = await svc.signIn('caseworker-chuo');
    const mine = (await listed(chuo, 'rule=school-support&limit=1000')).filter((t) => [later.taskId, sooner.taskId].includes(t.id));
    expect(mine.map((t) => t.id)).toEqual([sooner.taskId, later.taskId]);
    expect((await listed(chuo, 'rule=school-support&kind=deadline-passed&limit=1000')).map((t) => t.id)).toContain(sooner.taskId);
    expect((await listed(chuo, 'rule=school-support&kind=deadline-passed&limit=1000')).map((t) => t.id)).not.toContain(later.taskId);
    const badKind = await fetch(`${svc.service.internalUrl}/api/v1/tasks?kind=urgent`, { headers: { Cookie: chuo.cookie } });
    expect(badKind.status).toBe(400);
    expect(JSON.stringify(await badKind.json())).toContain('kind');
  });

  it("refuses another ward's caseworker (404), other staff roles and calling systems (403), and changes nothing", async () => {
    const { taskId } = await plainTask('chuo');
    const kita = await svc.signIn('caseworker-kita');
    const author = await svc.signIn('policy-author');
    const auditor = await svc.signIn('auditor');
    const client = await svc.client('auditor');
    const before = await tableCounts(engine);
    const routes: Array<[string, unknown]> = [
      [`/api/v1/tasks/${taskId}/claim`, {}],
      [`/api/v1/tasks/${taskId}/assign`, { assignee: `staff-0002` }],
      [`/api/v1/tasks/${taskId}/notes`, { text: 'x' }],
      [`/api/v1/tasks/${taskId}/close`, { outcome: 'visited' }],
    ];
    for (const [path, body] of routes) {
      expect((await post(path, kita, body)).status, `kita ${path}`).toBe(404);
      expect((await post(path, author, body)).status, `author ${path}`).toBe(403);
      // Auditors read every ward, but work none.
      expect((await post(path, auditor, body)).status, `auditor ${path}`).toBe(403);
      const asClient = await fetch(`${svc.service.internalUrl}${path}`, {
        method: 'POST',
        headers: { Authorization: await svc.bearer(client), 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(asClient.status, `client ${path}`).toBe(403);
    }
    const notes = await fetch(`${svc.service.internalUrl}/api/v1/tasks/${taskId}/notes`, { headers: { Cookie: kita.cookie } });
    expect(notes.status).toBe(404);
    expect((await listed(kita, 'status=all&limit=1000')).map((t) => t.id)).not.toContain(taskId);
    const after = await tableCounts(engine);
    // Sign-ins add a session and an audit record each (and a client its row and request ids); nothing else changed.
    const ignore = { audit_log: 0, staff_sessions: 0, staff_logins: 0, audit_chain_head: 0, api_clients: 0, api_client_request_ids: 0, staff_login_states: 0 };
    expect({ ...after, ...ignore }).toEqual({ ...before, ...ignore });
    expect((await findCaseworkerTask(engine.db, taskId))!).toMatchObject({ status: 'open', assigned_to: null });
  });
});

describe('applied at the counter', () => {
  it('answers every running outreach the (merged) task covers with applied via console, which ends them', async () => {
    const resident = await residentIn('chuo');
    const intake = await engine.sendBirth(resident, { msPerDay: 60_000, occurredOn: addDays(todayInTokyo(), -3) });
    const allowance = outreachIdOf(intake, 'child-allowance');
    const medical = outreachIdOf(intake, 'child-medical-subsidy');
    const rows = await engine.db.selectFrom('outreach').selectAll().where('id', 'in', [allowance, medical]).execute();
    const ref = (id: string) => {
      const row = rows.find((r) => r.id === id)!;
      return { outreachId: id, residentId: resident.id, ruleId: row.rule_id, ruleVersion: row.rule_version };
    };
    // Asked for help at the counter while both still run: one task covering both schemes.
    const lead = await openCaseworkerTask(engine.db, { ...ref(allowance), kind: 'asked-for-help', actor: 'engine', mergeWindowMs: 3_600_000 });
    const merged = await openCaseworkerTask(engine.db, { ...ref(medical), kind: 'asked-for-help', actor: 'engine', mergeWindowMs: 3_600_000 });
    expect(merged.mergedInto).toBe(lead.taskId);

    const chuo = await svc.signIn('caseworker-chuo');
    // Closed by the merged task's id: the lead closes, with both schemes.
    const closed = await post(`/api/v1/tasks/${merged.taskId}/close`, chuo, { outcome: 'applied-at-counter' });
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({
      leadTaskId: lead.taskId,
      closedTaskIds: [lead.taskId, merged.taskId],
      responses: [
        { outreachId: allowance, outcome: 'accepted' },
        { outreachId: medical, outcome: 'accepted' },
      ],
    });
    for (const id of [allowance, medical]) expect(await engine.result(id)).toMatchObject({ state: 'responded', response: 'applied' });
    const answers = (await engine.audit(resident.id)).filter((a) => a.action === 'response-received');
    expect(answers.map((a) => [a.outreach_id, a.actor, a.detail])).toEqual([
      [allowance, `staff:${chuo.subject}`, { response: 'applied', via: 'console' }],
      [medical, `staff:${chuo.subject}`, { response: 'applied', via: 'console' }],
    ]);
  });
});

describe('the command line', () => {
  it('claims, notes and closes a task as its user', async () => {
    const { resident, taskId } = await plainTask('kita');
    const run = async (command: typeof TASKS_CLAIM, args: string[]) => {
      const { ctx, out } = capturingContext({ engine: async () => engine.context, temporal: async () => engine.client, actor: 'cli:clerk' });
      return { code: await command.invoke(args, ctx), out: out.join('\n') };
    };
    expect((await run(TASKS_CLAIM, [String(taskId)])).code).toBe(0);
    expect((await run(TASKS_NOTE, [String(taskId), '--text', 'left a message'])).code).toBe(0);
    const closed = await run(TASKS_CLOSE, [String(taskId), '--outcome', 'could-not-reach']);
    expect(closed).toMatchObject({ code: 0 });
    expect(closed.out).toContain(`#${taskId}`);
    expect((await findCaseworkerTask(engine.db, taskId))!).toMatchObject({
      status: 'closed',
      outcome: 'could-not-reach',
      assigned_to: 'cli:clerk',
      closed_by: 'cli:clerk',
    });
    expect((await engine.audit(resident.id)).map((a) => [a.action, a.actor])).toEqual([
      ['task-opened', 'engine'],
      ['task-claimed', 'cli:clerk'],
      ['task-note-added', 'cli:clerk'],
      ['task-closed', 'cli:clerk'],
    ]);
    const listedOut = await run(TASKS_LIST, ['--status', 'closed']);
    expect(listedOut.out.split('\n').find((l) => l.includes(`#${taskId}`))).toContain('could-not-reach');
    // A usage mistake: the outcome is required.
    await expect(run(TASKS_CLOSE, [String(taskId)])).rejects.toThrow(/--outcome/);
  });
});
