/**
 * The take-up page after the demo (issue 13, browser test 4): the demo's own scenario (dev/demo/run-demo.ts —
 * its residents, the registry's birth events, the daily evaluation, the residents who answer) runs against
 * the suite's Temporal server and PostgreSQL; then an auditor signs in to the console the demo serves, and
 * the take-up page and the CSV downloaded through the browser show exactly the figures worked out here from
 * the database with SQL of this file's own (not the take-up query). axe-core checks the page; screenshots at
 * desktop and phone width go to .oshirase/screenshots/ (take-up-after-demo-*.png).
 *
 * The demo gets a database of its own on the suite's PostgreSQL server: the take-up page counts every
 * outreach of a month in every ward, the other test files use the same wards and recent months, and the
 * demo's daily evaluation would evaluate their residents too. In its own database, everything the page
 * counts is the demo's. Nothing depends on the day the test runs: the demo's dates follow its day, and the
 * months asked for are the demo's outreach's months, read from the database; every check is on the final
 * state, after the demo has waited for all its workflows.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import pg from 'pg';
import { parse as parseCsv } from 'csv-parse/sync';
import { sql } from 'kysely';
import { Client, Connection } from '@temporalio/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { runDemo, type DemoRunning } from '../../dev/demo/run-demo';
import { DEMO_RESIDENTS } from '../../dev/demo/demo-population';
import { publishedRules } from '../../engine/rule-language/rule-registry';
import { openDatabase, type DatabaseHandle } from '../../store/connect';
import { loadWards } from '../../config/wards';
import { CONSOLE_TEXT } from '../../service/console/console-text';
import { TAKE_UP_CSV_COLUMNS } from '../../engine/reporting/take-up';
import { launchChromium, signInToConsole, wcagViolations } from '../support/browser';

/** One plan day of the demo: twice `npm start`'s, so a loaded machine still answers before the next step. */
const MS_PER_DAY = 2_000;
const SCREENSHOT_DIR = join(process.cwd(), '.oshirase', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const TASK_QUEUE = `takeup-demo-${randomUUID()}`;

const DEMO_STAFF = JSON.parse(readFileSync(new URL('../../config/demo-staff.json', import.meta.url), 'utf8')) as {
  accounts: Array<{ username: string; password: string }>;
};

let serverUrl: string;
let demoDatabase: string;
let demoDatabaseUrl: string;
let dataDir: string;
let db: DatabaseHandle;
let browser: Browser;
const contexts: BrowserContext[] = [];
let running: DemoRunning;
let demoDone: Promise<number> | null = null;
let release: () => void = () => {};
const demoLines: string[] = [];

/** The figures of one row of the page and the CSV: trigger month, rule, ward, first channel. */
interface Expected {
  month: string;
  ruleId: string;
  ward: string;
  firstChannel: string;
  matched: number;
  notified: number;
  email: number;
  push: number;
  letter: number;
  answered: number;
  applied: number;
  granted: number;
  median: number | null;
}

let expected: Expected[];
let months: { from: string; to: string };

beforeAll(async () => {
  browser = await launchChromium();
  // A database of the demo's own next to the suite's (same server, same user), dropped afterwards.
  const suiteUrl = new URL(inject('databaseUrl'));
  demoDatabase = `${suiteUrl.pathname.slice(1)}_demo`;
  serverUrl = suiteUrl.toString();
  await adminQuery(`DROP DATABASE IF EXISTS ${demoDatabase} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${demoDatabase}`);
  const demoUrl = new URL(serverUrl);
  demoUrl.pathname = `/${demoDatabase}`;
  demoDatabaseUrl = demoUrl.toString();
  dataDir = mkdtempSync(join(tmpdir(), 'oshirase-takeup-demo-'));

  // The demo as `oshirase demo --stay` runs it, on the suite's Temporal server, in its own task queue; it tells
  // the test where its console is once its summary is written, and keeps serving until the test lets it go.
  const ready = new Promise<DemoRunning>((resolve, reject) => {
    demoDone = runDemo({
      msPerDay: MS_PER_DAY,
      dataDir,
      out: (line) => void demoLines.push(line),
      env: { ...process.env, DATABASE_URL: demoDatabaseUrl, TEMPORAL_ADDRESS: inject('temporalAddress'), OSHIRASE_TASK_QUEUE: TASK_QUEUE },
      stay: {
        untilStopped: (r) => {
          resolve(r);
          return new Promise<void>((done) => (release = done));
        },
      },
    });
    demoDone.then(
      () => reject(new Error(`the demo ended before serving:\n${demoLines.join('\n')}`)),
      (error: unknown) => reject(error instanceof Error ? new Error(`${error.message}\n${demoLines.join('\n')}`, { cause: error }) : error),
    );
  });
  running = await ready;
  db = await openDatabase({ databaseUrl: demoDatabaseUrl, poolSize: 2 });
  expected = await figuresFromTheDatabase();
  // The demo's trigger months (its births three days before its day, a 65th birthday twelve days after it).
  const demoMonths = expected.map((e) => e.month).sort();
  months = { from: demoMonths[0]!, to: demoMonths.at(-1)! };
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
}, 300_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  release();
  await demoDone?.catch(() => undefined);
  await db?.close();
  // Caseworker tasks' follow-up workflows wait for weeks of plan time: end them, the demo's worker is gone.
  await terminateRunning().catch(() => undefined);
  if (demoDatabase) await adminQuery(`DROP DATABASE IF EXISTS ${demoDatabase} WITH (FORCE)`).catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

async function adminQuery(text: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

async function terminateRunning(): Promise<void> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  try {
    const client = new Client({ connection });
    for await (const w of client.workflow.list({ query: `TaskQueue = '${TASK_QUEUE}' AND ExecutionStatus = 'Running'` })) {
      await client.workflow
        .getHandle(w.workflowId)
        .terminate('test finished')
        .catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

/**
 * The take-up figures worked out from the database here, one outreach at a time and then counted in
 * TypeScript — on purpose not through engine/reporting/take-up.ts, whose answer the page shows. As its
 * definition says: the trigger month (trigger date, else the event's date, else the start day in Tokyo);
 * the ward in the register; the first channel whose ledger row went out; the answer; a grant; the days from
 * the trigger date to the application (the applied answer's audit record, else the outreach's end).
 */
async function figuresFromTheDatabase(): Promise<Expected[]> {
  const { rows } = await sql<{
    id: string;
    rule_id: string;
    ward: string;
    resident_id: string;
    month: string;
    response: string | null;
    granted: boolean;
    first_channel: string | null;
    channels: string[] | string;
    application_days: number | null;
  }>`
    select o.id, o.rule_id, r.ward, o.resident_id, o.response,
           to_char(t.trigger_on, 'YYYY-MM') as month,
           exists (select 1 from grants g where g.outreach_id = o.id) as granted,
           (select d.channel from deliveries d
             where d.outreach_id = o.id and d.status in ('sent', 'rehearsed')
             order by coalesce(d.sent_at, d.created_at), d.id limit 1) as first_channel,
           array(select distinct d.channel::text from deliveries d
                  where d.outreach_id = o.id and d.status in ('sent', 'rehearsed')) as channels,
           case when o.response = 'applied' then
             ((coalesce((select min(a.at) from audit_log a
                          where a.outreach_id = o.id and a.action = 'response-received' and a.detail ->> 'response' = 'applied'),
                        o.ended_at) at time zone 'Asia/Tokyo')::date - t.trigger_on)
           end as application_days
      from outreach o
      join residents r on r.id = o.resident_id
      left join life_events e on e.id = o.event_id
      cross join lateral (select coalesce(o.trigger_date, e.occurred_on, (o.started_at at time zone 'Asia/Tokyo')::date) as trigger_on) t
  `.execute(db.db);
  // Everything in this database is the demo's: its residents, nobody else's.
  expect(new Set(rows.map((r) => r.resident_id)).size).toBeGreaterThan(0);
  for (const r of rows) expect(running.residentIds, `outreach ${r.id} of a resident the demo did not seed`).toContain(r.resident_id);

  const groups = new Map<
    string,
    { rows: typeof rows; key: Omit<Expected, 'matched' | 'notified' | 'email' | 'push' | 'letter' | 'answered' | 'applied' | 'granted' | 'median'> }
  >();
  for (const row of rows) {
    const key = { month: row.month, ruleId: row.rule_id, ward: row.ward, firstChannel: row.first_channel ?? 'none' };
    const id = JSON.stringify(key);
    groups.set(id, { key, rows: [...(groups.get(id)?.rows ?? []), row] });
  }
  const channelsOf = (r: (typeof rows)[number]) =>
    Array.isArray(r.channels) ? r.channels : String(r.channels).replace(/[{}]/g, '').split(',').filter(Boolean);
  return [...groups.values()].map(({ key, rows: list }) => {
    const days = list.flatMap((r) => (r.application_days === null ? [] : [Number(r.application_days)])).sort((a, b) => a - b);
    const middle = Math.floor(days.length / 2);
    return {
      ...key,
      matched: list.length,
      notified: list.filter((r) => r.first_channel !== null).length,
      email: list.filter((r) => channelsOf(r).includes('email')).length,
      push: list.filter((r) => channelsOf(r).includes('push')).length,
      letter: list.filter((r) => channelsOf(r).includes('letter')).length,
      answered: list.filter((r) => r.response !== null).length,
      applied: list.filter((r) => r.response === 'applied').length,
      granted: list.filter((r) => r.granted).length,
      median: days.length === 0 ? null : days.length % 2 === 1 ? days[middle]! : (days[middle - 1]! + days[middle]!) / 2,
    };
  });
}

async function newPage(viewport = DESKTOP): Promise<Page> {
  // bypassCSP lets the test inject axe-core (the console's policy allows no script); downloads are accepted.
  const context = await browser.newContext({ viewport, locale: 'ja-JP', bypassCSP: true, acceptDownloads: true });
  contexts.push(context);
  return context.newPage();
}

/** Signs a demo account in at the demo's OpenID provider (tests/support/browser.ts). */
async function signInAt(page: Page, path: string, username: string): Promise<void> {
  const account = DEMO_STAFF.accounts.find((a) => a.username === username);
  if (!account) throw new Error(`no demo account ${username}`);
  await signInToConsole(page, { base: running.internalUrl, username, password: account.password }, path);
}

const WARDS = loadWards();
const ja = CONSOLE_TEXT.ja;
const wardLabel = (id: string) => WARDS.find((w) => w.id === id)?.name.ja ?? id;
const channelLabel = (c: string) => (c === 'none' ? ja.takeUp.noChannel : ja.channels[c as keyof typeof ja.channels]);
/**
 * Rows compared as sorted lists of their fields: the page and the CSV order rules and wards by the database's
 * collation, which is not this file's to know; the order is not what this test is about.
 */
/** The counted figures, in the order of the page's columns (the totals' order too). */
const FIGURES = ['matched', 'notified', 'email', 'push', 'letter', 'answered', 'applied', 'granted'] as const;
type Figure = (typeof FIGURES)[number];
const sorted = (rows: string[][]): string[][] => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

describe('the take-up page after the demo', () => {
  let page: Page;

  it('ran the demo’s scenario: every check of its summary held, and the database holds its stories', async () => {
    expect(running.failures, demoLines.join('\n')).toBe(0);
    // The stories of dev/demo/demo-population.ts, as the figures must count them, for each rule a birth triggers:
    // every parent who consented and still lives here is matched, in their ward, first reached on the first
    // channel they have (email, else push, else a letter); the one who moved out and the one without consent are not.
    const birthRules = (await publishedRules(db.db)).filter((r) => 'event' in r.trigger && r.trigger.event === 'birth').map((r) => r.id);
    expect(birthRules.length).toBeGreaterThan(0);
    const parents = DEMO_RESIDENTS.filter(
      (r) => r.turns65InDays === undefined && r.consents.includes('child-benefits') && r.resident.residence_status === 'registered',
    );
    const storyKey = (ward: string, channel: string) => `${ward} ${channel}`;
    const story = new Map<string, number>();
    for (const p of parents) {
      const key = storyKey(p.resident.ward, p.resident.email ? 'email' : p.push ? 'push' : 'letter');
      story.set(key, (story.get(key) ?? 0) + 1);
    }
    for (const ruleId of birthRules) {
      const counted = new Map<string, number>();
      for (const e of expected.filter((x) => x.ruleId === ruleId)) {
        counted.set(storyKey(e.ward, e.firstChannel), (counted.get(storyKey(e.ward, e.firstChannel)) ?? 0) + e.matched);
      }
      expect(Object.fromEntries(counted), `${ruleId}: matched by ward and first channel`).toEqual(Object.fromEntries(story));
    }
    // The residents who answer did: every answer is counted, "I have applied" among the applications.
    const births = expected.filter((e) => birthRules.includes(e.ruleId));
    const answering = parents.filter((p) => p.responds);
    expect(births.reduce((n, e) => n + e.answered, 0)).toBeGreaterThanOrEqual(answering.length);
    expect(births.reduce((n, e) => n + e.applied, 0)).toBeGreaterThanOrEqual(answering.filter((p) => /applied/i.test(p.responds!.click)).length);
    // The daily evaluation's resident (no event) is counted too, in their ward.
    for (const r of DEMO_RESIDENTS.filter((d) => d.turns65InDays !== undefined)) {
      expect(expected.filter((e) => e.ward === r.resident.ward && !birthRules.includes(e.ruleId)).reduce((n, e) => n + e.matched, 0)).toBeGreaterThan(0);
    }
  });

  it('shows an auditor, per rule, the rows and totals worked out from the database', async () => {
    page = await newPage();
    const path = `/console/take-up?from=${months.from}&to=${months.to}`;
    await signInAt(page, path, 'auditor');
    expect(await page.locator('h1').textContent()).toBe('効果検証');

    const ruleIds = [...new Set(expected.map((e) => e.ruleId))].sort();
    const tables = page.locator('table[data-rule-id]');
    expect((await tables.evaluateAll((ts) => ts.map((t) => t.getAttribute('data-rule-id')))).sort()).toEqual(ruleIds);
    for (const ruleId of ruleIds) {
      const table = page.locator(`table[data-rule-id="${ruleId}"]`);
      const shown = await table
        .locator('tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent?.trim() ?? '')));
      const mine = expected.filter((e) => e.ruleId === ruleId);
      expect(sorted(shown), `rows of ${ruleId}`).toEqual(
        sorted(
          mine.map((e) => [
            e.month,
            wardLabel(e.ward),
            channelLabel(e.firstChannel),
            ...[e.matched, e.notified, e.email, e.push, e.letter, e.answered, e.applied, e.granted].map(String),
            e.median === null ? '—' : ja.takeUp.days(e.median),
          ]),
        ),
      );
      const total = await table.locator('tfoot td').allTextContents();
      const sum = (k: Figure) => String(mine.reduce((n, e) => n + e[k], 0));
      expect(
        total.map((t) => t.trim()),
        `total of ${ruleId}`,
      ).toEqual([...FIGURES.map(sum), '']);
    }
  });

  it('draws, over each table, the funnel and the channels as charts that say their figures in text', async () => {
    const ruleIds = [...new Set(expected.map((e) => e.ruleId))];
    const groups = [
      ...ruleIds.map((ruleId) => ({
        section: page.locator('section.take-up-rule', { has: page.locator(`table[data-rule-id="${ruleId}"]`) }),
        rows: expected.filter((e) => e.ruleId === ruleId),
      })),
      // All rules together, over the table of each rule's totals (the demo has several rules).
      { section: page.locator('section.take-up-rule', { has: page.locator('table[data-overall]') }), rows: expected },
    ];
    expect(ruleIds.length).toBeGreaterThan(1);
    for (const { section, rows } of groups) {
      const count = (k: Figure) => rows.reduce((n, e) => n + e[k], 0);
      const matched = count('matched');
      const said = (k: Figure) => `${count(k)}件（${Math.round((count(k) / matched) * 100)}%）`;
      const charts = section.locator('svg[role="img"]');
      expect(await charts.count()).toBe(2);
      // Each bar: its label and its count with the share of the matched, as text in the drawing.
      const bars = (chart: number) =>
        charts
          .nth(chart)
          .locator('g.bar')
          .evaluateAll((gs) => gs.map((g) => [...g.querySelectorAll('text')].map((t) => t.textContent ?? '')));
      expect(await bars(0)).toEqual((['matched', 'notified', 'answered', 'applied', 'granted'] as const).map((k) => [ja.takeUp[k], said(k)]));
      expect(await bars(1)).toEqual((['email', 'push', 'letter'] as const).map((k) => [ja.channels[k], said(k)]));
      // Bars as long as their share of the matched (the matched bar's track is the full length).
      const lengths = await charts
        .nth(0)
        .locator('g.bar')
        .evaluateAll((gs) =>
          gs.map((g) => ({
            bar: Number(g.querySelector('rect.value')?.getAttribute('width') ?? 0),
            track: Number(g.querySelector('rect.track')?.getAttribute('width')),
          })),
        );
      for (const [i, k] of (['matched', 'notified', 'answered', 'applied', 'granted'] as const).entries()) {
        expect(lengths[i]!.bar / lengths[i]!.track, `${k} bar`).toBeCloseTo(count(k) / matched, 2);
      }
      // One image each to assistive technology, named by its title and description, which say the figures.
      const names = await charts.evaluateAll((svgs) =>
        svgs.map((svg) =>
          (svg.getAttribute('aria-labelledby') ?? '')
            .split(' ')
            .map((id) => document.getElementById(id)?.textContent ?? '')
            .join(' '),
        ),
      );
      expect(names[0]).toContain(
        `対象${matched}件のうち、通知済み${said('notified')}、回答${said('answered')}、申請${said('applied')}、給付${said('granted')}。`,
      );
      expect(names[1]).toContain(`対象${matched}件のうち、メール${said('email')}、プッシュ通知${said('push')}、郵便${said('letter')}。`);
    }
    // The table of all rules: each rule's totals and the grand total, notified by channel included.
    const overall = page.locator('table[data-overall]');
    const shownTotal = (await overall.locator('tfoot td').allTextContents()).map((t) => t.trim());
    expect(shownTotal).toEqual(FIGURES.map((k) => String(expected.reduce((n, e) => n + e[k], 0))));
    expect(await overall.locator('tbody tr').count()).toBe(ruleIds.length);
  });

  it('is whole without JavaScript: the charts are in the page as served', async () => {
    const context = await browser.newContext({ viewport: PHONE, locale: 'ja-JP', javaScriptEnabled: false });
    contexts.push(context);
    await context.addCookies(await page.context().cookies());
    const plain = await context.newPage();
    await plain.goto(`${running.internalUrl}/console/take-up?from=${months.from}&to=${months.to}`);
    expect(await plain.locator('script').count()).toBe(0);
    const chart = plain.locator('svg[role="img"]').first();
    const box = await chart.boundingBox();
    // As wide as the phone's column, no wider; its texts drawn.
    expect(box!.width).toBeGreaterThan(300);
    expect(box!.width).toBeLessThanOrEqual(PHONE.width);
    expect(await chart.locator('text').first().isVisible()).toBe(true);
  });

  it('downloads the CSV through the browser, and every row matches the database', async () => {
    const link = page.getByRole('link', { name: 'この表をCSVでダウンロード' });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe(`take-up-${months.from}-${months.to}.csv`);
    const file = await download.path();
    // RFC 4180 with CRLF line ends, as the route promises: parsed strictly, as a spreadsheet would read it.
    const [header, ...rows] = parseCsv(readFileSync(file, 'utf8'), { record_delimiter: '\r\n' }) as string[][];
    expect(header).toEqual([...TAKE_UP_CSV_COLUMNS]);
    const want = expected.map((e) =>
      [e.month, e.ruleId, e.ward, e.firstChannel, e.matched, e.notified, e.email, e.push, e.letter, e.answered, e.applied, e.granted, e.median ?? ''].map(
        String,
      ),
    );
    expect(sorted(rows)).toEqual(sorted(want));
  });

  it('has no WCAG 2.1 A/AA violation (axe-core) at desktop and phone width, and writes its screenshots', async () => {
    const path = `/console/take-up?from=${months.from}&to=${months.to}`;
    for (const [size, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(viewport);
      for (const lang of ['en', 'ja']) {
        await page.goto(`${running.internalUrl}${path}&lang=${lang}`);
        expect(await wcagViolations(page), `${lang} at ${size} width`).toEqual([]);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${lang} at ${size} width overflows`).toBeLessThanOrEqual(0);
      }
      // The Japanese font must be there before the picture is taken (the page is in Japanese now).
      await page.evaluate(() => document.fonts.ready.then(() => undefined));
      await page.screenshot({ path: join(SCREENSHOT_DIR, `take-up-after-demo-${size}.png`), fullPage: true });
    }
  });
});

/** The value of one series (name and exact labels, in the order prom-client writes them) in a scrape; null when absent. */
function seriesValue(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

/** Runs one shell command line as a person would paste it, from the project's folder (where bin/oshirase is). */
function shell(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { cwd: process.cwd(), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the metrics after the demo (issue 14)', () => {
  it('the command the demo prints shows notices by channel and outcome, the outreach by state and the SDK’s worker metrics', async () => {
    const which = await shell('command -v curl');
    expect(which.code, 'curl is not installed on this machine: the demo’s metrics command needs it').toBe(0);
    const line = demoLines.filter((l) => l.startsWith('Metrics (auditor calling system ')).at(-1);
    expect(line, `no metrics line in the demo's output:\n${demoLines.join('\n')}`).toBeDefined();
    const command = /: (curl .*)$/.exec(line!)?.[1];
    expect(command).toMatch(
      /^curl -s -H "Authorization: Bearer \$\(bin\/oshirase clients token cli_\S+ --secret-file \S+\)" http:\/\/127\.0\.0\.1:\d+\/metrics$/,
    );

    // Exactly what a person would paste: the token is signed from the secret file by the command line.
    const scrape = await shell(command!);
    expect(scrape.code, scrape.stderr).toBe(0);
    const text = scrape.stdout;
    expect(text, 'the scrape was refused or empty').toContain('# TYPE oshirase_notices_total counter');
    // The demo reaches residents by email, push and letter (dev/demo/demo-population.ts): each is counted as sent.
    for (const channel of ['email', 'push', 'letter']) {
      const series = `oshirase_notices_total{channel="${channel}",outcome="sent"}`;
      expect(text).toContain(series);
      expect(seriesValue(text, series), series).toBeGreaterThan(0);
    }
    // The outreach by state, counted in the demo's database at this scrape: every row of it, in its state.
    const rows = await db.db
      .selectFrom('outreach')
      .select(({ fn }) => ['status', fn.countAll<string>().as('n')])
      .groupBy('status')
      .execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(seriesValue(text, `oshirase_outreach{state="${row.status}"}`), row.status).toBe(Number(row.n));
    // The rules were evaluated for the registry's births and by the daily evaluation.
    expect(seriesValue(text, 'oshirase_rule_evaluation_duration_seconds_count{path="event"}')).toBeGreaterThan(0);
    expect(seriesValue(text, 'oshirase_rule_evaluation_duration_seconds_count{path="daily"}')).toBeGreaterThan(0);
    // The Temporal SDK's worker metrics (the demo's worker runs in its process), appended to the same text.
    const sdk = [...new Set([...text.matchAll(/^(temporal_[a-z0-9_]+)/gm)].map((m) => m[1]!))];
    expect(sdk.length, 'no Temporal SDK series in the scrape').toBeGreaterThan(0);
    expect(sdk).toEqual(
      expect.arrayContaining(['temporal_workflow_completed_total', 'temporal_activity_execution_latency_count', 'temporal_worker_task_slots_available']),
    );
    // The demo's workflows ran to their end on that worker.
    const completed = [...text.matchAll(/^temporal_workflow_completed_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(completed).toBeGreaterThan(0);
  });
});
