// The release signature of a stick's MANIFEST (docs/manifest.md §6): an OpenPGP
// detached, ASCII-armored signature over the MANIFEST's bytes, made by the release
// key (a v4 Ed25519Legacy key, scripts/release-key.ts).

import * as openpgp from 'openpgp';
import { CaliopError } from '../errors.js';
import { PGP_CONFIG } from './pgp.js';

/** Signs MANIFEST bytes with the (unlocked) release key: the text of MANIFEST.sig. */
export async function signManifest(manifest: Uint8Array, releaseKey: openpgp.PrivateKey, date?: Date): Promise<string> {
  const message = await openpgp.createMessage({ binary: manifest });
  return openpgp.sign({ message, signingKeys: releaseKey, detached: true, format: 'armored', config: PGP_CONFIG, ...(date === undefined ? {} : { date }) });
}

/** Reads the release cert; manifest_invalid when it is not an OpenPGP certificate. */
export async function readReleaseCert(releaseCertArmored: string): Promise<openpgp.PublicKey> {
  try {
    return (await openpgp.readKey({ armoredKey: releaseCertArmored })).toPublic();
  } catch (cause) {
    throw new CaliopError('manifest_invalid', 'the release certificate is not a readable OpenPGP certificate', { cause });
  }
}

/**
 * True when MANIFEST.sig is a valid signature over these MANIFEST bytes by the
 * release cert (its primary key or a signing subkey); false for any other
 * signature, a damaged one, or one that is not OpenPGP at all.
 */
export async function manifestSignatureValid(manifest: Uint8Array, signatureArmored: string, releaseCert: openpgp.PublicKey): Promise<boolean> {
  try {
    const signature = await openpgp.readSignature({ armoredSignature: signatureArmored });
    const message = await openpgp.createMessage({ binary: manifest });
    const result = await openpgp.verify({ message, signature, verificationKeys: releaseCert, expectSigned: true, config: PGP_CONFIG });
    return result.signatures.length > 0;
  } catch {
    return false;
  }
}

export interface ReleaseKey {
  /** Armored secret key (encrypted when a passphrase was given). */
  readonly secretKeyArmored: string;
  /** Armored certificate: the public part, for config.json's releaseCert. */
  readonly certArmored: string;
  readonly fingerprint: string;
}

/** A v4 Ed25519Legacy signing key (docs/manifest.md §6). */
export async function generateReleaseKey(options: { name?: string; passphrase?: string; date?: Date } = {}): Promise<ReleaseKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: options.name ?? 'Caliop Key release signing' }],
    format: 'armored',
    config: { v6Keys: false, showComment: false, showVersion: false },
    ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    ...(options.date === undefined ? {} : { date: options.date }),
  });
  const fingerprint = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
  return { secretKeyArmored: privateKey, certArmored: publicKey, fingerprint };
}

/** Reads and unlocks a release secret key (scripts/release-key.ts, scripts/build-image.ts). */
export async function readReleaseSecretKey(armored: string, passphrase?: string): Promise<openpgp.PrivateKey> {
  const key = await openpgp.readPrivateKey({ armoredKey: armored });
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) throw new CaliopError('wrong_passphrase', 'the release secret key is protected: give its passphrase');
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch (cause) {
    throw new CaliopError('wrong_passphrase', 'the passphrase does not unlock the release secret key', { cause });
  }
}

/**
 * The signature of a manifest for a reproducible image: the date is fixed
 * (SOURCE_DATE_EPOCH) and no random salt notation is added, so the same key,
 * manifest and date always give the same bytes (Ed25519 is deterministic,
 * RFC 8032 §5.1.6).
 */
export async function signManifestReproducibly(manifest: Uint8Array, key: openpgp.PrivateKey, date: Date): Promise<string> {
  const message = await openpgp.createMessage({ binary: manifest, date });
  return openpgp.sign({
    message,
    signingKeys: key,
    detached: true,
    format: 'armored',
    date,
    config: { nonDeterministicSignaturesViaNotation: false, showComment: false, showVersion: false },
  });
}
