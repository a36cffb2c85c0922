// Issue 9, docs/message-payload.md §3.1-§3.2: the rare mail on which the two receive paths
// (whole: postal-mime; streamed: src/core/mime-stream.ts) gave different results, each read by
// both and required to give the same `read --json` facts (text, subject, attachments with
// their SHA-256, signature verdict, exposure):
// - reports (RFC 6522): bounces as Postfix and Exim write them (RFC 3464), an abuse report
//   (RFC 5965), a TLS-RPT report (RFC 8460 §5.3), from test/fixtures/mail/reports/;
// - forwarded messages nested past the bounds (3 attached, 5 inline), built by Python's `email`;
// - text-mode signatures (RFC 9580 §5.2.4) over Latin-1 text and lone CRs, made by gpg;
// - version 6 signatures (RFC 9580 §5.2.3: salted), made by openpgp.js with a v6 key (sq 0.27,
//   on sequoia-openpgp 1.12, makes none).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contact } from '../src/core/vault-contents.js';
import { MessageStore } from '../src/service/message-store.js';
import { makeGpg } from './helpers/gpg.js';
import { readBothPaths, type Reader } from './helpers/read-both-paths.js';
import { temporaryFolder } from './helpers/temp-folder.js';

const scratch = temporaryFolder('mime-stream-edges');
const gpg = makeGpg(scratch.path, { trustAlways: true });
let reader: Reader;
let aliceCert: openpgp.PublicKey;

/** A report as its MTA sends it: the fixture's lines ended by CRLF. */
function report(name: string): Buffer {
  return Buffer.from(readFileSync(join(import.meta.dirname, 'fixtures/mail/reports', name), 'utf8').replace(/\r?\n/g, '\r\n'));
}

/** Python's `email` (policy SMTP: CRLF line ends); `script` builds `m`. */
function python(script: string): Buffer {
  const run = spawnSync('python3', ['-c', ['import sys', 'from email.message import EmailMessage, MIMEPart', 'from email.policy import SMTP', script, 'sys.stdout.buffer.write(m.as_bytes(policy=SMTP))'].join('\n')]);
  expect(run.status, run.stderr?.toString()).toBe(0);
  return run.stdout;
}

/**
 * `levels` messages each forwarding the one before, each with a text and a file of its own.
 * `attach(level)`: forwarded as an attachment (Content-Disposition: attachment) or inline (none).
 */
function forwards(levels: number, attach: 'all' | 'none' | 'even'): Buffer {
  return python([
    "m = EmailMessage(); m['From'] = 'L0 <l0@x.test>'; m['Subject'] = 'level 0'; m['Date'] = 'Mon, 30 Nov 2026 10:00:00 +0000'",
    "m.set_content('text 0\\n'); m.add_attachment(b'zero\\n', maintype='text', subtype='plain', filename='f0.txt')",
    `for level in range(1, ${levels + 1}):`,
    "    o = EmailMessage(); o['From'] = f'L{level} <l{level}@x.test>'; o['Subject'] = f'level {level}'; o['Date'] = 'Mon, 30 Nov 2026 10:00:00 +0000'",
    "    o.set_content(f'text {level}\\n'); o.add_attachment(f'file {level}\\n'.encode(), maintype='application', subtype='octet-stream', filename=f'f{level}.bin')",
    `    if '${attach}' == 'all' or ('${attach}' == 'even' and level % 2 == 0): o.add_attachment(m)`,
    '    else:',
    '        p = MIMEPart(); p.set_content(m); o.attach(p)',
    '    m = o',
  ].join('\n'));
}

function encrypt(payload: Uint8Array, extra: readonly string[] = []): string {
  return gpg.run(['--armor', '--encrypt', '--compress-algo', 'none', ...extra, '--recipient', reader.bobKey.getFingerprint().toUpperCase()], payload).toString();
}

function contact(cert: openpgp.PublicKey): Contact {
  return { address: 'alice@outside.test', fingerprint: cert.getFingerprint().toUpperCase(), armoredCert: cert.armor(), verification: 'unverified', source: 'imported', addedAt: new Date().toISOString() };
}

/** RFC 3156 §5: `signedPart` as it stands, its detached armored signature after. */
function pgpMime(signedPart: Buffer, signature: string, micalg: string): Buffer {
  return Buffer.concat([
    Buffer.from(['From: Alice Outside <alice@outside.test>', 'To: bob@caliop.test', 'Subject: signed', 'MIME-Version: 1.0', `Content-Type: multipart/signed; micalg=${micalg}; protocol="application/pgp-signature"; boundary="sig"`, '', '--sig', ''].join('\r\n')),
    signedPart,
    Buffer.from(['', '--sig', 'Content-Type: application/pgp-signature; name="signature.asc"', '', signature.replace(/\r?\n/g, '\r\n'), '--sig--', ''].join('\r\n')),
  ]);
}

