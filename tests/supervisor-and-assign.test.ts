/**
 * The ward's supervisor and assigning a task to a colleague, on the real PostgreSQL, HTTP service and local
 * OpenID provider: a supervisor (oshirase-supervisors) works their ward's tasks as a caseworker does and sees the
 * tasks escalated to them first, apart, in the console; the task page says when and why a task was escalated.
 * A caseworker gives a task to a colleague of its ward from the task page (the colleagues the service saw sign in);
 * a colleague of another ward is refused with 400 and why, and staff outside the ward are refused as on every
 * ward route. Escalation is triggered by calling what the follow-up workflow's activity calls (no timer waited
 * on); due dates are fixed days in the past, so nothing depends on when the test runs.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes } from '../service/console/console-routes';
import { escalateCaseworkerTask, findCaseworkerTask, openCaseworkerTask } from '../store/caseworker-tasks';
import { outreachRow } from './support/rows';
import { TestEngine } from './support/test-engine';
import { startTestService, tableCounts, type TestService } from './support/test-service';
import type { SignedIn } from './support/staff-login';

/** A plan day far longer than the test: nothing here waits on the engine's clock. */
const MS_PER_DAY = 24 * 3_600_000;
/** A due date long past, whenever the test runs. */
const LONG_AGO = new Date('2026-04-01T00:00:00+09:00');

let engine: TestEngine;
let svc: TestService;
let supervisor: SignedIn;
let caseworker: SignedIn;
let kita: SignedIn;

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
  svc = await startTestService(engine, { msPerDay: MS_PER_DAY, staffSignIn: true, internalRoutes: [consoleRoutes] });
  // Signing in is how the service learns who works which ward (the colleagues a task can go to).
  supervisor = await svc.signIn('supervisor-chuo');
  caseworker = await svc.signIn('caseworker-chuo');
  kita = await svc.signIn('caseworker-kita');
});

afterAll(async () => {
  await svc?.close();
  await engine?.stop({ terminateRunning: true });
});

/** An open task of a new resident of `ward` (no follow-up workflow: escalation is called directly). */
async function taskIn(ward: string, options: { escalate?: boolean } = {}): Promise<number> {
  const resident = await engine.addResident({ consents: ['child-benefits'] });
  await engine.db.updateTable('residents').set({ ward }).where('id', '=', resident.id).execute();
  const outreachId = `supervisor-test:${randomUUID()}`;
  await engine.db
    .insertInto('outreach')
    .values(outreachRow(outreachId, resident.id, { status: 'no-response' }))
    .execute();
  const { taskId } = await openCaseworkerTask(engine.db, {
    outreachId,
    residentId: resident.id,
    ruleId: 'child-allowance',
    ruleVersion: 2,
    kind: 'no-response',
    actor: 'engine',
    dueAt: LONG_AGO,
  });
  // What the follow-up workflow's activity does at the due date.
  if (options.escalate) expect(await escalateCaseworkerTask(engine.db, taskId)).toEqual({ open: true, escalated: true });
  return taskId;
}

async function page(staff: { cookie: string }, path: string): Promise<{ status: number; html: string }> {
  const response = await fetch(`${svc.service.internalUrl}${path}`, { headers: { cookie: staff.cookie, accept: 'text/html' }, redirect: 'manual' });
  return { status: response.status, html: await response.text() };
}

