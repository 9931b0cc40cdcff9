/**
 * The engine on a real Temporal cluster: the server built from go.temporal.io/server, its history and
 * visibility in PostgreSQL, every service in one process (tests/cluster/global-setup.ts starts it). One
 * birth's outreach runs its whole plan (durable timers, activities, the deadline task) and another ends on
 * the resident's answer (an Update), each counted in what the SMTP sink and the push receiver got, and
 * the cluster's own visibility store in PostgreSQL holds both runs as completed.
 * `npm run test:cluster`; not part of `npm test`, which runs on the dev server.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestEngine, mailsTo, outreachIdOf, pushesTo, waitFor } from '../support/test-engine';
import { respondToOutreach } from '../../engine/outreach/respond-to-outreach';
import { daysAgoInTokyo } from '../support/test-dates';

// A plan day of 1.5 s: the whole plan of a birth two days ago (email day 0, push day 3, letter day 8,
// deadline day 13) takes about 20 s, with 10 plan days between the email and the letter for load to eat.
const FAST_DAY_MS = 1_500;
let engine: TestEngine;
let visibility: pg.Client;

beforeAll(async () => {
  engine = await TestEngine.start();
  visibility = new pg.Client({ connectionString: inject('clusterVisibilityDatabaseUrl') });
  await visibility.connect();
});
afterAll(async () => {
  await visibility?.end();
  await engine?.stop({ terminateRunning: true });
});

/** The run as the cluster's visibility store in PostgreSQL has it (status 2 is Completed). */
async function storedRun(workflowId: string): Promise<{ status: number; task_queue: string } | undefined> {
  const rows = await visibility.query<{ status: number; task_queue: string }>('SELECT status, task_queue FROM executions_visibility WHERE workflow_id = $1', [
    workflowId,
  ]);
  return rows.rows[0];
}

describe('the engine on a real Temporal cluster', () => {
  it('runs a birth outreach through email, push, letter and the deadline task, each once', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: FAST_DAY_MS, occurredOn: daysAgoInTokyo(2) }));
    const status = await engine.result(outreachId);

    expect(status.state).toBe('deadline-passed');
    expect((await engine.ledger(outreachId)).map((d) => [d.channel, d.status])).toEqual([
      ['email', 'sent'],
      ['push', 'sent'],
      ['letter', 'sent'],
    ]);
    expect((await engine.tasks(outreachId)).map((t) => t.kind)).toEqual(['deadline-passed']);
    // Counted where they arrived, not in the ledger: one email, one push.
    expect(await mailsTo(resident.email!, outreachId)).toHaveLength(1);
    expect(await pushesTo(resident.deviceId!, outreachId)).toHaveLength(1);
    // Visibility is written a moment after the run closes.
    const run = await waitFor('the completed run in the visibility store', async () => {
      const stored = await storedRun(outreachId);
      return stored?.status === 2 ? stored : undefined;
    });
    expect(run.task_queue).toBe(engine.taskQueue);
  });

  it("ends an outreach on the resident's answer, taken through an update", async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000 }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
    const answer = await respondToOutreach({ db: engine.db, temporal: engine.client }, outreachId, { kind: 'applied', via: 'link' }, `resident:${resident.id}`);
    expect(answer.outcome).toBe('accepted');

    const status = await engine.result(outreachId);
    expect([status.state, status.response]).toEqual(['responded', 'applied']);
    expect((await engine.ledger(outreachId)).map((d) => d.channel)).toEqual(['email']);
    expect(await mailsTo(resident.email!, outreachId)).toHaveLength(1);
    expect(await pushesTo(resident.deviceId!, outreachId)).toHaveLength(0);
    await waitFor('the completed run in the visibility store', async () => (await storedRun(outreachId))?.status === 2);
  });
});
