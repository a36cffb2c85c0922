// Several devices of one account (docs/api.md §6.4-§6.5, §8.9): a second device
// proves the account's OpenPGP key to join; mail stays until every device not
// revoked has acknowledged it; a revoked device is refused at once, on every route.
// Runs on SQLite and, with CALIOP_TEST_POSTGRES, on PostgreSQL (vitest.config.ts).

import { ed25519 } from '@noble/curves/ed25519.js';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isCaliopError } from '../../src/errors.js';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { failure, relayCode } from './helpers/relay-errors.js';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { clientFor, enrolled, enrolmentProof, type TestIdentity } from './helpers/test-identity.js';

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelayProcess();
});
afterAll(async () => relay?.dispose());


async function encryptTo(identity: TestIdentity, text: string): Promise<string> {
  const key = await openpgp.readKey({ armoredKey: identity.armoredCert });
  return (await openpgp.encrypt({ message: await openpgp.createMessage({ text }), encryptionKeys: key })) as string;
}

/** Another stick of `identity`'s person: a new device key, the same OpenPGP key. */
async function secondDevice(identity: TestIdentity, deviceName?: string): Promise<{ client: RelayClient; device: TestIdentity }> {
  const deviceSecretKey = ed25519.utils.randomSecretKey();
  const device = { ...identity, deviceSecretKey, devicePublicKey: ed25519.getPublicKey(deviceSecretKey) };
  const client = clientFor(relay, device);
  const answer = await client.enrol({
    address: identity.address,
    armoredCert: identity.armoredCert,
    proofSignature: await enrolmentProof(device, relay.domain),
    ...(deviceName ? { deviceName } : {}),
  });
  expect(answer.deviceName).toBe(deviceName ?? 'stick-2');
  return { client, device };
}

it('a second device joins by proving the key; both get every message; it stays until both acknowledged', async () => {
  const { identity: ana, client: first } = await enrolled(relay, 'ana');
  const { client: second } = await secondDevice(ana);
  const { client: bob } = await enrolled(relay, 'bob');
  try {
    await bob.submit({ to: [ana.address], armoredMessage: await encryptTo(ana, 'one') });
    await bob.submit({ to: [ana.address], armoredMessage: await encryptTo(ana, 'two') });

    const firstPage = await first.mailboxPage();
    expect(firstPage.messages).toHaveLength(2);
    expect(await first.ackMailbox(firstPage.through!)).toEqual({ deleted: 0 }); // the second stick has not fetched them
    // Acknowledged by the first device: gone for it, even asked from the start.
    expect((await first.mailboxPage()).messages).toEqual([]);

    const secondPage = await second.mailboxPage();
    expect(secondPage.messages.map((message) => message.id)).toEqual(firstPage.messages.map((message) => message.id));
    expect(secondPage.messages.map((message) => message.armoredMessage)).toEqual(firstPage.messages.map((message) => message.armoredMessage));
    expect(await second.ackMailbox(secondPage.through!)).toEqual({ deleted: 2 });

    const { devices } = await second.devices();
    expect(devices.map((device) => [device.name, device.current, device.revokedAt])).toEqual([
      ['stick-1', false, null],
      ['stick-2', true, null],
    ]);
    expect(devices.every((device) => device.lastSeenAt !== null)).toBe(true);
  } finally {
    for (const client of [first, second, bob]) client.close();
  }
});

