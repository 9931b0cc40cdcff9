/**
 * The life-event path: from a birth event sent to the engine's API
 * (`POST /api/v1/events`, signed by a calling system) to the HTTP 202, which the API answers only after
 * engine/intake/accept-life-event.ts has run every matching rule through
 * engine/outreach/start-outreach.ts, i.e. after `temporal.workflow.start` returned for
 * each outreach (so a 202 means the workflows are started).
 *
 * Set-up (this process unless said): the Temporal dev server (headless, its
 * own process), the database `oshirase_bench_events` on the PostgreSQL server of
 * DATABASE_URL (created, migrated, filled with a synthetic population; every
 * registered resident is given consent for child-benefits), the engine context,
 * the API server and the open-loop load generator in this process, and the
 * outreach worker (worker.ts, in rehearsal mode so the first email is rendered
 * and recorded, never sent) as a child process. A plan day is a real day, so
 * after the first notice every outreach just waits.
 *
 * Load: open loop at a fixed rate, every event for a different resident; the
 * latency of an event is from the fetch call to the response's status line
 * (keep-alive connections of Node's fetch). A short warm-up at the same rate is
 * sent first and not counted. A sequential profile pass times, per event, the
 * database queries and the workflow starts in between.
 *
 *   tsx dev/bench/event-latency.ts [--rates 50,200] [--seconds 20] [--warmup 2] [--runs 3] [--residents 30000] [--profile 50] [--out event-latency.json] [--worker running|none]
 *
 * --worker none leaves the started workflows in the task queue: the intake and
 * the Temporal server alone, without the workflows' own work on the same cores.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  sql,
  InsertQueryNode,
  SelectQueryNode,
  UpdateQueryNode,
  TableNode,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { loadEngineConfig } from '../../config/engine-config';
import { PROJECT_ROOT, type EngineContext } from '../../runtime/engine-context';
import { createEngine } from '../../runtime/create-engine';
import { publishIntendedRules } from '../../engine/rule-language/rule-registry';
import { publishIntendedParameters } from '../../engine/rule-language/parameter-registry';
import { generatePopulation } from '../population/generate-population';
import { startService } from '../../service/service';
import { loadServiceConfig } from '../../config/service-config';
import { createClient, signClientToken } from '../../service/auth/calling-systems';
import { startDevServer } from '../temporal/dev-server';
import { spawnService } from '../local-services/spawn-service';
import { todayInTokyo } from '../../foundation/tokyo-calendar';
import { BENCH_ID_PREFIX, BENCH_REFERENCE_DATE, DEFAULT_SERVER_URL, databaseUrl } from './prepare-population';
import { runBenchmark } from './bench-results';
import { PACING_OFF_ENV } from '../../config/notice-pacing';

const DATABASE_NAME = 'oshirase_bench_events';
const PURPOSE = 'child-benefits';
const REQUEST_TIMEOUT_MS = 120_000;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

// ---------------------------------------------------------------- timing probes

interface Span {
  kind: 'db' | 'workflow-start';
  label: string;
  start: number;
  end: number;
}

/** Spans are kept only while a profile pass records them. */
class Probe {
  recording = false;
  spans: Span[] = [];
  add(span: Span): void {
    if (this.recording) this.spans.push(span);
  }
}

function tableName(node: OperationNode | undefined): string {
  return node && TableNode.is(node) ? node.table.identifier.name : '?';
}

function describeQuery(node: RootOperationNode): string {
  if (InsertQueryNode.is(node)) return `insert ${tableName(node.into)}`;
  if (SelectQueryNode.is(node)) return `select ${tableName(node.from?.froms[0])}`;
  if (UpdateQueryNode.is(node)) return `update ${tableName(node.table)}`;
  return node.kind;
}

/** Times every query from its compilation (just before it asks the pool for a connection) to its result. */
class QueryTimingPlugin implements KyselyPlugin {
  private readonly started = new WeakMap<object, { start: number; label: string }>();
  constructor(private readonly probe: Probe) {}
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.started.set(args.queryId, { start: performance.now(), label: describeQuery(args.node) });
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const s = this.started.get(args.queryId);
    if (s) this.probe.add({ kind: 'db', label: s.label, start: s.start, end: performance.now() });
    return args.result;
  }
}

