// docs/api.md §4.3 step 6 and docs/decisions/relay-store.md: the store takes the nonces of one
// event-loop turn in one write (SQLite: one transaction; PostgreSQL: one statement), and each
// request still learns alone whether its nonce is fresh. The attack: a request replayed so fast
// that it lands in the same batch as the original. authenticate (the device and the nonce in one
// step, PostgreSQL: one statement per turn) keeps the same rules, and writes no nonce for a
// request it refuses (a revoked device; an unknown one where enrolment is needed).
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FIRST_DEVICE_NAME, type RelayStore } from '../../src/relay/store/relay-store.js';
import { openTestStore, TEST_STORE } from './helpers/test-store.js';

let store: RelayStore & { dispose(): Promise<void> };
beforeEach(async () => {
  store = await openTestStore();
});
afterEach(async () => {
  await store.dispose();
});

const now = 1_800_000_000;
const key = (n: number) => new Uint8Array(32).fill(n);

it(`replayed_nonce_in_one_batch (${TEST_STORE}): the same nonce twice in one turn is fresh once; 40 others in the same batch are each fresh`, async () => {
  const nonce = (n: number) => `nonce-${String(n).padStart(12, '0')}`;
  const results = await Promise.all([
    store.rememberNonce(key(1), nonce(0), now + 300, now),
    store.rememberNonce(key(1), nonce(0), now + 300, now),
    ...Array.from({ length: 40 }, (_, n) => store.rememberNonce(key(1 + (n % 2)), nonce(n + 1), now + 300, now)),
  ]);
  expect(results.slice(0, 2).sort()).toEqual([false, true]);
  expect(results.slice(2).every((fresh) => fresh)).toBe(true);
  // The same nonce under another device key is another nonce.
  expect(await store.rememberNonce(key(2), nonce(0), now + 300, now)).toBe(true);
  // A later turn: every one of them is a replay now.
  const again = await Promise.all(Array.from({ length: 41 }, (_, n) => store.rememberNonce(key(n === 0 ? 1 : 1 + ((n - 1) % 2)), nonce(n), now + 300, now)));
  expect(again.every((fresh) => !fresh)).toBe(true);
});

it(`authenticate_in_one_batch (${TEST_STORE}): device and nonce in one step; a replay in the same turn is fresh once; no nonce written for a revoked or unknown device`, async () => {
  const nonce = (n: number) => `auth-nonce-${String(n).padStart(8, '0')}`;
  const address = 'alice@example.test';
  const certFingerprint = 'F'.repeat(40);
  expect(
    await store.createAccount({ address, localPart: 'alice', cert: new Uint8Array([1, 2, 3]), certFingerprint, devicePublicKey: key(1), enrolledAt: '2026-01-01T00:00:00.000Z', wkdHash: 'wkd' }, null),
  ).toBe('created');
  expect(await store.addDevice({ address, certFingerprint, devicePublicKey: key(2), name: 'second', enrolledAt: '2026-01-02T00:00:00.000Z' })).toBe('created');
  expect(await store.revokeDevice(address, 'second', '2026-01-03T00:00:00.000Z')).toBe('revoked');
  const step = (k: number, n: number, enrolledOnly = true) => store.authenticate({ devicePublicKey: key(k), nonce: nonce(n), expiresAt: now + 300, nowSeconds: now, enrolledOnly });
  const [first, replay, other, revoked, unknown, enrolling] = await Promise.all([step(1, 0), step(1, 0), step(1, 1), step(2, 2), step(3, 3), step(4, 4, false)]);
  expect([first!.fresh, replay!.fresh].sort()).toEqual([false, true]);
  for (const outcome of [first!, replay!, other!]) {
    expect(outcome.found?.account.address).toBe(address);
    expect(outcome.found?.account.cert).toEqual(new Uint8Array([1, 2, 3]));
    expect(outcome.found?.device).toMatchObject({ name: FIRST_DEVICE_NAME, address, revokedAt: null, devicePublicKey: key(1) });
  }
  expect(other!.fresh).toBe(true);
  expect(revoked!.found?.device).toMatchObject({ name: 'second', revokedAt: '2026-01-03T00:00:00.000Z' });
  expect(revoked!.fresh).toBe(false);
  expect(unknown).toEqual({ found: undefined, fresh: false });
  expect(enrolling).toEqual({ found: undefined, fresh: true });
  // Nothing was written for the two refused: their nonces are still new; the enrolling one's is taken.
  expect(await store.rememberNonce(key(2), nonce(2), now + 300, now)).toBe(true);
  expect(await store.rememberNonce(key(3), nonce(3), now + 300, now)).toBe(true);
  expect(await store.rememberNonce(key(4), nonce(4), now + 300, now)).toBe(false);
  // A later turn: both accepted nonces are replays now.
  expect((await Promise.all([step(1, 0), step(1, 1)])).map((outcome) => outcome.fresh)).toEqual([false, false]);
});