/** Latin-1 bytes (not UTF-8), a lone CR, a bare LF, trailing spaces: text mode's hard cases (docs/message-payload.md §6.4). */
const LATIN1_LINES = Buffer.concat([Buffer.from('Caf'), Buffer.from([0xe9, 0x20, 0xe0]), Buffer.from(' 8h.\rlone CR\r\nbare LF  \nCRLF\r\nlast')]);
/** RFC 3156 §5: what a binary-mode signature covers, every line end CRLF. */
const canonical = (bytes: Buffer) => Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

beforeAll(async () => {
  gpg.run(['--quick-gen-key', 'Alice Outside <alice@outside.test>', 'ed25519', 'sign', 'never']);
  aliceCert = await openpgp.readKey({ armoredKey: gpg.run(['--armor', '--export', 'alice@outside.test']).toString() });
  const bob = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Bob', email: 'bob@caliop.test' }], format: 'object' });
  gpg.run(['--import'], Buffer.from(bob.publicKey.armor()));
  reader = { bobKey: bob.privateKey, store: await MessageStore.create(join(scratch.path, 'store'), randomBytes(32), randomBytes) };
}, 120_000);

afterAll(() => {
  gpg.kill();
  scratch.remove();
});

describe('reports (RFC 6522): the forwarded message is an attachment, shown below the text, on both paths', { timeout: 120_000 }, () => {
  it('a bounce as Postfix writes it (RFC 3464): the returned message listed, its own files after', async () => {
    const { whole, streamed } = await readBothPaths(reader, encrypt(report('dsn-postfix.eml')), [], [], []);
    expect(whole.subject).toBe('Undelivered Mail Returned to Sender');
    expect(whole.body).toContain('This is the mail system at host mx.outside.test.');
    expect(whole.body).toContain('---------- Forwarded message ----------\nFrom: Alice Outside <alice@outside.test>\nDate: 2026-12-01T02:59:57.000Z\nSubject: Le compte rendu signé\n\nVoici le compte rendu de la réunion.');
    expect(whole.attachments.map((a) => [a.name, a.type])).toEqual([
      ['', 'message/delivery-status'],
      ['Le compte rendu signé.eml', 'message/rfc822'],
      ['compte-rendu.pdf', 'application/pdf'],
      ['présents.csv', 'text/csv'],
    ]);
    expect(streamed).toEqual(whole);
  });

  it('a bounce as Exim writes it (RFC 3464), its returned message quoted-printable', async () => {
    const { whole, streamed } = await readBothPaths(reader, encrypt(report('dsn-exim.eml')), [], [], []);
    expect(whole.body).toContain('Subject: Les chiffres\n\nLes chiffres du trimestre, en pièce jointe.');
    expect(whole.attachments.map((a) => [a.name, a.size])).toEqual([['', 180], ['Les chiffres.eml', 727], ['chiffres.txt', 15]]);
    expect(streamed).toEqual(whole);
  });

  it('an abuse report (RFC 5965), its message marked inline: an attachment all the same', async () => {
    const { whole, streamed } = await readBothPaths(reader, encrypt(report('arf-abuse.eml')), [], [], []);
    expect(whole.body).toContain('Subject: Earn money\n\nSpam Spam Spam');
    expect(whole.attachments.map((a) => [a.name, a.type])).toEqual([['', 'message/feedback-report'], ['Earn money.eml', 'message/rfc822']]);
    expect(streamed).toEqual(whole);
  });

  it('a TLS-RPT report (RFC 8460 §5.3): its gzipped JSON an attachment', async () => {
    const { whole, streamed } = await readBothPaths(reader, encrypt(report('tlsrpt.eml')), [], [], []);
    expect(whole.attachments.map((a) => [a.name, a.type])).toEqual([['mail.sender.test!caliop.test!1764460800!1764547199.json.gz', 'application/tlsrpt+gzip']]);
    expect(streamed).toEqual(whole);
  });
});

