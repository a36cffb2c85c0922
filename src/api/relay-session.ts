// Relay sessions of the narrow API (docs/api.md §4.6), shared by the relay and the client:
// the session key's derivation, the MAC of a request in a session, its headers, and the
// relay's decisions about a session's facts. Pure: the clock, the nonce, the X25519
// shared secret and the MAC function are parameters; nothing here does I/O.

import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64url, toBase64url } from './base64url.js';
import { labelledRequestString, NONCE, nobleSha256Hex, SIGNATURE_HEADERS, staleTimestamp, TIMESTAMP, type RequestToSign, type Sha256Hex, type SignedFields } from './request-signing.js';

/** docs/api.md §4.6.2: first line of a session MAC's string (never a signed string's `caliop-request-v1`). */
export const SESSION_SCHEME = 'caliop-session-v1';
/** docs/api.md §4.6.1: a session ends this long after its opening, whatever its use. */
export const SESSION_LIFETIME_SECONDS = 15 * 60;
/** docs/api.md §4.6.1: live sessions per device; opening one more ends the oldest. */
export const MAX_SESSIONS_PER_DEVICE = 8;
/** docs/api.md §4.6.4: the client opens a new session when less than this fraction of its lifetime is left. */
export const SESSION_RENEW_FRACTION = 0.2;
/** docs/api.md §4.6.2: the header of a request in a session (Caliop-Timestamp and Caliop-Nonce beside it). */
export const SESSION_HEADER = 'authorization';
/** docs/api.md §4.6.2: `CaliopSession id=SESSION, mac=MAC`, exactly so. */
const AUTHORIZATION = /^CaliopSession id=([A-Za-z0-9_-]{22}), mac=([A-Za-z0-9_-]{43})$/;
/** The scheme word alone: a header that names it is a session request, well-formed or not. */
const SESSION_WORD = /^CaliopSession(?: |$)/;

/** docs/api.md §4.6.1: the session id is 16 random bytes; the MAC and K are 32 bytes. */
export const SESSION_ID_BYTES = 16;
export const SESSION_KEY_BYTES = 32;

/** HMAC-SHA256 (RFC 2104) of `message` under the session key (the relay passes node:crypto's, with the key object cached). */
export type SessionMac = (key: Uint8Array, message: Uint8Array) => Uint8Array;

export const nobleSessionMac: SessionMac = (key, message) => hmac(sha256, key, message);

/** Whether a request asks to be read as a session request (docs/api.md §4.6.2): its Authorization names the scheme. */
export function isSessionRequest(authorization: string | undefined): boolean {
  return authorization !== undefined && SESSION_WORD.test(authorization);
}

/**
 * docs/api.md §4.6.1: the `info` of the session key's HKDF, binding the device, the relay's
 * domain and both shares (each as its base64url text).
 */
export function sessionKeyInfo(parts: { devicePublicKey: string; domain: string; clientShare: string; relayShare: string }): Uint8Array {
  return new TextEncoder().encode(`${SESSION_SCHEME}\n${parts.devicePublicKey}\n${parts.domain.toLowerCase()}\n${parts.clientShare}\n${parts.relayShare}`);
}

/**
 * docs/api.md §4.6.1: K = HKDF-SHA256(ikm = the X25519 shared secret, salt = the session id's
 * 16 bytes, info = sessionKeyInfo, L = 32) (RFC 5869).
 */
export function deriveSessionKey(sharedSecret: Uint8Array, sessionId: string, info: Uint8Array): Uint8Array {
  const salt = fromBase64url(sessionId);
  if (salt === null || salt.length !== SESSION_ID_BYTES) throw new TypeError('sessionId must be 16 bytes, base64url');
  if (sharedSecret.length !== 32) throw new TypeError('sharedSecret must be 32 bytes');
  // RFC 7748 §6.1: an all-zero shared secret means a low-order share; refused, never keyed.
  if (sharedSecret.every((byte) => byte === 0)) throw new RangeError('the X25519 shared secret is all zero (a low-order share)');
  return hkdf(sha256, sharedSecret, salt, info, SESSION_KEY_BYTES);
}

/**
 * docs/decisions/relay-sessions.md "Where K lives": the relay's X25519 secret for a session,
 * HKDF-SHA256(ikm = the relay's session secret, salt = the session id, info = label), so no
 * relay process stores a key: any of them derives it again from the secret and the id.
 */
export function relayShareSecret(sessionSecret: Uint8Array, sessionId: string): Uint8Array {
  const salt = fromBase64url(sessionId);
  if (salt === null || salt.length !== SESSION_ID_BYTES) throw new TypeError('sessionId must be 16 bytes, base64url');
  if (sessionSecret.length !== 32) throw new TypeError('sessionSecret must be 32 bytes');
  return hkdf(sha256, sessionSecret, salt, new TextEncoder().encode(`${SESSION_SCHEME} relay share`), 32);
}

