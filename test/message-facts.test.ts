// docs/exposure.md §2.1: the stick's verdicts become the index's stick facts.
import { describe, expect, it } from 'vitest';
import type { RelayFacts } from '../src/api/facts.js';
import { assessReceived } from '../src/core/exposure.js';
import { stickFactsOf } from '../src/core/message-facts.js';

const internal: RelayFacts = { route: 'internal', receivedAt: '2026-11-26T10:00:00.000Z', submittedBy: 'alice@caliop.example', transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } };
const sealedInbound: RelayFacts = {
  route: 'smtp-inbound',
  receivedAt: '2026-11-26T10:00:00.000Z',
  peer: { host: 'mx.elsewhere.example', ip: '127.0.0.1' },
  hops: [{ from: 'mx.elsewhere.example', by: 'caliop.example', tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, verifiedByRelay: true }],
  auth: { dkim: [], spf: { domain: 'elsewhere.example', result: 'none' }, dmarc: { domain: 'elsewhere.example', result: 'none' } },
  relayHeldPlaintext: true,
  arrivedEncrypted: false,
};

describe('stickFactsOf', () => {
  it('an internal, signed message from a verified contact is e2e-verified', () => {
    const stick = stickFactsOf({ decrypted: true, signature: 'good', senderKey: 'verified', protectedHeaders: true }, internal);
    expect(stick).toEqual({ encryptedToMe: true, signature: 'valid', senderKey: 'verified-in-person', headersProtected: true });
    expect(assessReceived({ stick, relay: internal }).level).toBe('e2e-verified');
  });

  it('a message the relay sealed on arrival was not encrypted by its sender (relay_seal_is_not_e2e)', () => {
    const stick = stickFactsOf({ decrypted: true, signature: 'unsigned', senderKey: 'unknown', protectedHeaders: false }, sealedInbound);
    expect(stick.encryptedToMe).toBe(false);
    expect(assessReceived({ stick, relay: sealedInbound }).level).toBe('tls-only');
  });

  it('a valid signature by someone else than the From address is a forgery: alarm (from_line_forgery)', () => {
    const stick = stickFactsOf({ decrypted: true, signature: 'signer-mismatch', senderKey: 'unverified', protectedHeaders: true }, internal);
    expect(stick.signature).toBe('invalid');
    expect(assessReceived({ stick, relay: internal }).level).toBe('alarm');
  });

  it('a changed sender key is an alarm whatever else is good', () => {
    const stick = stickFactsOf({ decrypted: true, signature: 'good', senderKey: 'changed', protectedHeaders: true }, internal);
    expect(assessReceived({ stick, relay: internal }).level).toBe('alarm');
  });

  it('our own sent copy counts as verified in person', () => {
    expect(stickFactsOf({ decrypted: true, signature: 'good', senderKey: 'self', protectedHeaders: true }, internal).senderKey).toBe('verified-in-person');
  });
});
