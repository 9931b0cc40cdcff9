/**
 * Fault: the PostgreSQL server (the engine's database — and, on this machine, the cluster's store too) is
 * stopped for a few seconds while outreach run and the registry keeps sending events. The intake answers
 * 503 with Retry-After while it is away and 202 again once it is back; the registry's retries of the
 * refused events are taken; activities retry through it; every outreach ends, nothing arrives twice.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestEngine, waitFor, type TestResident } from '../support/test-engine';
import { startTestService, type TestService } from '../support/test-service';
import type { CreatedClient } from '../../service/auth/calling-systems';
import { daysAgoInTokyo } from '../support/test-dates';
import { countDeliveries, report } from './fault-ledger';
import { parents, waitUntilAllEnded } from './fault-run';

const MS_PER_DAY = 4_000;
const DOWN_MS = 6_000;

let engine: TestEngine;
let svc: TestService;
let registry: CreatedClient;
beforeAll(async () => {
  engine = await TestEngine.start();
  svc = await startTestService(engine, { msPerDay: MS_PER_DAY });
  registry = await svc.client('event-source');
});
afterAll(async () => {
  await svc?.close();
  await engine?.terminateRunningWorkflows().catch(() => {});
  await engine?.stop();
});

/** The PostgreSQL cluster of this machine, as pg_lsclusters names it (version and name). */
function postgresCluster(): [string, string] {
  const line = execFileSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' })
    .split('\n')
    .find((l) => /\b5432\b/.test(l));
  if (!line) throw new Error('no PostgreSQL cluster on port 5432 in pg_lsclusters');
  const [version, name] = line.trim().split(/\s+/);
  return [version!, name!];
}

async function postBirth(resident: TestResident, eventId: string): Promise<Response> {
  return fetch(`${svc.service.internalUrl}/api/v1/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: await svc.bearer(registry) },
    body: JSON.stringify({ id: eventId, type: 'birth', residentId: resident.id, occurredOn: daysAgoInTokyo(2) }),
  });
}

it('answers 503 while the database is away, takes the retried events after, and loses and repeats nothing', async () => {
  const residents = await parents(engine, 40);
  const eventIds = new Map(residents.map((r) => [r.id, `birth-${randomUUID()}`]));
  const statuses: number[] = [];
  // The first half before the database goes away.
  for (const r of residents.slice(0, 20)) expect((await postBirth(r, eventIds.get(r.id)!)).status).toBe(202);

  const [version, name] = postgresCluster();
  execFileSync('pg_ctlcluster', [version, name, 'stop', '--', '-m', 'fast']);
  const downUntil = Date.now() + DOWN_MS;
  const refused: TestResident[] = [];
  for (const r of residents.slice(20)) {
    const response = await postBirth(r, eventIds.get(r.id)!).catch(() => null);
    const status = response?.status ?? 0;
    statuses.push(status);
    if (status === 503) expect(response!.headers.get('retry-after')).toBe('5');
    if (status !== 202) refused.push(r);
    if (Date.now() > downUntil) break;
  }
  await new Promise((r) => setTimeout(r, Math.max(0, downUntil - Date.now())));
  execFileSync('pg_ctlcluster', [version, name, 'start']);
  process.stderr.write(`database-restart: answers while it was away: ${JSON.stringify(statuses)}\n`);
  expect(statuses.length).toBeGreaterThan(0);
  expect(statuses.every((s) => s === 503)).toBe(true);

  // The registry sends the refused events again (same ids) and the rest; the service recovers by itself.
  for (const r of residents.slice(20)) {
    await waitFor('the intake to take the event', async () => (await postBirth(r, eventIds.get(r.id)!)).status === 202, 120_000);
  }
  const outreachIds = (
    await engine.db
      .selectFrom('outreach')
      .select('id')
      .where(
        'resident_id',
        'in',
        residents.map((r) => r.id),
      )
      .execute()
  ).map((o) => o.id);
  expect(outreachIds).toHaveLength(2 * residents.length);
  await waitUntilAllEnded(engine, outreachIds, 420_000);
  const figures = report(
    await countDeliveries(
      engine,
      'database-restart',
      outreachIds,
      residents.map((r) => r.deviceId!),
    ),
  );
  expect(figures.expected).toBeGreaterThan(0);
  expect(figures.duplicates).toBe(0);
  expect(figures.losses).toBe(0);
});
