import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { TestEngine, outreachIdOf } from './support/test-engine';
import { runDates } from './support/test-dates';
import { ENCRYPTED_ENCODING } from '../runtime/payload-codec';

// Runs last (see vitest.config.ts): it scans the histories of every workflow the suite ran.
let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.stop();
});

/**
 * A history as anyone who reads Temporal's store sees it: every string (workflow ids, failure messages, task
 * queues) and every byte field read as UTF-8 (a payload written without the codec would show in clear) —
 * except the ciphertext of encrypted payloads, whose bytes read as UTF-8 are noise that a short id could match
 * by chance (tests/payload-encryption.test.ts holds the codec to what it must do).
 */
async function historyText(client: Client, workflowId: string, runId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const pieces: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) pieces.push(Buffer.from(value).toString('utf8'));
    else if (typeof value === 'string') pieces.push(value);
    else if (Array.isArray(value)) for (const v of value) walk(v);
    else if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      const encoding = (value as { metadata?: { encoding?: unknown } }).metadata?.encoding;
      const encrypted = encoding instanceof Uint8Array && Buffer.from(encoding).toString('utf8') === ENCRYPTED_ENCODING;
      for (const [k, v] of entries) if (!(encrypted && k === 'data')) walk(v);
    }
  };
  walk(history);
  return pieces.join('\n');
}

/** Where in a text a value sits, shortened, so a report shows the field (or workflow id) it leaked through. */
function around(text: string, value: string): string {
  const at = text.indexOf(value);
  return text.slice(Math.max(0, at - 60), at + value.length + 60);
}

it('keeps resident ids, names, email addresses, postal addresses, birth dates and event dates out of every workflow history and the visibility store', async () => {
  // One more complete outreach of its own, so the scan never passes on an empty server.
  const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
  const ownOutreach = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 100 }));
  await engine.result(ownOutreach);

  const residents = await engine.db.selectFrom('residents').selectAll().execute();
  const events = await engine.db.selectFrom('life_events').select(['id', 'resident_id', 'occurred_on']).execute();
  // Each forbidden value with what it is, for the report.
  const forbidden = new Map<string, string>();
  const forbid = (value: string | null, what: string) => {
    // Blank is no one's data (an erased resident's names are emptied), and a single character would match every
    // history as a substring of its ids and encodings: neither can be told apart from data here.
    if (value && value.trim().length > 1 && !forbidden.has(value)) forbidden.set(value, what);
  };
  for (const r of residents) {
    // The register's own ids too: a workflow id, a search attribute or a payload written in clear naming the
    // resident tells as much as the name to whoever also holds the register.
    forbid(r.id, `resident id ${r.id}`);
    forbid(r.household_id, `household id of ${r.id}`);
    forbid(r.family_name, `family name of ${r.id}`);
    forbid(r.given_name, `given name of ${r.id}`);
    forbid(`${r.family_name} ${r.given_name}`, `name of ${r.id}`);
    forbid(r.email, `email of ${r.id}`);
    forbid(r.address, `address of ${r.id}`);
    forbid(r.postal_code, `postal code of ${r.id}`);
    forbid(r.birth_date, `birth date of ${r.id}`);
  }
  for (const e of events) forbid(e.occurred_on, `date of event ${e.id} of ${e.resident_id}`);

  const leaks: Array<{ workflowId: string; value: string; what: string; context: string }> = [];
  const scanned: string[] = [];
  let earliest = new Date();
  for await (const execution of engine.client.workflow.list()) {
    if (execution.startTime < earliest) earliest = execution.startTime;
    const text = await historyText(engine.client, execution.workflowId, execution.runId);
    for (const [value, what] of forbidden) {
      if (text.includes(value)) leaks.push({ workflowId: execution.workflowId, value, what, context: around(text, value) });
    }
    // The visibility store's row of the run (what `temporal workflow list` shows): id, type, queue, memo, search attributes.
    const visible = JSON.stringify({
      workflowId: execution.workflowId,
      type: execution.type,
      taskQueue: execution.taskQueue,
      memo: execution.memo ?? null,
      searchAttributes: execution.searchAttributes,
    });
    for (const [value, what] of forbidden) {
      if (visible.includes(value)) leaks.push({ workflowId: execution.workflowId, value, what, context: `visibility: ${around(visible, value)}` });
    }
    scanned.push(execution.workflowId);
  }

  // Every history carries the dates it ran on (timestamps, the daily evaluation's date, a Schedule's
  // workflow ids), so test data on such a date would be reported as a leak it is not: a test's data
  // mistake, named as such (tests/support/test-dates.ts has dates that cannot be one).
  const onRunDates = [...forbidden]
    .filter(([value]) => runDates(earliest, new Date()).has(value))
    .map(([value, what]) => `${what} is ${value}, a date the suite ran on`);
  expect.soft(onRunDates, 'test data that coincides with the run dates').toEqual([]);
  expect.soft(leaks, 'personal data in workflow histories').toEqual([]);
  expect(scanned).toContain(ownOutreach);
  expect(scanned.length).toBeGreaterThanOrEqual(residents.length > 5 ? 5 : 1);
});
