// Autocrypt Level 1 (docs/gateway.md §4.5.1): the header grammar, the peer-state update
// rules and gossip, and what a key from Autocrypt may do to a contact (src/core/autocrypt.ts).
import { describe, expect, it } from 'vitest';
import {
  autocryptContactStep,
  autocryptSkipReason,
  effectiveDate,
  parseAutocryptHeader,
  senderAutocryptHeader,
  updatePeerFromGossip,
  updatePeerFromHeader,
} from '../src/core/autocrypt.js';

const KEY = Buffer.from('a fake transferable public key').toString('base64');
const FPR_A = 'A'.repeat(40);
const FPR_B = 'B'.repeat(40);
const RECEIVED = new Date('2026-11-30T12:00:00Z');

describe('the Autocrypt header (Autocrypt Level 1 §2.1)', () => {
  it('reads addr, prefer-encrypt and folded keydata; any prefer-encrypt but mutual is nopreference', () => {
    const header = parseAutocryptHeader(`addr=Ada@Example.TEST; prefer-encrypt=mutual; keydata= ${KEY.slice(0, 10)} ${KEY.slice(10)}`);
    expect(header).toEqual({ address: 'ada@example.test', preferEncrypt: 'mutual', keydata: new Uint8Array(Buffer.from(KEY, 'base64')) });
    expect(parseAutocryptHeader(`addr=a@b.test; prefer-encrypt=yes; keydata=${KEY}`)?.preferEncrypt).toBe('nopreference');
    expect(parseAutocryptHeader(`addr=a@b.test; _extension=ignored; keydata=${KEY}`)?.address).toBe('a@b.test');
  });

  it('attack: keydata that only looks like base64 (4n+1 characters, misplaced padding) is an invalid header, not an exception that stops sync', () => {
    // Found by scripts/fuzz (cert, seed 5): atob threw InvalidCharacterError out of learnFromAutocrypt.
    for (const keydata of ['AAAAA', 'A', 'A==', 'AB=', 'ABC==', 'AAAA=', `${KEY}A`]) {
      expect(parseAutocryptHeader(`addr=a@b.test; keydata=${keydata}`), keydata).toBeNull();
    }
  });

  it('reads a field Python\'s email package wrote as RFC 2047 encoded-words (a token longer than a line)', () => {
    const written = `addr=a@b.test; =?utf-8?q?keydata?= =?utf-8?q?=3D${KEY.slice(0, 12)}?= =?utf-8?q?${KEY.slice(12, 20)}?= ${KEY.slice(20)}`;
    expect(parseAutocryptHeader(written)?.keydata).toEqual(new Uint8Array(Buffer.from(KEY, 'base64')));
  });

  it.each([
    ['no addr', `keydata=${KEY}`],
    ['no keydata', 'addr=a@b.test'],
    ['keydata not last', `keydata=${KEY}; addr=a@b.test`],
    ['an unknown critical attribute', `addr=a@b.test; type=2; keydata=${KEY}`],
    ['addr twice', `addr=a@b.test; addr=c@d.test; keydata=${KEY}`],
    ['keydata not base64', 'addr=a@b.test; keydata=!!!'],
    ['over 10 KiB', `addr=a@b.test; keydata=${'A'.repeat(10 * 1024)}`],
  ])('is invalid with %s', (_case, value) => {
    expect(parseAutocryptHeader(value)).toBeNull();
  });

  it('the sender header: addr must be the From address; two valid headers are none; the same one twice (outer and protected) is one', () => {
    const ada = `addr=ada@example.test; keydata=${KEY}`;
    expect(senderAutocryptHeader([ada], 'ADA@example.test')?.address).toBe('ada@example.test');
    expect(senderAutocryptHeader([ada], 'mallory@example.test')).toBeNull();
    expect(senderAutocryptHeader([ada, `addr=ada@example.test; keydata=${KEY}AAAA`], 'ada@example.test')).toBeNull();
    expect(senderAutocryptHeader([ada, ` ${ada} `], 'ada@example.test')).not.toBeNull();
  });
});

describe('which messages count (Level 1, "Messages SHOULD be ignored")', () => {
  const facts = { fromAddresses: ['ada@example.test'], autoSubmitted: undefined, contentType: 'text/plain', date: undefined, receivedAt: RECEIVED, autocrypt: [] };
  it('auto-replies, reports and multi-address From are skipped; others are not', () => {
    expect(autocryptSkipReason(facts)).toBeNull();
    expect(autocryptSkipReason({ ...facts, autoSubmitted: 'auto-replied' })).toBe('auto-replied');
    expect(autocryptSkipReason({ ...facts, autoSubmitted: 'no' })).toBeNull();
    expect(autocryptSkipReason({ ...facts, contentType: 'multipart/report' })).toBe('report');
    expect(autocryptSkipReason({ ...facts, fromAddresses: ['a@x.test', 'b@x.test'] })).toBe('from-not-single');
  });

  it('the effective date is the Date, or the receipt when the Date is missing, unreadable or in the future', () => {
    expect(effectiveDate('2026-11-29T08:00:00.000Z', RECEIVED).toISOString()).toBe('2026-11-29T08:00:00.000Z');
    expect(effectiveDate('2027-01-01T00:00:00.000Z', RECEIVED)).toEqual(RECEIVED);
    expect(effectiveDate(undefined, RECEIVED)).toEqual(RECEIVED);
    expect(effectiveDate('not a date', RECEIVED)).toEqual(RECEIVED);
  });
});

