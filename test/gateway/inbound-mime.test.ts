// docs/gateway.md §3.4, §3.5: known answers for the pure readers of inbound mail.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OuterHeadersSchema } from '../../src/api/facts.js';
import { parseHeaderFields, splitHeaderAndBody } from '../../src/api/mime-fields.js';
import { findArrivedCiphertext, outerHeadersOf, readReceivedClaim, receivedClaims, removeHeaderFields } from '../../src/relay/gateway/inbound-mime.js';
import { cpuMs } from '../helpers/cpu-time.js';

const ARMOR = '-----BEGIN PGP MESSAGE-----\n\nwV4DAAAAAAAAAAASAQdA\n=abcd\n-----END PGP MESSAGE-----\n';

function pgpMime(parts: string[], boundary = 'b1', protocol = 'application/pgp-encrypted'): string {
  return [
    'From: a@outside.test',
    `Content-Type: multipart/encrypted; protocol="${protocol}";`,
    `\tboundary="${boundary}"`,
    '',
    'preamble',
    ...parts.flatMap((part) => [`--${boundary}`, part]),
    `--${boundary}--`,
    '',
  ].join('\r\n');
}
const CONTROL = 'Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n';
const DATA = `Content-Type: application/octet-stream; name="encrypted.asc"\r\n\r\n${ARMOR.replace(/\n/g, '\r\n')}`;

describe('findArrivedCiphertext', () => {
  it('PGP/MIME: the armored block, LF line ends, as gpg writes it', () => {
    expect(findArrivedCiphertext(pgpMime([CONTROL, DATA]))).toEqual({ kind: 'pgp-mime', armoredMessage: ARMOR });
  });
  it('inline PGP: a text/plain body that is exactly one armored message', () => {
    expect(findArrivedCiphertext(`From: a@b.test\r\nSubject: x\r\n\r\n\r\n${ARMOR}\r\n`)).toEqual({ kind: 'inline', armoredMessage: ARMOR });
  });
  it('anything else arrived readable', () => {
    expect(findArrivedCiphertext(`From: a@b.test\r\n\r\nHello\r\n${ARMOR}`)).toBeNull();
    expect(findArrivedCiphertext(pgpMime([CONTROL, DATA, DATA]))).toBeNull();
    expect(findArrivedCiphertext(pgpMime(['Content-Type: application/pgp-encrypted\r\n\r\nVersion: 2\r\n', DATA]))).toBeNull();
    expect(findArrivedCiphertext(pgpMime([CONTROL, DATA], 'b1', 'application/pgp-signature'))).toBeNull();
    expect(findArrivedCiphertext(pgpMime([CONTROL, DATA]).replace('multipart/encrypted', 'multipart/signed'))).toBeNull();
    expect(findArrivedCiphertext(pgpMime([CONTROL, DATA]).replace('--b1--', '--b2--'))).toBeNull();
    expect(findArrivedCiphertext(`Content-Type: text/html\r\n\r\n${ARMOR}`)).toBeNull();
    expect(findArrivedCiphertext(`Content-Transfer-Encoding: base64\r\n\r\n${ARMOR}`)).toBeNull();
  });
});

