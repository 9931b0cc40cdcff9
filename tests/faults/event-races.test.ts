/**
 * Faults of the event stream and of timing: the same life event five times at once; events out of order
 * (a move-out before the move-in it follows; a parent's death before the birth it follows); a resident who
 * answers while a send is being retried.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { respondToOutreach } from '../../engine/outreach/respond-to-outreach';
import { TestEngine, mailsTo, waitFor } from '../support/test-engine';
import { daysAgoInTokyo } from '../support/test-dates';
import { countDeliveries, report } from './fault-ledger';
import { waitUntilAllEnded } from './fault-run';

const MS_PER_DAY = 4_000;
let engine: TestEngine;
beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.terminateRunningWorkflows().catch(() => {});
  await engine?.stop();
});

const outreachOf = async (residentId: string) =>
  engine.db.selectFrom('outreach').select(['id', 'rule_id', 'status']).where('resident_id', '=', residentId).execute();

it('starts one outreach per rule, and sends each notice once, for the same birth sent five times at once', async () => {
  const residents = await Promise.all(Array.from({ length: 10 }, () => engine.addResident({ consents: ['child-benefits'], push: true })));
  const occurredOn = daysAgoInTokyo(2);
  await Promise.all(
    residents.flatMap((r) => {
      const eventId = `birth-${randomUUID()}`;
      return Array.from({ length: 5 }, () => engine.sendEvent(r, { type: 'birth', eventId, occurredOn, msPerDay: MS_PER_DAY }));
    }),
  );
  const outreach = (await Promise.all(residents.map((r) => outreachOf(r.id)))).flat();
  expect(outreach).toHaveLength(2 * residents.length);
  const ids = outreach.map((o) => o.id);
  await waitUntilAllEnded(engine, ids, 300_000);
  const figures = report(
    await countDeliveries(
      engine,
      'same-event-five-times',
      ids,
      residents.map((r) => r.deviceId!),
    ),
  );
  expect(figures.expected).toBeGreaterThan(0);
  expect(figures.duplicates).toBe(0);
  expect(figures.losses).toBe(0);
});

it('tells nothing of a move-in that arrives after the move-out that followed it', async () => {
  const resident = await engine.addResident({ consents: ['relocation'] });
  await engine.sendEvent(resident, { type: 'moved-out', occurredOn: daysAgoInTokyo(2), msPerDay: MS_PER_DAY });
  const late = await engine.sendEvent(resident, { type: 'moved-in', occurredOn: daysAgoInTokyo(20), msPerDay: MS_PER_DAY });
  expect(late.matches.filter((m) => m.ruleId === 'moving-in-procedures' && m.result.decision === 'outreach')).toEqual([]);
  const running = (await outreachOf(resident.id)).filter((o) => o.rule_id === 'moving-in-procedures' && o.status === 'active');
  expect(running).toEqual([]);
});

it('tells nothing to a parent of a birth that arrives after the death that followed it', async () => {
  const household = `H-${randomUUID().slice(0, 8)}`;
  const survivor = await engine.addResident({ consents: ['child-benefits'], householdId: household });
  const parent = await engine.addResident({ consents: ['child-benefits'], householdId: household });
  await engine.sendEvent(survivor, {
    type: 'death-in-household',
    occurredOn: daysAgoInTokyo(2),
    payload: { deceased_resident_id: parent.id },
    msPerDay: MS_PER_DAY,
  });
  const birth = await engine.sendBirth(parent, { occurredOn: daysAgoInTokyo(5), msPerDay: MS_PER_DAY });
  expect(birth.matches.filter((m) => m.result.decision === 'outreach')).toEqual([]);
  expect(await mailsTo(parent.email!)).toEqual([]);
});

it('sends nothing when the resident answers while the send is being retried', async () => {
  const resident = await engine.addResident({ consents: ['child-benefits'], push: false });
  // The SMTP server defers every delivery to this address (452) until told otherwise: the email is retried.
  const control = inject('smtpControlUrl');
  await fetch(`${control}/next-responses`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ address: resident.email, responses: Array.from({ length: 50 }, () => ({ kind: 'defer-452' })) }),
  });
  const result = await engine.sendBirth(resident, { msPerDay: 60_000, occurredOn: daysAgoInTokyo(2) });
  const ids = result.matches.flatMap((m) => (m.result.decision === 'outreach' ? [m.result.outreachId] : []));
  await waitFor(
    'a retried email',
    async () => {
      const described = await engine.client.workflow.getHandle(ids[0]!).describe();
      return (described.raw.pendingActivities ?? []).some((a) => (a.attempt ?? 0) > 1);
    },
    120_000,
  );
  for (const id of ids) await respondToOutreach({ db: engine.db, temporal: engine.client }, id, { kind: 'acknowledged', via: 'cli' }, 'fault-suite');
  // The server accepts again: a retry that still sent would now deliver.
  await fetch(`${control}/next-responses?address=${encodeURIComponent(resident.email!)}`, { method: 'DELETE' });
  await waitUntilAllEnded(engine, ids, 180_000);
  expect(await mailsTo(resident.email!)).toEqual([]);
  const ended = await engine.db.selectFrom('outreach').select(['status', 'response']).where('id', 'in', ids).execute();
  expect(ended.every((o) => o.response === 'acknowledged')).toBe(true);
  // The retry found the answer and stood down (not a send that happened to fail again).
  const stoodDown = await engine.db.selectFrom('audit_log').select('detail').where('outreach_id', 'in', ids).where('action', '=', 'send-stopped').execute();
  expect(stoodDown.map((a) => (a.detail as { reason?: string }).reason)).toContain('answered while the send was retried');
});
