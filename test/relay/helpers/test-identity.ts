// A test user: an OpenPGP key (openpgp.js, v4) for an address and a random device
// key, able to make the enrolment proof of docs/api.md §6.2.

import { ed25519 } from '@noble/curves/ed25519.js';
import * as openpgp from 'openpgp';
import { buildEnrolmentStatement } from '../../../src/api/enrolment-statement.js';
import { RelayClient } from '../../../src/edges/relay-client.js';

export interface TestIdentity {
  readonly address: string;
  readonly deviceSecretKey: Uint8Array;
  readonly devicePublicKey: Uint8Array;
  readonly privateKey: openpgp.PrivateKey;
  readonly armoredCert: string;
}

export async function makeIdentity(address: string, userIdEmail: string = address): Promise<TestIdentity> {
  const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ name: 'Test', email: userIdEmail }], format: 'object' });
  const deviceSecretKey = ed25519.utils.randomSecretKey();
  return { address, deviceSecretKey, devicePublicKey: ed25519.getPublicKey(deviceSecretKey), privateKey, armoredCert: publicKey.armor() };
}

/** Signs the enrolment statement with `signer` (default: the identity's own key). */
export async function enrolmentProof(
  identity: TestIdentity,
  domain: string,
  options: { signer?: openpgp.PrivateKey; address?: string; devicePublicKey?: Uint8Array } = {},
): Promise<string> {
  const statement = buildEnrolmentStatement({
    address: options.address ?? identity.address,
    devicePublicKey: options.devicePublicKey ?? identity.devicePublicKey,
    domain,
  });
  return openpgp.sign({
    message: await openpgp.createMessage({ text: statement }),
    signingKeys: options.signer ?? identity.privateKey,
    detached: true,
  }) as Promise<string>;
}

export function clientFor(relay: { url: string; pin: string | undefined }, identity: Pick<TestIdentity, 'deviceSecretKey'>, extra: Partial<ConstructorParameters<typeof RelayClient>[0]> = {}): RelayClient {
  return new RelayClient({ url: relay.url, pin: relay.pin, deviceSecretKey: identity.deviceSecretKey, ...extra });
}

/** Makes an identity, enrols it, and returns it with its client. */
export async function enrolled(
  relay: { url: string; pin: string | undefined; domain: string },
  localPart: string,
  inviteToken?: string,
): Promise<{ identity: TestIdentity; client: RelayClient }> {
  const identity = await makeIdentity(`${localPart}@${relay.domain}`);
  const client = clientFor(relay, identity);
  await client.enrol({
    address: identity.address,
    armoredCert: identity.armoredCert,
    proofSignature: await enrolmentProof(identity, relay.domain),
    ...(inviteToken === undefined ? {} : { inviteToken }),
  });
  return { identity, client };
}

/** Encrypts `text` to the identities' certificates, as a sending stick would. */
export async function encryptTo(text: string, recipients: readonly TestIdentity[]): Promise<string> {
  const encryptionKeys = await Promise.all(recipients.map((r) => openpgp.readKey({ armoredKey: r.armoredCert })));
  return openpgp.encrypt({ message: await openpgp.createMessage({ text }), encryptionKeys }) as Promise<string>;
}
