// docs/api.md §4.6, the pure core (src/api/relay-session.ts) and the relay's key derivation
// (src/relay/session-keys.ts): known-answer vectors (test/relay/vectors/session/), both sides
// of the X25519 agreement by two implementations (node:crypto at the relay, @noble/curves
// here), the header rules, and the lifetime and oldest-ended rules.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { x25519, ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../../src/api/base64url.js';
import {
  deriveSessionKey,
  expectedMac,
  macRequest,
  MAX_SESSIONS_PER_DEVICE,
  readSessionHeaders,
  relayShareSecret,
  sessionKeyInfo,
  sessionNeedsRenewal,
  sessionsToEnd,
  sessionState,
} from '../../src/api/relay-session.js';
import { canonicalRequestString } from '../../src/api/request-signing.js';
import { runtimeSessionMac } from '../../src/api/session-x25519.js';
import { RelaySessions } from '../../src/relay/session-keys.js';

const VECTORS = join(import.meta.dirname, 'vectors', 'session');

interface Vector {
  description: string;
  sessionSecretHex: string;
  sessionId: string;
  clientSecretHex: string;
  deviceSecretKeyHex: string;
  domain: string;
  relayShare: string;
  sessionKeyHex: string;
  request: { method: string; pathWithQuery: string; bodyUtf8: string; timestamp: string; nonce: string };
  macBase64url: string;
}

describe('known-answer vectors', () => {
  for (const file of readdirSync(VECTORS).filter((name) => name.endsWith('.json')).sort()) {
    const vector = JSON.parse(readFileSync(join(VECTORS, file), 'utf8')) as Vector;
    it(`${file}: ${vector.description}`, () => {
      const relaySecret = relayShareSecret(hexToBytes(vector.sessionSecretHex), vector.sessionId);
      expect(toBase64url(x25519.getPublicKey(relaySecret))).toBe(vector.relayShare);
      const clientShare = toBase64url(x25519.getPublicKey(hexToBytes(vector.clientSecretHex)));
      const info = sessionKeyInfo({ devicePublicKey: toBase64url(ed25519.getPublicKey(hexToBytes(vector.deviceSecretKeyHex))), domain: vector.domain, clientShare, relayShare: vector.relayShare });
      const clientSide = deriveSessionKey(x25519.getSharedSecret(hexToBytes(vector.clientSecretHex), fromBase64url(vector.relayShare)!), vector.sessionId, info);
      const relaySide = deriveSessionKey(x25519.getSharedSecret(relaySecret, fromBase64url(clientShare)!), vector.sessionId, info);
      expect(bytesToHex(clientSide)).toBe(vector.sessionKeyHex);
      expect(bytesToHex(relaySide)).toBe(vector.sessionKeyHex);
      const { method, pathWithQuery, bodyUtf8, timestamp, nonce } = vector.request;
      const request = { method, pathWithQuery, body: new TextEncoder().encode(bodyUtf8), domain: vector.domain };
      // noble's HMAC (the default) and node:crypto's agree.
      expect(toBase64url(expectedMac(request, { timestamp, nonce }, clientSide))).toBe(vector.macBase64url);
      expect(toBase64url(expectedMac(request, { timestamp, nonce }, clientSide, runtimeSessionMac))).toBe(vector.macBase64url);
    });
  }
});

it("the relay's key (node:crypto X25519, derived share) is the client's (noble X25519)", () => {
  const deviceSecretKey = ed25519.utils.randomSecretKey();
  const devicePublicKey = ed25519.getPublicKey(deviceSecretKey);
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const sessions = new RelaySessions(secret, 'Example.Test');
  const clientSecret = x25519.utils.randomSecretKey();
  const clientShare = toBase64url(x25519.getPublicKey(clientSecret));
  const opened = sessions.open(devicePublicKey, clientShare, 1_800_000_000)!;
  expect(opened.record).toMatchObject({ clientShare, openedAt: 1_800_000_000, expiresAt: 1_800_000_900, closedAt: null, secretId: sessions.secretId });
  const info = sessionKeyInfo({ devicePublicKey: toBase64url(devicePublicKey), domain: 'example.test', clientShare, relayShare: opened.relayShare });
  const key = deriveSessionKey(x25519.getSharedSecret(clientSecret, fromBase64url(opened.relayShare)!), opened.record.id, info);
  expect(bytesToHex(sessions.cached(opened.record.id)!.key)).toBe(bytesToHex(key));
  // Another process with the same secret derives the same key from the stored facts alone; one with another secret knows none.
  expect(bytesToHex(new RelaySessions(secret, 'example.test').keyOf(opened.record)!.key)).toBe(bytesToHex(key));
  expect(new RelaySessions(crypto.getRandomValues(new Uint8Array(32)), 'example.test').keyOf(opened.record)).toBeUndefined();
});

