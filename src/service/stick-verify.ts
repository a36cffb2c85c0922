// `caliop stick verify`: checks a stick's files against its signed MANIFEST
// (docs/manifest.md §5 and §6). Returns data; the CLI maps it to exit codes:
// an invalid signature is manifest_invalid (50), any listed file stick_modified (51).

import { join } from 'node:path';
import { compareWithManifest, MANIFEST_FILE, MANIFEST_MAX_BYTES, MANIFEST_SIGNATURE_FILE, MANIFEST_SIGNATURE_MAX_BYTES, parseManifest } from '../core/stick-manifest.js';
import { readStickConfig } from '../edges/stick-config.js';
import { FileTooLargeError, readRegularFile } from '../edges/plain-files.js';
import type { Stick } from '../edges/stick-locator.js';
import { listStickFiles } from '../edges/stick-tree.js';
import { randomBytes } from '../edges/random.js';
import { RelayClient } from '../edges/relay-client.js';
import { COMPILED_RELEASE_FINGERPRINT } from '../build-facts.js';
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

/**
 * docs/manifest.md §1.1: a regular file within its ceiling, else manifest_invalid (a device, a
 * FIFO or a file of gigabytes on a stick someone else prepared is never read, docs/stick-layout.md §2.1).
 */
async function readStickFile(stickDir: string, name: string, maxBytes: number): Promise<Buffer> {
  try {
    return Buffer.from(await readRegularFile(join(stickDir, name), maxBytes));
  } catch (cause) {
    if (cause instanceof FileTooLargeError) throw new CaliopError('manifest_invalid', `the stick's ${cause.message}`, { cause });
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
  const manifestBytes = await readStickFile(stickDir, MANIFEST_FILE, MANIFEST_MAX_BYTES);
  const signatureText = (await readStickFile(stickDir, MANIFEST_SIGNATURE_FILE, MANIFEST_SIGNATURE_MAX_BYTES)).toString('utf8');
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
 * - 'relay': the fingerprint the relay publishes (GET /v1/relay releaseFingerprint),
 *   fetched over the connection pinned in the stick's config.json;
 * - 'stick-only': nothing outside the stick; the check proves only that the
 *   stick agrees with itself.
 */
export type StickTrustAnchor = 'release-cert-file' | 'compiled-in' | 'relay' | 'stick-only';

/** The relay's word on the release (docs/manifest.md §8), when it was asked. */
export interface RelayAnchorCheck {
  readonly url: string;
  /** Upper-case hex, as the relay publishes it. */
  readonly fingerprint: string;
  /** The stick's release certificate has exactly this fingerprint. */
  readonly matches: boolean;
}

export interface AnchoredStickVerification extends StickVerification {
  readonly anchor: StickTrustAnchor;
  /** Fingerprint of the certificate MANIFEST.sig was checked with. */
  readonly releaseFingerprint: string;
  /** The fingerprint the anchor vouches for; '' when the anchor is 'stick-only'. */
  readonly anchorFingerprint: string;
  /** False when the stick's certificate is not the one an anchor vouches for (the relay's included): then ok is false. */
  readonly anchorMatches: boolean;
  /** Present when the relay was asked (--relay): checked besides the anchor above, or as the anchor. */
  readonly relay?: RelayAnchorCheck;
}

export interface StickCheckOptions {
  /** The certificate the user gave (armored); wins over every other anchor. */
  readonly releaseCertArmored?: string;
  /** The fingerprint compiled into this executable; default src/build-facts.ts COMPILED_RELEASE_FINGERPRINT (tests hand their own). */
  readonly compiledFingerprint?: string;
  /**
   * Ask a relay for the release fingerprint it publishes: 'stick' is the relay and pin of
   * the stick's config.json; or this URL and pin.
   */
  readonly relay?: 'stick' | { readonly url: string; readonly pin?: string | undefined };
}

/**
 * GET /v1/relay's releaseFingerprint over the pinned connection (docs/api.md §6.1).
 * The request is unsigned: the device key is a throwaway. Throws
 * relay_publishes_no_fingerprint when the relay publishes none.
 */
export async function relayReleaseFingerprint(target: { readonly url: string; readonly pin?: string | undefined }): Promise<string> {
  const client = new RelayClient({ url: target.url, pin: target.pin, deviceSecretKey: randomBytes(32) });
  try {
    const info = await client.info();
    if (info.releaseFingerprint === undefined) throw new CaliopError('relay_publishes_no_fingerprint', `the relay ${target.url} publishes no release fingerprint`);
    return info.releaseFingerprint.toUpperCase();
  } finally {
    client.close();
  }
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
    throw new CaliopError('manifest_invalid', "the stick's config.json names no release certificate", {
      hint: 'ask your Caliop volunteer for the release certificate, and check the stick with "caliop stick verify --release-cert FILE"',
    });
  }
  const releaseFingerprint = (await readReleaseCert(certArmored)).getFingerprint().toUpperCase();
  // Asked first: a relay that cannot be reached or publishes nothing is an error, not a weaker verdict.
  let relay: RelayAnchorCheck | undefined;
  if (options.relay !== undefined) {
    const configured = readStickConfig(stick).relay;
    const target = options.relay === 'stick' ? (configured?.url ? { url: configured.url, pin: configured.pin } : undefined) : options.relay;
    if (target === undefined) throw new CaliopError('relay_not_configured', "the stick's config.json names no relay to ask");
    const fingerprint = await relayReleaseFingerprint(target);
    relay = { url: target.url, fingerprint, matches: fingerprint === releaseFingerprint };
  }
  const verdict = await verifyStick(stick.root, certArmored);
  const relayMatches = relay?.matches ?? true;
  const withRelay = relay === undefined ? {} : { relay };
  // Precedence (docs/manifest.md §8): release-cert-file > compiled-in > relay > stick-only; the relay, when asked, is checked too.
  let anchor: StickTrustAnchor;
  let anchorFingerprint: string;
  const compiled = ('compiledFingerprint' in options ? options.compiledFingerprint : COMPILED_RELEASE_FINGERPRINT)?.toUpperCase();
  if (given !== undefined) [anchor, anchorFingerprint] = ['release-cert-file', releaseFingerprint];
  else if (compiled !== undefined && compiled !== '') [anchor, anchorFingerprint] = ['compiled-in', compiled];
  else if (relay !== undefined) [anchor, anchorFingerprint] = ['relay', relay.fingerprint];
  else return { ...verdict, anchor: 'stick-only', releaseFingerprint, anchorFingerprint: '', anchorMatches: true };
  const anchorMatches = anchorFingerprint === releaseFingerprint && relayMatches;
  return { ...verdict, ok: verdict.ok && anchorMatches, anchor, releaseFingerprint, anchorFingerprint, anchorMatches, ...withRelay };
}
