/**
 * Fault: the service process is SIGKILLed after it committed a life event and its outreach rows and before
 * it could start their workflows — here because the Temporal server was down at that moment, so the start
 * was still being retried when the process died. Nothing else will ever send that event again; the worker
 * process's outbox sweeper starts the outreach once Temporal is back, and each notice arrives once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnService, type RunningService } from '../../dev/local-services/spawn-service';
import { createClient, signClientToken } from '../../service/auth/calling-systems';
import { TestEngine, waitFor } from '../support/test-engine';
import { TEST_CLIENT_PEPPER } from '../support/test-service';
import { daysAgoInTokyo } from '../support/test-dates';
import { countDeliveries, report } from './fault-ledger';
import { clusterControl, parents, waitUntilAllEnded } from './fault-run';

let engine: TestEngine;
let worker: RunningService | null = null;
let service: RunningService | null = null;

const processEnv = (): NodeJS.ProcessEnv => ({
  ...engine.workerEnv(),
  CLIENT_SECRET_PEPPER: TEST_CLIENT_PEPPER,
  OSHIRASE_MS_PER_DAY: '3000',
  // The sweeper looks often and waits little: the test is about what it does, not its defaults.
  OUTBOX_SWEEP_SECONDS: '2',
  OUTBOX_GRACE_SECONDS: '5',
});

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
});
afterAll(async () => {
  await service?.stop();
  await worker?.stop();
  await engine?.terminateRunningWorkflows().catch(() => {});
  await engine?.stop();
});

it('starts, through the outbox, the outreach of an event whose service died between the commit and the start', async () => {
  service = await spawnService('client.ts', ['serve', '--public-port', '0', '--internal-port', '0'], 'SERVICE_READY', { env: processEnv(), timeoutMs: 60_000 });
  const internalUrl = service.url.split(' ')[1]!;
  const registry = await createClient(engine.db, TEST_CLIENT_PEPPER, { name: 'registry', role: 'event-source', actor: 'test' });
  const [resident] = await parents(engine, 1);

  // Temporal goes down; the event comes in, its rows are committed, the start waits on a server that is not there.
  await clusterControl('/kill');
  const posting = fetch(`${internalUrl}/api/v1/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await signClientToken(registry.id, registry.secret)}` },
    body: JSON.stringify({ id: `birth-${randomUUID()}`, type: 'birth', residentId: resident!.id, occurredOn: daysAgoInTokyo(2) }),
  }).catch(() => null);
  const rows = await waitFor('the committed outreach rows', async () => {
    const found = await engine.db.selectFrom('outreach').select(['id', 'workflow_pending']).where('resident_id', '=', resident!.id).execute();
    return found.length === 2 ? found : null;
  });
  expect(rows.every((r) => r.workflow_pending)).toBe(true);
  const exited = new Promise((resolve) => service!.process.once('exit', resolve));
  service.process.kill('SIGKILL');
  await exited;
  service = null;
  expect(await posting).toBeNull();

  // Temporal is back; a worker process comes up, and its sweeper finds the outreach nobody started.
  await clusterControl('/start');
  worker = await spawnService('worker.ts', [], 'WORKER_READY', { env: processEnv(), timeoutMs: 120_000 });
  const ids = rows.map((r) => r.id);
  await waitUntilAllEnded(engine, ids, 300_000);
  const started = await engine.db
    .selectFrom('audit_log')
    .select(['outreach_id', 'detail'])
    .where('action', '=', 'outreach-started')
    .where('outreach_id', 'in', ids)
    .execute();
  expect(started.map((a) => (a.detail as { recoveredBy?: string }).recoveredBy)).toEqual(['outbox-sweeper', 'outbox-sweeper']);
  const figures = report(await countDeliveries(engine, 'service-killed-before-start', ids, [resident!.deviceId!]));
  expect(figures.expected).toBeGreaterThan(0);
  expect(figures.duplicates).toBe(0);
  expect(figures.losses).toBe(0);
});
