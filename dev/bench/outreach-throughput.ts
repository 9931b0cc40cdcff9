/**
 * Outreach throughput against its limit on the same Temporal server, per run, on each
 * Temporal server in turn in the same invocation (`--servers`, both by default):
 *
 *   limit    — K no-op workflows (dev/bench/noop-workflow.ts, its own bundle, task
 *              queue and worker process) started as fast as possible: starts/s,
 *              and completions/s (from the first start to the last completion,
 *              counted through the server's visibility store);
 *   outreach — K outreach workflows (engine/outreach/start-outreach.ts: outreach row,
 *              workflow start, audit row) with the same concurrency: starts/s,
 *              and first notices/s (emails the SMTP sink accepted, counted as
 *              ledger rows `sent`, from the first start to the last one).
 *
 * Each server's part is the whole measurement (warm-up, then the runs, no-op and
 * outreach alternating) on a stack of its own: the server (the headless dev server;
 * or a real cluster, dev/temporal/temporal-cluster.ts, on the databases
 * `temporal_bench` and `temporal_visibility_bench`, dropped before and after), the
 * SMTP sink and both workers as their own processes, all started here on loopback
 * and stopped before the next server's part. The engine database
 * `oshirase_bench_outreach` is shared: the population is seeded once. The outreach
 * workflows wait 3 plan days of real time (msPerDay 86 400 000); they stay in their
 * server while later runs go on and end with it. A cluster that is not built is
 * reported (npm run setup:temporal-server) and the dev server still measured; the
 * exit status is then 1.
 *
 *   tsx dev/bench/outreach-throughput.ts [--servers dev,cluster] [--outreach 2000] [--runs 3] [--concurrency 50] [--residents 20000]
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { runBenchmark, writeBenchReport } from './bench-results';
import {
  BENCH_SERVER_NAMES,
  BENCH_SERVERS,
  clusterUnavailable,
  NOOP_TASK_QUEUE,
  workerCacheSize,
  formatTable,
  log,
  outreachStarter,
  runConcurrently,
  sentEmails,
  sleep,
  startStack,
  stat,
  type BenchServer,
  type BenchStack,
  type Stat,
} from './outreach-throughput-stack';

const POLL_MS = 250;
const MS_PER_DAY = 86_400_000;

interface RunFigures {
  noopStartPerSecond: number;
  noopCompletedPerSecond: number;
  outreachStartPerSecond: number;
  firstNoticePerSecond: number;
  /** Seconds from the first outreach start until the last first notice. */
  outreachAllSentSeconds: number;
  noopAllCompletedSeconds: number;
  /** Mean of the seconds from start to email over every outreach is not observable here; the sent-count curve is kept instead. */
  sentCurve: Array<[number, number]>;
}

interface Medians {
  noopStartPerSecond: Stat;
  noopCompletedPerSecond: Stat;
  outreachStartPerSecond: Stat;
  firstNoticePerSecond: Stat;
}

interface Ratios {
  outreachStartOverNoopStart: number;
  firstNoticeOverNoopCompleted: number;
}

/** One server's part of the run. */
interface ServerFigures {
  server: BenchServer;
  temporal: string;
  eligibleResidents: number;
  /** Seconds from starting the stack until the warm-up began (the cluster's start, schema and namespace included). */
  stackStartSeconds: number;
  perRun: RunFigures[];
  median: Medians;
  ratios: Ratios;
  target: { outreachStartAtLeastHalfOfNoop: boolean };
}

/** A server asked for but not measured: not built, or its part failed. */
interface ServerNotMeasured {
  server: BenchServer;
  temporal: string;
  notMeasured: string;
}

/**
 * The report. The top-level figures (perRun, median, ratios, target) are those of the first server
 * measured (the dev server unless left out: `server` says which), as they were before the report had
 * a section per server; `servers` holds every server's part, `clusterOverDev` the cross-server ratios.
 */
interface Report {
  at: string;
  outreach: number;
  runs: number;
  concurrency: number;
  /** The benchmark's pool to the engine database (the starts' queries), on every server. */
  benchPoolSize: number;
  residentsSeeded: number;
  eligibleResidents: number;
  cpus: number;
  workerDefaults: { heapLimitMiB: number; maxCachedWorkflows: number };
  server: BenchServer;
  perRun: RunFigures[];
  median: Medians;
  ratios: Ratios;
  target: { outreachStartAtLeastHalfOfNoop: boolean };
  servers: Partial<Record<BenchServer, ServerFigures | ServerNotMeasured>>;
  /** Cluster ÷ dev server, medians; null unless both were measured. */
  clusterOverDev: {
    noopStartPerSecond: number;
    noopCompletedPerSecond: number;
    outreachStartPerSecond: number;
    firstNoticePerSecond: number;
  } | null;
}

