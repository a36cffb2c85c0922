// The stick's account on its relay: enrolment (docs/api.md §6.2) and the client
// every mail use case talks through.
import * as openpgp from 'openpgp';
import { buildEnrolmentStatement } from '../api/enrolment-statement.js';
import { CaliopError } from '../errors.js';
import { RelayClient } from '../edges/relay-client.js';
import { readStickConfig } from '../edges/stick-config.js';
import { adoptPublishedRenewal } from './published-renewal.js';
import { publishedCertDigest } from './key-lifecycle.js';
import type { StickSession } from './stick-session.js';
import { PGP_CONFIG } from './pgp.js';

export interface RelayTarget {
  readonly url: string;
  readonly pin: string | undefined;
  readonly inviteToken?: string | undefined;
  /** docs/api.md §6.4: this stick's name within the account (the relay picks stick-N when absent). */
  readonly deviceName?: string | undefined;
}

/**
 * The relay this stick talks to (docs/vault-contents.md §6): the one it enrolled
 * with, recorded in the vault; else the one the stick image names in config.json
 * (docs/stick-layout.md §3). config.json is signed by the MANIFEST and never rewritten.
 */
export function relayTargetOf(session: StickSession): { url: string; pin: string | undefined } | undefined {
  const account = session.contents.relayAccount;
  if (account) return { url: account.url, pin: account.pin };
  const config = readStickConfig(session.stick);
  return config.relay?.url ? { url: config.relay.url, pin: config.relay.pin } : undefined;
}

/**
 * The relay client of this stick. `use: 'many'` for a use case that makes several requests
 * (sync, which sends the outbox too, and so the interface): the mail routes go in a session when
 * the relay serves them (docs/api.md §4.6.4), one extra request and one X25519 for the lot; a
 * one-shot command signs each of its few requests.
 */
export async function relayClientFor(session: StickSession, use: 'one-shot' | 'many' = 'one-shot'): Promise<RelayClient> {
  const target = relayTargetOf(session);
  if (!target) throw new CaliopError('relay_not_configured');
  const identity = await session.identity();
  return new RelayClient({ url: target.url, pin: target.pin, deviceSecretKey: identity.device.secretKey, sessions: use === 'many' });
}

/**
 * Binds this stick's address, cert and device key on the relay, with proof of
 * possession of both keys (the request is signed by the device key; the
 * statement by the OpenPGP key). Then records the relay in config.json and the
 * account in the vault.
 */
export async function enrolWithRelay(session: StickSession, target: RelayTarget): Promise<{ url: string; address: string; deviceName?: string; renewedAt?: string }> {
  const identity = await session.identity();
  const client = new RelayClient({ url: target.url, pin: target.pin, deviceSecretKey: identity.device.secretKey });
  try {
    const info = await client.info();
    const address = session.contents.identity.email.toLowerCase();
    const domain = address.slice(address.lastIndexOf('@') + 1);
    if (domain !== info.domain.toLowerCase()) {
      throw new CaliopError('enrolment_failed', `this relay serves addresses @${info.domain}, not ${address}`, {
        hint: `use an address ending in @${info.domain}, or the relay of your own domain`,
      });
    }
    if (info.inviteRequired && target.inviteToken === undefined) {
      throw new CaliopError('enrolment_failed', 'this relay asks for an invite token', { hint: 'pass --invite-token TOKEN, as given by your Caliop volunteer' });
    }
    const statement = buildEnrolmentStatement({ address, devicePublicKey: identity.device.publicKey, domain: info.domain });
    const proofSignature = await openpgp.sign({
      message: await openpgp.createMessage({ binary: new TextEncoder().encode(statement) }),
      signingKeys: identity.privateKey,
      detached: true,
      config: PGP_CONFIG,
    });
    const enrolled = await client.enrol({
      address,
      armoredCert: identity.armoredCert,
      proofSignature,
      ...(target.inviteToken !== undefined ? { inviteToken: target.inviteToken } : {}),
      ...(target.deviceName !== undefined ? { deviceName: target.deviceName } : {}),
    });
    await session.update((draft) => {
      draft.relayAccount = {
        url: target.url,
        ...(target.pin ? { pin: target.pin } : {}),
        address: enrolled.address,
        enrolledAt: enrolled.enrolledAt,
        ...(enrolled.deviceName !== undefined ? { deviceName: enrolled.deviceName } : {}),
        // docs/api.md §6.2: the directory holds this cert now (merged, for a second stick or a repeat).
        publishedCertSha256: publishedCertDigest(identity.publicKey),
      };
    });
    // docs/ceremony.md §6.6: a stick rebuilt from the recovery sheet joins with the ceremony's
    // bindings; a renewal made since on another stick is in the directory, checked and adopted.
    const published = await client.lookupCert(address);
    const renewedAt = published === null ? undefined : await adoptPublishedRenewal(session, published);
    return {
      url: target.url,
      address: enrolled.address,
      ...(enrolled.deviceName !== undefined ? { deviceName: enrolled.deviceName } : {}),
      ...(renewedAt !== undefined ? { renewedAt } : {}),
    };
  } finally {
    client.close();
  }
}