function workflowStartTimer(probe: Probe): WorkflowClientInterceptor {
  return {
    async startWithDetails(input, next) {
      const start = performance.now();
      try {
        return await next(input);
      } finally {
        probe.add({ kind: 'workflow-start', label: `start ${input.workflowType}`, start, end: performance.now() });
      }
    },
  };
}

// ---------------------------------------------------------------- statistics

interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// ---------------------------------------------------------------- load

interface EventResponseBody {
  matches?: Array<{ result?: { decision?: string; start?: string } }>;
}

interface Outcome {
  ok: boolean;
  /** ms from the fetch call to the status line. */
  latency: number;
  /** ms from the scheduled send time to the status line (includes any lag of the generator). */
  fromSchedule: number;
  sentAt: number;
  doneAt: number;
  started: number;
  error?: string;
}

class EventSender {
  private next = 0;
  constructor(
    private readonly apiUrl: string,
    private readonly residents: string[],
    private readonly runTag: string,
    private readonly occurredOn: string,
    /** The registry's Authorization header: a fresh signed JWT per request, as a real calling system sends. */
    private readonly authorization: () => Promise<string>,
  ) {}

  get used(): number {
    return this.next;
  }

  async send(scheduledAt: number): Promise<Outcome> {
    const index = this.next++;
    const residentId = this.residents[index];
    if (!residentId) throw new Error(`out of residents after ${index} events; pass a larger --residents`);
    const body = JSON.stringify({ id: `bench-${this.runTag}-${index}`, type: 'birth', residentId, occurredOn: this.occurredOn, payload: {} });
    const sentAt = performance.now();
    try {
      const res = await fetch(`${this.apiUrl}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: await this.authorization() },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const doneAt = performance.now();
      const text = await res.text();
      const base = { latency: doneAt - sentAt, fromSchedule: doneAt - scheduledAt, sentAt, doneAt };
      if (res.status !== 202) return { ...base, ok: false, started: 0, error: `HTTP ${res.status}: ${text.slice(0, 200)}` };
      const parsed = JSON.parse(text) as EventResponseBody;
      const started = (parsed.matches ?? []).filter((m) => m.result?.decision === 'outreach' && m.result.start === 'started').length;
      return { ...base, ok: true, started };
    } catch (error) {
      const doneAt = performance.now();
      const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      return {
        ok: false,
        latency: doneAt - sentAt,
        fromSchedule: doneAt - scheduledAt,
        sentAt,
        doneAt,
        started: 0,
        error: `${error instanceof Error ? error.message : String(error)}${cause}`,
      };
    }
  }
}

/** Sends `count` events at `rate` per second on a fixed schedule, whatever the responses do (open loop). */
async function openLoop(sender: EventSender, rate: number, count: number): Promise<Outcome[]> {
  const interval = 1000 / rate;
  const begin = performance.now() + 5;
  const pending: Array<Promise<Outcome>> = [];
  let i = 0;
  while (i < count) {
    const now = performance.now();
    while (i < count && begin + i * interval <= now) {
      pending.push(sender.send(begin + i * interval));
      i++;
    }
    await sleep(1);
  }
  return Promise.all(pending);
}

interface RateRun {
  rate: number;
  events: number;
  ok: number;
  errors: number;
  errorExamples: string[];
  achievedSendRate: number;
  completionRate: number;
  latencyMs: Percentiles;
  fromScheduleMs: Percentiles;
  workflowsStartedPerResponses: number;
  workflowCountDelta: number;
}

async function countWorkflows(client: Client): Promise<number> {
  return (await client.workflow.count('WorkflowType = "outreachWorkflow"')).count;
}

/** Visibility is eventually consistent: polls until the count reaches `expected` (or 20 s pass). */
async function countAtLeast(client: Client, expected: number): Promise<number> {
  const deadline = Date.now() + 20_000;
  let n = await countWorkflows(client);
  while (n < expected && Date.now() < deadline) {
    await sleep(250);
    n = await countWorkflows(client);
  }
  return n;
}

async function measureRate(sender: EventSender, client: Client, rate: number, seconds: number, warmupSeconds: number): Promise<RateRun> {
  if (warmupSeconds > 0) await openLoop(sender, rate, Math.round(rate * warmupSeconds));
  const before = await countAtLeast(client, 0);
  const count = Math.round(rate * seconds);
  const outcomes = await openLoop(sender, rate, count);
  const ok = outcomes.filter((o) => o.ok);
  const started = ok.reduce((n, o) => n + o.started, 0);
  const after = await countAtLeast(client, before + started);
  const firstSend = Math.min(...outcomes.map((o) => o.sentAt));
  const lastSend = Math.max(...outcomes.map((o) => o.sentAt));
  const lastDone = Math.max(...outcomes.map((o) => o.doneAt));
  const errors = outcomes.filter((o) => !o.ok);
  return {
    rate,
    events: count,
    ok: ok.length,
    errors: errors.length,
    errorExamples: [...new Set(errors.map((e) => e.error ?? '?'))].slice(0, 5),
    achievedSendRate: (count - 1) / ((lastSend - firstSend) / 1000),
    completionRate: ok.length / ((lastDone - firstSend) / 1000),
    latencyMs: percentiles(ok.map((o) => o.latency)),
    fromScheduleMs: percentiles(ok.map((o) => o.fromSchedule)),
    workflowsStartedPerResponses: started,
    workflowCountDelta: after - before,
  };
}

// ---------------------------------------------------------------- profile

interface ProfileReport {
  events: number;
  medianMs: { total: number; db: number; dbQueries: number; workflowStart: number; workflowStarts: number; rest: number };
  /** The spans of the event with the median total, as offsets from its send (ms). */
  medianEventTimeline: Array<{ kind: string; label: string; fromMs: number; toMs: number }>;
}

async function profile(sender: EventSender, probe: Probe, events: number): Promise<ProfileReport> {
  const rows: Array<{ total: number; db: number; dbQueries: number; wf: number; wfStarts: number; spans: Span[]; sentAt: number }> = [];
  for (let i = 0; i < events; i++) {
    probe.spans = [];
    probe.recording = true;
    const o = await sender.send(performance.now());
    probe.recording = false;
    if (!o.ok) throw new Error(`profile event failed: ${o.error}`);
    const spans = probe.spans.filter((s) => s.start >= o.sentAt && s.end <= o.doneAt);
    const dbSpans = spans.filter((s) => s.kind === 'db');
    const wfSpans = spans.filter((s) => s.kind === 'workflow-start');
    rows.push({
      total: o.latency,
      db: dbSpans.reduce((n, s) => n + s.end - s.start, 0),
      dbQueries: dbSpans.length,
      wf: wfSpans.reduce((n, s) => n + s.end - s.start, 0),
      wfStarts: wfSpans.length,
      spans,
      sentAt: o.sentAt,
    });
  }
  const byTotal = [...rows].sort((a, b) => a.total - b.total);
  const mid = byTotal[Math.floor(byTotal.length / 2)]!;
  const total = median(rows.map((r) => r.total));
  const db = median(rows.map((r) => r.db));
  const workflowStart = median(rows.map((r) => r.wf));
  return {
    events,
    medianMs: {
      total,
      db,
      dbQueries: median(rows.map((r) => r.dbQueries)),
      workflowStart,
      workflowStarts: median(rows.map((r) => r.wfStarts)),
      rest: median(rows.map((r) => r.total - r.db - r.wf)),
    },
    medianEventTimeline: mid.spans.map((s) => ({ kind: s.kind, label: s.label, fromMs: round(s.start - mid.sentAt), toMs: round(s.end - mid.sentAt) })),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

// ---------------------------------------------------------------- set-up

async function ensureDatabase(serverUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [DATABASE_NAME]);
    if (found.rowCount === 0) {
      log(`creating database ${DATABASE_NAME}`);
      await admin.query(`create database ${DATABASE_NAME}`);
    }
  } finally {
    await admin.end();
  }
  return databaseUrl(serverUrl, DATABASE_NAME);
}

/** Fills the population when empty, gives every registered resident consent for the purpose, and lists them. */
async function seed(context: EngineContext, residents: number): Promise<string[]> {
  const db = context.database.db;
  const present = Number((await sql<{ n: string }>`select count(*) as n from residents`.execute(db)).rows[0]?.n ?? 0);
  if (present === 0) {
    log(`generating ${residents} residents`);
    const result = await generatePopulation(db, { residents, seed: 1, idPrefix: BENCH_ID_PREFIX, referenceDate: BENCH_REFERENCE_DATE });
    log(`generated ${result.residents} residents (${result.seconds.toFixed(1)} s)`);
  } else if (present !== residents) {
    log(`${DATABASE_NAME} already holds ${present} residents (not ${residents}); using them`);
  }
  await sql`insert into consents (resident_id, purpose, granted_at, withdrawn_at)
    select id, ${PURPOSE}, now(), null from residents where residence_status = 'registered'
    on conflict (resident_id, purpose) do update set withdrawn_at = null`.execute(db);
  await sql`vacuum analyze`.execute(db);
  const rows = await sql<{ id: string }>`select r.id from residents r
    where r.residence_status = 'registered'
      and exists (select 1 from consents c where c.resident_id = r.id and c.purpose = ${PURPOSE} and c.withdrawn_at is null)
    order by r.id`.execute(db);
  return rows.rows.map((r) => r.id);
}

// ---------------------------------------------------------------- report

interface RateSummary {
  rate: number;
  runs: number;
  medianOfRuns: { p50: number; p95: number; p99: number; max: number; achievedSendRate: number; completionRate: number; fromScheduleP99: number };
  errors: number;
  workflowsStarted: number;
  workflowCountDelta: number;
  perRun: RateRun[];
}

function summarize(rate: number, perRun: RateRun[]): RateSummary {
  return {
    rate,
    runs: perRun.length,
    medianOfRuns: {
      p50: median(perRun.map((r) => r.latencyMs.p50)),
      p95: median(perRun.map((r) => r.latencyMs.p95)),
      p99: median(perRun.map((r) => r.latencyMs.p99)),
      max: median(perRun.map((r) => r.latencyMs.max)),
      achievedSendRate: median(perRun.map((r) => r.achievedSendRate)),
      completionRate: median(perRun.map((r) => r.completionRate)),
      fromScheduleP99: median(perRun.map((r) => r.fromScheduleMs.p99)),
    },
    errors: perRun.reduce((n, r) => n + r.errors, 0),
    workflowsStarted: perRun.reduce((n, r) => n + r.workflowsStartedPerResponses, 0),
    workflowCountDelta: perRun.reduce((n, r) => n + r.workflowCountDelta, 0),
    perRun,
  };
}

function printTable(summaries: RateSummary[], prof: ProfileReport | null, seconds: number, withWorker: boolean): void {
  const ms = (x: number): string => x.toFixed(1);
  const rows: string[][] = [
    ['rate/s', 'achieved/s', 'done/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'p99 from schedule', 'errors', 'wf started (202s)', 'wf counted'],
  ];
  for (const s of summaries) {
    const m = s.medianOfRuns;
    rows.push([
      String(s.rate),
      m.achievedSendRate.toFixed(1),
      m.completionRate.toFixed(1),
      ms(m.p50),
      ms(m.p95),
      ms(m.p99),
      ms(m.max),
      ms(m.fromScheduleP99),
      String(s.errors),
      String(s.workflowsStarted),
      String(s.workflowCountDelta),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((c, i) => c.padStart(widths[i]!)).join('  ');
  const out = [
    `life event → outreach workflow started (POST /api/v1/events → 202), ${seconds} s per rate, median of ${summaries[0]?.runs ?? 0} runs, ${withWorker ? 'worker running the workflows' : 'no worker'}`,
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
  ];
  for (const row of rows.slice(1)) out.push(line(row));
  const at50 = summaries.find((s) => s.rate === 50);
  if (at50) out.push(`target p99 < 100 ms at 50/s: ${at50.medianOfRuns.p99 < 100 ? 'met' : 'NOT met'} (${ms(at50.medianOfRuns.p99)} ms)`);
  if (prof) {
    const p = prof.medianMs;
    out.push(
      `profile (${prof.events} sequential events, medians): total ${ms(p.total)} ms = db ${ms(p.db)} ms in ${p.dbQueries} queries + workflow.start ${ms(p.workflowStart)} ms in ${p.workflowStarts} starts + rest ${ms(p.rest)} ms (HTTP, parsing, rule evaluation, JSON)`,
    );
    out.push('  median event, ms from send:');
    for (const s of prof.medianEventTimeline)
      out.push(`    ${s.fromMs.toFixed(2).padStart(7)} – ${s.toMs.toFixed(2).padStart(7)}  ${s.kind.padEnd(14)} ${s.label}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rates: { type: 'string', default: '50,200' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '2' },
      runs: { type: 'string', default: '3' },
      residents: { type: 'string', default: '30000' },
      profile: { type: 'string', default: '50' },
      out: { type: 'string', default: 'event-latency.json' },
      worker: { type: 'string', default: 'running' },
    },
    strict: true,
  });
  const rates = values.rates.split(',').map((s) => Number(s.trim()));
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const runs = Number(values.runs);
  const residentsWanted = Number(values.residents);
  const profileEvents = Number(values.profile);
  if (rates.some((r) => !(r > 0) || r > 2000)) throw new Error('--rates takes rates from 1 to 2000 per second, comma-separated');
  if (!(seconds > 0 && seconds <= 300) || !(warmup >= 0 && warmup <= 60)) throw new Error('--seconds must be in (0, 300], --warmup in [0, 60]');
  if (!Number.isInteger(runs) || runs < 1 || runs > 10) throw new Error('--runs takes 1..10');
  if (!Number.isInteger(profileEvents) || profileEvents < 0) throw new Error('--profile takes a count ≥ 0');
  if (values.worker !== 'running' && values.worker !== 'none')
    throw new Error('--worker takes running (workflows run as they start) or none (they wait in the task queue)');
  const withWorker = values.worker === 'running';
  const needed = profileEvents + runs * rates.reduce((n, r) => n + Math.round(r * warmup) + Math.round(r * seconds), 0);

