/**
 * Retention and erasure against the real database and Temporal: an outreach that ran its whole plan (email,
 * letter, caseworker task) from a birth naming a child, then retention with a 1-day period at an injected
 * "now" two days after it ended. A pg_dump of the test database then holds none of the resident's email
 * address, postal address or name outside the residents table, the letter's PDF is gone, a second run removes
 * nothing, and the audit chain verifies. `residents erase` of a resident with a running outreach ends it, and
 * afterwards none of their values is anywhere in the dump, residents table included.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { TestEngine, outreachIdOf, waitFor, type TestResident } from './support/test-engine';
import { daysAgoInTokyo } from './support/test-dates';
import { applyRetention, emptyCounts } from '../engine/retention/apply-retention';
import { eraseResident } from '../engine/retention/erase-resident';
import { verifyAuditChain } from '../store/audit-verify';
import { parseRetentionConfig } from '../config/retention';
import { RETENTION_WORKFLOW_TYPE } from '../engine/retention/retention-contract';

const DAY_MS = 86_400_000;
let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.stop({ terminateRunning: true });
});

function pgDumpBinary(): string {
  const versioned = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin', 'pg_dump')) : [];
  return versioned.find((p) => existsSync(p)) ?? 'pg_dump';
}

/** The data of the whole test database as pg_dump writes it, split into its tables' COPY sections. */
function dumpByTable(): Map<string, string> {
  const text = execFileSync(pgDumpBinary(), ['--data-only', '--no-owner', `--dbname=${inject('databaseUrl')}`], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  const tables = new Map<string, string>();
  for (const section of text.split(/^COPY /m).slice(1)) {
    const name = /^public\.(\w+)/.exec(section)?.[1] ?? section.slice(0, 40);
    tables.set(name, `${tables.get(name) ?? ''}${section.slice(0, section.indexOf('\n\\.\n'))}`);
  }
  return tables;
}

/** The tables in which any of `values` occurs (pg_dump escapes nothing in these UTF-8 values). */
function tablesHolding(tables: Map<string, string>, values: readonly string[]): string[] {
  return [...tables].filter(([, data]) => values.some((v) => data.includes(v))).map(([name]) => name);
}

function personalValues(resident: TestResident, extra: string[] = []): string[] {
  return [resident.email!, resident.address!, resident.familyName, `${resident.familyName} ${resident.givenName}`, ...extra];
}

describe('retention', () => {
  it('removes an ended outreach’s contact data and event payload after the period, keeps the audit verifiable, and is idempotent', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const childId = `C-${randomUUID().slice(0, 8)}`;
    const childName = `陽葵${childId.slice(2)}`;
    // Born 2 days ago: email (plan day 0), push (day 3, no device: skipped), letter (day 8), the deadline's task (day 13).
    const result = await engine.sendEvent(resident, {
      type: 'birth',
      msPerDay: 300,
      occurredOn: daysAgoInTokyo(2),
      payload: { child_id: childId, child_given_name: childName, child_family_name: `別姓${childId.slice(2)}` },
    });
    const outreachIds = result.matches.flatMap((m) => (m.result.decision === 'outreach' ? [m.result.outreachId] : []));
    expect(outreachIds).toContain(outreachIdOf(result));
    for (const id of outreachIds) await engine.result(id);
    const ledger = (await Promise.all(outreachIds.map((id) => engine.ledger(id)))).flat();
    expect(ledger.map((d) => [d.channel, d.status, JSON.stringify(d.detail).slice(0, 200)])).toContainEqual(['letter', 'sent', expect.any(String)]);
    const pdfs = ledger.flatMap((d) => ((d.detail as { pdfPath?: string }).pdfPath ? [(d.detail as { pdfPath: string }).pdfPath] : []));
    expect(pdfs.length).toBeGreaterThan(0);
    for (const pdf of pdfs) expect(existsSync(pdf)).toBe(true);

    const values = personalValues(resident, [childName]);
    const before = tablesHolding(dumpByTable(), values);
    expect(before).toEqual(expect.arrayContaining(['residents', 'letters', 'life_events']));

    const ended = await engine.db.selectFrom('outreach').select('ended_at').where('id', 'in', outreachIds).execute();
    const lastEnd = Math.max(...ended.map((o) => o.ended_at!.getTime()));
    const config = { days: 1, byPurpose: {} };
    const retention = (now: Date) => applyRetention(engine.db, config, { now, actor: 'test:retention' });

    // Within the period (an hour after the end), nothing of it goes.
    const early = await retention(new Date(lastEnd + 3_600_000));
    expect(early.deliveries).toBe(0);
    expect(tablesHolding(dumpByTable(), values)).toEqual(before);

    // Two days after the end, with a 1-day period: contact data, letter contents and PDFs, the event payload go.
    const counts = await retention(new Date(lastEnd + 2 * DAY_MS));
    expect(counts.deliveries).toBeGreaterThanOrEqual(ledger.length);
    expect(counts.letters).toBeGreaterThan(0);
    expect(counts.eventPayloads).toBeGreaterThanOrEqual(1);
    const after = dumpByTable();
    expect(tablesHolding(after, values).filter((t) => t !== 'residents')).toEqual([]);
    // The child is a resident of the register now: its name stays in the residents table only.
    expect(tablesHolding(after, [childName])).toEqual(['residents']);
    for (const pdf of pdfs) expect(existsSync(pdf)).toBe(false);

    // What the audit and the ledger keep: ids, channels, statuses, outcomes.
    const kept = await engine.ledger(outreachIds[0]!);
    expect(kept.map((d) => [d.channel, d.status])).toEqual(ledger.filter((d) => d.outreach_id === outreachIds[0]).map((d) => [d.channel, d.status]));
    expect(kept.every((d) => typeof (d.detail as { personalDataRemovedAt?: string }).personalDataRemovedAt === 'string')).toBe(true);
    const audited = await engine.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('action', '=', 'retention-applied')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect((audited.detail as { removed: { deliveries: number } }).removed.deliveries).toBe(counts.deliveries);

    // A second run finds nothing more.
    const again = await retention(new Date(lastEnd + 2 * DAY_MS));
    expect({ ...again, printBatches: 0, files: 0 }).toEqual(emptyCounts());

    expect(await verifyAuditChain(engine.db)).toMatchObject({ ok: true });
  });

  it('removes the rehearsal files of test mode with their ledger rows', async () => {
    const rehearsing = await TestEngine.start({ testMode: true });
    try {
      const resident = await rehearsing.addResident({ consents: ['child-benefits'] });
      const started = await rehearsing.sendBirth(resident, { msPerDay: 300, occurredOn: daysAgoInTokyo(2) });
      // Every outreach the birth started (child allowance and child medical subsidy) runs to its end.
      const outreachIds = started.matches.flatMap((m) => (m.result.decision === 'outreach' ? [m.result.outreachId] : []));
      for (const id of outreachIds) await rehearsing.result(id);
      const ledger = (await Promise.all(outreachIds.map((id) => rehearsing.ledger(id)))).flat();
      const files = ledger.flatMap((d) => ((d.detail as { path?: string }).path ? [(d.detail as { path: string }).path] : []));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect(existsSync(file)).toBe(true);
      const ended = await rehearsing.db.selectFrom('outreach').select('ended_at').where('id', 'in', outreachIds).execute();
      const lastEnd = Math.max(...ended.map((o) => o.ended_at!.getTime()));
      const counts = await applyRetention(rehearsing.db, { days: 1, byPurpose: {} }, { now: new Date(lastEnd + 2 * DAY_MS), actor: 'test:retention' });
      expect(counts.files).toBeGreaterThanOrEqual(files.length);
      for (const file of files) expect(existsSync(file)).toBe(false);
      expect(tablesHolding(dumpByTable(), personalValues(resident)).filter((t) => t !== 'residents')).toEqual([]);
    } finally {
      await rehearsing.stop({ terminateRunning: true });
    }
  });

  it('reads RETENTION_DAYS and per-purpose overrides, and names a bad setting', () => {
    expect(parseRetentionConfig({})).toEqual({ success: true, retention: { days: 90, byPurpose: {} } });
    expect(parseRetentionConfig({ RETENTION_DAYS: '30', RETENTION_DAYS_BY_PURPOSE: 'child-benefits=7, elderly-care=365' })).toEqual({
      success: true,
      retention: { days: 30, byPurpose: { 'child-benefits': 7, 'elderly-care': 365 } },
    });
    const bad = parseRetentionConfig({ RETENTION_DAYS: 'soon', RETENTION_DAYS_BY_PURPOSE: 'child-benefits' });
    expect(bad.success).toBe(false);
    const problems = bad.success ? [] : bad.problems;
    expect(problems.some((p) => p.startsWith('RETENTION_DAYS:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('RETENTION_DAYS_BY_PURPOSE:'))).toBe(true);
  });
});

describe('the daily retention run', () => {
  it("runs as a Temporal workflow (the Schedule's action) and from the command line, dry: counts only", async () => {
    const now = '2030-01-15T06:30:00+09:00';
    const counts = await engine.client.workflow.execute(RETENTION_WORKFLOW_TYPE, {
      taskQueue: engine.taskQueue,
      workflowId: `retention-test-${randomUUID()}`,
      args: [{ now, dryRun: true }],
    });
    expect(Object.keys(counts as object).sort()).toEqual(Object.keys(emptyCounts()).sort());

    const run = spawnSync(process.execPath, ['--import', 'tsx', 'client.ts', 'retention', 'run', '--dry-run', '--now', now], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, DATABASE_URL: inject('databaseUrl'), OSHIRASE_DATA_DIR: engine.context.config.dataDir },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^would remove: ledger rows \d+, letters \d+/);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'client.ts', 'retention', 'run', '--now', 'tomorrow'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, DATABASE_URL: inject('databaseUrl'), OSHIRASE_DATA_DIR: engine.context.config.dataDir },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--now');
  });
});

describe('residents erase', () => {
  it('ends the running outreach and leaves none of the resident’s values anywhere, the audit chain verifiable', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    // Long plan days: the outreach sends its email and waits, still running when the erasure comes.
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 600_000 }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
    const values = personalValues(resident);
    expect(tablesHolding(dumpByTable(), values)).toContain('residents');

    const erased = await eraseResident({ db: engine.db, temporal: async () => engine.client }, resident.id, { actor: 'test:erase' });
    expect(erased.outreachStopped).toBeGreaterThanOrEqual(1);
    expect(erased.consentsWithdrawn).toBe(1);
    expect(erased.pushSubscriptions).toBe(1);
    const outreach = await engine.db.selectFrom('outreach').select('status').where('id', '=', outreachId).executeTakeFirstOrThrow();
    expect(outreach.status).toBe('consent-withdrawn');

    expect(tablesHolding(dumpByTable(), values)).toEqual([]);
    const row = await engine.db.selectFrom('residents').selectAll().where('id', '=', resident.id).executeTakeFirstOrThrow();
    expect([row.family_name, row.given_name, row.email, row.address, row.postal_code]).toEqual(['', '', null, null, null]);
    expect(await verifyAuditChain(engine.db)).toMatchObject({ ok: true });
  });
});