function postForm(staff: { cookie: string } | null, path: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${svc.service.internalUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...(staff ? { cookie: staff.cookie } : {}) },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

function postJson(staff: SignedIn, path: string, body: unknown): Promise<Response> {
  return fetch(`${svc.service.internalUrl}${path}`, {
    method: 'POST',
    headers: { cookie: staff.cookie, 'x-csrf-token': staff.csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The task ids of one of the queue's tables (`escalated` or `ward`) on a tasks page. */
function queueIds(html: string, queue: 'escalated' | 'ward'): number[] {
  const table = new RegExp(`<table class="stack" data-queue="${queue}">([\\s\\S]*?)</table>`).exec(html);
  return table ? [...table[1]!.matchAll(/data-task-id="(\d+)"/g)].map((m) => Number(m[1])) : [];
}

describe('the supervisor role', () => {
  it('comes from the oshirase-supervisors group with its wards, and the service remembers who signed in', async () => {
    expect(supervisor.subject).toBe('staff-0008');
    const me = await fetch(`${svc.service.internalUrl}/auth/me`, { headers: { cookie: supervisor.cookie } });
    expect(await me.json()).toMatchObject({ roles: ['supervisor'], wards: ['chuo'] });
    const members = await engine.db
      .selectFrom('staff_members')
      .select(['subject', 'roles', 'wards'])
      .where('subject', 'in', ['staff-0001', 'staff-0002', 'staff-0008'])
      .orderBy('subject')
      .execute();
    expect(members).toEqual([
      { subject: 'staff-0001', roles: ['caseworker'], wards: ['chuo'] },
      { subject: 'staff-0002', roles: ['caseworker'], wards: ['kita'] },
      { subject: 'staff-0008', roles: ['supervisor'], wards: ['chuo'] },
    ]);
    const home = await page(supervisor, '/console?lang=ja');
    expect(home.html).toContain('上長（スーパーバイザー）');
  });

  it('sees the escalated tasks of their ward first, apart, and still in the ward’s queue; not those of another ward', async () => {
    const escalated = await taskIn('chuo', { escalate: true });
    const ordinary = await taskIn('chuo');
    const kitaEscalated = await taskIn('kita', { escalate: true });

    const home = await page(supervisor, '/console?lang=en');
    // Handlebars writes the '=' of the link as &#x3D;.
    expect(home.html).toMatch(/<a href="\/console\/tasks\?escalated&#x3D;1">Tasks escalated for being overdue: [1-9]\d*<\/a>/);

    const queue = await page(supervisor, '/console/tasks?lang=en');
    expect(queue.status).toBe(200);
    expect(queue.html.indexOf('data-queue="escalated"')).toBeLessThan(queue.html.indexOf('data-queue="ward"'));
    expect(queueIds(queue.html, 'escalated')).toContain(escalated);
    expect(queueIds(queue.html, 'escalated')).not.toContain(ordinary);
    expect(queueIds(queue.html, 'escalated')).not.toContain(kitaEscalated);
    // Escalated tasks stay visible in the ward's ordinary queue.
    expect(queueIds(queue.html, 'ward')).toEqual(expect.arrayContaining([escalated, ordinary]));
    expect(queueIds(queue.html, 'ward')).not.toContain(kitaEscalated);

    // The filter: escalated only.
    const filtered = await page(supervisor, '/console/tasks?escalated=1&lang=en');
    expect(queueIds(filtered.html, 'ward')).toContain(escalated);
    expect(queueIds(filtered.html, 'ward')).not.toContain(ordinary);
    expect(filtered.html).toMatch(/id="filter-escalated" name="escalated" value="1" checked/);

    // A caseworker's queue has no separate escalated table; the escalated task is in it, marked in words.
    const caseworkerQueue = await page(caseworker, '/console/tasks?lang=en');
    expect(queueIds(caseworkerQueue.html, 'escalated')).toEqual([]);
    expect(caseworkerQueue.html).not.toContain('filter-escalated');
    expect(queueIds(caseworkerQueue.html, 'ward')).toContain(escalated);

    // An escalated task closed is in no escalated list any more.
    const task = (await findCaseworkerTask(engine.db, escalated))!;
    const closed = await postForm(supervisor, `/console/tasks/${task.id}/close`, { _csrf: supervisor.csrfToken, outcome: 'visited' });
    expect(closed.status).toBe(303);
    expect(queueIds((await page(supervisor, '/console/tasks')).html, 'escalated')).not.toContain(escalated);
  });

  it('shows on the task page when and why it was escalated, and who held it then', async () => {
    const taskId = await taskIn('chuo');
    expect((await postJson(caseworker, `/api/v1/tasks/${taskId}/claim`, {})).status).toBe(200);
    await escalateCaseworkerTask(engine.db, taskId);
    const task = (await findCaseworkerTask(engine.db, taskId))!;
    const shown = await page(supervisor, `/console/tasks/${taskId}?lang=en`);
    expect(shown.status).toBe(200);
    const escalation = /<div class="escalation">([\s\S]*?)<\/div>/.exec(shown.html)?.[1] ?? '';
    expect(escalation).toContain('Escalated');
    expect(escalation).toMatch(/Escalated at \d{4}-\d{2}-\d{2} \d{2}:\d{2}: still open at its due date \(2026-04-01 00:00\)\./);
    expect(escalation).toContain('Held by then: Aoi Demo (caseworker, Chuo)');
    expect(task.escalated_at).not.toBeNull();
    // The audit log has the escalation, by ids (the follow-up workflow's record).
    const audit = await engine.db
      .selectFrom('audit_log')
      .select(['actor', 'detail'])
      .where('action', '=', 'task-escalated')
      .where('outreach_id', '=', task.outreach_id)
      .execute();
    expect(audit).toEqual([
      { actor: 'engine', detail: { taskId, kind: 'no-response', ward: 'chuo', dueAt: LONG_AGO.toISOString(), assignedTo: 'staff:staff-0001' } },
    ]);
  });

  it('works the ward’s tasks as a caseworker does (API): lists, claims, notes, closes; another ward’s task is not found', async () => {
    const taskId = await taskIn('chuo', { escalate: true });
    const kitaTask = await taskIn('kita');
    const listed = await fetch(`${svc.service.internalUrl}/api/v1/tasks?escalated=true&limit=1000`, { headers: { cookie: supervisor.cookie } });
    expect(listed.status).toBe(200);
    const ids = ((await listed.json()) as { tasks: Array<{ id: number; ward: string }> }).tasks;
    expect(ids.map((t) => t.id)).toContain(taskId);
    expect(new Set(ids.map((t) => t.ward))).toEqual(new Set(['chuo']));
    expect((await postJson(supervisor, `/api/v1/tasks/${taskId}/claim`, {})).status).toBe(200);
    expect((await postJson(supervisor, `/api/v1/tasks/${taskId}/notes`, { text: '上長が対応' })).status).toBe(200);
    expect((await postJson(supervisor, `/api/v1/tasks/${taskId}/close`, { outcome: 'reached-by-phone' })).status).toBe(200);
    expect(await findCaseworkerTask(engine.db, taskId)).toMatchObject({ status: 'closed', closed_by: 'staff:staff-0008', assigned_to: 'staff:staff-0008' });
    const before = await tableCounts(engine);
    for (const path of [`/api/v1/tasks/${kitaTask}/claim`, `/api/v1/tasks/${kitaTask}/close`]) {
      expect((await postJson(supervisor, path, { outcome: 'visited' })).status, path).toBe(404);
    }
    expect((await page(supervisor, `/console/tasks/${kitaTask}`)).status).toBe(404);
    expect(await tableCounts(engine)).toEqual(before);
  });
});

describe('assigning a task to a colleague of its ward from the console', () => {
  it('offers the ward’s caseworkers and supervisors seen at sign-in, and gives the task to the one chosen', async () => {
    const taskId = await taskIn('chuo');
    const shown = await page(caseworker, `/console/tasks/${taskId}?lang=en`);
    const select = /<select id="assign-to" name="assignee"[^>]*>([\s\S]*?)<\/select>/.exec(shown.html)?.[1] ?? '';
    expect(select).toContain('<option value="staff-0008">Mei Demo (supervisor, Chuo) — Supervisor</option>');
    // Not the caller, not another ward's caseworker.
    expect(select).not.toContain('staff-0001');
    expect(select).not.toContain('staff-0002');

    const assigned = await postForm(caseworker, `/console/tasks/${taskId}/assign`, { _csrf: caseworker.csrfToken, assignee: 'staff-0008' });
    expect(assigned.status).toBe(303);
    expect(assigned.headers.get('location')).toBe(`/console/tasks/${taskId}?done=assigned`);
    const task = (await findCaseworkerTask(engine.db, taskId))!;
    expect(task.assigned_to).toBe('staff:staff-0008');
    const audit = await engine.db
      .selectFrom('audit_log')
      .select(['actor', 'detail'])
      .where('action', '=', 'task-assigned')
      .where('outreach_id', '=', task.outreach_id)
      .execute();
    expect(audit).toEqual([{ actor: 'staff:staff-0001', detail: { taskId, kind: 'no-response', assignedTo: 'staff:staff-0008' } }]);
    const after = await page(caseworker, `/console/tasks/${taskId}?done=assigned&lang=en`);
    expect(after.html).toContain('The task is assigned to Mei Demo (supervisor, Chuo).');
    // The supervisor finds it under "mine".
    expect(queueIds((await page(supervisor, '/console/tasks?holder=mine')).html, 'ward')).toContain(taskId);
  });

  it('refuses a colleague of another ward, and someone the service never saw, with 400 and why; nothing changes', async () => {
    const taskId = await taskIn('chuo');
    const before = await tableCounts(engine);
    const otherWard = await postForm(caseworker, `/console/tasks/${taskId}/assign?lang=en`, { _csrf: caseworker.csrfToken, assignee: 'staff-0002' });
    expect(otherWard.status).toBe(400);
    const body = await otherWard.text();
    expect(body).toContain('Ren Demo (caseworker, Kita) is not a caseworker or supervisor of Chuo Ward: the task cannot be assigned to them.');
    expect(body).toContain('role="alert"');
    const unknown = await postForm(caseworker, `/console/tasks/${taskId}/assign`, { _csrf: caseworker.csrfToken, assignee: 'staff-9999' });
    expect(unknown.status).toBe(400);
    // No colleague chosen: back to the page, which asks for one.
    const empty = await postForm(caseworker, `/console/tasks/${taskId}/assign`, { _csrf: caseworker.csrfToken, assignee: '' });
    expect(empty.headers.get('location')).toBe(`/console/tasks/${taskId}?done=colleague-missing`);
    expect(await tableCounts(engine)).toEqual(before);
    expect((await findCaseworkerTask(engine.db, taskId))!.assigned_to).toBeNull();
  });

  it('refuses staff outside the ward (not found), other roles (403) and a form without its CSRF token (403); nothing changes', async () => {
    const taskId = await taskIn('chuo');
    const author = await svc.signIn('policy-author');
    const auditor = await svc.signIn('auditor');
    const before = await tableCounts(engine);
    const path = `/console/tasks/${taskId}/assign`;
    expect((await postForm(kita, path, { _csrf: kita.csrfToken, assignee: 'staff-0002' })).status).toBe(404);
    expect((await postForm(author, path, { _csrf: author.csrfToken, assignee: 'staff-0008' })).status).toBe(403);
    // Auditors read every ward and work none.
    expect((await postForm(auditor, path, { _csrf: auditor.csrfToken, assignee: 'staff-0008' })).status).toBe(403);
    expect((await postForm(caseworker, path, { assignee: 'staff-0008' })).status).toBe(403);
    expect((await postForm(caseworker, path, { _csrf: kita.csrfToken, assignee: 'staff-0008' })).status).toBe(403);
    // Without a session: to the sign-in.
    const anonymous = await postForm(null, path, { assignee: 'staff-0008' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/^\/auth\/login\?returnTo=/);
    // The task page of an auditor shows no form; a kita caseworker does not see the task at all.
    expect((await page(auditor, `/console/tasks/${taskId}`)).html).not.toContain('assign-to');
    expect((await page(kita, `/console/tasks/${taskId}`)).status).toBe(404);
    expect(await tableCounts(engine)).toEqual(before);
    expect((await findCaseworkerTask(engine.db, taskId))!.assigned_to).toBeNull();
  });

  it('the API refuses an assignee the service knows to work another ward (400); one never seen is taken as named', async () => {
    const taskId = await taskIn('chuo');
    const refused = await postJson(caseworker, `/api/v1/tasks/${taskId}/assign`, { assignee: 'staff-0002' });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toContain('is not a caseworker or supervisor of ward chuo');
    expect((await findCaseworkerTask(engine.db, taskId))!.assigned_to).toBeNull();
    expect((await postJson(supervisor, `/api/v1/tasks/${taskId}/assign`, { assignee: 'staff-0001' })).status).toBe(200);
    expect((await postJson(caseworker, `/api/v1/tasks/${taskId}/assign`, { assignee: 'staff-7777' })).status).toBe(200);
    expect((await findCaseworkerTask(engine.db, taskId))!.assigned_to).toBe('staff:staff-7777');
  });
});