/** docs/decisions/relay-sessions.md: a secret's public id, stored with each session (16 hex digits of its SHA-256). */
export function sessionSecretId(sessionSecret: Uint8Array, sha256Hex: Sha256Hex = nobleSha256Hex): string {
  return sha256Hex(sessionSecret).slice(0, 16);
}

/** docs/api.md §4.6.2: the headers of a request in a session. */
export function macRequest(request: RequestToSign, session: { id: string; key: Uint8Array }, now: Date, nonce: string, mac: SessionMac = nobleSessionMac, sha256Hex: Sha256Hex = nobleSha256Hex): Record<string, string> {
  if (!NONCE.test(nonce)) throw new TypeError('nonce must be 16-64 base64url characters');
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const message = new TextEncoder().encode(labelledRequestString(SESSION_SCHEME, request, { timestamp, nonce }, sha256Hex));
  return {
    [SESSION_HEADER]: `CaliopSession id=${session.id}, mac=${toBase64url(mac(session.key, message))}`,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
  };
}

export type SessionHeaderCheck =
  | { readonly ok: true; readonly sessionId: string; readonly mac: Uint8Array; readonly timestamp: number; readonly nonce: string }
  | { readonly ok: false; readonly reason: 'unsigned' | 'malformed' | 'stale_timestamp'; readonly detail: string };

/** docs/api.md §4.6.3 steps 1-2: the three headers, well-formed, alone (no Caliop-Device or -Signature beside them), in the window. */
export function readSessionHeaders(headers: (name: string) => string | undefined, now: Date): SessionHeaderCheck {
  const authorization = headers(SESSION_HEADER);
  const timestamp = headers(SIGNATURE_HEADERS.timestamp);
  const nonce = headers(SIGNATURE_HEADERS.nonce);
  if (authorization === undefined || timestamp === undefined || nonce === undefined) {
    return { ok: false, reason: 'unsigned', detail: 'a request in a session needs Authorization: CaliopSession, Caliop-Timestamp and Caliop-Nonce' };
  }
  if (headers(SIGNATURE_HEADERS.device) !== undefined || headers(SIGNATURE_HEADERS.signature) !== undefined) {
    return { ok: false, reason: 'malformed', detail: 'a request is either signed or in a session, not both: Caliop-Device and Caliop-Signature go without Authorization: CaliopSession' };
  }
  const parsed = AUTHORIZATION.exec(authorization);
  const mac = parsed === null ? null : fromBase64url(parsed[2] as string);
  if (parsed === null || mac === null || mac.length !== 32 || fromBase64url(parsed[1] as string) === null) {
    return { ok: false, reason: 'malformed', detail: 'Authorization must be "CaliopSession id=SESSION, mac=MAC" (base64url, 16 and 32 bytes)' };
  }
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: 'malformed', detail: 'Caliop-Timestamp must be decimal Unix seconds' };
  if (!NONCE.test(nonce)) return { ok: false, reason: 'malformed', detail: 'Caliop-Nonce must be 16-64 base64url characters' };
  const seconds = Number(timestamp);
  const stale = staleTimestamp(seconds, now);
  if (stale !== null) return { ok: false, reason: 'stale_timestamp', detail: stale };
  return { ok: true, sessionId: parsed[1] as string, mac, timestamp: seconds, nonce };
}

/** docs/api.md §4.6.3 step 4: the MAC the relay computes for this request under K. */
export function expectedMac(request: RequestToSign, fields: SignedFields, key: Uint8Array, mac: SessionMac = nobleSessionMac, sha256Hex: Sha256Hex = nobleSha256Hex): Uint8Array {
  return mac(key, new TextEncoder().encode(labelledRequestString(SESSION_SCHEME, request, fields, sha256Hex)));
}

/** The immutable facts of a session that decide it (the relay caches them with K). */
export interface SessionFacts {
  /** Unix seconds. */
  readonly expiresAt: number;
}

/** docs/api.md §4.6.3 step 3: 'expired' at or past `expiresAt` (absolute, never extended), else 'live'. */
export function sessionState(facts: SessionFacts, nowSeconds: number): 'live' | 'expired' {
  return nowSeconds >= facts.expiresAt ? 'expired' : 'live';
}

/** docs/api.md §4.6.4: whether the client should open a new session before its next request. */
export function sessionNeedsRenewal(facts: { openedAt: number; expiresAt: number }, nowSeconds: number): boolean {
  return facts.expiresAt - nowSeconds < (facts.expiresAt - facts.openedAt) * SESSION_RENEW_FRACTION;
}

/** docs/api.md §4.6.1: of a device's live sessions (oldest first), those that opening one more ends. */
export function sessionsToEnd<T>(liveOldestFirst: readonly T[], max: number = MAX_SESSIONS_PER_DEVICE): readonly T[] {
  const over = liveOldestFirst.length + 1 - max;
  return over > 0 ? liveOldestFirst.slice(0, over) : [];
}
