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

/**
 * The unit project: pure logic that needs no service (no Temporal, PostgreSQL, SMTP sink or push receiver,
 * no `inject(...)` of their addresses, no child process, no socket). It runs without the global setup, files
 * in parallel: `npm run test:unit` or `npx vitest run --project unit`. A new test file belongs here only if
 * it keeps to that; everything else is the integration project.
 */
const UNIT_TESTS = [
  'tests/database-errors.test.ts',
  'tests/dsn-parser-adversarial.test.ts',
  'tests/email-dsn.test.ts',
  'tests/environment-settings.test.ts',
  'tests/fuzz-cli.test.ts',
  'tests/fuzz-files.test.ts',
  'tests/fuzz-inputs.test.ts',
  'tests/email-policy.test.ts',
  'tests/letter-pdf.test.ts',
  'tests/lint-rules.test.ts',
  'tests/push-policy.test.ts',
  'tests/register-records.test.ts',
  'tests/rule-example-cases.test.ts',
  'tests/rule-files-generated.test.ts',
  'tests/rule-json-schema.test.ts',
  'tests/rule-offices.test.ts',
  'tests/store-ownership.test.ts',
  'tests/take-up-charts.test.ts',
  'tests/templates-accessibility.test.ts',
  'tests/templates-check.test.ts',
  'tests/templates-check-mistakes.test.ts',
  'tests/templates-rendering.test.ts',
  'tests/temporal-connection.test.ts',
  'tests/send-timing.test.ts',
  'tests/why-you-got-this.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Root-only option; it orders the files of both projects. The scan is an integration file.
    sequence: { sequencer: HistoryScanLast },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT_TESTS,
          // Every core (vitest's default leaves one free): on two cores that takes the unit run from ~22 s to ~16 s.
          maxWorkers: '100%',
          // First, and on its own: the unit files run in parallel, then the integration project has the machine.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          // tests/cluster/ runs on a real Temporal cluster, through its own config (vitest.cluster.config.ts).
          exclude: [...UNIT_TESTS, 'tests/cluster/**', 'tests/faults/**'],
          // Temporal's native bridge does not survive worker threads; forks it is.
          pool: 'forks',
          // Two cores, one Temporal server and one database for everything: one file at a time.
          fileParallelism: false,
          globalSetup: ['tests/support/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
