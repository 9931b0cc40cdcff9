import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`, the last part of `npm test`): tests/faults/, each fault against real processes — worker processes
 * SIGKILLed, the Temporal server killed on its PostgreSQL store, PostgreSQL restarted — on the real cluster
 * (tests/cluster/global-setup.ts) with the suite's SMTP server and push receiver. Each file prints one
 * `FAULT <name>: outreach=… ended=… expected=… unconfirmed=… made=… duplicates=… losses=…` line.
 */
export default defineConfig({
  test: {
    include: ['tests/faults/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['tests/cluster/global-setup.ts'],
  },
});
