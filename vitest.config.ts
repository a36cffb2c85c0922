import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests spawn real processes (caliop, relay, gpg); two cores in CI.
    pool: 'forks',
    maxWorkers: 2,
  },
});
