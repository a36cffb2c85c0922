// `caliop stick verify`: checks a stick's files against its signed MANIFEST
// (docs/manifest.md §5 and §6). Returns data; the CLI maps it to exit codes:
// an invalid signature is manifest_invalid (50), any listed file stick_modified (51).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareWithManifest, MANIFEST_FILE, MANIFEST_SIGNATURE_FILE, parseManifest } from '../core/stick-manifest.js';
import { readStickConfig } from '../edges/stick-config.js';
import type { Stick } from '../edges/stick-locator.js';
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

/**
 * Where the trust in a stick check comes from (docs/manifest.md §8):
 * - 'release-cert-file': a certificate the user gave (--release-cert FILE);
 * - 'compiled-in': the release fingerprint built into this executable
 *   (src/build-facts.ts), compared with the certificate in the stick's config.json;
 * - 'stick-only': nothing outside the stick; the check proves only that the
 *   stick agrees with itself.
 */
export type StickTrustAnchor = 'release-cert-file' | 'compiled-in' | 'stick-only';

export interface AnchoredStickVerification extends StickVerification {
  readonly anchor: StickTrustAnchor;
  /** Fingerprint of the certificate MANIFEST.sig was checked with. */
  readonly releaseFingerprint: string;
  /** The fingerprint the anchor vouches for; '' when the anchor is 'stick-only'. */
  readonly anchorFingerprint: string;
  /** False when the stick's certificate is not the one the anchor vouches for: then ok is false. */
  readonly anchorMatches: boolean;
}

export interface StickCheckOptions {
  /** The certificate the user gave (armored); wins over every other anchor. */
  readonly releaseCertArmored?: string;
  /** The fingerprint compiled into this executable (src/build-facts.ts COMPILED_RELEASE_FINGERPRINT). */
  readonly compiledFingerprint?: string;
}

/**
 * The stick check of `caliop stick verify` and of the interface's stick screen
 * (docs/manifest.md §8): chooses the strongest anchor available, checks the
 * stick's certificate against it, then the signature and the files.
 */
export async function checkStick(stick: Stick, options: StickCheckOptions = {}): Promise<AnchoredStickVerification> {
  const given = options.releaseCertArmored;
  const certArmored = given ?? readStickConfig(stick).releaseCert;
  if (certArmored === undefined || certArmored === '') {
    throw new CaliopError('manifest_invalid', "the stick's config.json names no release certificate", { hint: 'pass --release-cert FILE' });
  }
  const releaseFingerprint = (await readReleaseCert(certArmored)).getFingerprint().toUpperCase();
  const verdict = await verifyStick(stick.root, certArmored);
  if (given !== undefined) return { ...verdict, anchor: 'release-cert-file', releaseFingerprint, anchorFingerprint: releaseFingerprint, anchorMatches: true };
  const compiled = options.compiledFingerprint?.toUpperCase();
  if (compiled === undefined || compiled === '') return { ...verdict, anchor: 'stick-only', releaseFingerprint, anchorFingerprint: '', anchorMatches: true };
  const anchorMatches = compiled === releaseFingerprint;
  return { ...verdict, ok: verdict.ok && anchorMatches, anchor: 'compiled-in', releaseFingerprint, anchorFingerprint: compiled, anchorMatches };
}
