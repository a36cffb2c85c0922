// A session opened and used by hand (docs/api.md §4.6), for what RelayClient would never
// send: a MAC over another line, a session request on a signature-only route, a replay.

import { fromBase64url, toBase64url } from '../../../src/api/base64url.js';
import { deriveSessionKey, macRequest, sessionKeyInfo } from '../../../src/api/relay-session.js';
import { newX25519KeyPair, x25519PublicBytes, x25519Shared } from '../../../src/api/session-x25519.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { freshNonce, rawRequest, signedHeaders, type RawAnswer } from './raw-request.js';

export interface RawSession {
  readonly id: string;
  readonly key: Uint8Array;
  readonly expiresAt: string;
}

/** POST /v1/session signed by `deviceSecretKey`, K derived as the client does. */
export async function openRawSession(baseUrl: string, deviceSecretKey: Uint8Array, domain: string, now: Date = new Date()): Promise<RawSession> {
  const own = newX25519KeyPair();
  const clientShare = toBase64url(x25519PublicBytes(own));
  const body = JSON.stringify({ clientShare });
  const path = '/v1/session';
  const answer = await rawRequest(baseUrl, { method: 'POST', path, body, headers: { 'content-type': 'application/json', ...signedHeaders(deviceSecretKey, domain, { method: 'POST', path, body }, { now }) } });
  if (answer.status !== 201) throw new Error(`POST /v1/session answered ${answer.status} ${answer.text}`);
  const opened = answer.json as { session: string; relayShare: string; expiresAt: string };
  const shared = x25519Shared(own, fromBase64url(opened.relayShare)!)!;
  const info = sessionKeyInfo({ devicePublicKey: toBase64url(ed25519.getPublicKey(deviceSecretKey)), domain, clientShare, relayShare: opened.relayShare });
  return { id: opened.session, key: deriveSessionKey(shared, opened.session, info), expiresAt: opened.expiresAt };
}

/** The headers of a request in `session`; `macOver` makes the MAC over another request than the one sent. */
export function sessionHeaders(
  session: RawSession,
  domain: string,
  request: { method: string; path: string; body?: string },
  options: { now?: Date; nonce?: string; macOver?: { method: string; path: string; body?: string } } = {},
): Record<string, string> {
  const over = options.macOver ?? request;
  return macRequest(
    { method: over.method, pathWithQuery: over.path, body: new TextEncoder().encode(over.body ?? ''), domain },
    session,
    options.now ?? new Date(),
    options.nonce ?? freshNonce(),
  );
}

/** One request in `session` (JSON body when there is one). */
export function sessionRequest(baseUrl: string, session: RawSession, domain: string, request: { method: string; path: string; body?: string }, options: Parameters<typeof sessionHeaders>[3] = {}): Promise<RawAnswer> {
  const headers = { ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...sessionHeaders(session, domain, request, options) };
  return rawRequest(baseUrl, { ...request, headers });
}

export const errorCode = (answer: RawAnswer): string | undefined => (answer.json as { error?: { code?: string } } | undefined)?.error?.code;
