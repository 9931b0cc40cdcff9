/**
 * Merged caseworker tasks, on the real PostgreSQL: tasks of the same kind opened for the same resident within
 * the merge window (NOTICE_MERGE_WINDOW_HOURS) are one task as a caseworker sees it — each outreach keeps its
 * own row, the later ones point at the first (`merged_into`), the listing shows the first with every scheme,
 * and closing it closes them all. Nothing here waits on time: "outside the window" is a backdated created_at.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { makeOpenCaseworkerTask, taskMergeWindowMs } from '../activities/open-caseworker-task';
import { TASKS_LIST } from '../cli/task-commands';
import { closeCaseworkerTask, findCaseworkerTask, listCaseworkerTasks, openCaseworkerTask, removeTaskNotesOfOutreach } from '../store/caseworker-tasks';
import type { TaskKind } from '../store/vocabulary';
import { capturingContext } from './support/command-context';
import { outreachRow } from './support/rows';
import { TestEngine, type TestResident } from './support/test-engine';

const HOUR = 3_600_000;
const WINDOW = 24 * HOUR;

let engine: TestEngine;
beforeAll(async () => {
  // Merging on for this engine (the tests' default turns it off); a plan day of a real day, so the window is 24 hours.
  engine = await TestEngine.start({ withWorker: false, env: { NOTICE_MERGE_WINDOW_HOURS: '24', OSHIRASE_MS_PER_DAY: '86400000' } });
});
afterAll(async () => {
  await engine.stop();
});

interface Scheme {
  outreachId: string;
  ruleId: string;
  ruleVersion: number;
  residentId: string;
}

/** An outreach of `ruleId` for the resident, written straight into the store (no workflow: the tasks are the subject). */
async function outreachOf(resident: TestResident, ruleId: string): Promise<Scheme> {
  const outreachId = `${ruleId}:${resident.id}:${randomUUID().slice(0, 8)}`;
  await engine.db
    .insertInto('outreach')
    .values(outreachRow(outreachId, resident.id, { rule_id: ruleId, status: 'no-response' }))
    .execute();
  return { outreachId, ruleId, ruleVersion: 2, residentId: resident.id };
}

const open = (scheme: Scheme, kind: TaskKind, mergeWindowMs?: number) =>
  openCaseworkerTask(engine.db, { ...scheme, kind, actor: 'engine', ...(mergeWindowMs !== undefined ? { mergeWindowMs } : {}) });

/** The tasks a caseworker sees for one resident (the suite's database holds other files' tasks too: no page limit). */
async function listedFor(residentId: string, status: 'open' | 'closed' | 'all' = 'all') {
  return (await listCaseworkerTasks(engine.db, { status, limit: Number.MAX_SAFE_INTEGER })).filter((t) => t.resident_id === residentId);
}

async function backdate(taskId: number, hours: number): Promise<void> {
  await engine.db
    .updateTable('caseworker_tasks')
    .set({ created_at: new Date(Date.now() - hours * HOUR) })
    .where('id', '=', taskId)
    .execute();
}

