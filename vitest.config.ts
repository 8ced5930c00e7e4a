import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and databases; two cores do not run many at once well.
    pool: 'forks',
    maxWorkers: 2,
    // `include` lives in each project: with `extends: true` arrays set here would be added to a
    // project's own, not replaced by them.
    projects: [
      {
        extends: true,
        test: {
          name: 'depotline',
          include: ['scripts/**/*.test.ts', 'shared/src/**/*.test.ts', 'sync-server/**/*.test.ts', 'desktop/src/**/*.test.ts', 'desktop/e2e/**/*.test.ts'],
        },
      },
      // The desktop store's suite once more on the Windows driver (better-sqlite3-multiple-ciphers,
      // desktop/src/core/store/store-driver.ts); the interop test already uses both drivers.
      {
        extends: true,
        test: {
          name: 'store-multiple-ciphers',
          include: ['desktop/src/core/store/**/*.test.ts'],
          exclude: ['desktop/src/core/store/sqlcipher-interop.test.ts'],
          env: { DEPOTLINE_STORE_DRIVER: 'multiple-ciphers' },
        },
      },
    ],
  },
});
