import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['scripts/**/*.test.ts', 'shared/src/**/*.test.ts', 'sync-server/**/*.test.ts', 'desktop/src/**/*.test.ts', 'desktop/e2e/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and databases; two cores do not run many at once well.
    pool: 'forks',
    maxWorkers: 2,
  },
});
