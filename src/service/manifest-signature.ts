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