it('a low-order client share is refused (RFC 7748 §6.1), never keyed', () => {
  const sessions = new RelaySessions(new Uint8Array(32).fill(1), 'example.test');
  expect(sessions.open(new Uint8Array(32), toBase64url(new Uint8Array(32)), 1_800_000_000)).toBeUndefined();
  expect(() => deriveSessionKey(new Uint8Array(32), 'AAAAAAAAAAAAAAAAAAAAAA', new Uint8Array())).toThrow(/all zero/);
});

describe('headers (docs/api.md §4.6.2, §4.6.3 steps 1-2)', () => {
  const now = new Date('2026-12-02T00:00:00Z');
  const session = { id: 'AAECAwQFBgcICQoLDA0ODw', key: new Uint8Array(32).fill(9) };
  const request = { method: 'GET', pathWithQuery: '/v1/messages', body: new Uint8Array(), domain: 'example.test' };
  const good = macRequest(request, session, now, 'nonce-nonce-nonce-1');
  const read = (headers: Record<string, string>, at = now) => readSessionHeaders((name) => headers[name], at);

  it('a well-formed request is read back', () => {
    const check = read(good);
    expect(check).toMatchObject({ ok: true, sessionId: session.id, nonce: 'nonce-nonce-nonce-1' });
  });
  it('unsigned without one of the three; malformed beside a signature header, or in another spelling', () => {
    expect(read({ ...good, authorization: undefined as unknown as string })).toMatchObject({ ok: false, reason: 'unsigned' });
    expect(read({ ...good, 'caliop-device': 'x' })).toMatchObject({ ok: false, reason: 'malformed' });
    expect(read({ ...good, 'caliop-signature': 'x' })).toMatchObject({ ok: false, reason: 'malformed' });
    expect(read({ ...good, authorization: good.authorization!.replace(', mac=', ',mac=') })).toMatchObject({ ok: false, reason: 'malformed' });
    expect(read({ ...good, authorization: good.authorization!.replace('CaliopSession', 'caliopsession') })).toMatchObject({ ok: false, reason: 'malformed' });
  });
  it('stale outside the window, as a signed request', () => {
    expect(read(good, new Date(now.getTime() + 301_000))).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(read(good, new Date(now.getTime() + 300_000))).toMatchObject({ ok: true });
  });
  it('a session MAC is over a string no signature covers (first line caliop-session-v1)', () => {
    const fields = { timestamp: '1795687200', nonce: 'nonce-nonce-nonce-1' };
    const signedString = canonicalRequestString(request, fields);
    expect(signedString.startsWith('caliop-request-v1\n')).toBe(true);
    const macOfSigned = runtimeSessionMac(session.key, new TextEncoder().encode(signedString));
    expect(bytesToHex(expectedMac(request, fields, session.key))).not.toBe(bytesToHex(macOfSigned));
  });
});

it('lifetime: expired from expiresAt on; renewed when less than a fifth is left', () => {
  expect(sessionState({ expiresAt: 1000 }, 999)).toBe('live');
  expect(sessionState({ expiresAt: 1000 }, 1000)).toBe('expired');
  expect(sessionNeedsRenewal({ openedAt: 100, expiresAt: 1000 }, 819)).toBe(false);
  expect(sessionNeedsRenewal({ openedAt: 100, expiresAt: 1000 }, 821)).toBe(true);
});

it('at most 8 live per device: opening one more ends the oldest', () => {
  const live = Array.from({ length: MAX_SESSIONS_PER_DEVICE }, (_, i) => i);
  expect(sessionsToEnd(live)).toEqual([0]);
  expect(sessionsToEnd(live.slice(0, 7))).toEqual([]);
  expect(sessionsToEnd([...live, 8, 9])).toEqual([0, 1, 2]);
});