  const dataDir = join(PROJECT_ROOT, '.oshirase', 'bench-events');
  const serverUrl = process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;
  const dbUrl = await ensureDatabase(serverUrl);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    log('starting the Temporal dev server');
    const temporal = await startDevServer({ withUi: false, log });
    cleanups.unshift(() => temporal.stop());
    const baseConfig = loadEngineConfig({ ...process.env, DATABASE_URL: dbUrl });
    const config = { ...baseConfig, databaseUrl: dbUrl, dataDir, temporalAddress: temporal.address, msPerDay: 86_400_000, testMode: true };
    // The composition root every process uses (its own client below adds the timing interceptor).
    const engine = await createEngine({ config, temporalAddress: temporal.address });
    cleanups.unshift(() => engine.close());
    const { context } = engine;
    // Rule files are stored as drafts; the benchmark publishes them through the four eyes, as two bench people.
    const benchReviewers = { author: 'bench:policy-author', approver: 'bench:policy-approver' };
    await publishIntendedParameters(context.database.db, context.parameters, benchReviewers);
    await publishIntendedRules(context.database.db, context.rules, benchReviewers);
    const residents = await seed(context, residentsWanted);
    log(`${residents.length} consented registered residents; this run needs ${needed}`);
    if (residents.length < needed)
      throw new Error(`not enough residents (${residents.length} < ${needed}); lower --seconds/--runs or raise --residents (drop ${DATABASE_NAME} first)`);

