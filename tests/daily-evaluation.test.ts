import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestEngine } from './support/test-engine';
import { addOffset, todayInTokyo } from '../foundation/tokyo-calendar';
import type { DailyEvaluationResult } from '../engine/outreach/outreach-contract';
import { runDailyEvaluation } from '../engine/outreach/workflow-starts';

let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
// The started outreach waits on plan days of a real day: ended so nothing lingers.
afterAll(() => engine?.stop({ terminateRunning: true }));

const runDaily = (date: string, workflowId: string) =>
  runDailyEvaluation(engine.client, { date, partitions: 4, parallelism: 2 }, { taskQueue: engine.taskQueue, workflowId });

it('starts each date-driven outreach once when the daily evaluation runs twice for the same day', async () => {
  const today = todayInTokyo();
  // Turns 65 in ten days: inside long-term-care-insurance's 30-day window.
  const turning65 = addOffset(today, { years: -65, days: 10 });
  const consented = await engine.addResident({ consents: ['elderly-care'], birthDate: turning65 });
  const notConsented = await engine.addResident({ consents: ['child-benefits'], birthDate: turning65 });
  const tooEarly = await engine.addResident({ consents: ['elderly-care'], birthDate: addOffset(today, { years: -65, days: 45 }) });

  const first = await runDaily(today, `daily-test-${engine.taskQueue}-1`);
  const second = await runDaily(today, `daily-test-${engine.taskQueue}-2`);

  expect(first.rules).toBeGreaterThanOrEqual(5);
  expect(first.started).toBeGreaterThanOrEqual(1);
  expect(second.started).toBe(0);
  expect(second.alreadyStarted).toBe(first.started + first.alreadyStarted);

  const outreach = await engine.db.selectFrom('outreach').selectAll().where('resident_id', 'in', [consented.id, notConsented.id, tooEarly.id]).execute();
  expect(outreach.map((o) => [o.resident_id, o.rule_id, o.occurrence_key, o.trigger_date])).toEqual([
    [consented.id, 'long-term-care-insurance', 'age-65', addOffset(today, { days: 10 })],
  ]);
  let runs = 0;
  for await (const _ of engine.client.workflow.list({ query: `WorkflowId = '${outreach[0]!.id}'` })) runs += 1;
  expect(runs).toBe(1);
  // The audit log says why without the resident's data: neither the birth date nor the birthday it counted from.
  const started = (await engine.audit(consented.id)).find((a) => a.action === 'outreach-started')!;
  expect(started.detail).toMatchObject({ on: today, via: 'daily-evaluation' });
  for (const value of [turning65, addOffset(today, { days: 10 })]) expect(JSON.stringify(started.detail)).not.toContain(value);
});

it('runs from the Temporal Schedule, and a second run of the same day starts nothing new', async () => {
  const { ensureDailySchedule, DAILY_SCHEDULE_ID } = await import('../engine/outreach/daily-schedule');
  const { ScheduleOverlapPolicy } = await import('@temporalio/client');
  const resident = await engine.addResident({ consents: ['late-elderly-medical'], birthDate: addOffset(todayInTokyo(), { years: -75, days: 5 }) });
  expect(await ensureDailySchedule(engine.client, { taskQueue: engine.taskQueue, hour: 6, partitions: 2, parallelism: 2 })).toBe('created');
  expect(await ensureDailySchedule(engine.client, { taskQueue: engine.taskQueue, hour: 6, partitions: 2, parallelism: 2 })).toBe('updated');
  const schedule = engine.client.schedule.getHandle(DAILY_SCHEDULE_ID);
  try {
    const results: DailyEvaluationResult[] = [];
    for (const run of [1, 2]) {
      await schedule.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
      const action = await waitForAction(schedule, run);
      results.push((await engine.client.workflow.getHandle(action.workflowId, action.firstExecutionRunId).result()) as DailyEvaluationResult);
    }
    expect(results[1]!.started).toBe(0);
    const outreach = await engine.db.selectFrom('outreach').select(['rule_id', 'occurrence_key']).where('resident_id', '=', resident.id).execute();
    expect(outreach).toEqual([{ rule_id: 'late-elderly-medical', occurrence_key: 'age-75' }]);
  } finally {
    await schedule.delete();
  }
});

async function waitForAction(schedule: import('@temporalio/client').ScheduleHandle, count: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const actions = (await schedule.describe()).info.recentActions;
    if (actions.length >= count) return actions[count - 1]!.action.workflow;
    if (Date.now() > deadline) throw new Error('the schedule did not start its workflow');
    await new Promise((r) => setTimeout(r, 200));
  }
}
