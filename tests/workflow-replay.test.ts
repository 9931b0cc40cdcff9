/**
 * Outreach runs for weeks, so a worker deployed today replays histories that
 * earlier workflow code wrote. Every history under fixtures/workflow-histories/
 * was recorded by an earlier version of the code and must replay unchanged.
 *
 * Before changing workflow code, record a history of the code as it is:
 *   CAPTURE_WORKFLOW_HISTORY=<name> npx vitest run tests/workflow-replay.test.ts -t 'replays under'
 * which writes fixtures/workflow-histories/<name>.json.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle } from '@temporalio/client';
import { TestEngine, outreachIdOf, waitFor } from './support/test-engine';
import { daysAgoInTokyo } from './support/test-dates';
import { outreachRow } from './support/rows';
import { findCaseworkerTask, openCaseworkerTask } from '../store/caseworker-tasks';
import { startTaskFollowUp } from '../engine/casework/task-follow-up';
import { closeTaskWithOutcome } from '../engine/casework/close-task';
import { taskFollowUpWorkflowId } from '../engine/casework/task-contract';
import type { PayloadKeyRing } from '../config/payload-keys';
import { encryptingDataConverter } from '../runtime/temporal-client';

const HISTORIES = join(import.meta.dirname, 'fixtures', 'workflow-histories');
const recorded = readdirSync(HISTORIES)
  .filter((f) => f.endsWith('.json'))
  .sort();

/**
 * The payload key of this file's engine, fixed (a test key, no secret): histories captured from it are encrypted
 * under it and replay with it later. Histories recorded before payloads were encrypted are plain, and the codec
 * passes plain payloads through.
 */
const REPLAY_PAYLOAD_KEYS: PayloadKeyRing = [{ id: 'replay-fixtures', key: Buffer.from('oshirase-replay-fixtures-key-32b', 'utf8') }];

const replay = (history: unknown, workflowId: string) =>
  Worker.runReplayHistory(
    { workflowBundle: { codePath: inject('workflowBundlePath') }, dataConverter: encryptingDataConverter(REPLAY_PAYLOAD_KEYS).dataConverter },
    history,
    workflowId,
  );

let engine: TestEngine;
let history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
let outreachId: string;
let lateHistory: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
let lateOutreachId: string;
let taskHistory: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
let taskWorkflowId: string;

beforeAll(async () => {
  engine = await TestEngine.start({ payloadKeys: REPLAY_PAYLOAD_KEYS });
  // One complete outreach of the current code: email, push, letter, deadline task (a plan day is 100 ms).
  const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
  outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 100 }));
  await engine.result(outreachId);
  history = await engine.client.workflow.getHandle(outreachId).fetchHistory();
  // And one whose deadline had passed when it began (a birth reported 20 days late): the late path.
  const late = await engine.addResident({ consents: ['child-benefits'], push: true });
  lateOutreachId = outreachIdOf(await engine.sendBirth(late, { msPerDay: 100, occurredOn: daysAgoInTokyo(20) }));
  await engine.result(lateOutreachId);
  lateHistory = await engine.client.workflow.getHandle(lateOutreachId).fetchHistory();
  // And one caseworker task's follow-up: due at once, escalated, then closed (its whole path).
  const owner = await engine.addResident({ consents: ['child-benefits'] });
  const taskOutreach = `child-allowance:${owner.id}:replay`;
  await engine.db
    .insertInto('outreach')
    .values(outreachRow(taskOutreach, owner.id, { status: 'no-response' }))
    .execute();
  const ids = { outreachId: taskOutreach, residentId: owner.id, ruleId: 'child-allowance', ruleVersion: 2 };
  const { taskId } = await openCaseworkerTask(engine.db, { ...ids, kind: 'no-response', actor: 'engine', dueAt: new Date(Date.now() + 200) });
  await startTaskFollowUp(engine.client, { taskId, dueAtMs: Date.now() + 200, recheckMs: 60_000 }, engine.taskQueue);
  const escalated = await waitFor('the task escalated', async () => (await findCaseworkerTask(engine.db, taskId))?.escalated_at);
  void escalated;
  await closeTaskWithOutcome({ db: engine.db, temporal: engine.client }, (await findCaseworkerTask(engine.db, taskId))!, 'staff:replay', {
    outcome: 'visited',
    note: null,
    via: 'console',
  });
  taskWorkflowId = taskFollowUpWorkflowId(taskId);
  await engine.client.workflow.getHandle(taskWorkflowId).result();
  taskHistory = await engine.client.workflow.getHandle(taskWorkflowId).fetchHistory();
});
afterAll(async () => {
  await engine?.stop();
});

describe('histories recorded by earlier workflow code', () => {
  it('has at least one to replay', () => {
    expect(recorded.length).toBeGreaterThan(0);
  });
  it.each(recorded)('%s replays under the current code', async (file) => {
    await replay(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')), file);
  });
});

describe('an outreach of the current code', () => {
  it('replays under the current code', async () => {
    const name = process.env.CAPTURE_WORKFLOW_HISTORY;
    if (name) writeFileSync(join(HISTORIES, `${name}.json`), `${historyToJSON(history)}\n`);
    await replay(history, outreachId);
  });

  it('replays under the current code when its deadline had passed at the start (late event)', async () => {
    const name = process.env.CAPTURE_WORKFLOW_HISTORY;
    if (name) writeFileSync(join(HISTORIES, `${name}-late-event.json`), `${historyToJSON(lateHistory)}\n`);
    // The deadline-passed task first, then the late-application notices.
    const activities = (lateHistory.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
    );
    expect(activities).toEqual(['openCaseworkerTask', 'deliverNotice', 'deliverNotice', 'deliverNotice', 'recordOutreachEnd']);
    await replay(lateHistory, lateOutreachId);
  });

  it('a caseworker task follow-up (escalated, then closed) replays under the current code', async () => {
    const name = process.env.CAPTURE_WORKFLOW_HISTORY;
    if (name) writeFileSync(join(HISTORIES, `${name}-task-follow-up.json`), `${historyToJSON(taskHistory)}\n`);
    const activities = (taskHistory.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
    );
    expect(activities).toEqual(['escalateCaseworkerTask']);
    await replay(taskHistory, taskWorkflowId);
  });

  it('looks up its plan in a local activity: no activity task for it on the server', () => {
    const events = history.events ?? [];
    const activities = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    expect(activities).not.toContain('beginOutreach');
    expect(activities).toContain('deliverNotice');
    const markers = events.flatMap((e) => (e.markerRecordedEventAttributes ? [e.markerRecordedEventAttributes.markerName] : []));
    expect(markers).toContain('core_local_activity');
  });
});
