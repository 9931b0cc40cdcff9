/**
 * Outreach throughput against its limit on the same Temporal server, per run:
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
 * One dev server (headless), PostgreSQL `oshirase_bench_outreach`, the SMTP sink
 * and both workers as their own processes, all started here on loopback. The
 * outreach workflows then wait 3 plan days of real time (msPerDay 86 400 000);
 * they stay in the worker while later runs go on.
 *
 *   tsx dev/bench/outreach-throughput.ts [--outreach 2000] [--runs 3] [--concurrency 50] [--residents 20000]
 */
import { parseArgs } from 'node:util';
import { runBenchmark, writeBenchReport } from './bench-results';
import {
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

interface Report {
  at: string;
  outreach: number;
  runs: number;
  concurrency: number;
  residentsSeeded: number;
  eligibleResidents: number;
  cpus: number;
  workerDefaults: { heapLimitMiB: number; maxCachedWorkflows: number };
  perRun: RunFigures[];
  median: {
    noopStartPerSecond: Stat;
    noopCompletedPerSecond: Stat;
    outreachStartPerSecond: Stat;
    firstNoticePerSecond: Stat;
  };
  ratios: { outreachStartOverNoopStart: number; firstNoticeOverNoopCompleted: number };
  target: { outreachStartAtLeastHalfOfNoop: boolean };
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
  curve?: Array<[number, number]>,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const n = await probe();
    const at = (performance.now() - t0) / 1000;
    curve?.push([Number(at.toFixed(2)), n]);
    if (n >= target) return at;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}: ${n}/${target}`);
    await sleep(POLL_MS);
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
  let completedAt = 0;
  // The count is watched while starting goes on, so completions are timed from the same origin.
  const watcher = waitForCount('no-op completions', async () => (await countCompletedNoop(stack)) - baseline, k, 600_000, t0).then((s) => (completedAt = s));
  const startSeconds = await runConcurrently(k, concurrency, async (i) => {
    await stack.client.workflow.start('noopWorkflow', { workflowId: `noop-${tag}-${i}`, taskQueue: NOOP_TASK_QUEUE, args: [] });
  });
  await watcher;
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
  let sentAt = 0;
  const watcher = waitForCount('first notices', async () => (await sentEmails(db)) - baseline, k, 900_000, t0, curve).then((s) => (sentAt = s));
  const startSeconds = await runConcurrently(k, concurrency, start);
  await watcher;
  return { startPerSecond: k / startSeconds, sentPerSecond: k / sentAt, allSentSeconds: sentAt, curve };
}

function rate(n: number): string {
  return `${n.toFixed(1)}/s`;
}

function statText(s: Stat): string {
  return `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      outreach: { type: 'string', default: '2000' },
      runs: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '50' },
      residents: { type: 'string', default: '20000' },
    },
    strict: true,
  });
  const k = Number(values.outreach);
  const runs = Number(values.runs);
  const concurrency = Number(values.concurrency);
  const residents = Number(values.residents);
  for (const [name, v] of [
    ['--outreach', k],
    ['--runs', runs],
    ['--concurrency', concurrency],
    ['--residents', residents],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} takes a positive integer`);
  }
  const stack = await startStack({ residents, poolSize: concurrency + 2 });
  try {
    log(`${stack.eligible.length} eligible residents (valid email, consent); starting workers`);
    await stack.startNoopWorker();
    await stack.startOutreachWorker();
    // Untimed warm-up: connections, the workers' first tasks, the database's caches.
    const warm = Math.min(100, k);
    log(`warm-up (${warm} of each)`);
    await measureNoop(stack, 'warm', warm, concurrency);
    await measureOutreach(stack, `warm-${Date.now().toString(36)}`, warm, concurrency);
    const perRun: RunFigures[] = [];
    for (let run = 1; run <= runs; run++) {
      const tag = `${Date.now().toString(36)}-${run}`;
      log(`run ${run}/${runs}: ${k} no-op workflows`);
      const noop = await measureNoop(stack, tag, k, concurrency);
      log(`  no-op: ${rate(noop.startPerSecond)} started, ${rate(noop.completedPerSecond)} completed`);
      log(`run ${run}/${runs}: ${k} outreach workflows`);
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
    const median = {
      noopStartPerSecond: stat(perRun.map((r) => r.noopStartPerSecond)),
      noopCompletedPerSecond: stat(perRun.map((r) => r.noopCompletedPerSecond)),
      outreachStartPerSecond: stat(perRun.map((r) => r.outreachStartPerSecond)),
      firstNoticePerSecond: stat(perRun.map((r) => r.firstNoticePerSecond)),
    };
    const ratios = {
      outreachStartOverNoopStart: median.outreachStartPerSecond.median / median.noopStartPerSecond.median,
      firstNoticeOverNoopCompleted: median.firstNoticePerSecond.median / median.noopCompletedPerSecond.median,
    };
    const report: Report = {
      at: new Date().toISOString(),
      outreach: k,
      runs,
      concurrency,
      residentsSeeded: residents,
      eligibleResidents: stack.eligible.length,
      cpus: (await import('node:os')).cpus().length,
      workerDefaults: workerCacheSize(),
      perRun,
      median,
      ratios,
      target: { outreachStartAtLeastHalfOfNoop: ratios.outreachStartOverNoopStart >= 0.5 },
    };
    const table = formatTable([
      ['workflows/s, median (min–max) of ' + runs, 'started', 'completed / first notice sent'],
      [`no-op (limit), K=${k}`, statText(median.noopStartPerSecond), statText(median.noopCompletedPerSecond)],
      [`outreach, K=${k}`, statText(median.outreachStartPerSecond), statText(median.firstNoticePerSecond)],
      ['outreach ÷ no-op', ratios.outreachStartOverNoopStart.toFixed(2), ratios.firstNoticeOverNoopCompleted.toFixed(2)],
    ]);
    process.stdout.write(
      `${table}\n(concurrency ${concurrency}; target: outreach starts ≥ 0.5 × no-op starts: ${report.target.outreachStartAtLeastHalfOfNoop ? 'met' : 'NOT met'})\n`,
    );
    log(`wrote ${writeBenchReport('outreach-throughput.json', report)}`);
  } finally {
    await stack.stop();
  }
}

runBenchmark(main);
