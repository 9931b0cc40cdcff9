import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Runs the history scan last, so it sees the workflows of every other test file. */
class HistoryScanLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isScan = (f: TestSpecification) => f.moduleId.includes('histories-free-of-personal-data');
    return [...sorted.filter((f) => !isScan(f)), ...sorted.filter(isScan)];
  }
}

export default defineConfig({
  test: {
    // Temporal's native bridge does not survive worker threads; forks it is.
    pool: 'forks',
    // Two cores, one Temporal server and one database for everything: one file at a time.
    fileParallelism: false,
    globalSetup: ['tests/support/global-setup.ts'],
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    sequence: { sequencer: HistoryScanLast },
  },
});
