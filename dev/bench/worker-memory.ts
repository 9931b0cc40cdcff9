/**
 * Memory and CPU of one outreach worker holding many waiting workflows: starts
 * N outreach workflows (email, then a 3-day wait in real time: msPerDay 86 400 000),
 * waits until every email is in the ledger as sent (so each workflow sits in its
 * first timer), then samples the worker process's VmRSS (/proc/<pid>/status) and
 * CPU time (utime + stime from /proc/<pid>/stat) once a second for --sample-seconds.
 * The ramp (starting and sending) is sampled too and reported apart.
 *
 * The worker is `node --import tsx worker.ts` as its own process, with the
 * engine's sticky cache size (maxCachedWorkflows, reported); one headless dev server,
 * PostgreSQL `oshirase_bench_outreach` and the SMTP sink, all started here.
 *
 *   tsx dev/bench/worker-memory.ts [--outreach 10000] [--sample-seconds 30] [--concurrency 50] [--residents 20000]
 */
import { parseArgs } from 'node:util';
import { workerCacheSize, formatTable, log, outreachStarter, processUsage, runConcurrently, sentEmails, sleep, startStack } from './outreach-throughput-stack';
import { runBenchmark, writeBenchReport } from './bench-results';

const MIB = 1024 * 1024;
const MS_PER_DAY = 86_400_000;

interface Sample {
  /** Seconds since the worker was ready. */
  at: number;
  rssMiB: number;
  cpuSeconds: number;
  sent: number;
}

interface PhaseFigures {
  seconds: number;
  peakRssMiB: number;
  endRssMiB: number;
  /** CPU time over wall time, 100 = one core busy. */
  cpuPercent: number;
}

function phase(samples: Sample[]): PhaseFigures {
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const seconds = last.at - first.at;
  return {
    seconds: Number(seconds.toFixed(1)),
    peakRssMiB: Math.max(...samples.map((s) => s.rssMiB)),
    endRssMiB: last.rssMiB,
    cpuPercent: seconds > 0 ? Number((((last.cpuSeconds - first.cpuSeconds) / seconds) * 100).toFixed(1)) : 0,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      outreach: { type: 'string', default: '10000' },
      'sample-seconds': { type: 'string', default: '30' },
      concurrency: { type: 'string', default: '50' },
      residents: { type: 'string', default: '20000' },
      'send-timeout-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  const n = Number(values.outreach);
  const sampleSeconds = Number(values['sample-seconds']);
  const concurrency = Number(values.concurrency);
  const residents = Number(values.residents);
  const sendTimeout = Number(values['send-timeout-seconds']);
  for (const [name, v] of [
    ['--outreach', n],
    ['--sample-seconds', sampleSeconds],
    ['--concurrency', concurrency],
    ['--residents', residents],
    ['--send-timeout-seconds', sendTimeout],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} takes a positive integer`);
  }
  const stack = await startStack({ residents, poolSize: concurrency + 2 });
  try {
    const worker = await stack.startOutreachWorker();
    const pid = worker.process.pid;
    if (pid === undefined) throw new Error('the worker process has no pid');
    const db = stack.database.db;
    const baseline = await sentEmails(db);
    const ready = performance.now();
    const samples: Sample[] = [];
    const take = async (): Promise<Sample> => {
      const usage = processUsage(pid);
      const s: Sample = {
        at: Number(((performance.now() - ready) / 1000).toFixed(2)),
        rssMiB: Math.round(usage.rssBytes / MIB),
        cpuSeconds: Number(usage.cpuSeconds.toFixed(2)),
        sent: (await sentEmails(db)) - baseline,
      };
      samples.push(s);
      return s;
    };
    const idle = await take();
    log(`worker pid ${pid} ready: ${idle.rssMiB} MiB RSS; starting ${n} outreach workflows`);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sleep(1000);
        const s = await take();
        if (Math.round(s.at) % 10 === 0) log(`  t=${s.at.toFixed(0)} s: ${s.rssMiB} MiB, ${s.sent}/${n} emails sent`);
      }
    })();
    const startSeconds = await runConcurrently(n, concurrency, outreachStarter(stack, `mem-${Date.now().toString(36)}`, MS_PER_DAY));
    log(`started ${n} in ${startSeconds.toFixed(1)} s`);
    const deadline = performance.now() + sendTimeout * 1000;
    let allSent = true;
    while ((samples[samples.length - 1]?.sent ?? 0) < n) {
      if (performance.now() > deadline) {
        // Sampled anyway, and said so: the "waiting" phase then still has sends in it.
        allSent = false;
        log(`only ${samples[samples.length - 1]?.sent ?? 0}/${n} emails sent within ${sendTimeout} s; sampling anyway`);
        break;
      }
      await sleep(500);
    }
    const rampEnd = samples.length - 1;
    log(`every email sent; sampling ${sampleSeconds} s of waiting`);
    await sleep(sampleSeconds * 1000);
    sampling = false;
    await sampler;
    const ramp = phase(samples.slice(0, rampEnd + 1));
    const waiting = phase(samples.slice(rampEnd));
    const cache = workerCacheSize();
    const report = {
      at: new Date().toISOString(),
      outreach: n,
      concurrency,
      startSeconds: Number(startSeconds.toFixed(1)),
      allSentBeforeSampling: allSent,
      sentAtEnd: samples[samples.length - 1]?.sent ?? 0,
      idleRssMiB: idle.rssMiB,
      ramp,
      waiting,
      peakRssMiB: Math.max(ramp.peakRssMiB, waiting.peakRssMiB),
      targetRssUnder1GiB: Math.max(ramp.peakRssMiB, waiting.peakRssMiB) < 1024,
      worker: { ...cache, reuseV8Context: true },
      samples,
    };
    process.stdout.write(
      `${formatTable([
        [`worker, ${n} outreach workflows`, 'seconds', 'peak RSS MiB', 'end RSS MiB', 'CPU %'],
        ['idle (ready)', '0', String(idle.rssMiB), String(idle.rssMiB), ''],
        ['ramp (start + send emails)', String(ramp.seconds), String(ramp.peakRssMiB), String(ramp.endRssMiB), String(ramp.cpuPercent)],
        ['waiting in first timer', String(waiting.seconds), String(waiting.peakRssMiB), String(waiting.endRssMiB), String(waiting.cpuPercent)],
      ])}\n(maxCachedWorkflows ${cache.maxCachedWorkflows}, OSHIRASE_MAX_CACHED_WORKFLOWS; target RSS < 1 GiB: ${report.targetRssUnder1GiB ? 'met' : 'NOT met'})\n`,
    );
    log(`wrote ${writeBenchReport(`worker-memory-${n}.json`, report)}`);
  } finally {
    await stack.stop();
  }
}

runBenchmark(main);