// docs/gateway.md §3.8, docs/message-payload.md §4.5: raw 8-bit outer headers, read by the stick's rule.
describe('outerHeadersOf: raw 8-bit bytes that are not UTF-8', () => {
  /** The header fields of a message as the gateway holds it (byte for byte, latin1). */
  const fieldsOf = (raw: Buffer) => parseHeaderFields(splitHeaderAndBody(raw.toString('latin1')).headerText);

  it('PGP/MIME from gpg, Subject in windows-1252 and From name in Latin-1 bytes (Python\'s email): windows-1252 (€ – ’, not C1 controls), a guess recorded per field', () => {
    const raw = readFileSync(join(import.meta.dirname, '..', 'vectors', 'mail-text', 'outer-8bit-headers.pgpmime.eml'));
    expect(findArrivedCiphertext(raw.toString('latin1'))?.kind).toBe('pgp-mime');
    const outer = outerHeadersOf(fieldsOf(raw));
    expect(outer.subject).toBe('Facture réglée – 20 €, c’est payé ß');
    expect(outer.from).toBe('Renée Dupré <text@example.org>');
    expect(outer.charsetGuess).toEqual({ charset: 'windows-1252', fields: ['subject', 'from'] });
    expect(outer.messageId).toBe('outer-8bit@example.org');
    expect(OuterHeadersSchema.parse(outer)).toEqual(outer);
  });

  it('UTF-8 bytes (RFC 6532) and ASCII: read as they are, no guess, no field added (facts as before)', () => {
    const outer = outerHeadersOf(fieldsOf(Buffer.from('From: Renée <a@outside.test>\r\nSubject: Grüße =?iso-8859-1?Q?caf=E9?=\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nx')));
    expect(outer.subject).toBe('Grüße café');
    expect(outer.from).toBe('Renée <a@outside.test>');
    expect('charsetGuess' in outer).toBe(false);
  });

  it('a guessed Date only: said for that field alone', () => {
    const outer = outerHeadersOf(fieldsOf(Buffer.from('From: a@outside.test\r\nSubject: ok\r\nDate: Mardi 1er d\xe9cembre\r\n\r\nx', 'latin1')));
    expect(outer.date).toBe('Mardi 1er décembre');
    expect(outer.charsetGuess).toEqual({ charset: 'windows-1252', fields: ['date'] });
  });
});

