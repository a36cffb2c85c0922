// The key over the years (docs/ceremony.md §6.6-§6.7, docs/lost-stick.md): when it
// expires and when to say so, renewing it (`caliop key renew`), revoking it
// (`caliop key revoke`), and publishing either to the relay's directory
// (docs/api.md §7.3). The clock is always a parameter (`now`).
import * as openpgp from 'openpgp';
import { REVOCATION_REASONS, type RevocationReason } from '../core/key-derivation.js';
import { keyLifetime, renewalDate, syncReminderDue, type KeyLifetime } from '../core/key-lifetime.js';
import type { IdentityRecord } from '../core/vault-contents.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { CaliopError, isCaliopError } from '../errors.js';
import type { RelayClient } from '../edges/relay-client.js';
import type { StickSession } from './stick-session.js';

export type { KeyLifetime } from '../core/key-lifetime.js';
export { REVOCATION_REASONS, type RevocationReason } from '../core/key-derivation.js';

const day = (date: Date | string) => new Date(date).toISOString().slice(0, 10);

export function ownKeyLifetime(identity: IdentityRecord, now: Date): KeyLifetime {
  return keyLifetime(new Date(identity.creationDate), identity.renewedAt === undefined ? undefined : new Date(identity.renewedAt), now);
}

/** docs/ceremony.md §6.6-§6.7: nothing is signed with a revoked or expired key; the refusal says why and what to do. */
export function assertOwnKeyUsable(session: StickSession, now: Date): void {
  const identity = session.contents.identity;
  if (identity.revoked) throw new CaliopError('key_revoked', `your key was revoked on ${day(identity.revoked.at)} (${identity.revoked.reason})`);
  const lifetime = ownKeyLifetime(identity, now);
  if (lifetime.state === 'expired') {
    throw new CaliopError('key_expired', `your key expired on ${day(lifetime.expiresAt)}; nothing was signed or sent`);
  }
}

/**
 * docs/ceremony.md §6.6: what `caliop sync` says about the key's expiry, at most once
 * a week (recorded in the vault), from 90 days before it; undefined when nothing is due.
 */
export async function keyReminder(session: StickSession, now: Date): Promise<KeyLifetime | undefined> {
  const identity = session.contents.identity;
  if (identity.revoked) return undefined;
  const lifetime = ownKeyLifetime(identity, now);
  const last = identity.renewalRemindedAt === undefined ? undefined : new Date(identity.renewalRemindedAt);
  if (!syncReminderDue(lifetime, last, now)) return undefined;
  await session.update((draft) => {
    draft.identity.renewalRemindedAt = now.toISOString();
  });
  return lifetime;
}

/** docs/vault-contents.md §6: `publishedCertSha256`, the digest of the (full, binary) cert given to the directory. */
export function publishedCertDigest(publicKey: openpgp.PublicKey): string {
  return bytesToHex(sha256(publicKey.write() as Uint8Array));
}

/**
 * Publishes this stick's certificate to its relay's directory (docs/api.md §7.3) and records
 * which (docs/vault-contents.md §6); false when the stick has no relay account.
 */
async function publishOwnCert(session: StickSession, given?: RelayClient): Promise<boolean> {
  const account = session.contents.relayAccount;
  if (!account) return false;
  const identity = await session.identity();
  // Loaded here, not at the top: `key show` reads lifetimes only, and the relay client brings
  // HTTPS, TLS and the API's schemas (issue 13: a first unlock loads what it uses).
  const client = given ?? (await (await import('./relay-account.js')).relayClientFor(session));
  try {
    await client.updateCert(account.address, identity.armoredCert);
  } finally {
    if (given === undefined) client.close();
  }
  const digest = publishedCertDigest(identity.publicKey);
  await session.update((draft) => {
    if (draft.relayAccount) draft.relayAccount.publishedCertSha256 = digest;
  });
  return true;
}

/**
 * docs/vault-contents.md §6, docs/decisions/post-quantum.md: at sync, the cert derived at unlock
 * is published when it is not the one the directory was last given: a stick enrolled before the
 * post-quantum subkey gains it at its first unlock by this caliop (the same key, the same
 * fingerprint, one more subkey bound by the primary) and the directory gets it once; so does a
 * renewal made offline. True when it published now. A relay that refuses (a key revoked from
 * another stick: 409) or cannot be reached leaves it for the next sync: mail is not held up.
 */
