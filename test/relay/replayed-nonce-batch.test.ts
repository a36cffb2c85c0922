// docs/api.md §4.3 step 6 and docs/decisions/relay-store.md: the store takes the nonces of one
// event-loop turn in one write (SQLite: one transaction; PostgreSQL: one statement), and each
// request still learns alone whether its nonce is fresh. The attack: a request replayed so fast
// that it lands in the same batch as the original.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
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
