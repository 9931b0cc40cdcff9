import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnService, type RunningService } from '../dev/local-services/spawn-service';
import { TestEngine, mailsTo, outreachIdOf, pushesTo, waitFor } from './support/test-engine';

let engine: TestEngine;
let worker: RunningService | null = null;

const startWorkerProcess = () => spawnService('worker.ts', [], 'WORKER_READY', { env: engine.workerEnv(), timeoutMs: 120_000 });

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
});
afterAll(async () => {
  await worker?.stop();
  await engine?.stop();
});

// Plan days long enough that a busy machine cannot push the push and letter steps past the deadline.
// The rule's plan from a birth 3 days ago: email (day 0), push (day 3), letter (day 7), deadline (day 12).
// Once the worker is gone, the wait's timer fires on the server (awaited below as a history event, not
// a sleep); the workflow task it schedules sits on the dead worker's sticky queue for its 10 s
// schedule-to-start timeout before the restarted worker gets it. That leaves about 9 days - 10 s
// (17 s at 3 s a day) for the worker to come back and send the push and letter before the deadline.
const MS_PER_DAY = 3_000;

it('finishes an outreach with no duplicate send when its worker is killed and restarted in the middle', async () => {
  worker = await startWorkerProcess();
  const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
  const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: MS_PER_DAY }));
  await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
  // Killed only once the workflow holds the send's result: a kill between the ledger row and the
  // activity's completion would leave the server waiting out the activity's 2-minute timeout.
  expect(await engine.sendsSeenByWorkflow(outreachId, 1)).toEqual([['email', 'sent']]);

  // SIGKILL: no graceful shutdown, the process just disappears mid-outreach.
  const exited = new Promise((resolve) => worker!.process.once('exit', resolve));
  worker.process.kill('SIGKILL');
  await exited;
  // The 3-day wait runs out while no worker is alive: the server records its timer as fired.
  const handle = engine.client.workflow.getHandle(outreachId);
  await waitFor('the 3-day wait to run out', async () => (await handle.fetchHistory()).events?.some((e) => e.timerFiredEventAttributes), 60_000);
  expect((await engine.ledger(outreachId)).map((d) => d.channel)).toEqual(['email']);

  worker = await startWorkerProcess();
  const status = await engine.result(outreachId);

  expect(status.state).toBe('deadline-passed');
  const ledger = await engine.ledger(outreachId);
  expect(ledger.map((d) => [d.channel, d.status])).toEqual([
    ['email', 'sent'],
    ['push', 'sent'],
    ['letter', 'sent'],
  ]);
  expect(await mailsTo(resident.email!, outreachId)).toHaveLength(1);
  expect(await pushesTo(resident.deviceId!, outreachId)).toHaveLength(1);
  const manifest = readFileSync((ledger[2]!.detail as { manifestPath: string }).manifestPath, 'utf8');
  expect(manifest.split('\n').filter((line) => line.includes(ledger[2]!.idempotency_key))).toHaveLength(1);
  expect(await engine.tasks(outreachId)).toHaveLength(1);
});
