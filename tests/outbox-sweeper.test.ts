/**
 * The outbox: an outreach committed with its life event whose workflow start never happened (the process
 * died, or Temporal did not answer, between the commit and the start) is started by the sweeper — once,
 * whatever happened before the crash. Time-independent: rows are made old enough by moving their
 * `started_at` back, never by waiting for a grace period.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import { acceptLifeEvent } from '../engine/intake/accept-life-event';
import { parseLifeEvent } from '../engine/intake/life-event-schema';
import { sweepPendingOutreach } from '../engine/outreach/outbox-sweeper';
import { TestEngine } from './support/test-engine';
import { daysAgoInTokyo } from './support/test-dates';

let engine: TestEngine;
beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.stop();
});

/** A Temporal client whose every outreach start fails, as when the service dies right after the commit. */
function clientThatNeverStarts(): Client {
  return new Client({
    connection: engine.client.connection,
    namespace: engine.client.options.namespace,
    interceptors: {
      workflow: [
        {
          async startWithDetails() {
            throw new Error('injected: the process died before the start');
          },
        },
      ],
    },
  });
}

const pendingOf = async (ids: string[]) =>
  (await engine.db.selectFrom('outreach').select(['id', 'workflow_pending']).where('id', 'in', ids).execute())
    .filter((r) => r.workflow_pending)
    .map((r) => r.id);

/** Makes rows older than any grace period, as if the crash had been minutes ago. */
const age = (ids: string[]) =>
  engine.db
    .updateTable('outreach')
    .set({ started_at: new Date(Date.now() - 10 * 60_000) })
    .where('id', 'in', ids)
    .execute();

const workflowsOf = async (id: string) => {
  let count = 0;
  for await (const _ of engine.client.workflow.list({ query: `WorkflowId = '${id}'` })) count += 1;
  return count;
};

describe('the outbox sweeper', () => {
  it('starts the outreach a crash between the commit and the start left behind, and only those past the grace period', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const event = parseLifeEvent('test', { id: `birth-${randomUUID()}`, type: 'birth', residentId: resident.id, occurredOn: daysAgoInTokyo(3) });
    const deps = { db: engine.db, taskQueue: engine.taskQueue, msPerDay: 60_000, outreachIdKey: engine.context.outreachIdKey };
    await expect(acceptLifeEvent({ ...deps, temporal: clientThatNeverStarts() }, event, 'test')).rejects.toThrow(/injected/);
    const stored = (await engine.db.selectFrom('outreach').select('id').where('event_id', '=', event.id).execute()).map((r) => r.id);
    expect(stored.length).toBeGreaterThanOrEqual(2);
    expect(await pendingOf(stored)).toEqual(expect.arrayContaining(stored));

    // Within the grace period a start may still be in flight: the sweeper leaves the rows alone.
    await sweepPendingOutreach({ ...deps, temporal: engine.client }, { graceSeconds: 3600 });
    expect((await pendingOf(stored)).sort()).toEqual([...stored].sort());

    await age(stored);
    const swept = await sweepPendingOutreach({ ...deps, temporal: engine.client }, { graceSeconds: 60 });
    expect(swept.started).toBeGreaterThanOrEqual(stored.length);
    expect(await pendingOf(stored)).toEqual([]);
    for (const id of stored) expect(await workflowsOf(id)).toBe(1);
    const audit = await engine.audit(resident.id);
    expect(
      audit
        .filter((a) => a.action === 'outreach-started')
        .map((a) => [a.outreach_id, (a.detail as { recoveredBy?: string }).recoveredBy])
        .sort(),
    ).toEqual([...stored].sort().map((id) => [id, 'outbox-sweeper']));

    // A second sweep finds nothing of them; the event's repeat finds them started.
    await sweepPendingOutreach({ ...deps, temporal: engine.client }, { graceSeconds: 60 });
    for (const id of stored) expect(await workflowsOf(id)).toBe(1);
    const repeat = await acceptLifeEvent({ ...deps, temporal: engine.client }, event, 'test');
    expect(repeat.matches.flatMap((m) => (m.result.decision === 'outreach' ? [m.result.start] : []))).toEqual(stored.map(() => 'already-started'));
    for (const id of stored) {
      await engine.client.workflow.getHandle(id).signal('respond', { kind: 'acknowledged', via: 'cli' });
      await engine.result(id);
    }
  });

  it('takes out of the outbox, without a second workflow, an outreach whose start happened just before the crash', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const result = await engine.sendBirth(resident, { msPerDay: 60_000, occurredOn: daysAgoInTokyo(3) });
    const ids = result.matches.flatMap((m) => (m.result.decision === 'outreach' ? [m.result.outreachId] : []));
    expect(await pendingOf(ids)).toEqual([]);
    // The crash came after Temporal took the start and before the row left the outbox.
    await engine.db.updateTable('outreach').set({ workflow_pending: true }).where('id', 'in', ids).execute();
    await age(ids);
    const swept = await sweepPendingOutreach({ db: engine.db, temporal: engine.client, taskQueue: engine.taskQueue, msPerDay: 60_000 }, { graceSeconds: 60 });
    expect(swept.alreadyStarted).toBeGreaterThanOrEqual(ids.length);
    expect(await pendingOf(ids)).toEqual([]);
    for (const id of ids) expect(await workflowsOf(id)).toBe(1);
    expect((await engine.audit(resident.id)).filter((a) => a.action === 'outreach-started')).toHaveLength(ids.length);
    for (const id of ids) {
      await engine.client.workflow.getHandle(id).signal('respond', { kind: 'acknowledged', via: 'cli' });
      await engine.result(id);
    }
  });
});
