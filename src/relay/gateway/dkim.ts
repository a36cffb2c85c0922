// DKIM signing of outbound mail (RFC 6376; docs/gateway.md §4.4). The relay signs
// every message it hands to the smarthost with its domain's key, so that other mail
// servers can check that the mail comes from the domain it claims (DMARC alignment:
// d= is the relay's domain, which is the From: domain of every stick's message).
// The key is made in the data folder on first start (RSA-2048, the size every
// receiver verifies), unless the operator gives one (--dkim-key FILE --dkim-selector S).

import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileDurablySync } from '../durable-file.js';

export interface DkimKey {
  readonly selector: string;
  readonly privateKeyPem: string;
  /** The TXT record's value: v=DKIM1; k=rsa|ed25519; p=BASE64. */
  readonly txtRecord: string;
}

const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

export function isValidSelector(selector: string): boolean {
  return SELECTOR.test(selector);
}

/** RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits. */
export const MIN_RSA_DKIM_BITS = 1024;

/** `source` names the key in errors (its file). */
export function dkimKeyFrom(selector: string, privateKeyPem: string, source = 'the DKIM key'): DkimKey {
  if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(privateKeyPem) && !/PRIVATE KEY-----/.test(privateKeyPem)) {
    throw new Error(`${source} is a public key: the DKIM key must be the private key (PEM), whose public half the DNS record publishes`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new Error(`${source} is not a readable PEM private key (${(error as Error).message})`);
  }
  const type = privateKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ed25519') throw new Error(`${source}: a DKIM key must be RSA or Ed25519, not ${type}`);
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (type === 'rsa' && bits < MIN_RSA_DKIM_BITS) {
    throw new Error(`${source} is an RSA key of ${bits} bits: DKIM signers must use at least ${MIN_RSA_DKIM_BITS} (RFC 8301 §3.2); make one of 2048`);
  }
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  // RFC 8463 §4.2: an Ed25519 record carries the bare 32-byte key, not the SPKI.
  const p = type === 'ed25519' ? der.subarray(der.length - 32).toString('base64') : der.toString('base64');
  return { selector, privateKeyPem, txtRecord: `v=DKIM1; k=${type}; p=${p}` };
}

/** The key given by --dkim-key FILE --dkim-selector S. */
export function readDkimKey(file: string, selector: string): DkimKey {
  if (!isValidSelector(selector)) throw new Error(`--dkim-selector ${JSON.stringify(selector)} is not a valid DNS label`);
  return dkimKeyFrom(selector, readFileSync(file, 'utf8'), file);
}

/**
 * DIR/dkim/selector names the current selector, DIR/dkim/SELECTOR.pem its key (0600).
 * Made on first call; `now` names the selector (caliopYYYYMM), so a rotated key gets a new one.
 */
export function ensureDkimKey(dataDir: string, now: Date): DkimKey {
  const folder = join(dataDir, 'dkim');
  const selectorFile = join(folder, 'selector');
  if (existsSync(selectorFile)) {
    const selector = readFileSync(selectorFile, 'utf8').trim();
    const file = join(folder, `${selector}.pem`);
    return dkimKeyFrom(selector, readFileSync(file, 'utf8'), file);
  }
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const selector = `caliop${now.toISOString().slice(0, 7).replace('-', '')}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // The key first, then the selector that names it: a crash between them leaves no selector, and the next start makes both again.
  writeFileDurablySync(join(folder, `${selector}.pem`), pem);
  writeFileDurablySync(selectorFile, `${selector}\n`);
  return dkimKeyFrom(selector, pem);
}

/** The current key of a data folder, without making one (for `caliop-relay dns-records`). */
export function existingDkimKey(dataDir: string): DkimKey | null {
  return existsSync(join(dataDir, 'dkim', 'selector')) ? ensureDkimKey(dataDir, new Date(0)) : null;
}

type DkimSign = (
  input: Buffer | Readable,
  options: { canonicalization: string; signTime: Date; signatureData: { signingDomain: string; selector: string; privateKey: string }[] },
) => Promise<{ signatures: string; errors: unknown[] }>;

let dkimSign: DkimSign | undefined;

/** The message with a DKIM-Signature field on top (relaxed/relaxed, rsa-sha256 or ed25519-sha256), by mailauth. */
export async function signWithDkim(message: Buffer, domain: string, key: DkimKey, now: Date = new Date()): Promise<Buffer> {
  return Buffer.concat([await dkimSignature(message, domain, key, now), message]);
}

/**
 * docs/api.md §8.7.1, docs/decisions/outbound-stream.md: the DKIM-Signature field(s) of a
 * message given as a stream, CRLF-ended, to be sent before it. mailauth's signer is a
 * Writable that keeps the header section and hashes the body as it passes: memory stays
 * bounded whatever the size.
 */
export function startDkimSigning(message: Readable, domain: string, key: DkimKey, now: Date = new Date()): Promise<Buffer> {
  return dkimSignature(message, domain, key, now);
}

async function dkimSignature(message: Buffer | Readable, domain: string, key: DkimKey, now: Date): Promise<Buffer> {
  // mailauth 4.9.5 has no types and no export map entry for the signer.
  dkimSign ??= (createRequire(import.meta.url)('mailauth/lib/dkim/sign') as { dkimSign: DkimSign }).dkimSign;
  const result = await dkimSign(message, {
    canonicalization: 'relaxed/relaxed',
    // mailauth 4.9.5 without signTime reads the clock twice: once for the t= tag it signs
    // and once for the t= tag it writes. Across a second boundary they differ and the
    // signature never verifies (seen about once in 300-1,500 signatures, more under load).
    signTime: now,
    signatureData: [{ signingDomain: domain, selector: key.selector, privateKey: key.privateKeyPem }],
  });
  if (result.errors.length > 0) throw new Error(`DKIM signing failed: ${JSON.stringify(result.errors)}`);
  return Buffer.from(result.signatures, 'latin1');
}
