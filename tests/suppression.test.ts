import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { TestEngine, mailsTo, outreachIdOf, waitFor } from './support/test-engine';

let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.stop();
});

it('holds back another rule’s notice to a household in mourning, and lets its own through', async () => {
  const household = `H-${randomUUID().slice(0, 8)}`;
  const parent = await engine.addResident({ consents: ['child-benefits', 'bereavement'], householdId: household });

  // A death in the household: the bereavement rule holds every other purpose back for 60 days.
  const bereavement = outreachIdOf(
    await engine.sendEvent(parent, { type: 'death-in-household', msPerDay: 60_000, payload: { relationship: 'spouse' } }),
    'bereavement-procedures',
  );
  await waitFor('the bereavement email', async () => (await engine.ledger(bereavement)).some((d) => d.status === 'sent'));
  // Then a birth in the same household: the child allowance rule matches, but must wait.
  const allowance = outreachIdOf(await engine.sendBirth(parent, { msPerDay: 60_000 }));
  await waitFor('the hold', async () => (await engine.audit(parent.id)).some((a) => a.action === 'send-held-back' && a.outreach_id === allowance));

  expect(await engine.ledger(allowance)).toEqual([]);
  const mails = await mailsTo(parent.email!);
  expect(mails.map((m) => m.subject)).toEqual(['【おしらせ市】おくやみ手続きのご案内']);
  const placed = (await engine.audit(parent.id)).find((a) => a.action === 'suppression-placed');
  expect(placed?.detail).toMatchObject({ household, days: 60 });
  const status = await engine.client.workflow.getHandle(allowance).query('status');
  expect(status).toMatchObject({ state: 'running', sends: [] });

  for (const id of [bereavement, allowance]) await engine.client.workflow.getHandle(id).signal('respond', { kind: 'acknowledged', via: 'cli' });
  expect((await engine.result(allowance)).sends).toEqual([]);
});
