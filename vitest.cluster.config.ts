import { defineConfig } from 'vitest/config';

/**
 * The tests on a real Temporal cluster (`npm run test:cluster`): tests/cluster/, with the suite's services
 * and a Temporal server on PostgreSQL in place of the dev server (tests/cluster/global-setup.ts). Kept out
 * of `npm test`: the server takes a Go build the first time and its own start.
 */
export default defineConfig({
  test: {
    include: ['tests/cluster/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // As the integration project: Temporal's native bridge wants forks, and one server for everything.
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['tests/cluster/global-setup.ts'],
  },
});