it('lost_stick_revoked: the revoked device is refused at once and cannot enrol again; its pending mail is freed', async () => {
  const { identity: cy, client: lost } = await enrolled(relay, 'cy');
  const { client: spare, device: spareDevice } = await secondDevice(cy, 'home-spare');
  const { client: bob } = await enrolled(relay, 'bob2');
  try {
    await bob.submit({ to: [cy.address], armoredMessage: await encryptTo(cy, 'held for both') });
    const page = await spare.mailboxPage();
    expect(await spare.ackMailbox(page.through!)).toEqual({ deleted: 0 });

    // A device cannot revoke itself; an unknown name is 404.
    expect(relayCode(await failure(spare.revokeDevice('home-spare')))).toBe('device_is_caller');
    expect(isCaliopError(await failure(spare.revokeDevice('home-spare')), 'device_revoke_refused')).toBe(true);
    expect(isCaliopError(await failure(spare.revokeDevice('no-such')), 'device_not_found')).toBe(true);

    // The lost stick was served just before (its device row read, and kept where the store caches it).
    await lost.list();
    const revoked = await spare.revokeDevice('stick-1');
    expect(revoked.name).toBe('stick-1');
    // At once, on every route (the same client, kept-alive connection).
    const armoredMessage = await encryptTo(cy, 'x');
    for (const attempt of [() => lost.mailboxPage(), () => lost.devices(), () => lost.submit({ to: [cy.address], armoredMessage })]) {
      const error = await failure(attempt());
      expect(isCaliopError(error, 'device_revoked'), String(error)).toBe(true);
      expect(relayCode(error)).toBe('device_revoked');
    }
    // Its key cannot come back through enrolment, even with a valid proof.
    const again = await failure(
      lost.enrol({ address: cy.address, armoredCert: cy.armoredCert, proofSignature: await enrolmentProof(cy, relay.domain) }),
    );
    expect(relayCode(again)).toBe('device_revoked');
    expect(isCaliopError(await failure(spare.revokeDevice('stick-1')), 'device_revoke_refused')).toBe(true);

    // The message only the lost stick had still to fetch is gone from the relay.
    expect((await spare.list()).messages).toEqual([]);
    const { devices } = await spare.devices();
    expect(devices.find((device) => device.name === 'stick-1')?.revokedAt).toBe(revoked.revokedAt);
    // A name stays taken by its revoked device.
    const third = ed25519.utils.randomSecretKey();
    const thirdClient = clientFor(relay, { deviceSecretKey: third });
    const taken = await failure(
      thirdClient.enrol({
        address: cy.address,
        armoredCert: cy.armoredCert,
        proofSignature: await enrolmentProof({ ...spareDevice, deviceSecretKey: third, devicePublicKey: ed25519.getPublicKey(third) }, relay.domain),
        deviceName: 'stick-1',
      }),
    );
    expect(isCaliopError(taken, 'device_name_taken')).toBe(true);
    thirdClient.close();
  } finally {
    for (const client of [lost, spare, bob]) client.close();
  }
});

it('device_without_key: a new device key with a statement signed by another key does not join the account', async () => {
  const { identity: dee, client } = await enrolled(relay, 'dee');
  const { identity: mallory } = await enrolled(relay, 'mallory');
  const deviceSecretKey = ed25519.utils.randomSecretKey();
  const intruder = clientFor(relay, { deviceSecretKey });
  try {
    const error = await failure(
      intruder.enrol({
        address: dee.address,
        armoredCert: dee.armoredCert,
        proofSignature: await enrolmentProof({ ...dee, deviceSecretKey, devicePublicKey: ed25519.getPublicKey(deviceSecretKey) }, relay.domain, { signer: mallory.privateKey }),
      }),
    );
    expect(relayCode(error)).toBe('proof_invalid');
    // Another certificate for the same address is still address_taken.
    const other = await failure(
      intruder.enrol({
        address: dee.address,
        armoredCert: mallory.armoredCert,
        proofSignature: await enrolmentProof({ ...mallory, deviceSecretKey, devicePublicKey: ed25519.getPublicKey(deviceSecretKey) }, relay.domain, { address: dee.address }),
      }),
    );
    expect(relayCode(other)).toMatch(/address_not_in_cert|address_taken/);
    expect((await client.devices()).devices).toHaveLength(1);
  } finally {
    intruder.close();
    client.close();
  }
});
