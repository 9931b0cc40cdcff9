/**
 * `npm run bench`: every benchmark in turn, each as its own process so one
 * cannot warm or disturb the next; each prints its table and writes JSON under
 * bench/results/. Arguments after `--` go to every benchmark.
 * Prepare the populations first: `npm run bench:population -- --residents N`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCHMARKS = [
  { name: '1. population evaluation', script: 'bench/population-evaluation.ts' },
  { name: '2. life-event path latency', script: 'bench/event-latency.ts' },
  { name: '3. outreach throughput', script: 'bench/outreach-throughput.ts' },
  { name: '4. worker memory with waiting outreach', script: 'bench/worker-memory.ts' },
];

const args = process.argv.slice(2);
const started = Date.now();
const failed: string[] = [];
for (const bench of BENCHMARKS) {
  process.stdout.write(`\n=== ${bench.name} (${bench.script})\n`);
  if (!existsSync(join(root, bench.script))) {
    process.stdout.write('not built yet — skipped\n');
    failed.push(`${bench.name}: not built`);
    continue;
  }
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, bench.script), ...args], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) failed.push(`${bench.name}: exit ${run.status ?? run.signal}`);
}
process.stdout.write(`\nall benchmarks: ${((Date.now() - started) / 60_000).toFixed(1)} min${failed.length ? `; problems: ${failed.join('; ')}` : ''}\n`);
process.exit(failed.length ? 1 : 0);