describe('receivedClaims (one real-world style each)', () => {
  it.each([
    [
      'Postfix with TLS',
      'from mail.example.org (mail.example.org [203.0.113.5])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits))\r\n\t(No client certificate requested)\r\n\tby mx.example.com (Postfix) with ESMTPS id 4Q1x2Y3z4;\r\n\tThu, 26 Nov 2026 10:00:00 +0100 (CET)',
      { from: 'mail.example.org', by: 'mx.example.com', tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, verifiedByRelay: false },
    ],
    [
      'Postfix without TLS',
      'from localhost (localhost [127.0.0.1]) by mx.example.com (Postfix) with ESMTP id 4Q1x; Thu, 26 Nov 2026 10:00:00 +0100',
      { from: 'localhost', by: 'mx.example.com', tls: null, verifiedByRelay: false },
    ],
    [
      'Exim',
      'from [198.51.100.7] (helo=laptop)\r\n\tby smtp.example.net with esmtpsa  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n\t(Exim 4.96)\r\n\t(envelope-from <x@example.net>)\r\n\tid 1r2s3t-000ABC-1x; Thu, 26 Nov 2026 09:00:00 +0000',
      { from: '[198.51.100.7]', by: 'smtp.example.net', tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, verifiedByRelay: false },
    ],
    [
      'Gmail internal',
      'by 2002:a05:6a10:1234:b0:5a1:2b3c:4d5e with SMTP id abc123csp456789pxb;\r\n        Thu, 26 Nov 2026 01:02:03 -0800 (PST)',
      { from: '', by: '2002:a05:6a10:1234:b0:5a1:2b3c:4d5e', tls: null, verifiedByRelay: false },
    ],
    [
      'Microsoft',
      'from AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:208:1::1) by\r\n AM0PR01MB5678.eurprd01.prod.exchangelabs.com (2603:10a6:208:2::2) with\r\n Microsoft SMTP Server (version=TLS1_2,\r\n cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7000.1; Thu, 26 Nov\r\n 2026 09:00:00 +0000',
      { from: 'AM0PR01MB1234.eurprd01.prod.exchangelabs.com', by: 'AM0PR01MB5678.eurprd01.prod.exchangelabs.com', tls: { version: 'TLSv1.2', cipher: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' }, verifiedByRelay: false },
    ],
    [
      'Sendmail',
      'from host.example.edu (host.example.edu [192.0.2.9])\r\n\tby mail.example.edu (8.17.1/8.17.1) with ESMTPS id 5AQ9x0aB012345\r\n\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)\r\n\tfor <bob@example.edu>; Thu, 26 Nov 2026 09:00:00 GMT',
      { from: 'host.example.edu', by: 'mail.example.edu', tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, verifiedByRelay: false },
    ],
    [
      'ours',
      'from mail.signed.test ([127.0.0.1])\r\n\tby example.test (caliop-relay) with ESMTPS (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384);\r\n\tThu, 26 Nov 2026 20:00:00 +0000',
      { from: 'mail.signed.test', by: 'example.test', tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, verifiedByRelay: false },
    ],
  ])('%s', (_name, value, expected) => {
    const [field] = parseHeaderFields(`Received: ${value}`);
    expect(readReceivedClaim(field?.value ?? '')).toEqual(expected);
  });

  it('oldest first; an unreadable line is skipped, never guessed', () => {
    const fields = parseHeaderFields(
      'Received: from b.test by c.test with ESMTP; Thu, 26 Nov 2026 10:00:02 +0000\r\nReceived: garbage without clauses\r\nReceived: from a.test by b.test with ESMTPS; Thu, 26 Nov 2026 10:00:01 +0000\r\nSubject: x',
    );
    expect(receivedClaims(fields).map((hop) => `${hop.from}>${hop.by}:${hop.tls === null ? 'plain' : 'tls'}`)).toEqual(['a.test>b.test:tls', 'b.test>c.test:plain']);
  });
});

describe('removeHeaderFields', () => {
  it('drops whole folded fields and keeps every other byte', () => {
    const raw = 'Authentication-Results: example.test;\r\n dkim=pass\r\nFrom: a@b.test\r\nAuthentication-Results: other.test; spf=pass\r\n\r\nbody\r\nAuthentication-Results: example.test; in the body\r\n';
    const out = removeHeaderFields(raw, (field) => field.name.toLowerCase() === 'authentication-results' && field.value.startsWith('example.test;'));
    expect(out).toBe('From: a@b.test\r\nAuthentication-Results: other.test; spf=pass\r\n\r\nbody\r\nAuthentication-Results: example.test; in the body\r\n');
  });
});

// docs/fuzzing.md: what an SMTP peer sends is read on the relay's one thread, API included. A
// run of blanks inside a line of a PGP/MIME body, or of empty lines in its control part, cost
// the square of the run (256 KiB: a minute, 1 MiB: minutes, every mailbox of the relay waiting). Each size runs in
// its own task, so the test's bound can fire between them.
describe('attack: blank runs in a PGP/MIME body cost time in their length, not in their square', () => {
  it('up to 256 KiB of spaces in a line, of tabs before the close delimiter, of empty lines in the control part', async () => {
    // A bound on CPU time (test/helpers/cpu-time.ts), not the 30 s of wall time it was: a loaded
    // machine (load 20-32 in issue 16's loop) stretched the wall time 7-15x.
    const ms = await cpuMs(async () => {
      for (let size = 32 * 1024; size <= 256 * 1024; size *= 2) {
        const messages = [
          pgpMime(['Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1', `Content-Type: application/octet-stream\r\n\r\n${ARMOR}${' '.repeat(size)}x`]),
          pgpMime(['Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1', `Content-Type: application/octet-stream\r\n\r\n${ARMOR}`]).replace('--b1--', `--b1--${'\t'.repeat(size)}`),
          pgpMime([`Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1${'\r\n'.repeat(size)}x`, `Content-Type: application/octet-stream\r\n\r\n${ARMOR}`]),
          pgpMime([`Content-Type: application/pgp-encrypted\r\n\r\n${'\r\n'.repeat(size)}x`, `Content-Type: application/octet-stream\r\n\r\n${ARMOR}`]),
        ];
        const found = messages.map((message) => findArrivedCiphertext(message)?.kind ?? null);
        // Padding after the close delimiter is allowed (RFC 2046 §5.1.1); junk after the armor, or no Version line, is not PGP/MIME.
        expect(found, `${size}`).toEqual([null, 'pgp-mime', 'pgp-mime', null]);
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    expect(ms).toBeLessThan(15_000);
  });
});