    if (withWorker) {
      log('starting the worker (child process, rehearsal mode)');
      const worker = await spawnService('worker.ts', [], 'WORKER_READY', {
        env: {
          ...process.env,
          DATABASE_URL: dbUrl,
          TEMPORAL_ADDRESS: temporal.address,
          OSHIRASE_TEST_MODE: 'true',
          OSHIRASE_DATA_DIR: dataDir,
          OSHIRASE_MS_PER_DAY: String(config.msPerDay),
          // Benchmarks measure what the engine can carry: no figure may depend on the time of day a run starts.
          ...PACING_OFF_ENV,
        },
        timeoutMs: 180_000,
      });
      cleanups.unshift(() => worker.stop());
    } else {
      log('no worker: started workflows wait in the task queue (the intake and the server alone)');
    }

    const probe = new Probe();
    const client = new Client({
      connection: engine.temporal.connection,
      namespace: config.temporalNamespace,
      interceptors: { workflow: [workflowStartTimer(probe)] },
    });
    const timedContext: EngineContext = { ...context, database: { ...context.database, db: context.database.db.withPlugin(new QueryTimingPlugin(probe)) } };
    const pepper = 'bench-pepper';
    const api = await startService(
      { context: timedContext, temporal: client, taskQueue: config.taskQueue, msPerDay: config.msPerDay, clientSecretPepper: pepper },
      { config: loadServiceConfig({ PUBLIC_PORT: '0', INTERNAL_PORT: '0' }), logger: false, staff: null, publicRoutes: [], internalRoutes: [] },
    );
    cleanups.unshift(() => api.close());
    log(`API at ${api.internalUrl}`);
    const registry = await createClient(context.database.db, pepper, { name: 'bench registry', role: 'event-source', actor: 'bench' });