describe('merged caseworker tasks', () => {
  it("a birth's two schemes, no answer to either: one task listing both (opened by the engine's activity)", async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const allowance = await outreachOf(resident, 'child-allowance');
    const medical = await outreachOf(resident, 'child-medical-subsidy');
    const { deps, close } = engine.activityDeps();
    onTestFinished(close);
    expect(taskMergeWindowMs(deps)).toBe(WINDOW);
    const openTask = makeOpenCaseworkerTask(deps);

    const first = await openTask({ ...allowance, kind: 'no-response' });
    const second = await openTask({ ...medical, kind: 'no-response' });
    expect(first).toEqual({ taskId: first.taskId, created: true, mergedInto: null });
    expect(second).toEqual({ taskId: second.taskId, created: true, mergedInto: first.taskId });

    const listed = await listedFor(resident.id);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: first.taskId, kind: 'no-response', status: 'open', merged_into: null });
    expect(listed[0]!.schemes).toEqual([
      { taskId: first.taskId, outreachId: allowance.outreachId, ruleId: 'child-allowance', ruleVersion: 2 },
      { taskId: second.taskId, outreachId: medical.outreachId, ruleId: 'child-medical-subsidy', ruleVersion: 2 },
    ]);

    // Each outreach still finds its own task; a repeat of the activity changes nothing.
    expect((await engine.tasks(medical.outreachId)).map((t) => t.id)).toEqual([second.taskId]);
    expect(await openTask({ ...medical, kind: 'no-response' })).toEqual({ taskId: second.taskId, created: false, mergedInto: first.taskId });

    // The audit says it was merged, with ids only.
    const opened = (await engine.audit(resident.id)).filter((a) => a.action === 'task-opened');
    expect(opened.map((a) => a.detail)).toEqual([
      { taskId: first.taskId, kind: 'no-response' },
      { taskId: second.taskId, kind: 'no-response', mergedInto: first.taskId },
    ]);
  });

  it('the window is plan hours: a 24th of the plan day per hour, 0 turns merging off', () => {
    const config = (mergeWindowHours: number, msPerDay: number) => ({
      config: { ...engine.context.config, msPerDay, pacing: { ...engine.context.config.pacing, mergeWindowHours } },
    });
    expect(taskMergeWindowMs(config(12, 48_000))).toBe(24_000);
    expect(taskMergeWindowMs(config(0, 86_400_000))).toBe(0);
  });

  it('keeps tasks apart outside the window, of another kind, or of another resident', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const other = await engine.addResident({ consents: ['child-benefits'] });
    const [a, b, c, d] = await Promise.all([
      outreachOf(resident, 'child-allowance'),
      outreachOf(resident, 'child-medical-subsidy'),
      outreachOf(resident, 'infant-checkup-4-months'),
      outreachOf(other, 'child-medical-subsidy'),
    ]);

    const old = await open(a!, 'no-response', WINDOW);
    await backdate(old.taskId, 25);
    const outside = await open(b!, 'no-response', WINDOW);
    expect(outside.mergedInto).toBeNull();

    const otherKind = await open(c!, 'deadline-passed', WINDOW);
    expect(otherKind.mergedInto).toBeNull();
    const otherResident = await open(d!, 'no-response', WINDOW);
    expect(otherResident.mergedInto).toBeNull();

    // Within the window of the second task (not of the first, 25 hours old): joins the second.
    const e = await outreachOf(resident, 'school-support');
    expect((await open(e, 'no-response', WINDOW)).mergedInto).toBe(outside.taskId);

    expect((await listedFor(resident.id)).map((t) => [t.id, t.kind, t.schemes.length])).toEqual([
      [old.taskId, 'no-response', 1],
      [outside.taskId, 'no-response', 2],
      [otherKind.taskId, 'deadline-passed', 1],
    ]);
    expect((await listedFor(other.id)).map((t) => t.id)).toEqual([otherResident.taskId]);
  });

  it('merges nothing with a window of 0 or none', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const [a, b, c] = await Promise.all([
      outreachOf(resident, 'child-allowance'),
      outreachOf(resident, 'child-medical-subsidy'),
      outreachOf(resident, 'school-support'),
    ]);
    expect((await open(a!, 'no-response', 0)).mergedInto).toBeNull();
    expect((await open(b!, 'no-response', 0)).mergedInto).toBeNull();
    expect((await open(c!, 'no-response')).mergedInto).toBeNull();
    expect(await listedFor(resident.id)).toHaveLength(3);
  });

  it('opened at the same instant: exactly one lead, every other task merged into it', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const rules = [
      'child-allowance',
      'child-medical-subsidy',
      'school-support',
      'infant-checkup-4-months',
      'infant-checkup-18-months',
      'infant-checkup-3-years',
    ];
    const schemes = await Promise.all(rules.map((rule) => outreachOf(resident, rule)));
    const opened = await Promise.all(schemes.map((s) => open(s, 'no-response', WINDOW)));

    const leads = opened.filter((o) => o.mergedInto === null);
    expect(leads).toHaveLength(1);
    const leadId = leads[0]!.taskId;
    expect(opened.filter((o) => o.mergedInto !== null).every((o) => o.mergedInto === leadId)).toBe(true);

    const listed = await listedFor(resident.id);
    expect(listed.map((t) => t.id)).toEqual([leadId]);
    expect(listed[0]!.schemes.map((s) => s.outreachId).sort()).toEqual(schemes.map((s) => s.outreachId).sort());
  });

  it('closing the lead closes its merged tasks, each audited; a new task afterwards is a task of its own', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const [a, b, c] = await Promise.all([
      outreachOf(resident, 'child-allowance'),
      outreachOf(resident, 'child-medical-subsidy'),
      outreachOf(resident, 'school-support'),
    ]);
    const lead = await open(a!, 'no-response', WINDOW);
    const merged = await open(b!, 'no-response', WINDOW);
    expect(merged.mergedInto).toBe(lead.taskId);

    const task = (await findCaseworkerTask(engine.db, lead.taskId))!;
    const closed = await closeCaseworkerTask(engine.db, task, 'staff:cw-1', 'called, will apply');
    expect(closed).toEqual({ leadTaskId: lead.taskId, closedTaskIds: [lead.taskId, merged.taskId] });

    const rows = await engine.db.selectFrom('caseworker_tasks').selectAll().where('resident_id', '=', resident.id).orderBy('id').execute();
    expect(rows.map((r) => [r.id, r.status, r.closed_by, r.note])).toEqual([
      [lead.taskId, 'closed', 'staff:cw-1', 'called, will apply'],
      [merged.taskId, 'closed', 'staff:cw-1', null],
    ]);
    const closings = (await engine.audit(resident.id)).filter((a) => a.action === 'task-closed');
    expect(closings.map((a) => [a.actor, a.outreach_id, a.detail])).toEqual([
      ['staff:cw-1', a!.outreachId, { taskId: lead.taskId, kind: 'no-response', withNote: true, closedWith: [merged.taskId] }],
      ['staff:cw-1', b!.outreachId, { taskId: merged.taskId, kind: 'no-response', mergedInto: lead.taskId }],
    ]);
    // Closing again changes nothing.
    expect(await closeCaseworkerTask(engine.db, task, 'staff:cw-1', null)).toEqual({ leadTaskId: lead.taskId, closedTaskIds: [] });

    // The lead is closed: the next no-response task does not hide in it.
    const later = await open(c!, 'no-response', WINDOW);
    expect(later.mergedInto).toBeNull();
    expect((await listedFor(resident.id, 'open')).map((t) => t.id)).toEqual([later.taskId]);

    // Retention and erasure still find the note by the lead's outreach.
    expect(await removeTaskNotesOfOutreach(engine.db, [a!.outreachId, b!.outreachId])).toBe(1);
  });

  it("closing a merged task by its own id closes its lead and the lead's other merged tasks", async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const schemes = await Promise.all(['child-allowance', 'child-medical-subsidy', 'school-support'].map((rule) => outreachOf(resident, rule)));
    const [lead, second, third] = [
      await open(schemes[0]!, 'unreachable', WINDOW),
      await open(schemes[1]!, 'unreachable', WINDOW),
      await open(schemes[2]!, 'unreachable', WINDOW),
    ];
    expect([second!.mergedInto, third!.mergedInto]).toEqual([lead!.taskId, lead!.taskId]);

    const closed = await closeCaseworkerTask(engine.db, (await findCaseworkerTask(engine.db, second!.taskId))!, 'staff:cw-2', null);
    expect(closed).toEqual({ leadTaskId: lead!.taskId, closedTaskIds: [lead!.taskId, second!.taskId, third!.taskId] });
    expect(await listedFor(resident.id, 'open')).toEqual([]);
  });

  it('`tasks list` shows one task with both schemes', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const allowance = await outreachOf(resident, 'child-allowance');
    const medical = await outreachOf(resident, 'child-medical-subsidy');
    const lead = await open(allowance, 'no-response', WINDOW);
    await open(medical, 'no-response', WINDOW);

    const { ctx, out } = capturingContext({ engine: async () => engine.context });
    expect(await TASKS_LIST.invoke([], ctx)).toBe(0);
    const lines = out.join('\n').split('\n');
    expect(lines[0]).toContain('schemes');
    const mine = lines.filter((l) => l.includes(resident.id));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain(`#${lead.taskId}`);
    expect(mine[0]).toContain(`child-allowance v2 (${allowance.outreachId})`);
    expect(mine[0]).toContain(`child-medical-subsidy v2 (${medical.outreachId})`);
  });
});