describe('forwarded messages past the bounds: 3 attached, 5 inline (docs/message-payload.md §3.2)', { timeout: 120_000 }, () => {
  it('5 deep, each as an attachment: 3 read, the 4th listed unread', async () => {
    const { whole, streamed } = await readBothPaths(reader, encrypt(forwards(5, 'all')), [], [], []);
    expect(whole.body).toContain('Subject: level 2\n\ntext 2');
    expect(whole.body).not.toContain('text 1');
    expect(whole.attachments.map((a) => a.name)).toEqual(['f5.bin', 'level 4.eml', 'f4.bin', 'level 3.eml', 'f3.bin', 'level 2.eml', 'f2.bin', '']);
    expect(streamed).toEqual(whole);
  });

  it('7 deep, each inline: 5 read in place, the 6th an attachment read as a forwarded one', async () => {
    const { whole, streamed } = await readBothPaths(reader, encrypt(forwards(7, 'none')), [], [], []);
    for (let level = 0; level <= 7; level += 1) expect(whole.body).toContain(`text ${level}`);
    expect(whole.attachments.map((a) => a.name)).toEqual(['f7.bin', 'f6.bin', 'f5.bin', 'f4.bin', 'f3.bin', 'f2.bin', 'level 1.eml', 'f1.bin', 'f0.txt']);
    expect(streamed).toEqual(whole);
  });

  it('7 deep, inline and attached in turn: text files of inline forwarded messages keep their bytes', async () => {
    const { whole, streamed } = await readBothPaths(reader, encrypt(forwards(7, 'even')), [], [], []);
    expect(whole.attachments.find((a) => a.name === 'f0.txt')?.size).toBe(5);
    expect(streamed).toEqual(whole);
  });
});

describe('signatures: text mode over Latin-1 and lone CRs, version 6 (RFC 9580 §5.2.4)', { timeout: 120_000 }, () => {
  it('PGP/MIME signed by gpg in text mode and in binary mode, over a Latin-1 part with a lone CR and a bare LF: good on both paths', async () => {
    const part = Buffer.concat([Buffer.from('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), LATIN1_LINES]);
    for (const mode of [['--textmode'], []]) {
      // Text mode: gpg canonicalizes; binary mode: the sender signs the canonical form, sends the bare LF.
      const signature = gpg.run(['--armor', '--detach-sign', ...mode, '--local-user', 'alice@outside.test'], mode.length > 0 ? part : canonical(part)).toString();
      const { whole, streamed } = await readBothPaths(reader, encrypt(pgpMime(part, signature, 'pgp-sha512')), [contact(aliceCert)], [aliceCert], [aliceCert]);
      expect(whole.signature, mode.join()).toBe('good');
      expect(whole.body, mode.join()).toContain('Café à 8h.');
      expect(streamed, mode.join()).toEqual(whole);
    }
  });

  it('signed and encrypted by gpg in text mode over Latin-1 and lone CRs; inline-signed in text mode: good on both paths', async () => {
    const message = Buffer.concat([Buffer.from('From: Alice Outside <alice@outside.test>\r\nSubject: t\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n'), LATIN1_LINES]);
    const signedEncrypted = await readBothPaths(reader, encrypt(message, ['--sign', '--textmode', '--local-user', 'alice@outside.test']), [contact(aliceCert)], [aliceCert], [aliceCert]);
    expect(signedEncrypted.whole.signature).toBe('good');
    expect(signedEncrypted.streamed).toEqual(signedEncrypted.whole);
    const inline = gpg.run(['--sign', '--armor', '--textmode', '--local-user', 'alice@outside.test'], LATIN1_LINES).toString();
    const inlineSigned = await readBothPaths(reader, encrypt(Buffer.from(`From: Alice Outside <alice@outside.test>\r\nSubject: inline\r\n\r\n${inline}`)), [contact(aliceCert)], [aliceCert], [aliceCert]);
    expect(inlineSigned.whole.signature).toBe('good');
    expect(inlineSigned.streamed).toEqual(inlineSigned.whole);
  });

  it('a version 6 key: PGP/MIME signed (salted, text mode and binary) and signed inside the encryption, good on both paths', async () => {
    const v6 = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Alice Outside', email: 'alice@outside.test' }], format: 'object', config: { v6Keys: true } });
    const part = Buffer.from('Content-Type: text/plain; charset=utf-8\r\n\r\nSigné avec une clé v6.\r\n');
    for (const format of ['binary', 'text'] as const) {
      const message = format === 'binary' ? await openpgp.createMessage({ binary: part }) : await openpgp.createMessage({ text: part.toString('utf8') });
      const signature = await openpgp.sign({ message, signingKeys: v6.privateKey, detached: true, format: 'armored' });
      const { whole, streamed } = await readBothPaths(reader, encrypt(pgpMime(part, signature, 'pgp-sha256')), [contact(v6.publicKey)], [v6.publicKey], [v6.publicKey]);
      expect(whole.signature, format).toBe('good');
      expect(streamed, format).toEqual(whole);
    }
    const inside = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: Buffer.from('From: Alice Outside <alice@outside.test>\r\nSubject: v6\r\n\r\nBonjour.\r\n') }), encryptionKeys: reader.bobKey.toPublic(), signingKeys: v6.privateKey, format: 'armored' });
    const signedInside = await readBothPaths(reader, inside, [contact(v6.publicKey)], [v6.publicKey], [v6.publicKey]);
    expect(signedInside.whole.signature).toBe('good');
    expect(signedInside.streamed).toEqual(signedInside.whole);
  });
});
