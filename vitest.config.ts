import { defineConfig } from 'vitest/config';

// Issue 14: with a PostgreSQL server for the tests (CALIOP_TEST_POSTGRES, started by
// .ci/postgres in CI), the relay API and gateway suites run a second time on it.
const POSTGRES_SUITES = [
  'test/relay/app.test.ts',
  'test/relay/idempotency.test.ts',
  'test/relay/authorization.test.ts',
  'test/relay/enrolment.test.ts',
  'test/relay/devices.test.ts',
  'test/relay/key-change.test.ts',
  'test/relay/rate-limit.test.ts',
  'test/relay/round-trip.test.ts',
  'test/relay/wkd.test.ts',
  'test/relay/disclosure.test.ts',
  'test/relay/replayed-nonce-batch.test.ts',
  'test/relay/auth-cache.test.ts',
  'test/relay/sessions.test.ts',
  'test/relay/hot-routes.test.ts',
  'test/gateway/smtp-inbound.test.ts',
  'test/gateway/outbound.test.ts',
  'test/hostile/exactly-once.test.ts',
  'test/gateway/outbound-queue.test.ts',
  'test/gateway/mx-delivery.test.ts',
  'test/relay/relay-table-indexes.test.ts',
  'test/gateway/tls-report.test.ts',
  'test/gateway/tls-report-retry.test.ts',
];

export default defineConfig({
  test: {
    // One folder of set-up sticks per run (test/helpers/stick-cache.ts).
    globalSetup: ['test/global-setup.ts'],
    // A hang guard, not a measure. Issue 16's loop (npm test beside six engineers' work, load 20-32
    // on 2 cores, 2026-12-01) ran tests 7-15x slower than a quiet CI: cli-outside-mail 'the levels
    // order' 6.0 s -> 74 s, hostile-relay 'refused' 5.9 -> 89 s, mime-stream '23 deep' 10.2 -> 74 s,
    // i.e. a test of 8+ s quiet could pass 120 s. A hang still fails, at 300 s.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // Integration tests spawn real processes (caliop, relay, gpg); two cores in CI.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts', 'test/**/*.test.tsx'] } },
      ...(process.env.CALIOP_TEST_POSTGRES
        ? [{ extends: true, test: { name: 'postgres', include: POSTGRES_SUITES, env: { CALIOP_TEST_STORE: 'postgres' } } }]
        : []),
    ],
  },
});
