import { defineConfig } from 'vitest/config';

/**
 * `npm run test:reliability`: crash, concurrency, shutdown and misbehaving-target tests against a
 * real `echonet serve` (built to dist/). Slow by design, so kept out of the fast suite; the files run
 * one after another so the load tests have the machine to themselves.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/reliability/report.ts'],
    testTimeout: 180_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
