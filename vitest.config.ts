import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests isolate themselves (schema + Redis prefix per test), so files may run in
    // parallel; two cores make more than two forks a loss.
    pool: 'forks',
    maxWorkers: 2,
  },
});
