// `caliop stick verify`: checks a stick's files against its signed MANIFEST
// (docs/manifest.md §5 and §6). Returns data; the CLI maps it to exit codes:
// an invalid signature is manifest_invalid (50), any listed file stick_modified (51).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareWithManifest, MANIFEST_FILE, MANIFEST_SIGNATURE_FILE, parseManifest } from '../core/stick-manifest.js';
import { listStickFiles } from '../edges/stick-tree.js';
import { CaliopError } from '../errors.js';
import { manifestSignatureValid, readReleaseCert } from './manifest-signature.js';

export interface StickVerification {
  /** The signature is valid and no file differs, is missing or is extra. */
  readonly ok: boolean;
  /** MANIFEST.sig is a valid signature over MANIFEST by the release cert. */
  readonly signatureValid: boolean;
  /** Listed in MANIFEST, present, with another size or SHA-256. Sorted. */
  readonly differs: string[];
  /** Listed in MANIFEST, absent. Sorted. */
  readonly missing: string[];
  /** Present, not listed, not excluded (vault/ and OS-made files: docs/manifest.md §4). Sorted. */
  readonly extra: string[];
}

async function readStickFile(stickDir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(stickDir, name));
  } catch (cause) {
    throw new CaliopError('manifest_invalid', `the stick has no readable ${name}`, { cause });
  }
}

/**
 * Verifies the stick at stickDir against its MANIFEST and MANIFEST.sig with the
 * given release cert. Throws manifest_invalid when MANIFEST or MANIFEST.sig is
 * missing, the cert unreadable, or MANIFEST malformed; otherwise returns the
 * verdict. vault/ is excluded: it is the user's data and changes (docs/manifest.md §4).
 * The lists are computed even when the signature is invalid, but then mean nothing.
 */
export async function verifyStick(stickDir: string, releaseCertArmored: string): Promise<StickVerification> {
  const releaseCert = await readReleaseCert(releaseCertArmored);
  const manifestBytes = await readStickFile(stickDir, MANIFEST_FILE);
  const signatureText = (await readStickFile(stickDir, MANIFEST_SIGNATURE_FILE)).toString('utf8');
  const signatureValid = await manifestSignatureValid(new Uint8Array(manifestBytes), signatureText, releaseCert);
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  const expectedSize = new Map(manifest.map((entry) => [entry.path, entry.size]));
  // A file whose size already differs is not read: the stick may be slow.
  const found = await listStickFiles(stickDir, { shouldHash: (path, size) => expectedSize.get(path) === size });
  const { differs, missing, extra } = compareWithManifest(manifest, found);
  const ok = signatureValid && differs.length === 0 && missing.length === 0 && extra.length === 0;
  return { ok, signatureValid, differs, missing, extra };
}
