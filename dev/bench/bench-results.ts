import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../runtime/engine-context';

/** Where every benchmark writes its JSON report (BENCHMARKS.md reads its figures from there). */
export const BENCH_RESULTS_DIR = join(PROJECT_ROOT, 'dev', 'bench', 'results');

/** Writes a benchmark's report as pretty JSON under dev/bench/results/ and returns the file's path. */
export function writeBenchReport(fileName: string, report: unknown): string {
  mkdirSync(BENCH_RESULTS_DIR, { recursive: true });
  const file = join(BENCH_RESULTS_DIR, fileName);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** Runs a benchmark's main function as a script: a failure prints its stack and exits 1. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
