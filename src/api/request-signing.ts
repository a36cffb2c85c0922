// Request signing of the narrow API (docs/api.md §4), shared by the relay and the
// client. Pure: the clock and the nonce are parameters, nothing here does I/O.

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { fromBase64url, toBase64url } from './base64url.js';

/** docs/api.md §4.1: the four request headers. */
export const SIGNATURE_HEADERS = {
  device: 'caliop-device',
  timestamp: 'caliop-timestamp',
  nonce: 'caliop-nonce',
  signature: 'caliop-signature',
} as const;

/** docs/api.md §4.1: first line of the signed string; a new scheme gets a new label. */
export const SIGNING_SCHEME = 'caliop-request-v1';
/** docs/api.md §4.3: accepted clock difference between client and relay, each way. */
export const TIMESTAMP_WINDOW_SECONDS = 300;
/** docs/api.md §4.1: a nonce is 16 to 64 base64url characters. */
export const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
/** docs/api.md §4.1: a timestamp is decimal Unix seconds, no sign, no leading zero. */
export const TIMESTAMP = /^(?:0|[1-9][0-9]{0,11})$/;

export interface RequestToSign {
  /** HTTP method, any case (upper-cased in the signed string). */
  readonly method: string;
  /** The request target exactly as sent: path and query, e.g. `/v1/messages?limit=10`. */
  readonly pathWithQuery: string;
  /**
   * The body bytes exactly as sent (empty for a request without a body), or, for a body
   * streamed (docs/api.md §8.2.1), its SHA-256 as declared in `Content-Digest`: the relay
   * verifies the signature before reading such a body and checks the digest as it streams.
   */
  readonly body: Uint8Array | { readonly sha256: Uint8Array };
  /** The relay's mail domain (`caliop-relay --domain`), lower-cased. */
  readonly domain: string;
}

export interface SignedFields {
  /** Decimal Unix seconds. */
  readonly timestamp: string;
  readonly nonce: string;
}

/** Hex SHA-256 (FIPS 180-4); the relay passes node:crypto's, faster than this pure-JS default on its bodies. */
export type Sha256Hex = (bytes: Uint8Array) => string;

export const nobleSha256Hex: Sha256Hex = (bytes) => bytesToHex(sha256(bytes));

/** docs/api.md §4.2: the canonical string that the device key signs. */
export function canonicalRequestString(request: RequestToSign, fields: SignedFields, sha256Hex: Sha256Hex = nobleSha256Hex): string {
  return labelledRequestString(SIGNING_SCHEME, request, fields, sha256Hex);
}

/** docs/api.md §4.2, §4.6.2: the seven lines under a scheme label (a signature's, or a session MAC's). */
/** SHA-256 of no bytes (FIPS 180-4 test vector), the body digest of every GET: not computed again per request. */
export const EMPTY_BODY_SHA256_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function labelledRequestString(scheme: string, request: RequestToSign, fields: SignedFields, sha256Hex: Sha256Hex = nobleSha256Hex): string {
  if (!request.pathWithQuery.startsWith('/')) throw new TypeError('pathWithQuery must start with "/"');
  if (/[\r\n]/.test(request.pathWithQuery) || /[\r\n]/.test(request.domain)) throw new TypeError('no line breaks allowed');
  return [
    scheme,
    request.method.toUpperCase(),
    request.pathWithQuery,
    request.body instanceof Uint8Array ? (request.body.length === 0 ? EMPTY_BODY_SHA256_HEX : sha256Hex(request.body)) : bytesToHex(request.body.sha256),
    fields.timestamp,
    fields.nonce,
    request.domain.toLowerCase(),
  ].join('\n');
}

/**
 * Signs a request; returns the four headers to send (docs/api.md §4.1).
 * `devicePublicKey` may be given to save deriving it again (it must match the secret key).
 */
export function signRequest(
  request: RequestToSign,
  deviceSecretKey: Uint8Array,
  now: Date,
  nonce: string,
  devicePublicKey: Uint8Array = ed25519.getPublicKey(deviceSecretKey),
  /** An Ed25519 signer holding the key already expanded (node:crypto); @noble/curves otherwise. */
  sign: (message: Uint8Array) => Uint8Array = (message) => ed25519.sign(message, deviceSecretKey),
  /** The body's SHA-256 (node:crypto's where the runtime has it: the client hashes every body it sends). */
  sha256Hex: Sha256Hex = nobleSha256Hex,
): Record<string, string> {
  if (deviceSecretKey.length !== 32) throw new TypeError('deviceSecretKey must be 32 bytes');
  if (!NONCE.test(nonce)) throw new TypeError('nonce must be 16-64 base64url characters');
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const message = new TextEncoder().encode(canonicalRequestString(request, { timestamp, nonce }, sha256Hex));
  return {
    [SIGNATURE_HEADERS.device]: toBase64url(devicePublicKey),
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: toBase64url(sign(message)),
  };
}