describe('updating the peer state (Level 1, "Updating Autocrypt Peer State", steps 1-6)', () => {
  const day = (n: number) => new Date(Date.UTC(2026, 10, n));
  it('a header sets the timestamp, key and preference; a younger one replaces them; an older one changes nothing', () => {
    const first = updatePeerFromHeader(undefined, day(10), { fingerprint: FPR_A, preferEncrypt: 'mutual' });
    expect(first).toEqual({ took: true, peer: { lastSeen: day(10).toISOString(), autocryptTimestamp: day(10).toISOString(), fingerprint: FPR_A, preferEncrypt: 'mutual' } });
    const older = updatePeerFromHeader(first.peer, day(9), { fingerprint: FPR_B, preferEncrypt: 'nopreference' });
    expect(older).toEqual({ took: false, peer: first.peer });
    const younger = updatePeerFromHeader(first.peer, day(12), { fingerprint: FPR_B, preferEncrypt: 'nopreference' });
    expect(younger.took).toBe(true);
    expect(younger.peer).toMatchObject({ fingerprint: FPR_B, preferEncrypt: 'nopreference', autocryptTimestamp: day(12).toISOString(), lastSeen: day(12).toISOString() });
  });

  it('a message without a header only moves last_seen forward, and makes no peer of nobody', () => {
    const peer = updatePeerFromHeader(undefined, day(10), { fingerprint: FPR_A, preferEncrypt: 'mutual' }).peer;
    const later = updatePeerFromHeader(peer, day(20), null);
    expect(later).toEqual({ took: false, peer: { ...peer, lastSeen: day(20).toISOString() } });
    expect(updatePeerFromHeader(undefined, day(20), null)).toEqual({ took: false, peer: undefined });
  });

  it('gossip: a younger gossip key replaces an older one, never the other way; last_seen is not touched', () => {
    const first = updatePeerFromGossip(undefined, day(10), FPR_A);
    expect(first).toEqual({ took: true, peer: { gossipTimestamp: day(10).toISOString(), gossipFingerprint: FPR_A } });
    expect(updatePeerFromGossip(first.peer, day(9), FPR_B).took).toBe(false);
    expect(updatePeerFromGossip(first.peer, day(11), FPR_B).peer?.gossipFingerprint).toBe(FPR_B);
  });
});

describe('what an Autocrypt key may do to a contact (docs/gateway.md §4.5.1)', () => {
  const contact = (verification: 'verified' | 'unverified', source: 'imported' | 'relay-directory' | 'wkd' | 'autocrypt' | 'autocrypt-gossip') => ({ fingerprint: FPR_A, verification, source });
  it('adds where there is no contact, keeps the same key', () => {
    expect(autocryptContactStep(undefined, FPR_B, 'header')).toBe('add');
    expect(autocryptContactStep(undefined, FPR_B, 'gossip')).toBe('add');
    expect(autocryptContactStep(contact('verified', 'imported'), FPR_A, 'header')).toBe('keep');
  });

  it('a key verified in person or pinned from an import, the directory or WKD is never replaced: the changed-key alarm', () => {
    for (const source of ['imported', 'relay-directory', 'wkd', 'autocrypt'] as const) expect(autocryptContactStep(contact('verified', source), FPR_B, 'header')).toBe('change');
    for (const source of ['imported', 'relay-directory', 'wkd'] as const) expect(autocryptContactStep(contact('unverified', source), FPR_B, 'header')).toBe('change');
  });

  it('an unverified key that came from Autocrypt follows the younger header (the spec\'s rule)', () => {
    expect(autocryptContactStep(contact('unverified', 'autocrypt'), FPR_B, 'header')).toBe('replace');
    expect(autocryptContactStep(contact('unverified', 'autocrypt-gossip'), FPR_B, 'header')).toBe('replace');
  });

  it('gossip replaces only earlier gossip, and nothing moves while a change is pending', () => {
    expect(autocryptContactStep(contact('unverified', 'autocrypt-gossip'), FPR_B, 'gossip')).toBe('replace');
    expect(autocryptContactStep(contact('unverified', 'autocrypt'), FPR_B, 'gossip')).toBe('ignore');
    expect(autocryptContactStep(contact('verified', 'imported'), FPR_B, 'gossip')).toBe('ignore');
    const pending = { ...contact('unverified', 'autocrypt'), changedCert: { fingerprint: FPR_B, armoredCert: '', seenAt: RECEIVED.toISOString(), source: 'imported' } };
    expect(autocryptContactStep(pending, 'C'.repeat(40), 'header')).toBe('ignore');
    expect(autocryptContactStep(pending, FPR_B, 'header')).toBe('keep');
  });
});