    const sender = new EventSender(
      api.internalUrl,
      residents,
      `${Date.now().toString(36)}`,
      todayInTokyo(),
      async () => `Bearer ${await signClientToken(registry.id, registry.secret)}`,
    );
    let prof: ProfileReport | null = null;
    if (profileEvents > 0) {
      log(`profile: ${profileEvents} sequential events`);
      prof = await profile(sender, probe, profileEvents);
    }
    const perRate = new Map<number, RateRun[]>(rates.map((r) => [r, []]));
    for (let run = 1; run <= runs; run++) {
      for (const rate of rates) {
        log(`run ${run}/${runs}: ${rate}/s for ${seconds} s (after ${warmup} s warm-up)`);
        const r = await measureRate(sender, client, rate, seconds, warmup);
        log(
          `  p50 ${r.latencyMs.p50.toFixed(1)} p95 ${r.latencyMs.p95.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)} max ${r.latencyMs.max.toFixed(1)} ms, sent ${r.achievedSendRate.toFixed(1)}/s, errors ${r.errors}, workflows ${r.workflowsStartedPerResponses} started / ${r.workflowCountDelta} counted`,
        );
        perRate.get(rate)!.push(r);
      }
    }
    const summaries = rates.map((rate) => summarize(rate, perRate.get(rate)!));
    printTable(summaries, prof, seconds, withWorker);
    const resultsDir = join(PROJECT_ROOT, 'dev', 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, values.out.replace(/[^A-Za-z0-9._-]/g, '_'));
    const report = {
      measured: 'POST /api/v1/events (a signed JWT each) → HTTP 202 (sent after workflow.start returned for every matching rule)',
      setup: {
        database: DATABASE_NAME,
        residentsAvailable: residents.length,
        eventsUsed: sender.used,
        rules: 'child-allowance, child-medical-subsidy (both on birth, purpose child-benefits)',
        worker: withWorker ? 'child process, OSHIRASE_TEST_MODE=true, running the workflows as they start' : 'none: workflows wait in the task queue',
        cpus: (await import('node:os')).cpus().length,
      },
      options: { rates, seconds, warmup, runs, profileEvents },
      rates: summaries,
      profile: prof,
    };
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    for (const cleanup of cleanups) {
      try {
        await cleanup();
      } catch (error) {
        log(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

runBenchmark(main);
