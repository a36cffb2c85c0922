// Issue 9, docs/message-payload.md §3.1, docs/store.md §5.2: a message read as a stream (its
// ciphertext in a blob, decrypted and split as it streams, attachments to their own blobs)
// shows what the same message read whole shows. Messages made by real tools: Python's
// `email` builds them, gpg signs them (PGP/MIME detached as neomutt frames it, with and
// without --textmode, CRLF and LF line ends; --clearsign; --sign --armor), a forwarded
// message (message/rfc822, as an attachment and inline), gpg encrypts them to Bob. Each is
// read by both paths (the streamed one called whatever the size: the relay's 1 MiB threshold
// only chooses which one sync takes) and the recorded facts compared: signature status,
// signer, exposure and score, subject, text (a forwarded message's headers and body
// included), attachments' names, types, sizes and SHA-256.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contact, StoredMessage } from '../src/core/vault-contents.js';
import { openStoredMessage } from '../src/service/mail-read.js';
import { MessageStore } from '../src/service/message-store.js';
import { makeGpg } from './helpers/gpg.js';
import { incoming, readBothPaths, readerSession, readFacts } from './helpers/read-both-paths.js';
import { temporaryFolder } from './helpers/temp-folder.js';

const MIB = 1024 * 1024;
const scratch = temporaryFolder('mime-stream-signed');
const gpg = makeGpg(scratch.path, { trustAlways: true });
let bobKey: openpgp.PrivateKey;
let aliceCert: openpgp.PublicKey;
let aliceFingerprint: string;
let store: MessageStore;
/** Files attached: one over a megabyte (the signed part spans many chunks), one small with a non-ASCII name. */
const big = randomBytes(Math.floor(1.5 * MIB));
const small = randomBytes(3000);

/** Python's `email` (policy SMTP: CRLF line ends); `script` builds `m`, the files are argv[1] and argv[2]. */
function python(script: string): Buffer {
  const files = [join(scratch.path, 'big.bin'), join(scratch.path, 'small.pdf')];
  const run = spawnSync('python3', ['-c', [
    'import sys',
    'from email.message import EmailMessage',
    'from email.policy import SMTP',
    'big = open(sys.argv[1], "rb").read()',
    'small = open(sys.argv[2], "rb").read()',
    script,
    'sys.stdout.buffer.write(m.as_bytes(policy=SMTP))',
  ].join('\n'), ...files], { maxBuffer: 64 * MIB });
  expect(run.status, run.stderr?.toString()).toBe(0);
  return run.stdout;
}

const HEADERS = [
  "m['From'] = 'Alice Outside <alice@outside.test>'",
  "m['To'] = 'bob@caliop.test'",
  "m['Date'] = 'Tue, 01 Dec 2026 03:00:00 +0000'",
  "m['Message-ID'] = '<m1@outside.test>'",
].join('\n');

/** The content under a signature: text, the large file, a PDF with a non-ASCII name. */
function content(headers: boolean): Buffer {
  return python([
    'm = EmailMessage()',
    ...(headers ? [HEADERS, "m['Subject'] = 'Signé, avec pièces'"] : []),
    "m.set_content('Bonjour Bob,\\nles deux fichiers, signés.\\n-- \\nAlice\\n')",
    "m.add_attachment(big, maintype='application', subtype='octet-stream', filename='data.bin')",
    "m.add_attachment(small, maintype='application', subtype='pdf', filename='résumé.pdf')",
  ].join('\n'));
}