export async function republishOwnCertIfChanged(session: StickSession, client: RelayClient): Promise<boolean> {
  const account = session.contents.relayAccount;
  if (!account) return false;
  if (account.publishedCertSha256 === publishedCertDigest((await session.identity()).publicKey)) return false;
  try {
    return await publishOwnCert(session, client);
  } catch (error) {
    if (isCaliopError(error)) return false;
    throw error;
  }
}

export interface RenewReport {
  readonly renewedAt: string;
  readonly expiresAt: string;
  /** true when the relay's directory now serves the renewed certificate. */
  readonly published: boolean;
  readonly fingerprint: string;
}

/**
 * `caliop key renew` (docs/ceremony.md §6.6): new binding signatures of every subkey,
 * dated now, valid 1096 days; the same fingerprint. Recorded in the vault, then
 * published. Repeating it publishes again (a renewal made offline).
 */
export async function renewKey(session: StickSession, now: Date): Promise<RenewReport> {
  const identity = session.contents.identity;
  if (identity.revoked) throw new CaliopError('key_revoked', `your key was revoked on ${day(identity.revoked.at)}; it cannot be renewed`);
  const date = renewalDate(new Date(identity.creationDate), now);
  if (date === undefined) throw new CaliopError('usage', 'the key was made less than a second ago: there is nothing to renew yet');
  await session.update((draft) => {
    draft.identity.renewedAt = date.toISOString();
    delete draft.identity.renewalRemindedAt;
  });
  const renewed = await session.identity();
  const published = await publishOwnCert(session);
  return { renewedAt: date.toISOString(), expiresAt: ownKeyLifetime(session.contents.identity, now).expiresAt.toISOString(), published, fingerprint: renewed.fingerprint };
}

export interface RevokeReport {
  readonly revokedAt: string;
  readonly reason: RevocationReason | 'ceremony';
  readonly published: boolean;
  /** The revoked certificate as published. */
  readonly armoredCert: string;
}

/**
 * `caliop key revoke [--reason R]` (docs/lost-stick.md §3): the ceremony's revocation
 * certificate, or a new one with the reason, recorded in the vault and published.
 */
export async function revokeKey(session: StickSession, reason: RevocationReason | undefined, now: Date): Promise<RevokeReport> {
  if (reason !== undefined && !(reason in REVOCATION_REASONS)) {
    throw new CaliopError('usage', `--reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
  }
  const at = session.contents.identity.revoked?.at ?? new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
  if (!session.contents.identity.revoked) {
    await session.update((draft) => {
      draft.identity.revoked = { at, reason: reason ?? 'ceremony' };
    });
  }
  const published = await publishOwnCert(session);
  const identity = await session.identity();
  return { revokedAt: at, reason: session.contents.identity.revoked!.reason, published, armoredCert: identity.armoredCert };
}

export interface CertRevocation {
  readonly at: string;
  /** The owner's words (RFC 4880 §5.2.3.23), or the reason's name. */
  readonly reason: string;
}

/** docs/lost-stick.md §3: whether a contact's certificate carries a valid key revocation, and why. */
/** RFC 9580 §5.2.3.31: the reason codes in words (shown to the contact; a text given by the owner comes first). */
const REVOCATION_REASON_WORDS: Readonly<Record<number, string>> = {
  [openpgp.enums.reasonForRevocation.noReason]: 'no reason given',
  [openpgp.enums.reasonForRevocation.keySuperseded]: 'the key was superseded',
  [openpgp.enums.reasonForRevocation.keyCompromised]: 'the key was compromised',
  [openpgp.enums.reasonForRevocation.keyRetired]: 'the key is no longer used',
  [openpgp.enums.reasonForRevocation.userIDInvalid]: 'the user ID is no longer valid',
};

export async function revocationOf(cert: openpgp.PublicKey): Promise<CertRevocation | undefined> {
  if (!(await cert.isRevoked().catch(() => false))) return undefined;
  const signature = cert.revocationSignatures[0];
  const flag = signature?.reasonForRevocationFlag;
  const reason = signature?.reasonForRevocationString || REVOCATION_REASON_WORDS[flag ?? -1] || 'no reason given';
  return { at: (signature?.created ?? new Date(0)).toISOString(), reason };
}
