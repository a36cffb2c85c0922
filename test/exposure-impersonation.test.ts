// docs/exposure.md §4.1.1: the From line judged against what the stick and the relay know.
import { describe, expect, it } from 'vitest';
import { assessReceived, checkExposureFacts } from '../src/core/exposure.js';
import { displayMailbox } from '../src/core/mail-content.js';

const internal = { route: 'internal' as const, receivedAt: '2026-11-30T10:00:00.000Z', submittedBy: 'mallory@caliop.test', transport: { protocol: 'https' as const, tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } };
const stick = { encryptedToMe: true, signature: 'valid' as const, senderKey: 'tofu' as const, headersProtected: true };

describe('impersonation', () => {
  it('an internal message another account submitted under a contact\'s From: from-not-submitter, the alarm', () => {
    const assessment = assessReceived({ stick: { ...stick, fromClaim: { kind: 'not-submitter', address: 'bob@caliop.test' } }, relay: internal });
    expect(assessment.level).toBe('alarm');
    const reason = assessment.reasons.find((each) => each.code === 'from-not-submitter')!;
    expect(reason.text.en).toContain('mallory@caliop.test');
    expect(reason.text.en).toContain('bob@caliop.test');
  });

  it('the same message without the claim is e2e-tofu: the claim alone makes the alarm', () => {
    expect(assessReceived({ stick, relay: internal }).level).toBe('e2e-tofu');
  });

  it('an unsigned message naming a contact is capped at tls-only, with the reason', () => {
    const assessment = assessReceived({ stick: { ...stick, signature: 'absent', fromClaim: { kind: 'contact-unproven', address: 'bob@caliop.test' } }, relay: internal });
    expect(['tls-only', 'cleartext', 'alarm']).toContain(assessment.level);
    expect(assessment.reasons.map((each) => each.code)).toContain('from-contact-unproven');
  });

  it('facts with a malformed claim are refused at the boundary', () => {
    expect(() => checkExposureFacts({ stick: { ...stick, fromClaim: { kind: 'trust-me', address: 'x' } }, relay: null })).toThrow(/fromClaim\.kind/);
  });

  it.each([
    ['"bob@caliop.test" <mallory@evil.test>', 'mallory@evil.test ("bob@caliop.test")'],
    ['bob@caliop.test <mallory@evil.test>', 'mallory@evil.test ("bob@caliop.test")'],
    ['Bob <bob@caliop.test>', 'Bob <bob@caliop.test>'],
    ['"bob@caliop.test" <bob@caliop.test>', '"bob@caliop.test" <bob@caliop.test>'],
  ])('%s is shown as %s', (from, shown) => {
    expect(displayMailbox(from)).toBe(shown);
  });
});