async function countCompletedNoop(stack: BenchStack): Promise<number> {
  return (await stack.client.workflow.count(`WorkflowType = "noopWorkflow" AND ExecutionStatus = "Completed"`)).count;
}

async function waitForCount(
  what: string,
  probe: () => Promise<number>,
  target: number,
  timeoutMs: number,
  t0: number,
  stopped: () => boolean,
  curve?: Array<[number, number]>,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (stopped()) return 0;
    const n = await probe();
    const at = (performance.now() - t0) / 1000;
    curve?.push([Number(at.toFixed(2)), n]);
    if (n >= target) return at;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}: ${n}/${target}`);
    await sleep(POLL_MS);
  }
}

/**
 * Runs the starts while `watch` counts what they lead to, from the same origin. A failed start stops the
 * watcher, and waits for its last probe, before the error goes on to stop the stack under it.
 */
async function startWhileWatching(
  watch: (stopped: () => boolean) => Promise<number>,
  starts: () => Promise<number>,
): Promise<{ startSeconds: number; watchedSeconds: number }> {
  let stopped = false;
  const watcher = watch(() => stopped);
  // Its failure (a timeout) surfaces at the await below; until then it must not count as unhandled.
  watcher.catch(() => {});
  try {
    const startSeconds = await starts();
    return { startSeconds, watchedSeconds: await watcher };
  } catch (error) {
    stopped = true;
    await watcher.catch(() => {});
    throw error;
  }
}

async function measureNoop(
  stack: BenchStack,
  tag: string,
  k: number,
  concurrency: number,
): Promise<{ startPerSecond: number; completedPerSecond: number; allCompletedSeconds: number }> {
  const baseline = await countCompletedNoop(stack);
  const t0 = performance.now();
  // The count is watched while starting goes on, so completions are timed from the same origin.
  const { startSeconds, watchedSeconds: completedAt } = await startWhileWatching(
    (stopped) => waitForCount('no-op completions', async () => (await countCompletedNoop(stack)) - baseline, k, 600_000, t0, stopped),
    () =>
      runConcurrently(k, concurrency, async (i) => {
        await stack.client.workflow.start('noopWorkflow', { workflowId: `noop-${tag}-${i}`, taskQueue: NOOP_TASK_QUEUE, args: [] });
      }),
  );
  return { startPerSecond: k / startSeconds, completedPerSecond: k / completedAt, allCompletedSeconds: completedAt };
}

async function measureOutreach(
  stack: BenchStack,
  tag: string,
  k: number,
  concurrency: number,
): Promise<{ startPerSecond: number; sentPerSecond: number; allSentSeconds: number; curve: Array<[number, number]> }> {
  const db = stack.database.db;
  const baseline = await sentEmails(db);
  const start = outreachStarter(stack, tag, MS_PER_DAY);
  const curve: Array<[number, number]> = [];
  const t0 = performance.now();
  const { startSeconds, watchedSeconds: sentAt } = await startWhileWatching(
    (stopped) => waitForCount('first notices', async () => (await sentEmails(db)) - baseline, k, 900_000, t0, stopped, curve),
    () => runConcurrently(k, concurrency, start),
  );
  return { startPerSecond: k / startSeconds, sentPerSecond: k / sentAt, allSentSeconds: sentAt, curve };
}

function rate(n: number): string {
  return `${n.toFixed(1)}/s`;
}

function statText(s: Stat): string {
  return `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
}

interface Settings {
  servers: BenchServer[];
  k: number;
  runs: number;
  concurrency: number;
  residents: number;
}

const USAGE = 'usage: tsx dev/bench/outreach-throughput.ts [--servers dev,cluster] [--outreach 2000] [--runs 3] [--concurrency 50] [--residents 20000]';

/** The command line, or a message saying what is wrong with it. */
function parseSettings(args: string[]): Settings | string {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        servers: { type: 'string', default: BENCH_SERVERS.join(',') },
        outreach: { type: 'string', default: '2000' },
        runs: { type: 'string', default: '3' },
        concurrency: { type: 'string', default: '50' },
        residents: { type: 'string', default: '20000' },
      },
      strict: true,
    }).values;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const names = values.servers.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(BENCH_SERVERS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0 || new Set(names).size !== names.length) {
    return `--servers takes ${BENCH_SERVERS.join(', ')} or both separated by a comma, each once (got "${values.servers}")`;
  }
  const settings = {
    servers: names as BenchServer[],
    k: Number(values.outreach),
    runs: Number(values.runs),
    concurrency: Number(values.concurrency),
    residents: Number(values.residents),
  };
  for (const [name, v] of [
    ['--outreach', settings.k],
    ['--runs', settings.runs],
    ['--concurrency', settings.concurrency],
    ['--residents', settings.residents],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) return `${name} takes a positive integer`;
  }
  return settings;
}

