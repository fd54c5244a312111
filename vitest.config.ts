import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Suites start brokers, databases and child processes: two at a time on a 2-core machine.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
