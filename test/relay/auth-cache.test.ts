// docs/decisions/relay-store.md "auth cache": on SQLite the device and account rows of
// signed requests are kept in the process, and every write to those rows ends them, so
// what authenticate() answers is always what the database holds now. Each write is made
// after the rows were read (so cached), and the very next authenticate must see it.
// Runs on SQLite and, with CALIOP_TEST_POSTGRES, on PostgreSQL (no cache there).
import { expect, it } from 'vitest';
import type { AuthOutcome } from '../../src/relay/store/relay-store.js';
import { freshStorePerTest } from './helpers/store-per-test.js';
import { TEST_STORE } from './helpers/test-store.js';

const store = freshStorePerTest();

const now = 1_800_000_000;
const key = (n: number) => new Uint8Array(32).fill(n);
const address = 'ana@example.test';
const certFingerprint = 'A'.repeat(40);
let nonces = 0;

/** One signed request's store step, twice, so the rows are surely cached before the write that follows. */
async function auth(device: number): Promise<AuthOutcome> {
  await store().authenticate({ devicePublicKey: key(device), nonce: `cache-${nonces++}`, expiresAt: now + 300, nowSeconds: now, enrolledOnly: true });
  return store().authenticate({ devicePublicKey: key(device), nonce: `cache-${nonces++}`, expiresAt: now + 300, nowSeconds: now, enrolledOnly: true });
}

it(`auth_rows_fresh_after_each_write (${TEST_STORE}): revocation, acknowledgement, last seen, certificate and key change are seen by the very next request`, async () => {
  expect(
    await store().createAccount({ address, localPart: 'ana', cert: new Uint8Array([1]), certFingerprint, devicePublicKey: key(1), enrolledAt: '2026-01-01T00:00:00.000Z', wkdHash: 'wkd' }, null),
  ).toBe('created');
  expect((await auth(2)).found).toBeUndefined();
  expect(await store().addDevice({ address, certFingerprint, devicePublicKey: key(2), name: 'second', enrolledAt: '2026-01-02T00:00:00.000Z' })).toBe('created');
  expect((await auth(2)).found?.device.name).toBe('second');

  // Revocation: refused at once (the outcome names the revocation, and no nonce is taken).
  expect(await store().revokeDevice(address, 'second', '2026-01-03T00:00:00.000Z')).toBe('revoked');
  const revoked = await auth(2);
  expect(revoked.found?.device.revokedAt).toBe('2026-01-03T00:00:00.000Z');
  expect(revoked.fresh).toBe(false);

  // The mailbox cursor this device acknowledged (list starts after it, docs/api.md §8.9).
  expect((await auth(1)).found?.device.ackedCursor).toBe(0);
  await store().ackMailbox(address, key(1), 7);
  expect((await auth(1)).found?.device.ackedCursor).toBe(7);

  // Last seen.
  expect((await auth(1)).found?.device.lastSeenAt).toBeNull();
  await store().touchDevice(key(1), '2026-01-04T00:00:00.000Z', '2026-01-03T23:55:00.000Z');
  expect((await auth(1)).found?.device.lastSeenAt).toBe('2026-01-04T00:00:00.000Z');

  // The account's certificate.
  expect(await store().replaceCert(address, certFingerprint, new Uint8Array([2]))).toBe(true);
  expect((await auth(1)).found?.account.cert).toEqual(new Uint8Array([2]));

  // A key change revokes every device of the old key.
  const newFingerprint = 'B'.repeat(40);
  expect(await store().permitKeyChange({ address, newFingerprint, openedAt: '2026-01-05T00:00:00.000Z', expiresAt: '2026-01-12T00:00:00.000Z' })).toBe(true);
  expect(
    await store().changeKey({ address, cert: new Uint8Array([3]), certFingerprint: newFingerprint, devicePublicKey: key(3), deviceName: 'new-key', changedAt: '2026-01-06T00:00:00.000Z' }),
  ).toBe('changed');
  const old = await auth(1);
  expect(old.found?.device.revokedAt).toBe('2026-01-06T00:00:00.000Z');
  expect(old.found?.account.certFingerprint).toBe(newFingerprint);
  expect(old.fresh).toBe(false);
  expect((await auth(3)).found?.account.cert).toEqual(new Uint8Array([3]));
});

