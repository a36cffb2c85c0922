// Verifies the request signature (docs/api.md §4.3), or the MAC of a request in a session
// (§4.6.3), and finds the device's account.
// Needs middleware/read-body.ts before it (the body digest is signed).

import type { MiddlewareHandler } from 'hono';
import { deviceFingerprint, SIGNATURE_HEADERS, TIMESTAMP_WINDOW_SECONDS, verifyRequestSignature } from '../../api/request-signing.js';
import { expectedMac, isSessionRequest, readSessionHeaders, SESSION_HEADER, sessionState } from '../../api/relay-session.js';
import { API_ROUTES, type ApiRouteName } from '../../api/routes.js';
import { runtimeSessionMac } from '../../api/session-x25519.js';
import { macsEqual, type RelaySessions } from '../session-keys.js';
import { opensslEd25519Verify, opensslSha256Hex } from '../ed25519-verify.js';
import { RelayHttpError } from '../http-error.js';
import type { RelayEnv, SignedDevice } from '../relay-env.js';
import type { AuthOutcome, RelayStore } from '../store/relay-store.js';

/** docs/api.md §6.4: a device's last-seen time is rewritten at most this often (one small write per device per period). */
export const LAST_SEEN_PRECISION_MS = 5 * 60 * 1000;

export interface DeviceAuthOptions {
  readonly store: RelayStore;
  readonly domain: string;
  readonly clock: () => Date;
  /** false only on the enrolment route, where the device is new. */
  readonly requireEnrolled: boolean;
  /** docs/api.md §4.6: the relay's sessions; absent or null: a request in a session is refused (`session_unknown`). */
  readonly sessions?: RelaySessions | null | undefined;
  /** docs/api.md §2, §4.6.2: the route takes a request in a session (API_ROUTES[name].session); else `signature_required`. */
  readonly acceptsSession?: boolean;
}

/** The options of a route's deviceAuth: the route table says whether it takes a session (docs/api.md §2). */
export function authFor(deps: { store: RelayStore; domain: string; clock: () => Date; sessions?: RelaySessions | null | undefined }, route: ApiRouteName): DeviceAuthOptions {
  return { store: deps.store, domain: deps.domain, clock: deps.clock, requireEnrolled: API_ROUTES[route].auth === 'enrolled', sessions: deps.sessions, acceptsSession: API_ROUTES[route].session };
}

/**
 * The log fingerprints of recent devices, by their Caliop-Device header (one spelling per key:
 * fromBase64url refuses the others), or by `session ID` for a request in a session: a SHA-256
 * per request saved (issue 14's profile).
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
  if (isSessionRequest(request.header(SESSION_HEADER))) return authenticateSessionRequest(options, request);
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
  const found = await deviceAndNonce(options, now, check.devicePublicKey, check.timestamp, check.nonce, undefined);
  return { publicKey: check.devicePublicKey, fingerprint: fingerprintOf(request.header(SIGNATURE_HEADERS.device), check.devicePublicKey), account: found?.account, enrolment: found?.device };
}

/**
 * docs/api.md §4.3 steps 5-6 (§4.6.3 steps 3 and 5-6 in a session): the device, the session
 * and the nonce in one store step (one round trip on PostgreSQL); the device and its account,
 * or a RelayHttpError (401).
 */
