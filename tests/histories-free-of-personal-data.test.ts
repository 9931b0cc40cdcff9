import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { TestEngine, outreachIdOf } from './support/test-engine';

// Runs last (see vitest.config.ts): it scans the histories of every workflow the suite ran.
let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.stop();
});

/** A history as text, with every payload decoded, so personal data could not hide in base64. */
async function historyText(client: Client, workflowId: string, runId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return JSON.stringify(history, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value));
}

it('keeps names, email addresses, postal addresses and birth dates out of every workflow history', async () => {
  // One more complete outreach of its own, so the scan never passes on an empty server.
  const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
  const ownOutreach = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 100 }));
  await engine.result(ownOutreach);

  const residents = await engine.db.selectFrom('residents').selectAll().execute();
  const events = await engine.db.selectFrom('life_events').select(['occurred_on']).execute();
  const forbidden = new Set<string>();
  for (const r of residents) {
    for (const value of [r.family_name, r.given_name, `${r.family_name} ${r.given_name}`, r.email, r.address, r.postal_code, r.birth_date]) {
      if (value) forbidden.add(value);
    }
  }
  for (const e of events) forbidden.add(e.occurred_on);

  const scanned: string[] = [];
  for await (const execution of engine.client.workflow.list()) {
    const text = await historyText(engine.client, execution.workflowId, execution.runId);
    const leaks = [...forbidden].filter((value) => text.includes(value));
    expect(leaks, `history of ${execution.workflowId}`).toEqual([]);
    scanned.push(execution.workflowId);
  }
  expect(scanned).toContain(ownOutreach);
  expect(scanned.length).toBeGreaterThanOrEqual(residents.length > 5 ? 5 : 1);
});
