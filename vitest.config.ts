import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Training tests are CPU-bound: two files at once matches the 2-core CI machine.
    maxWorkers: 2,
    pool: 'forks',
  },
});
