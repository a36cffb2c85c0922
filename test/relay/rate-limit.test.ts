// Per-device rate limit (docs/api.md §5.3): the token bucket, alone and in the real relay.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCaliopError } from '../../src/errors.js';
import { PACING_MARGIN, RequestPacer } from '../../src/core/request-pacing.js';
import { TokenBuckets } from '../../src/relay/middleware/rate-limit.js';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { enrolled } from './helpers/test-identity.js';

describe('TokenBuckets', () => {
  it('allows a burst, then refills at the given rate', () => {
    const buckets = new TokenBuckets({ burst: 3, perMinute: 60 });
    expect([0, 1, 2, 3].map(() => buckets.take('a', 0))).toEqual([0, 0, 0, 1]);
    expect(buckets.take('b', 0)).toBe(0); // per key
    expect(buckets.take('a', 999)).toBe(1);
    expect(buckets.take('a', 1000)).toBe(0);
    expect(buckets.take('a', 1000)).toBe(1);
  });
});

describe('rate limit in the relay', () => {
  let relay: RelayProcess;
  beforeAll(async () => {
    relay = await startRelayProcess({ extraArgs: ['--rate-burst', '4', '--rate-per-minute', '1'] });
  });
  afterAll(async () => relay?.dispose());

  it('answers 429 with Retry-After once a device used its burst; other devices go on', async () => {
    const { client: noisy } = await enrolled(relay, 'noisy'); // enrolment takes 1 token
    for (let i = 0; i < 3; i++) await noisy.list();
    const error = await noisy.list().catch((e: unknown) => e);
    expect(isCaliopError(error, 'relay_rate_limited')).toBe(true);
    expect((error as Error).message).toMatch(/retry after [0-9]+ s/);
    const { client: quiet } = await enrolled(relay, 'quiet');
    expect((await quiet.list()).messages).toEqual([]);
    noisy.close();
    quiet.close();
  });
});

describe('RequestPacer: the client plans within the published limits (docs/api.md §4.4)', () => {
  it('sends a burst (less one token) at once, then spaces requests at a little under the refill rate', () => {
    const pacer = new RequestPacer({ burst: 4, perMinute: 60 }); // one token kept in hand: 3 at once
    expect([0, 1, 2].map(() => pacer.reserve(0))).toEqual([0, 0, 0]);
    const spacing = Math.ceil(1000 / PACING_MARGIN);
    expect(pacer.reserve(0)).toBe(spacing);
    expect(pacer.reserve(0)).toBe(Math.ceil(2000 / PACING_MARGIN)); // planned behind the previous one
    expect(pacer.reserve(10_000)).toBe(0); // refilled meanwhile (never above the burst)
  });

  it('after a 429 it counts the relay bucket as empty', () => {
    const pacer = new RequestPacer({ burst: 5, perMinute: 60 });
    pacer.drained(0);
    expect(pacer.reserve(0)).toBeGreaterThan(0);
  });
});

describe('pacing against the real relay', () => {
  let relay: RelayProcess;
  beforeAll(async () => {
    relay = await startRelayProcess({ extraArgs: ['--rate-burst', '3', '--rate-per-minute', '120'] });
  });
  afterAll(async () => relay?.dispose());

  it('eight requests past a burst of 3 all succeed without one 429: the client waited its turn instead', async () => {
    const { client } = await enrolled(relay, 'patient'); // enrolment takes 1 token
    await client.learnLimits(); // what sync does first
    for (let i = 0; i < 8; i++) expect((await client.list()).messages).toEqual([]);
    const statuses = relay.stderrLines.flatMap((line) => {
      try {
        return [(JSON.parse(line) as { status?: number }).status];
      } catch {
        return [];
      }
    });
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(8);
    expect(statuses, relay.stderrLines.join("\n")).not.toContain(429);
    client.close();
  }, 120_000);
});
