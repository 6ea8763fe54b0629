import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build (the package has no "exports"); vite would pick its ESM build for our
    // files, and two graphql realms break instanceof checks. Point both at the one Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Six processes and minutes of training: `npm run test:cluster` (test/cluster/vitest.config.ts).
    exclude: ['test/cluster/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Training tests are CPU-bound: two files at once matches the 2-core CI machine.
    maxWorkers: 2,
    pool: 'forks',
  },
});