/**
 * The benchmark's own connections to the engine database. A start holds one only for its queries, not
 * through `workflow.start`, so 50 starts in flight need far fewer than 50; the cap leaves room for the
 * cluster's (up to 47 counted) and the worker's 10 within PostgreSQL's default max_connections of
 * 100 (with 52, as before, the cluster's part ran out of connections). The same on both servers.
 */
function benchPoolSize(concurrency: number): number {
  return Math.min(concurrency + 2, 30);
}

/** One server's whole part: its stack, the warm-up, the runs; the stack is stopped before returning. */
async function measureServer(server: BenchServer, settings: Settings): Promise<ServerFigures> {
  const { k, runs, concurrency, residents } = settings;
  const t0 = performance.now();
  const stack = await startStack({ residents, poolSize: benchPoolSize(concurrency), server });
  try {
    log(`[${server}] ${stack.eligible.length} eligible residents (valid email, consent); starting workers against ${stack.temporal.address}`);
    await stack.startNoopWorker();
    await stack.startOutreachWorker();
    const stackStartSeconds = (performance.now() - t0) / 1000;
    // Untimed warm-up: connections, the workers' first tasks, the database's caches.
    const warm = Math.min(100, k);
    log(`[${server}] warm-up (${warm} of each)`);
    const warmTag = `warm-${server}-${Date.now().toString(36)}`;
    await measureNoop(stack, warmTag, warm, concurrency);
    await measureOutreach(stack, warmTag, warm, concurrency);
    const perRun: RunFigures[] = [];
    for (let run = 1; run <= runs; run++) {
      const tag = `${server}-${Date.now().toString(36)}-${run}`;
      log(`[${server}] run ${run}/${runs}: ${k} no-op workflows`);
      const noop = await measureNoop(stack, tag, k, concurrency);
      log(`  no-op: ${rate(noop.startPerSecond)} started, ${rate(noop.completedPerSecond)} completed`);
      log(`[${server}] run ${run}/${runs}: ${k} outreach workflows`);
      const outreach = await measureOutreach(stack, tag, k, concurrency);
      log(`  outreach: ${rate(outreach.startPerSecond)} started, ${rate(outreach.sentPerSecond)} first notices`);
      perRun.push({
        noopStartPerSecond: noop.startPerSecond,
        noopCompletedPerSecond: noop.completedPerSecond,
        noopAllCompletedSeconds: noop.allCompletedSeconds,
        outreachStartPerSecond: outreach.startPerSecond,
        firstNoticePerSecond: outreach.sentPerSecond,
        outreachAllSentSeconds: outreach.allSentSeconds,
        sentCurve: outreach.curve.filter((_, i) => i % 10 === 0),
      });
    }
    const median: Medians = {
      noopStartPerSecond: stat(perRun.map((r) => r.noopStartPerSecond)),
      noopCompletedPerSecond: stat(perRun.map((r) => r.noopCompletedPerSecond)),
      outreachStartPerSecond: stat(perRun.map((r) => r.outreachStartPerSecond)),
      firstNoticePerSecond: stat(perRun.map((r) => r.firstNoticePerSecond)),
    };
    const ratios: Ratios = {
      outreachStartOverNoopStart: median.outreachStartPerSecond.median / median.noopStartPerSecond.median,
      firstNoticeOverNoopCompleted: median.firstNoticePerSecond.median / median.noopCompletedPerSecond.median,
    };
    return {
      server,
      temporal: BENCH_SERVER_NAMES[server],
      eligibleResidents: stack.eligible.length,
      stackStartSeconds,
      perRun,
      median,
      ratios,
      target: { outreachStartAtLeastHalfOfNoop: ratios.outreachStartOverNoopStart >= 0.5 },
    };
  } finally {
    log(`[${server}] stopping its workers, SMTP sink and server`);
    await stack.stop();
  }
}

function serverTable(f: ServerFigures, k: number, runs: number): string {
  return formatTable([
    [`${f.server}: workflows/s, median (min–max) of ${runs}`, 'started', 'completed / first notice sent'],
    [`no-op (limit), K=${k}`, statText(f.median.noopStartPerSecond), statText(f.median.noopCompletedPerSecond)],
    [`outreach, K=${k}`, statText(f.median.outreachStartPerSecond), statText(f.median.firstNoticePerSecond)],
    ['outreach ÷ no-op', f.ratios.outreachStartOverNoopStart.toFixed(2), f.ratios.firstNoticeOverNoopCompleted.toFixed(2)],
  ]);
}

