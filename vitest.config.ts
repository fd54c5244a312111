import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Suites start brokers, databases and child processes: two at a time on a 2-core machine.
    maxWorkers: 2,
    // In CI a test that fails once runs once more (real brokers, browsers and kill -9 on a shared
    // 2-core machine); the reporter still marks it "retry", and one that fails twice fails the run.
    retry: process.env.CI ? 1 : 0,
    reporters: ['default'],
  },
});
