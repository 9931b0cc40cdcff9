/**
 * `npm run bench`: the four benchmarks of BENCHMARKS.md in turn, each as its
 * own process so one cannot warm or disturb the next, each with the arguments
 * BENCHMARKS.md reports; each prints its table and writes JSON under
 * dev/bench/results/. About 37 minutes on 2 cores once the populations exist (27.7
 * before benchmark 3 measured the real cluster too; issue 15 brings it back under 30)
 * (`npm run bench:population -- --residents N` for 10000, 100000 and 1000000;
 * benchmark 1 makes a missing one itself, 1–2 minutes for a million).
 *
 *   tsx dev/bench/run-all.ts [--only 1,3]
 *
 * To change one benchmark's arguments, run its script directly (BENCHMARKS.md).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../runtime/engine-context';

const BENCHMARKS = [
  { name: '1. population evaluation', script: 'dev/bench/population-evaluation.ts', args: ['--sizes', '10000,100000,1000000', '--runs', '3'] },
  // 15 s a rate and 1,000 workflows a run (the scripts' defaults are 20 s and 2,000) keep the whole
  // suite short enough to run at once on 2 cores.
  { name: '2. life-event path latency', script: 'dev/bench/event-latency.ts', args: ['--seconds', '15'] },
  // Both Temporal servers, the dev server then a real cluster (its own databases), in the same run.
  { name: '3. outreach throughput', script: 'dev/bench/outreach-throughput.ts', args: ['--outreach', '1000'] },
  { name: '4. worker memory with waiting outreach', script: 'dev/bench/worker-memory.ts', args: [] },
];

function selected(only: string | undefined): typeof BENCHMARKS {
  if (only === undefined) return BENCHMARKS;
  const numbers = only.split(',').map((s) => Number(s.trim()));
  const bad = numbers.filter((n) => !Number.isInteger(n) || n < 1 || n > BENCHMARKS.length);
  if (bad.length > 0 || numbers.length === 0) {
    process.stderr.write(`--only: expected benchmark numbers 1–${BENCHMARKS.length} separated by commas, got "${only}"\n`);
    process.exit(2);
  }
  return BENCHMARKS.filter((_, i) => numbers.includes(i + 1));
}

let only: string | undefined;
try {
  only = parseArgs({ options: { only: { type: 'string' } }, strict: true }).values.only;
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\nusage: npm run bench [-- --only 1,3]\n`);
  process.exit(2);
}

const started = Date.now();
const failed: string[] = [];
for (const bench of selected(only)) {
  const t = Date.now();
  process.stdout.write(`\n=== ${bench.name}: ${['tsx', bench.script, ...bench.args].join(' ')}\n`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, bench.script), ...bench.args], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  process.stdout.write(`=== ${bench.name}: ${((Date.now() - t) / 60_000).toFixed(1)} min${run.status === 0 ? '' : ' — FAILED'}\n`);
  if (run.status !== 0) failed.push(`${bench.name}: exit ${run.status ?? run.signal}`);
}
process.stdout.write(`\nall benchmarks: ${((Date.now() - started) / 60_000).toFixed(1)} min${failed.length ? `; problems: ${failed.join('; ')}` : ''}\n`);
process.exit(failed.length ? 1 : 0);
