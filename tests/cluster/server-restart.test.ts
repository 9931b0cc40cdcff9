/**
 * What the real cluster adds over the dev server: its state lives in PostgreSQL, so the server can die and
 * come back. An outreach waiting on a durable timer sends its next notice once (counted where it arrived),
 * across a SIGKILL of the server and a restart on the same databases and port; the engine's worker and
 * client reconnect by themselves, and the resident's answer afterwards ends it. The SIGKILL and the restart
 * go through the cluster's control (tests/cluster/global-setup.ts), which owns the server.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { TestEngine, mailsTo, outreachIdOf, pushesTo, waitFor } from '../support/test-engine';
import { respondToOutreach } from '../../engine/outreach/respond-to-outreach';

// Plan days of 5 s: after the email (day 0) the outreach waits on a timer for the push (day 3, 15 s). The
// server is killed right after the email, so the timer is in PostgreSQL only, and is back within a few
// seconds; the plan's deadline (day 13, 65 s) is far from the push, so load cannot end the plan before it.
const DAY_MS = 5_000;
let engine: TestEngine;

async function control(action: '/kill' | '/start'): Promise<void> {
  const response = await fetch(`${inject('clusterControlUrl')}${action}`, { method: 'POST' });
  if (response.status !== 204) throw new Error(`cluster ${action}: ${response.status} ${await response.text()}`);
}

beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.stop({ terminateRunning: true });
});

it('an outreach waiting on a timer survives the server killed and restarted on its PostgreSQL store, each notice once', async () => {
  const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
  const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: DAY_MS }));
  await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));

  await control('/kill');
  await control('/start');
  await waitFor('the push after the restart', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'push' && d.status === 'sent'), 90_000);
  const answer = await respondToOutreach({ db: engine.db, temporal: engine.client }, outreachId, { kind: 'applied', via: 'link' }, `resident:${resident.id}`);
  expect(answer.outcome).toBe('accepted');
  const status = await engine.result(outreachId);

  expect([status.state, status.response]).toEqual(['responded', 'applied']);
  expect((await engine.ledger(outreachId)).map((d) => [d.channel, d.status])).toEqual([
    ['email', 'sent'],
    ['push', 'sent'],
  ]);
  expect(await mailsTo(resident.email!, outreachId)).toHaveLength(1);
  expect(await pushesTo(resident.deviceId!, outreachId)).toHaveLength(1);
});
