// A new key for an enrolled address (docs/api.md §6.6, §7.1; docs/lost-stick.md §4): refused
// on the new key's word alone; taken under the operator's permit for that fingerprint only
// (`caliop-relay key-reset`); the old key's devices revoked at once; the directory announces
// the change with both certificates and the date. Runs on SQLite and, with
// CALIOP_TEST_POSTGRES and CALIOP_TEST_STORE=postgres, on PostgreSQL.

import { spawnSync } from 'node:child_process';
import { ed25519 } from '@noble/curves/ed25519.js';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { failure, relayCode } from './helpers/relay-errors.js';
import { RELAY_MAIN, startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { databaseNameFor, ensureDatabase, openTestStore, TEST_STORE } from './helpers/test-store.js';
import { clientFor, enrolled, enrolmentProof, makeIdentity, type TestIdentity } from './helpers/test-identity.js';

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelayProcess();
});
afterAll(async () => relay?.dispose());


async function keyReset(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const store = TEST_STORE === 'postgres' ? ['--store', await ensureDatabase(databaseNameFor(relay.dataDir))] : [];
  const run = spawnSync(process.execPath, [RELAY_MAIN, 'key-reset', '--data', relay.dataDir, ...store, ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A new ceremony for the same address: another OpenPGP key, another device key. */
async function enrolNewKey(identity: TestIdentity): Promise<{ client: RelayClient; promise: Promise<unknown> }> {
  const client = clientFor(relay, identity);
  return { client, promise: client.enrol({ address: identity.address, armoredCert: identity.armoredCert, proofSignature: await enrolmentProof(identity, relay.domain) }) };
}

const fingerprintOf = async (identity: TestIdentity) => (await openpgp.readKey({ armoredKey: identity.armoredCert })).getFingerprint().toUpperCase();

it('address_hijack_by_new_key: a new key for an enrolled address is refused without the operator\'s permit, or with a permit for another key', async () => {
  const { identity: old, client: oldClient } = await enrolled(relay, 'eve-target');
  const stranger = await makeIdentity(old.address);
  try {
    const first = await enrolNewKey(stranger);
    expect(relayCode(await failure(first.promise))).toBe('address_taken');
    first.client.close();
    // The operator allowed another key (the owner's): the stranger's is still refused.
    const owner = await makeIdentity(old.address);
    const reset = await keyReset(['--address', old.address, '--fingerprint', await fingerprintOf(owner)]);
    expect(reset.status, reset.stderr).toBe(0);
    const second = await enrolNewKey(stranger);
    expect(relayCode(await failure(second.promise))).toBe('address_taken');
    second.client.close();
    // The directory still serves the old key, unannounced; the old device still works.
    const served = await oldClient.lookupDirectory(old.address);
    expect(served?.keyChange).toBeUndefined();
    expect(await fingerprintOf({ ...old, armoredCert: served!.armoredCert })).toBe(await fingerprintOf(old));
    expect((await oldClient.devices()).devices).toHaveLength(1);
  } finally {
    oldClient.close();
  }
});

it('the permitted key takes the address: old devices refused, the directory announces both certs and the date, the permit is used up', async () => {
  const { identity: old, client: oldClient } = await enrolled(relay, 'dee');
  const deviceSecretKey = ed25519.utils.randomSecretKey();
  const spare = { ...old, deviceSecretKey, devicePublicKey: ed25519.getPublicKey(deviceSecretKey) };
  const spareClient = clientFor(relay, spare);
  await spareClient.enrol({ address: old.address, armoredCert: old.armoredCert, proofSignature: await enrolmentProof(spare, relay.domain) });
  const renewed = await makeIdentity(old.address);
  const newFingerprint = await fingerprintOf(renewed);
  try {
    // Spaces and lower case, as read aloud.
    const spoken = newFingerprint.toLowerCase().replace(/(.{4})/g, '$1 ');
    const reset = await keyReset(['--address', old.address.toUpperCase(), '--fingerprint', spoken, '--days', '2']);
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stdout).toContain(`${old.address} may take the key ${newFingerprint}`);
    const before = Date.now();
    const taken = await enrolNewKey(renewed);
    const answer = (await taken.promise) as { certFingerprint: string; deviceName: string };
    expect(answer).toMatchObject({ certFingerprint: newFingerprint, deviceName: 'stick-3' });

    // The directory: the new cert, announced with the previous one and the date.
    const served = await taken.client.lookupDirectory(old.address);
    expect(await fingerprintOf({ ...renewed, armoredCert: served!.armoredCert })).toBe(newFingerprint);
    expect(served!.keyChange).toMatchObject({ previousFingerprint: await fingerprintOf(old) });
    expect((await openpgp.readKey({ armoredKey: served!.keyChange!.previousCert })).getFingerprint().toUpperCase()).toBe(await fingerprintOf(old));
    expect(new Date(served!.keyChange!.changedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);

    // Both sticks of the old key are refused at once, on every route.
    for (const client of [oldClient, spareClient]) expect(relayCode(await failure(client.devices()))).toBe('device_revoked');
    const { devices } = await taken.client.devices();
    expect(devices.map((device) => [device.name, device.revokedAt !== null, device.current])).toEqual([
      ['stick-1', true, false],
      ['stick-2', true, false],
      ['stick-3', false, true],
    ]);
    // The permit is used up: a third key needs another reset.
    const third = await enrolNewKey(await makeIdentity(old.address));
    expect(relayCode(await failure(third.promise))).toBe('address_taken');
    third.client.close();
    taken.client.close();
  } finally {
    oldClient.close();
    spareClient.close();
  }
});

it('caliop-relay key-reset refuses what makes no sense (exit 2): no such account, the same key, a bad fingerprint or duration', async () => {
  const { identity, client } = await enrolled(relay, 'fay');
  client.close();
  const cases: Array<[string[], RegExp]> = [
    [['--address', `nobody@${relay.domain}`, '--fingerprint', 'A'.repeat(40)], /is not enrolled/],
    [['--address', identity.address, '--fingerprint', await fingerprintOf(identity)], /already the key of/],
    [['--address', identity.address, '--fingerprint', 'XYZ'], /--fingerprint FPR is required/],
    [['--address', identity.address, '--fingerprint', 'B'.repeat(40), '--days', '31'], /--days must be/],
  ];
  for (const [args, message] of cases) {
    const run = await keyReset(args);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/^usage: caliop-relay key-reset/m);
  }
});

it('an expired permit is no permit (the store, with the clock as a parameter)', async () => {
  const store = await openTestStore();
  try {
    const old = await makeIdentity('gil@example.test');
    const cert = (await openpgp.readKey({ armoredKey: old.armoredCert })).write();
    expect(await store.createAccount({ address: old.address, localPart: 'gil', wkdHash: 'h', cert, certFingerprint: 'OLD', devicePublicKey: old.devicePublicKey, enrolledAt: '2026-01-01T00:00:00.000Z' }, null)).toBe('created');
    expect(await store.permitKeyChange({ address: old.address, newFingerprint: 'NEW', openedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-08T00:00:00.000Z' })).toBe(true);
    const change = { address: old.address, cert, certFingerprint: 'NEW', devicePublicKey: new Uint8Array(32).fill(9), deviceName: 'stick-2', changedAt: '2026-01-08T00:00:00.001Z' };
    expect(await store.changeKey(change)).toBe('no_permit');
    expect(await store.changeKey({ ...change, certFingerprint: 'OTHER', changedAt: '2026-01-02T00:00:00.000Z' })).toBe('no_permit');
    expect(await store.changeKey({ ...change, changedAt: '2026-01-07T23:59:59.000Z' })).toBe('changed');
    expect((await store.accountByAddress(old.address))?.keyChange?.changedAt).toBe('2026-01-07T23:59:59.000Z');
    expect(await store.permitKeyChange({ address: 'nobody@example.test', newFingerprint: 'NEW', openedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-08T00:00:00.000Z' })).toBe(false);
  } finally {
    await store.dispose();
  }
});