/** Every server side by side, a column each, and cluster ÷ dev when both were measured. */
function crossServerTable(measured: ServerFigures[], clusterOverDev: Report['clusterOverDev'], runs: number): string {
  const rows: Array<[string, (f: ServerFigures) => string, keyof NonNullable<Report['clusterOverDev']> | null]> = [
    ['no-op started/s', (f) => statText(f.median.noopStartPerSecond), 'noopStartPerSecond'],
    ['no-op completed/s', (f) => statText(f.median.noopCompletedPerSecond), 'noopCompletedPerSecond'],
    ['outreach started/s', (f) => statText(f.median.outreachStartPerSecond), 'outreachStartPerSecond'],
    ['first notices/s', (f) => statText(f.median.firstNoticePerSecond), 'firstNoticePerSecond'],
    ['outreach ÷ no-op, started', (f) => f.ratios.outreachStartOverNoopStart.toFixed(2), null],
    ['first notices ÷ no-op completed', (f) => f.ratios.firstNoticeOverNoopCompleted.toFixed(2), null],
  ];
  return formatTable([
    [`median (min–max) of ${runs}`, ...measured.map((f) => f.server), ...(clusterOverDev ? ['cluster ÷ dev'] : [])],
    ...rows.map(([label, cell, key]) => [label, ...measured.map(cell), ...(clusterOverDev ? [key ? clusterOverDev[key].toFixed(2) : ''] : [])]),
  ]);
}

async function main(): Promise<void> {
  const parsed = parseSettings(process.argv.slice(2));
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n${USAGE}\n`);
    process.exit(2);
  }
  const settings = parsed;
  const { k, runs, concurrency, residents } = settings;
  // Said first, not after the dev server's part: whoever runs it sees at once that only one server will be measured.
  const clusterMissing = settings.servers.includes('cluster') ? clusterUnavailable() : null;
  if (clusterMissing) log(`the cluster will not be measured: ${clusterMissing}; the dev server still is`);

  const servers: Report['servers'] = {};
  const measured: ServerFigures[] = [];
  for (const server of settings.servers) {
    if (server === 'cluster' && clusterMissing) {
      servers.cluster = { server, temporal: BENCH_SERVER_NAMES.cluster, notMeasured: clusterMissing };
      continue;
    }
    log(`=== ${BENCH_SERVER_NAMES[server]}`);
    try {
      const figures = await measureServer(server, settings);
      servers[server] = figures;
      measured.push(figures);
      process.stdout.write(`\n${serverTable(figures, k, runs)}\n`);
    } catch (error) {
      // The other server's part still runs: one server that cannot start must not cost the other's figures.
      const message = error instanceof Error ? error.message : String(error);
      log(`[${server}] not measured: ${message}`);
      servers[server] = { server, temporal: BENCH_SERVER_NAMES[server], notMeasured: message };
    }
  }
  const first = measured[0];
  if (!first)
    throw new Error(
      `no server was measured: ${Object.values(servers)
        .map((s) => `${s.server}: ${'notMeasured' in s ? s.notMeasured : ''}`)
        .join('; ')}`,
    );

  const dev = measured.find((f) => f.server === 'dev');
  const cluster = measured.find((f) => f.server === 'cluster');
  const clusterOverDev =
    dev && cluster
      ? {
          noopStartPerSecond: cluster.median.noopStartPerSecond.median / dev.median.noopStartPerSecond.median,
          noopCompletedPerSecond: cluster.median.noopCompletedPerSecond.median / dev.median.noopCompletedPerSecond.median,
          outreachStartPerSecond: cluster.median.outreachStartPerSecond.median / dev.median.outreachStartPerSecond.median,
          firstNoticePerSecond: cluster.median.firstNoticePerSecond.median / dev.median.firstNoticePerSecond.median,
        }
      : null;
  const report: Report = {
    at: new Date().toISOString(),
    outreach: k,
    runs,
    concurrency,
    benchPoolSize: benchPoolSize(concurrency),
    residentsSeeded: residents,
    eligibleResidents: first.eligibleResidents,
    cpus: cpus().length,
    workerDefaults: workerCacheSize(),
    server: first.server,
    perRun: first.perRun,
    median: first.median,
    ratios: first.ratios,
    target: first.target,
    servers,
    clusterOverDev,
  };
  process.stdout.write(`\n${crossServerTable(measured, clusterOverDev, runs)}\n`);
  const targets = measured.map((f) => `${f.server} ${f.target.outreachStartAtLeastHalfOfNoop ? 'met' : 'NOT met'}`).join(', ');
  process.stdout.write(`(K=${k}, concurrency ${concurrency}; target: outreach starts ≥ 0.5 × no-op starts on the same server: ${targets})\n`);
  const missing = Object.values(servers).filter((s): s is ServerNotMeasured => 'notMeasured' in s);
  for (const s of missing) process.stdout.write(`${s.server}: NOT measured: ${s.notMeasured}\n`);
  log(`wrote ${writeBenchReport('outreach-throughput.json', report)}`);
  // A server asked for and not measured fails the run (npm run bench says so), after the other's figures are written.
  if (missing.length > 0) process.exitCode = 1;
}

runBenchmark(main);
