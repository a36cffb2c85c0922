// Verifies the request signature (docs/api.md §4.3) and finds the device's account.
// Needs middleware/read-body.ts before it (the body digest is signed).

import type { MiddlewareHandler } from 'hono';
import { deviceFingerprint, SIGNATURE_HEADERS, TIMESTAMP_WINDOW_SECONDS, verifyRequestSignature } from '../../api/request-signing.js';
import { opensslEd25519Verify, opensslSha256Hex } from '../ed25519-verify.js';
import { RelayHttpError } from '../http-error.js';
import type { RelayEnv, SignedDevice } from '../relay-env.js';
import type { RelayStore } from '../store/relay-store.js';

/** docs/api.md §6.4: a device's last-seen time is rewritten at most this often (one small write per device per period). */
export const LAST_SEEN_PRECISION_MS = 5 * 60 * 1000;

export interface DeviceAuthOptions {
  readonly store: RelayStore;
  readonly domain: string;
  readonly clock: () => Date;
  /** false only on the enrolment route, where the device is new. */
  readonly requireEnrolled: boolean;
}

/**
 * The log fingerprints of recent devices, by their Caliop-Device header (one spelling per key:
 * fromBase64url refuses the others): a SHA-256 per request saved (issue 14's profile).
 */
const fingerprints = new Map<string, string>();
const FINGERPRINT_CACHE_SIZE = 1024;

function fingerprintOf(header: string | undefined, publicKey: Uint8Array): string {
  const known = header === undefined ? undefined : fingerprints.get(header);
  if (known !== undefined) return known;
  const fingerprint = deviceFingerprint(publicKey, opensslSha256Hex);
  if (header !== undefined) {
    if (fingerprints.size >= FINGERPRINT_CACHE_SIZE) fingerprints.delete(fingerprints.keys().next().value as string);
    fingerprints.set(header, fingerprint);
  }
  return fingerprint;
}

/** docs/api.md §8.2.1: a streamed body is signed by the digest it declared (checked as it streams). */
function bodyOrDigest(body: Uint8Array, digest: Uint8Array | undefined): Uint8Array | { sha256: Uint8Array } {
  return digest === undefined ? body : { sha256: digest };
}

function pathAndQuery(href: string): string {
  const url = new URL(href);
  return url.pathname + url.search;
}

/** What the signature check reads of a request (docs/api.md §4.2). */
export interface SignedRequest {
  readonly method: string;
  /** The request target as sent. */
  readonly pathWithQuery: string;
  readonly body: Uint8Array;
  /** docs/api.md §8.2.1: the digest a streamed body declared, instead of the body. */
  readonly bodyDigest: Uint8Array | undefined;
  readonly header: (name: string) => string | undefined;
}

/** docs/api.md §4.3: the signature, then the device and the nonce; the signer, or a RelayHttpError (401). */
export async function authenticateRequest(options: DeviceAuthOptions, request: SignedRequest): Promise<SignedDevice> {
  const now = options.clock();
  const check = verifyRequestSignature(
    { method: request.method, pathWithQuery: request.pathWithQuery, body: bodyOrDigest(request.body, request.bodyDigest), domain: options.domain },
    request.header,
    now,
    opensslEd25519Verify,
    opensslSha256Hex,
  );
  if (!check.ok) {
    const code = check.reason === 'malformed' ? 'malformed_signature' : check.reason;
    throw new RelayHttpError(401, code, check.detail);
  }
  // docs/api.md §4.3 steps 5-6: the device and the nonce in one store step (one round trip on PostgreSQL).
  const { found, fresh } = await options.store.authenticate({
    devicePublicKey: check.devicePublicKey,
    nonce: check.nonce,
    expiresAt: check.timestamp + TIMESTAMP_WINDOW_SECONDS,
    nowSeconds: Math.floor(now.getTime() / 1000),
    enrolledOnly: options.requireEnrolled,
  });
  // docs/api.md §6.5: a revoked device is refused at once, on every route (enrolment included).
  if (found?.device.revokedAt) {
    throw new RelayHttpError(401, 'device_revoked', `this device (${found.device.name}) was revoked on ${found.device.revokedAt.slice(0, 10)}`);
  }
  const account = found?.account;
  if (options.requireEnrolled && account === undefined) {
    throw new RelayHttpError(401, 'unknown_device', 'this device key is not enrolled with this relay');
  }
  // docs/api.md §4.3 step 6: a nonce is accepted once while its timestamp is in the window.
  if (!fresh) throw new RelayHttpError(401, 'replayed_nonce', 'this Caliop-Nonce was already used; sign each request with a new nonce');
  // Only when the row just read says it is stale (the store checks again): no store call per request.
  const staleBefore = new Date(now.getTime() - LAST_SEEN_PRECISION_MS).toISOString();
  if (found !== undefined && (found.device.lastSeenAt === null || found.device.lastSeenAt < staleBefore)) {
    await options.store.touchDevice(check.devicePublicKey, now.toISOString(), staleBefore);
  }
  return { publicKey: check.devicePublicKey, fingerprint: fingerprintOf(request.header(SIGNATURE_HEADERS.device), check.devicePublicKey), account, enrolment: found?.device };
}

export function deviceAuth(options: DeviceAuthOptions): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const device = await authenticateRequest(options, {
      method: c.req.method,
      // docs/api.md §4.2: the request target as sent (the raw one when node gives it to us).
      pathWithQuery: c.env?.incoming?.url ?? pathAndQuery(c.req.url),
      body: c.get('body'),
      bodyDigest: c.get('bodyDigest'),
      header: (name) => c.req.header(name),
    });
    c.set('device', device);
    await next();
  };
}