async function deviceAndNonce(
  options: DeviceAuthOptions,
  now: Date,
  devicePublicKey: Uint8Array,
  timestamp: number,
  nonce: string,
  sessionId: string | undefined,
): Promise<AuthOutcome['found']> {
  const { found, fresh, sessionOpen } = await options.store.authenticate({
    devicePublicKey,
    nonce,
    expiresAt: timestamp + TIMESTAMP_WINDOW_SECONDS,
    nowSeconds: Math.floor(now.getTime() / 1000),
    enrolledOnly: options.requireEnrolled,
    ...(sessionId === undefined ? {} : { sessionId }),
  });
  // docs/api.md §6.5: a revoked device is refused at once, on every route (enrolment included), and so are its sessions (§4.6.3 step 5).
  if (found?.device.revokedAt) {
    throw new RelayHttpError(401, 'device_revoked', `this device (${found.device.name}) was revoked on ${found.device.revokedAt.slice(0, 10)}`);
  }
  const account = found?.account;
  if (options.requireEnrolled && account === undefined) {
    throw new RelayHttpError(401, 'unknown_device', 'this device key is not enrolled with this relay');
  }
  // docs/api.md §4.6.3 step 3: closed (DELETE /v1/session, a ninth opening): as unknown.
  if (sessionId !== undefined && sessionOpen !== true) throw sessionUnknown();
  // docs/api.md §4.3 step 6: a nonce is accepted once while its timestamp is in the window.
  if (!fresh) throw new RelayHttpError(401, 'replayed_nonce', 'this Caliop-Nonce was already used; sign each request with a new nonce');
  // Only when the row just read says it is stale (the store checks again): no store call per request.
  const staleBefore = new Date(now.getTime() - LAST_SEEN_PRECISION_MS).toISOString();
  if (found !== undefined && (found.device.lastSeenAt === null || found.device.lastSeenAt < staleBefore)) {
    await options.store.touchDevice(devicePublicKey, now.toISOString(), staleBefore);
  }
  return found;
}

const sessionUnknown = () => new RelayHttpError(401, 'session_unknown', 'this relay knows no open session of that id; open a new one (POST /v1/session)');

/** docs/api.md §4.6.3: a request in a session; the session's device, or a RelayHttpError (401). */
async function authenticateSessionRequest(options: DeviceAuthOptions, request: SignedRequest): Promise<SignedDevice & { sessionId: string }> {
  // docs/api.md §4.6.2: the routes that change who the account is take a signature only.
  if (options.acceptsSession !== true) {
    throw new RelayHttpError(401, 'signature_required', 'this route needs a request signed by the device key (docs/api.md §4.6.2), not a session');
  }
  const now = options.clock();
  const check = readSessionHeaders(request.header, now);
  if (!check.ok) {
    const code = check.reason === 'malformed' ? 'malformed_signature' : check.reason;
    throw new RelayHttpError(401, code, check.detail);
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  // docs/api.md §4.6.3 step 3: from this process's cache, else the store's public facts and the secret.
  const sessions = options.sessions ?? null;
  let session = sessions?.cached(check.sessionId);
  if (session === undefined && sessions !== null) {
    const record = await options.store.sessionById(check.sessionId);
    if (record !== undefined) session = sessions.keyOf(record);
  }
  if (session === undefined) throw sessionUnknown();
  if (sessionState(session, nowSeconds) === 'expired') {
    throw new RelayHttpError(401, 'session_expired', 'this session has expired (sessions last 15 minutes); open a new one (POST /v1/session)');
  }
  // docs/api.md §4.6.3 step 4: RFC 2104 HMAC-SHA256 over §4.2's lines labelled caliop-session-v1, compared in constant time.
  const fields = { timestamp: String(check.timestamp), nonce: check.nonce };
  const signed = { method: request.method, pathWithQuery: request.pathWithQuery, body: bodyOrDigest(request.body, request.bodyDigest), domain: options.domain };
  if (!macsEqual(expectedMac(signed, fields, session.key, runtimeSessionMac, opensslSha256Hex), check.mac)) {
    throw new RelayHttpError(401, 'bad_mac', 'the session MAC does not verify for this request');
  }
  const found = await deviceAndNonce(options, now, session.devicePublicKey, check.timestamp, check.nonce, check.sessionId);
  // The same cache as a signed request's, keyed by the session (a request in one carries no Caliop-Device).
  const fingerprint = fingerprintOf(`session ${check.sessionId}`, session.devicePublicKey);
  return { publicKey: session.devicePublicKey, fingerprint, account: found?.account, enrolment: found?.device, sessionId: check.sessionId };
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