// Issue 14: an acknowledgement (and a "last seen") ends only the rows of the device that wrote
// it, on SQLite; each device's own cursor must still be what the database holds, the other
// device's rows staying cached in between.
it(`one_device_write_fresh (${TEST_STORE}): two devices of an account acknowledge in turn, each sees its own cursor at once`, async () => {
  expect(
    await store().createAccount({ address, localPart: 'ana', cert: new Uint8Array([1]), certFingerprint, devicePublicKey: key(1), enrolledAt: '2026-01-01T00:00:00.000Z', wkdHash: 'wkd' }, null),
  ).toBe('created');
  expect(await store().addDevice({ address, certFingerprint, devicePublicKey: key(2), name: 'second', enrolledAt: '2026-01-02T00:00:00.000Z' })).toBe('created');
  expect((await auth(1)).found?.device.ackedCursor).toBe(0);
  expect((await auth(2)).found?.device.ackedCursor).toBe(0);
  await store().ackMailbox(address, key(1), 7);
  expect((await auth(2)).found?.device.ackedCursor).toBe(0);
  expect((await auth(1)).found?.device.ackedCursor).toBe(7);
  await store().ackMailbox(address, key(2), 5);
  expect((await auth(1)).found?.device.ackedCursor).toBe(7);
  expect((await auth(2)).found?.device.ackedCursor).toBe(5);
  // A cursor only moves forward (MAX in the statement, and in what the process keeps).
  await store().ackMailbox(address, key(1), 3);
  expect((await auth(1)).found?.device.ackedCursor).toBe(7);
  await store().ackMailbox(address, key(1), 9);
  expect((await auth(1)).found?.device.ackedCursor).toBe(9);
  await store().touchDevice(key(2), '2026-01-04T00:00:00.000Z', '2026-01-03T23:55:00.000Z');
  expect((await auth(1)).found?.device.lastSeenAt).toBeNull();
  expect((await auth(2)).found?.device.lastSeenAt).toBe('2026-01-04T00:00:00.000Z');
  // A revocation still ends every device's rows: the other device is refused at once.
  expect(await store().revokeDevice(address, 'second', '2026-01-05T00:00:00.000Z')).toBe('revoked');
  expect((await auth(2)).fresh).toBe(false);
  expect((await auth(1)).fresh).toBe(true);
});

// Issue 14: on SQLite the addresses found enrolled are kept (an account is never deleted nor
// renamed); one not found must not be: it may enrol the next moment and receive mail at once.
it(`known_addresses_cache (${TEST_STORE}): an address unknown, then enrolled, is known to the very next submission`, async () => {
  const other = 'bo@example.test';
  expect(await store().unknownAddresses([address, other])).toEqual([address, other]);
  expect(
    await store().createAccount({ address, localPart: 'ana', cert: new Uint8Array([1]), certFingerprint, devicePublicKey: key(1), enrolledAt: '2026-01-01T00:00:00.000Z', wkdHash: 'wkd' }, null),
  ).toBe('created');
  expect(await store().unknownAddresses([address, other])).toEqual([other]);
  expect(await store().unknownAddresses([address])).toEqual([]);
  expect(
    await store().createAccount({ address: other, localPart: 'bo', cert: new Uint8Array([2]), certFingerprint: 'B'.repeat(40), devicePublicKey: key(3), enrolledAt: '2026-01-01T00:00:00.000Z', wkdHash: 'wkd2' }, null),
  ).toBe('created');
  expect(await store().unknownAddresses([other, address, 'cy@example.test'])).toEqual(['cy@example.test']);
});
