/**
 * Fault: the Temporal server is SIGKILLed on its PostgreSQL store twice — while the outreach' first sends
 * run, and later while they wait on their timers — and started again each time. Every outreach must reach
 * its end state, each notice arriving once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestEngine, waitFor } from '../support/test-engine';
import { countDeliveries, report } from './fault-ledger';
import { clusterControl, parents, sendBirths, waitUntilAllEnded } from './fault-run';

const BIRTHS = 40;
const MS_PER_DAY = 4_000;

let engine: TestEngine;
beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.terminateRunningWorkflows().catch(() => {});
  await engine?.stop();
});

it('loses no outreach and sends nothing twice when the Temporal server is killed during sends and during waits', async () => {
  const residents = await parents(engine, BIRTHS);
  const outreachIds = await sendBirths(engine, residents, MS_PER_DAY);
  expect(outreachIds).toHaveLength(2 * BIRTHS);
  // While the first emails go out: some sent, some not yet.
  await waitFor('the first emails', async () => {
    const sent = await engine.db.selectFrom('deliveries').select('id').where('outreach_id', 'in', outreachIds).where('status', '=', 'sent').execute();
    return sent.length >= 5;
  });
  await clusterControl('/kill');
  await new Promise((r) => setTimeout(r, 3_000));
  await clusterControl('/start');
  // Later, while the outreach wait between their emails and their pushes (3 plan days).
  await waitFor(
    'every email sent',
    async () => {
      const emails = await engine.db
        .selectFrom('deliveries')
        .select('id')
        .where('outreach_id', 'in', outreachIds)
        .where('channel', '=', 'email')
        .where('status', '=', 'sent')
        .execute();
      return emails.length === outreachIds.length;
    },
    240_000,
  );
  await clusterControl('/kill');
  await new Promise((r) => setTimeout(r, 3_000));
  await clusterControl('/start');

  await waitUntilAllEnded(engine, outreachIds, 420_000);
  const figures = report(
    await countDeliveries(
      engine,
      'temporal-server-kills',
      outreachIds,
      residents.map((r) => r.deviceId!),
    ),
  );
  expect(figures.expected).toBeGreaterThan(0);
  expect(figures.duplicates).toBe(0);
  expect(figures.losses).toBe(0);
});
