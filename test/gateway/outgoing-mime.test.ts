// docs/gateway.md §4.4, §4.5: known answers for the messages a stick sends outside.
// (That real gpg decrypts the PGP/MIME part is test/gateway/outbound.test.ts.)

import { describe, expect, it } from 'vitest';
import { headerValue, parseHeaderFields, splitHeaderAndBody } from '../../src/api/mime-fields.js';
import { findArrivedCiphertext } from '../../src/relay/gateway/inbound-mime.js';
import { formatPayload } from '../../src/core/message-payload.js';
import {
  boundaryFor,
  buildAutocryptHeader,
  buildInnerMimeEntity,
  buildPgpMimeMessage,
  buildPlainMessage,
  encodeHeaderText,
} from '../../src/core/outgoing-mime.js';

const ARMORED = '-----BEGIN PGP MESSAGE-----\n\nwV4DAAAAAAAAAAASAQdA\n=abcd\n-----END PGP MESSAGE-----\n';
const OUTER = { from: 'alice@caliop.example', to: ['carol@outside.example'], date: '2026-11-26T20:00:00.000Z', messageId: 'm1@caliop.example' };

describe('buildAutocryptHeader', () => {
  it('addr, prefer-encrypt and keydata folded at 76 columns', () => {
    const keydata = Uint8Array.from({ length: 120 }, (_, i) => i);
    const header = buildAutocryptHeader({ address: 'alice@caliop.example', keydata, preferEncrypt: 'mutual' });
    const base64 = Buffer.from(keydata).toString('base64');
    expect(header).toBe(`Autocrypt: addr=alice@caliop.example; prefer-encrypt=mutual; keydata=\r\n ${base64.slice(0, 76)}\r\n ${base64.slice(76, 152)}\r\n ${base64.slice(152)}`);
    expect(buildAutocryptHeader({ address: 'a@b.example', keydata: Uint8Array.of(1, 2, 3) })).toBe('Autocrypt: addr=a@b.example; keydata=\r\n AQID');
  });
  it('refuses empty keydata', () => {
    expect(() => buildAutocryptHeader({ address: 'a@b.example', keydata: new Uint8Array(0) })).toThrow(RangeError);
  });
});

describe('buildPgpMimeMessage', () => {
  it('RFC 3156 §4, byte for byte', () => {
    const message = buildPgpMimeMessage({ ...OUTER, armoredEncryptedPart: ARMORED, autocryptHeader: 'Autocrypt: addr=alice@caliop.example; keydata=\r\n AQID' });
    expect(message).toBe(
      [
        'From: alice@caliop.example',
        'To: carol@outside.example',
        'Subject: ...',
        'Date: Thu, 26 Nov 2026 20:00:00 +0000',
        'Message-ID: <m1@caliop.example>',
        'MIME-Version: 1.0',
        'Autocrypt: addr=alice@caliop.example; keydata=',
        ' AQID',
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="=_caliop_m1caliopexample"',
        '',
        'This is an OpenPGP/MIME encrypted message (RFC 3156).',
        '--=_caliop_m1caliopexample',
        'Content-Type: application/pgp-encrypted',
        'Content-Description: PGP/MIME version identification',
        '',
        'Version: 1',
        '',
        '--=_caliop_m1caliopexample',
        'Content-Type: application/octet-stream; name="encrypted.asc"',
        'Content-Description: OpenPGP encrypted message',
        'Content-Disposition: inline; filename="encrypted.asc"',
        '',
        '-----BEGIN PGP MESSAGE-----',
        '',
        'wV4DAAAAAAAAAAASAQdA',
        '=abcd',
        '-----END PGP MESSAGE-----',
        '',
        '--=_caliop_m1caliopexample--',
        '',
      ].join('\r\n'),
    );
  });
  it('is read back by the gateway reader: the same ciphertext', () => {
    const message = buildPgpMimeMessage({ ...OUTER, armoredEncryptedPart: ARMORED, autocryptHeader: null });
    expect(findArrivedCiphertext(message)).toEqual({ kind: 'pgp-mime', armoredMessage: ARMORED });
    expect(boundaryFor('<x@y>')).toBe('=_caliop_xy');
  });
  it('refuses a part that is not one armored message', () => {
    expect(() => buildPgpMimeMessage({ ...OUTER, armoredEncryptedPart: 'hello', autocryptHeader: null })).toThrow(RangeError);
  });
});

describe('buildPlainMessage and buildInnerMimeEntity', () => {
  it('text/plain, UTF-8, encoded subject, CRLF', () => {
    const message = buildPlainMessage({ ...OUTER, subject: 'Café', body: 'line 1\nline 2', autocryptHeader: null });
    expect(message).toBe(
      [
        'From: alice@caliop.example',
        'To: carol@outside.example',
        'Subject: =?UTF-8?B?Q2Fmw6k=?=',
        'Date: Thu, 26 Nov 2026 20:00:00 +0000',
        'Message-ID: <m1@caliop.example>',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'line 1',
        'line 2',
        '',
      ].join('\r\n'),
    );
    const { headerText } = splitHeaderAndBody(message);
    expect(headerValue(parseHeaderFields(headerText), 'subject')).toBe('=?UTF-8?B?Q2Fmw6k=?=');
    expect(findArrivedCiphertext(message)).toBeNull();
  });
  it('header injection is impossible', () => {
    const message = buildPlainMessage({ ...OUTER, subject: 'x\r\nBcc: eve@evil.example', body: '', autocryptHeader: null });
    expect(message).toContain('Subject: x Bcc: eve@evil.example\r\n');
  });
  it('long non-ASCII subjects become several encoded-words of at most 75 characters', () => {
    const words = encodeHeaderText('é'.repeat(60)).split('\r\n ');
    expect(words.length).toBeGreaterThan(1);
    for (const word of words) expect(word.length).toBeLessThanOrEqual(75);
  });
  it('the inner entity is message-payload.ts\'s protected-headers text', () => {
    const payload = { from: 'alice@caliop.example', to: ['carol@outside.example'], subject: 'Hi', date: OUTER.date, messageId: 'm1@caliop.example', body: 'b' };
    expect(buildInnerMimeEntity(payload)).toBe(formatPayload(payload));
    expect(buildInnerMimeEntity(payload)).toContain('protected-headers="v1"');
  });
});
