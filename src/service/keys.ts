// Your own key: what `caliop key show` reports, export, passphrase change.
import * as openpgp from 'openpgp';
import { armoredForOutsiders } from '../core/key-derivation.js';
import { fingerprintNumbers, fingerprintWords } from '../core/fingerprint-words.js';
import { assessPassphrase, type PassphraseAssessment } from '../core/passphrase-strength.js';
import type { CeremonyRecord } from '../core/vault-contents.js';
import type { KdfParams } from '../core/vault-format.js';
import { CaliopError } from '../errors.js';
import { readStickConfig } from '../edges/stick-config.js';
import { ownKeyLifetime } from './key-lifecycle.js';
import type { StickSession } from './stick-session.js';

export interface SubkeyDescription {
  readonly fingerprint: string;
  readonly algorithm: string;
  readonly usage: string[];
  readonly expiresAt: string | null;
}

export interface KeyDescription {
  readonly name: string;
  readonly email: string;
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly subkeys: SubkeyDescription[];
  readonly ceremony: CeremonyRecord;
  readonly kdf: KdfParams;
  readonly relay: { url: string; pin?: string; address?: string } | null;
  /** docs/ui.md §3: the words read aloud, in the stick's language, and the same as numbers for any language. */
  readonly fingerprintWords: string[];
  readonly fingerprintWordsLanguage: 'en' | 'fr';
  readonly fingerprintNumbers: string[];
  /** docs/ceremony.md §6.6: the subkeys' state today (`renew-soon` from 90 days before), and the last renewal. */
  readonly lifetime: { readonly state: 'valid' | 'renew-soon' | 'expired'; readonly expiresAt: string; readonly daysLeft: number; readonly renewedAt: string | null };
  /** docs/lost-stick.md §3: set once the key is revoked from this stick. */
  readonly revoked: { readonly at: string; readonly reason: string } | null;
  /** docs/api.md §6.4: this stick's device name in the account, once known. */
  readonly deviceName: string | null;
}

function usageOf(flags: number): string[] {
  const usage: string[] = [];
  if (flags & openpgp.enums.keyFlags.certifyKeys) usage.push('certify');
  if (flags & openpgp.enums.keyFlags.signData) usage.push('sign');
  if (flags & (openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage)) usage.push('encrypt');
  if (flags & openpgp.enums.keyFlags.authentication) usage.push('authenticate');
  return usage;
}

function algorithmOf(key: openpgp.PublicKey | openpgp.Subkey): string {
  const info = key.getAlgorithmInfo();
  return 'curve' in info && info.curve ? `${info.algorithm}/${info.curve}` : info.algorithm;
}

export async function describeKey(session: StickSession, now: Date = new Date()): Promise<KeyDescription> {
  const identity = await session.identity();
  const subkeys: SubkeyDescription[] = [];
  for (const subkey of identity.publicKey.subkeys) {
    const binding = subkey.bindingSignatures[0];
    const expiration = await subkey.getExpirationTime();
    subkeys.push({
      fingerprint: subkey.getFingerprint().toUpperCase(),
      algorithm: algorithmOf(subkey),
      usage: usageOf(binding?.keyFlags?.[0] ?? 0),
      expiresAt: expiration instanceof Date ? expiration.toISOString() : null,
    });
  }
  const config = readStickConfig(session.stick);
  const account = session.contents.relayAccount;
  const { algorithm, memoryKiB, passes, parallelism } = session.kdf;
  const language = session.contents.settings.language;
  return {
    name: session.contents.identity.name,
    email: session.contents.identity.email,
    fingerprint: identity.fingerprint,
    createdAt: session.contents.identity.creationDate,
    subkeys,
    ceremony: session.contents.identity.ceremony,
    kdf: { algorithm, memoryKiB, passes, parallelism },
    relay: account
      ? { url: account.url, ...(account.pin ? { pin: account.pin } : {}), address: account.address }
      : config.relay
        ? { url: config.relay.url, ...(config.relay.pin ? { pin: config.relay.pin } : {}) }
        : null,
    fingerprintWords: fingerprintWords(identity.fingerprint, language),
    fingerprintWordsLanguage: language,
    fingerprintNumbers: fingerprintNumbers(identity.fingerprint),
    lifetime: (() => {
      const lifetime = ownKeyLifetime(session.contents.identity, now);
      return { state: lifetime.state, expiresAt: lifetime.expiresAt.toISOString(), daysLeft: lifetime.daysLeft, renewedAt: session.contents.identity.renewedAt ?? null };
    })(),
    revoked: session.contents.identity.revoked ?? null,
    deviceName: account?.deviceName ?? null,
  };
}

/**
 * The secret key for another OpenPGP program, protected (S2K iterated+salted, which gpg 2.2 reads),
 * without the post-quantum subkey, which RNP refuses (docs/decisions/post-quantum.md).
 */
export async function exportProtectedSecretKey(session: StickSession, passphrase: string): Promise<string> {
  const identity = await session.identity();
  const protectedKey = await openpgp.encryptKey({ privateKey: identity.privateKey, passphrase, config: { s2kType: openpgp.enums.s2k.iterated } });
  return armoredForOutsiders(protectedKey);
}

/** docs/ceremony.md §8.1: how guessable a new passphrase is for this stick (its name and address count against it). */
export function assessNewPassphrase(session: StickSession, next: string): Promise<PassphraseAssessment> {
  return assessPassphrase(next, [session.contents.identity.name, session.contents.identity.email]);
}

/** `caliop passphrase change`: a weak one only with acceptWeak (the face asked, or --accept-weak-passphrase). */
export async function changePassphrase(session: StickSession, next: string, options: { acceptWeak: boolean }): Promise<void> {
  const assessment = await assessNewPassphrase(session, next);
  if (assessment.weak && !options.acceptWeak) {
    throw new CaliopError('passphrase_rejected', `the new passphrase is weak: ${assessment.warning?.en ?? 'it is easy to guess'}`, {
      hint: 'choose a longer one, or pass --accept-weak-passphrase',
    });
  }
  await session.changePassphrase(next);
}
