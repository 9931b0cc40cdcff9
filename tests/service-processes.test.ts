/**
 * `oshirase serve` and `oshirase worker` as a city runs them: their own
 * processes, configured by the environment, against the suite's PostgreSQL and
 * Temporal. A registry's event reaches the service, the worker sends the
 * email; SIGTERM lets a request in flight finish before the service exits,
 * and the JSON log lines name ids, never the resident.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnService, type RunningService } from '../dev/local-services/spawn-service';
import { createClient, signClientToken, type CreatedClient } from '../service/auth/calling-systems';
import { TestEngine, mailsTo, outreachIdOf, waitFor, type TestResident } from './support/test-engine';
import { TEST_CLIENT_PEPPER } from './support/test-service';
import { daysAgoInTokyo } from './support/test-dates';
import type { IntakeResult } from '../engine/intake/accept-life-event';

let engine: TestEngine;
let worker: RunningService | null = null;
let service: RunningService | null = null;
const serviceLog: string[] = [];

const processEnv = (): NodeJS.ProcessEnv => ({ ...engine.workerEnv(), CLIENT_SECRET_PEPPER: TEST_CLIENT_PEPPER, LOG_LEVEL: 'info' });

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
});
afterAll(async () => {
  await service?.stop();
  await worker?.stop();
  await engine?.stop();
});

function exitOf(child: RunningService): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.process.exitCode !== null) resolve(child.process.exitCode);
    else child.process.once('exit', (code) => resolve(code));
  });
}

it('serves a registry’s event and sends the email from a worker process; both stop cleanly on SIGTERM', async () => {
  worker = await spawnService('client.ts', ['worker'], 'WORKER_READY', { env: processEnv(), timeoutMs: 120_000 });
  service = await spawnService('client.ts', ['serve', '--public-port', '0', '--internal-port', '0'], 'SERVICE_READY', {
    env: processEnv(),
    timeoutMs: 60_000,
    onOutput: (line) => serviceLog.push(line),
  });
  const [publicUrl, internalUrl] = service.url.split(' ') as [string, string];
  expect((await fetch(`${publicUrl}/healthz`)).status).toBe(200);
  expect(await (await fetch(`${internalUrl}/readyz`)).json()).toEqual({ status: 'ready', database: true, temporal: true });

  const registry: CreatedClient = await createClient(engine.db, TEST_CLIENT_PEPPER, { name: 'registry', role: 'event-source', actor: 'test' });
  const resident: TestResident = await engine.addResident({ consents: ['child-benefits'] });
  const event = { id: `birth-${randomUUID()}`, type: 'birth', residentId: resident.id, occurredOn: daysAgoInTokyo(3) };
  const posted = await fetch(`${internalUrl}/api/v1/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await signClientToken(registry.id, registry.secret)}` },
    body: JSON.stringify(event),
  });
  expect(posted.status).toBe(202);
  const outreachId = outreachIdOf((await posted.json()) as IntakeResult);
  await waitFor('the email from the worker process', async () => (await mailsTo(resident.email!, outreachId)).length === 1);

  // A request in flight when SIGTERM arrives: the server has read its headers (it answered 100 Continue)
  // and half its body; the rest is sent only after the service has said it is stopping.
  const second = JSON.stringify({ ...event, id: `birth-${randomUUID()}` });
  const token = await signClientToken(registry.id, registry.secret);
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(`${internalUrl}/api/v1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(second), Authorization: `Bearer ${token}`, Expect: '100-continue' },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.once('continue', () => {
      req.write(second.slice(0, 20));
      const stopping = serviceLog.length;
      service!.process.kill('SIGTERM');
      waitFor('the service to start shutting down', async () => serviceLog.slice(stopping).some((l) => l.includes('service shutting down')), 20_000).then(
        () => req.end(second.slice(20)),
        reject,
      );
    });
    req.flushHeaders();
  });
  const finished = await answer;
  expect(finished.status).toBe(202);
  expect(await exitOf(service)).toBe(0);
  expect(serviceLog.some((l) => l.includes('"msg":"service stopped"'))).toBe(true);

  // JSON lines with ids only: no name, email, birth date or credential of the request.
  const lines = serviceLog.filter((l) => l.startsWith('{'));
  expect(lines.some((l) => JSON.parse(l).caller === `client:${registry.id}`)).toBe(true);
  for (const secretOrPersonal of [resident.familyName, resident.email!, resident.birthDate, registry.secret, token]) {
    expect(serviceLog.join('\n')).not.toContain(secretOrPersonal);
  }

  // Every outreach of both events ends while the worker still runs; then the worker stops.
  const outreachIds = (await engine.db.selectFrom('outreach').select('id').where('resident_id', '=', resident.id).execute()).map((r) => r.id);
  expect(outreachIds).toContain(outreachId);
  for (const id of outreachIds) {
    await engine.client.workflow.getHandle(id).signal('respond', { kind: 'acknowledged', via: 'cli' });
    await engine.result(id);
  }
  worker.process.kill('SIGTERM');
  expect(await exitOf(worker)).toBe(0);
});