export type SignatureCheck =
  | { readonly ok: true; readonly devicePublicKey: Uint8Array; readonly timestamp: number; readonly nonce: string }
  | { readonly ok: false; readonly reason: 'unsigned' | 'malformed' | 'bad_signature' | 'stale_timestamp'; readonly detail: string };

/**
 * docs/api.md §4.3 steps 1-4: checks the headers, the timestamp window and the
 * signature. Whether the device is enrolled and whether the nonce is fresh are
 * the caller's business (they need the relay's state).
 */
/** An Ed25519 verifier (RFC 8032 §5.1.7); returns false, never throws, on a bad signature or key. */
export type Ed25519Verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

/** The default verifier: @noble/curves, strict (zip215: false rejects non-canonical encodings). */
export const nobleEd25519Verify: Ed25519Verify = (signature, message, publicKey) => {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
};

export function verifyRequestSignature(
  request: RequestToSign,
  headers: (name: string) => string | undefined,
  now: Date,
  verifyEd25519: Ed25519Verify = nobleEd25519Verify,
  sha256Hex: Sha256Hex = nobleSha256Hex,
): SignatureCheck {
  const device = headers(SIGNATURE_HEADERS.device);
  const timestamp = headers(SIGNATURE_HEADERS.timestamp);
  const nonce = headers(SIGNATURE_HEADERS.nonce);
  const signature = headers(SIGNATURE_HEADERS.signature);
  if (device === undefined || timestamp === undefined || nonce === undefined || signature === undefined) {
    return { ok: false, reason: 'unsigned', detail: 'the request is not signed: Caliop-Device, Caliop-Timestamp, Caliop-Nonce and Caliop-Signature are required' };
  }
  const devicePublicKey = fromBase64url(device);
  if (devicePublicKey === null || devicePublicKey.length !== 32) return { ok: false, reason: 'malformed', detail: 'Caliop-Device must be a base64url Ed25519 public key (32 bytes)' };
  const signatureBytes = fromBase64url(signature);
  if (signatureBytes === null || signatureBytes.length !== 64) return { ok: false, reason: 'malformed', detail: 'Caliop-Signature must be a base64url Ed25519 signature (64 bytes)' };
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: 'malformed', detail: 'Caliop-Timestamp must be decimal Unix seconds' };
  if (!NONCE.test(nonce)) return { ok: false, reason: 'malformed', detail: 'Caliop-Nonce must be 16-64 base64url characters' };

  const seconds = Number(timestamp);
  const stale = staleTimestamp(seconds, now);
  if (stale !== null) return { ok: false, reason: 'stale_timestamp', detail: stale };
  const message = new TextEncoder().encode(canonicalRequestString(request, { timestamp, nonce }, sha256Hex));
  if (!verifyEd25519(signatureBytes, message, devicePublicKey)) return { ok: false, reason: 'bad_signature', detail: 'the request signature does not verify with the Caliop-Device key' };
  return { ok: true, devicePublicKey, timestamp: seconds, nonce };
}

/** docs/api.md §4.3 step 3 (and §4.6.3 step 2): why a timestamp is outside the window, or null when it is inside. */
export function staleTimestamp(seconds: number, now: Date): string | null {
  const skew = Math.abs(now.getTime() / 1000 - seconds);
  // docs/api.md §4.3: outside ±TIMESTAMP_WINDOW_SECONDS the request is stale.
  if (skew <= TIMESTAMP_WINDOW_SECONDS) return null;
  return `Caliop-Timestamp is ${Math.round(skew)} s away from the relay's clock (at most ${TIMESTAMP_WINDOW_SECONDS} s allowed)`;
}

/** docs/api.md §4.5: the short device fingerprint used in logs (hex SHA-256 of the public key, 12 digits). */
export function deviceFingerprint(devicePublicKey: Uint8Array, sha256Hex: Sha256Hex = nobleSha256Hex): string {
  return sha256Hex(devicePublicKey).slice(0, 12);
}