/** RFC 3156 §5 as neomutt frames it: the signed part as it stands, its detached signature after. */
function pgpMimeSigned(textmode: boolean, lf: boolean, alter?: (signed: Buffer) => Buffer): Buffer {
  let signed = content(false);
  const signature = gpg.run(['--armor', '--detach-sign', ...(textmode ? ['--textmode'] : []), '--digest-algo', textmode ? 'SHA512' : 'SHA256', '--local-user', 'alice@outside.test'], signed).toString();
  if (alter) signed = alter(signed);
  const message = Buffer.concat([
    Buffer.from([
      'From: Alice Outside <alice@outside.test>',
      'To: bob@caliop.test',
      'Subject: =?utf-8?q?Sign=C3=A9=2C_avec_pi=C3=A8ces?=',
      'Date: Tue, 01 Dec 2026 03:00:00 +0000',
      'Message-ID: <m1@outside.test>',
      'MIME-Version: 1.0',
      `Content-Type: multipart/signed; micalg=pgp-${textmode ? 'sha512' : 'sha256'}; protocol="application/pgp-signature"; boundary="sig-b0undary"`,
      '',
      'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)',
      '--sig-b0undary',
      '',
    ].join('\r\n')),
    signed,
    Buffer.from([
      '',
      '--sig-b0undary',
      'Content-Type: application/pgp-signature; name="signature.asc"',
      'Content-Description: OpenPGP digital signature',
      'Content-Disposition: attachment; filename="signature.asc"',
      '',
      signature.replace(/\r?\n/g, '\r\n'),
      '--sig-b0undary--',
      '',
    ].join('\r\n')),
  ]);
  // gpg signed the canonical form: a message sent with LF line ends must still check.
  return lf ? Buffer.from(message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : message;
}

function clearSigned(kind: 'clearsign' | 'inline'): Buffer {
  const text = 'Bonjour Bob,\nle fichier est joint.\n- Alice\n';
  const armored = gpg.run(kind === 'clearsign' ? ['--clearsign', '--local-user', 'alice@outside.test'] : ['--sign', '--armor', '--textmode', '--local-user', 'alice@outside.test'], Buffer.from(text)).toString();
  writeFileSync(join(scratch.path, 'body.txt'), armored);
  return python([
    'm = EmailMessage()',
    HEADERS,
    `m['Subject'] = '${kind}'`,
    `m.set_content(open('${join(scratch.path, 'body.txt')}').read())`,
    "m.add_attachment(big, maintype='application', subtype='octet-stream', filename='data.bin')",
  ].join('\n'));
}

/** A message forwarding two others: one as an attachment (its own PDF inside), one inline; the large file last. */
function forwarding(): Buffer {
  return python([
    'inner = EmailMessage()',
    "inner['From'] = 'Carol <carol@third.test>'",
    "inner['To'] = 'alice@outside.test'",
    "inner['Subject'] = 'Le rapport'",
    "inner['Date'] = 'Mon, 30 Nov 2026 10:00:00 +0000'",
    "inner.set_content('Voici le rapport.\\n')",
    "inner.add_attachment(small, maintype='application', subtype='pdf', filename='rapport.pdf')",
    'second = EmailMessage()',
    "second['From'] = 'Dan <dan@fourth.test>'",
    "second['Subject'] = 'Inline'",
    "second.set_content('Texte transféré en ligne.\\n')",
    "second.add_attachment(b'hello inline', maintype='text', subtype='csv', filename='t.csv')",
    'm = EmailMessage()',
    HEADERS,
    "m['Subject'] = 'Fwd: Le rapport'",
    "m.set_content('Regarde ce que Carol a envoyé.\\n')",
    "m.add_attachment(inner)",
    'from email.message import MIMEPart',
    'p = MIMEPart()',
    "p.set_content(second)",
    'm.attach(p)',
    "m.add_attachment(big, maintype='application', subtype='octet-stream', filename='data.bin')",
  ].join('\n'));
}

/** Both paths for one message, encrypted to Bob by gpg (test/helpers/read-both-paths.ts). */
function bothPaths(payload: Buffer, contacts: readonly Contact[], arrivalKeys: readonly openpgp.PublicKey[], readKeys: readonly openpgp.PublicKey[]) {
  const armored = gpg.run(['--armor', '--encrypt', '--compress-algo', 'none', '--recipient', bobKey.getFingerprint().toUpperCase()], payload).toString();
  return readBothPaths({ bobKey, store }, armored, contacts, arrivalKeys, readKeys);
}

function alice(): Contact {
  return { address: 'alice@outside.test', fingerprint: aliceFingerprint, armoredCert: aliceCert.armor(), verification: 'unverified', source: 'imported', addedAt: new Date().toISOString() };
}

beforeAll(async () => {
  writeFileSync(join(scratch.path, 'big.bin'), big);
  writeFileSync(join(scratch.path, 'small.pdf'), small);
  gpg.run(['--quick-gen-key', 'Alice Outside <alice@outside.test>', 'ed25519', 'sign', 'never']);
  aliceCert = await openpgp.readKey({ armoredKey: gpg.run(['--armor', '--export', 'alice@outside.test']).toString() });
  aliceFingerprint = aliceCert.getFingerprint().toUpperCase();
  const bob = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Bob', email: 'bob@caliop.test' }], format: 'object' });
  bobKey = bob.privateKey;
  gpg.run(['--import'], Buffer.from(bob.publicKey.armor()));
  store = await MessageStore.create(join(scratch.path, 'store'), randomBytes(32), randomBytes);
}, 120_000);

afterAll(() => {
  gpg.kill();
  scratch.remove();
});

describe('a large message read as a stream shows what it shows read whole (issue 9)', { timeout: 300_000 }, () => {
  it('PGP/MIME signed by gpg (--textmode, SHA-512, CRLF): good, by Alice; the signature part is not listed', async () => {
    const { whole, streamed, arrival } = await bothPaths(pgpMimeSigned(true, false), [alice()], [aliceCert], [aliceCert]);
    expect(whole.signature).toBe('good');
    expect(whole.signer).toBe(aliceFingerprint);
    expect(whole.attachments.map((a) => [a.name, a.size])).toEqual([['data.bin', big.length], ['résumé.pdf', small.length]]);
    expect(streamed).toEqual(whole);
    expect(arrival.openedAtArrival).toMatchObject({ pgpMimeSigned: { digests: [expect.stringMatching(/^[0-9a-f]{128}$/)] } });
  });

  it('PGP/MIME signed in binary mode (SHA-256), sent with LF line ends: checked over the canonical CRLF form', async () => {
    const { whole, streamed } = await bothPaths(pgpMimeSigned(false, true), [alice()], [aliceCert], [aliceCert]);
    expect(whole.signature).toBe('good');
    expect(streamed).toEqual(whole);
  });

  it('PGP/MIME signed, one byte of the large file changed after signing: bad on both paths', async () => {
    const { whole, streamed } = await bothPaths(pgpMimeSigned(true, false, (signed) => {
      const text = signed.toString('latin1');
      const at = text.indexOf('\r\n\r\n', text.indexOf('data.bin')) + 100;
      const changed = text[at] === 'A' ? 'B' : 'A';
      return Buffer.from(text.slice(0, at) + changed + text.slice(at + 1), 'latin1');
    }), [alice()], [aliceCert], [aliceCert]);
    expect(whole.signature).toBe('bad');
    expect(streamed).toEqual(whole);
  });

  it('docs/store.md §5.2: a PGP/MIME signer unknown at arrival is checked at each read with the keys held then', async () => {
    const unknown = await bothPaths(pgpMimeSigned(true, false), [], [], []);
    expect(unknown.whole.signature).toBe('unknown-key');
    expect(unknown.streamed).toEqual(unknown.whole);
    // Alice's key imported after the arrival: the streamed message is read again, good, as the whole one.
    const message = { ...incoming, id: 'later', relayId: 'r-later', armoredMessage: '', ciphertextBlob: unknown.arrival.ciphertextBlob, attachmentBlobs: unknown.arrival.attachmentBlobs, openedAtArrival: unknown.arrival.openedAtArrival } as unknown as StoredMessage;
    const later = readFacts(await openStoredMessage(readerSession({ bobKey, store }, [alice()]), message, [aliceCert]));
    expect(later.signature).toBe('good');
    expect(later.signer).toBe(aliceFingerprint);
  });

  it('clear-signed and inline-signed (gpg --clearsign, --sign --armor --textmode): the text readable, good', async () => {
    for (const kind of ['clearsign', 'inline'] as const) {
      const { whole, streamed } = await bothPaths(clearSigned(kind), [alice()], [aliceCert], [aliceCert]);
      expect(whole.signature, kind).toBe('good');
      expect(whole.body, kind).toContain('le fichier est joint.');
      expect(whole.body, kind).not.toContain('BEGIN PGP');
      expect(streamed, kind).toEqual(whole);
    }
  });

  it('forwarded messages: shown below the text with their From, Date and Subject; their attachments listed after', async () => {
    const { whole, streamed } = await bothPaths(forwarding(), [alice()], [aliceCert], [aliceCert]);
    expect(whole.body).toContain('---------- Forwarded message ----------\nFrom: Carol <carol@third.test>');
    expect(whole.body).toContain('Subject: Le rapport\n\nVoici le rapport.');
    expect(whole.body).toContain('Texte transféré en ligne.');
    expect(whole.attachments.map((a) => a.name)).toEqual(['Le rapport.eml', 't.csv', 'data.bin', 'rapport.pdf']);
    expect(streamed).toEqual(whole);
  });
});
