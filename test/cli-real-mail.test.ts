// Issue 9 end to end: the mail real programs send (neomutt in batch mode, Python's
// `email` package, gpg's PGP/MIME, inline-signed and clear-signed output) delivered
// by real swaks to the relay's gateway, fetched by a real `caliop sync`, then read
// with `caliop read --json` (text, subject, attachments, signature, exposure) and
// saved with `--save-attachments`: the saved files equal the originals byte for byte.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEnrolled, onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { rfc5322, writeJson } from './gateway/helpers.js';
import { makeGpg } from './helpers/gpg.js';
import { deliverBySwaks, startSink, type Sink } from './helpers/smtp.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('real-mail');
let relay: RelayProcess;
let sink: Sink;
let gpg: ReturnType<typeof makeGpg>;
let alice: string;
let bob: string;
let bobId: InitResult;
const originals: Record<string, Buffer> = {};
let files: string;
let ownDomainRefusal = '';
/** Small, so that one test file can go over it. */
const MAX_MESSAGE_BYTES = 200_000;

interface View {
  id: string;
  from: string;
  subject: string;
  body: string | null;
  signature: string;
  protectedHeaders: boolean;
  charsetGuess: string | null;
  attachments: Array<{ index: number; name: string; type: string; size: number; sha256: string }>;
  exposure: { level: string; reasons: Array<{ code: string }> };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const views = new Map<string, View>();

async function deliver(file: string, from: string): Promise<void> {
  const result = await deliverBySwaks({ port: relay.smtp!.port, from, to: `bob@${DOMAIN}`, file });
  expect(result.output, result.output).toMatch(/<- +250 /);
}

function eml(name: string, text: string): string {
  const file = join(scratch.path, `${name}.eml`);
  writeFileSync(file, text);
  return file;
}

function headers(from: string, subject: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Date: new Date().toUTCString().replace('GMT', '+0000'), 'Message-ID': `<${randomBytes(8).toString('hex')}@outside>`, From: from, To: `bob@${DOMAIN}`, Subject: subject, 'MIME-Version': '1.0', ...extra };
}

/** Bob's last `inbox --json`, listed again only when it lacks a subject asked for (issue 16: one listing opens every message). */
let listed: Array<{ id: string; subject: string }> = [];

async function read(subject: string): Promise<View> {
  const cached = views.get(subject);
  if (cached) return cached;
  if (!listed.some((candidate) => candidate.subject === subject)) {
    listed = JSON.parse((await onStick(bob, ['--json', 'inbox'])).stdout) as Array<{ id: string; subject: string }>;
  }
  const entry = listed.find((candidate) => candidate.subject === subject);
  expect(entry, `no "${subject}" in ${JSON.stringify(listed.map((each) => each.subject))}`).toBeDefined();
  const run = await onStick(bob, ['--json', 'read', entry!.id]);
  expect(run.status, run.stderr).toBe(0);
  const view = JSON.parse(run.stdout) as View;
  views.set(subject, view);
  return view;
}

beforeAll(async () => {
  // A smarthost that says "User unknown" (550) for one address: the outbox's permanent refusal.
  sink = await startSink(null, (address) => address === 'nobody@elsewhere.test');
  relay = await startRelayProcess({
    domain: DOMAIN,
    dataDir: join(scratch.path, 'relay'),
    extraArgs: [
      '--smtp-listen', '127.0.0.1:0', '--dns-records', writeJson(join(scratch.path, 'dns.json'), {}),
      '--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none', '--max-message-bytes', String(MAX_MESSAGE_BYTES),
    ],
  });
  bob = join(scratch.path, 'bob');
  alice = join(scratch.path, 'alice');
  for (const [stick, name] of [[bob, 'Bob'], [alice, 'Alice']] as const) {
    mkdirSync(stick);
    const init = await initEnrolled(stick, name, `${name.toLowerCase()}@${DOMAIN}`, relay);
    if (name === 'Bob') bobId = init;
  }

  gpg = makeGpg(scratch.path, { trustAlways: true });
  gpg.run(['--quick-gen-key', 'Gina Outside <gina@elsewhere.test>', 'ed25519', 'sign', 'never']);
  const fingerprint = /^fpr:::::::::([0-9A-F]{40}):/m.exec(gpg.run(['--with-colons', '--list-keys', 'gina@elsewhere.test']).toString())![1]!;
  gpg.run(['--quick-add-key', fingerprint, 'cv25519', 'encrypt', 'never']);
  const ginaCert = gpg.run(['--armor', '--export', 'gina@elsewhere.test']);
  for (const stick of [bob, alice]) expect((await onStick(stick, ['contacts', 'import'], { input: ginaCert })).status).toBe(0);
  for (const stick of [bob, alice]) gpg.run(['--import'], (await onStick(stick, ['key', 'export'])).stdout);

  // The originals, with bytes that trip naive decoders: NUL, 0xFF, a final LF, CR alone.
  originals.pdf = Buffer.concat([Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'), randomBytes(2000), Buffer.from('\r\n%%EOF\n')]);
  originals.png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(1500)]);
  files = join(scratch.path, 'files');
  mkdirSync(files);
  writeFileSync(join(files, 'rapport été.pdf'), originals.pdf);
  writeFileSync(join(files, 'photo.png'), originals.png);

  // neomutt in batch mode: its "sendmail" writes the message to a file, which swaks then delivers.
  const capture = join(scratch.path, 'capture.sh');
  writeFileSync(capture, '#!/bin/sh\ncat > "$CAPTURE"\n');
  chmodSync(capture, 0o755);
  const muttrc = join(scratch.path, 'muttrc');
  writeFileSync(muttrc, [`set from="Nora Mutt <nora@mutt.test>"`, 'set use_from=yes', `set sendmail="${capture}"`, 'set copy=no', 'set record=""', 'set charset="utf-8"', 'set send_charset="utf-8"', `set folder="${scratch.path}"`, `set spoolfile="${scratch.path}/spool"`, ''].join('\n'));
  const mutt = spawnSync('neomutt', ['-n', '-F', muttrc, '-s', "Rapport d'été", '-a', join(files, 'rapport été.pdf'), join(files, 'photo.png'), '--', `bob@${DOMAIN}`], {
    input: 'Bonjour Bob, voici le rapport et la photo.\n',
    env: { ...process.env, HOME: scratch.path, CAPTURE: join(scratch.path, 'neomutt.eml') },
    timeout: 300_000, // a hang guard: neomutt in batch mode on a starved machine
  });
  expect(mutt.status, mutt.stderr?.toString()).toBe(0);
  await deliver(join(scratch.path, 'neomutt.eml'), 'nora@mutt.test');

  // docs/message-payload.md §6.6: text clear-signed by gpg in Latin-1 and in windows-1252 (iconv),
  // sent by neomutt with charset and send_charset of that charset (8bit, the bytes gpg signed);
  // and the Latin-1 one with one byte changed on the way (é 0xE9 -> ê 0xEA).
  for (const [charset, text, subject] of [
    ['iso-8859-1', 'Grüße aus Köln: café, Straße.\n', 'Clear signed latin-1'],
    ['windows-1252', 'Prix : 20 € – « déjà vu »\n', 'Clear signed windows-1252'],
  ] as const) {
    const encoded = spawnSync('iconv', ['-f', 'UTF-8', '-t', charset], { input: text });
    expect(encoded.status, encoded.stderr?.toString()).toBe(0);
    const signedText = gpg.run(['--clearsign', '--local-user', 'gina@elsewhere.test'], encoded.stdout);
    const rc = join(scratch.path, `muttrc-${charset}`);
    writeFileSync(rc, [`set from="Gina Outside <gina@elsewhere.test>"`, 'set use_from=yes', `set sendmail="${capture}"`, 'set copy=no', 'set record=""', `set charset="${charset}"`, `set send_charset="${charset}"`, `set folder="${scratch.path}"`, `set spoolfile="${scratch.path}/spool"`, ''].join('\n'));
    const out = join(scratch.path, `neomutt-${charset}.eml`);
    const sent = spawnSync('neomutt', ['-n', '-F', rc, '-s', subject, '--', `bob@${DOMAIN}`], { input: signedText, env: { ...process.env, HOME: scratch.path, CAPTURE: out }, timeout: 300_000 });
    expect(sent.status, sent.stderr?.toString()).toBe(0);
    const mail = readFileSync(out);
    expect(mail.toString('latin1')).toContain(`Content-Type: text/plain; charset=${charset}`);
    expect(mail.includes(encoded.stdout.subarray(0, 12))).toBe(true); // the signed bytes, as they are
    await deliver(out, 'gina@elsewhere.test');
    if (charset === 'iso-8859-1') {
      const changed = Buffer.from(mail.toString('latin1').replace('Subject: Clear signed latin-1', 'Subject: Clear signed latin-1, changed').replace('caf\xe9', 'caf\xea'), 'latin1');
      writeFileSync(join(scratch.path, 'latin-changed.eml'), changed);
      await deliver(join(scratch.path, 'latin-changed.eml'), 'gina@elsewhere.test');
    }
  }

  // docs/message-payload.md §4.5, §6.6: Latin-1 text clear-signed by gpg, sent with no charset
  // and no MIME at all, its Subject in Latin-1 bytes too (as mail(1) or a cron job sends it).
  const latinText = spawnSync('iconv', ['-f', 'UTF-8', '-t', 'ISO-8859-1'], { input: 'Grüße aus Köln: café, Straße.\n' });
  expect(latinText.status, latinText.stderr?.toString()).toBe(0);
  const undeclaredHead = `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\nFrom: Gina Outside <gina@elsewhere.test>\r\nTo: bob@${DOMAIN}\r\nSubject: Rapport d'activit\xe9\r\n\r\n`;
  writeFileSync(join(scratch.path, 'undeclared.eml'), Buffer.concat([Buffer.from(undeclaredHead, 'latin1'), gpg.run(['--clearsign', '--local-user', 'gina@elsewhere.test'], latinText.stdout)]));
  await deliver(join(scratch.path, 'undeclared.eml'), 'gina@elsewhere.test');

  // docs/message-payload.md §4.5, docs/decisions/mime.md item 6: Russian in KOI8-R (iconv) with no
  // charset and no MIME, its Subject in KOI8-R bytes too (mail(1) in a KOI8-R locale): the
  // detector's charset, a guess. And gpg's PGP/MIME with its outer Subject and From name in raw
  // KOI8-R bytes: the relay reads them in KOI8-R (docs/gateway.md §3.8, `charsetDetected`).
  const koi8 = (text: string): string => {
    const encoded = spawnSync('iconv', ['-f', 'UTF-8', '-t', 'KOI8-R'], { input: text });
    expect(encoded.status, encoded.stderr?.toString()).toBe(0);
    return encoded.stdout.toString('latin1');
  };
  const koi8Head = `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\nFrom: Gina Outside <gina@elsewhere.test>\r\nTo: bob@${DOMAIN}\r\nSubject: ${koi8('Счёт за декабрь оплачен')}\r\n\r\n`;
  writeFileSync(join(scratch.path, 'undeclared-koi8r.eml'), Buffer.from(koi8Head + koi8('Здравствуйте! Счёт за декабрь оплачен, квитанция во вложении. Если будут вопросы, звоните в любое время.\n'), 'latin1'));
  await deliver(join(scratch.path, 'undeclared-koi8r.eml'), 'gina@elsewhere.test');

  // Python's email package: alternative + related + mixed, HTML only, a forward, latin-1.
  const python = join(scratch.path, 'python');
  mkdirSync(python);
  const made = spawnSync('python3', [join(import.meta.dirname, 'fixtures/mail/make-messages.py'), python, join(files, 'rapport été.pdf'), join(files, 'photo.png')]);
  expect(made.status, made.stderr?.toString()).toBe(0);
  for (const file of readdirSync(python).sort()) await deliver(join(python, file), 'pia@python.test');

  // gpg's PGP/MIME with no protected headers: the subject is only in the outer message.
  const inner = 'Content-Type: text/plain; charset=utf-8\r\n\r\nEncrypted by gpg, subject outside.\r\n';
  const armored = gpg.run(['--armor', '--encrypt', '--sign', '--local-user', 'gina@elsewhere.test', '--recipient', bobId.fingerprint], inner).toString();
  const boundary = `b${randomBytes(6).toString('hex')}`;
  await deliver(
    eml('pgp-mime', rfc5322(
      headers('Gina Outside <gina@elsewhere.test>', 'PGP/MIME, outer subject', { 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"` }),
      `--${boundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${boundary}\nContent-Type: application/octet-stream\n\n${armored}\n--${boundary}--\n`,
    )),
    'gina@elsewhere.test',
  );

  // The same with its outer Subject in raw windows-1252 bytes and its From name in raw Latin-1
  // (docs/gateway.md §3.8): the relay reads them by the stick's rule, and says it guessed.
  const eightBitBoundary = `e${randomBytes(6).toString('hex')}`;
  const eightBit = rfc5322(
    headers('Gina Outsid\xe9 <gina@elsewhere.test>', 'PGP/MIME, r\xe9gl\xe9 \x96 20 \x80 dehors', { 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${eightBitBoundary}"` }),
    `--${eightBitBoundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${eightBitBoundary}\nContent-Type: application/octet-stream\n\n${armored}\n--${eightBitBoundary}--\n`,
  );
  writeFileSync(join(scratch.path, 'pgp-mime-8bit.eml'), Buffer.from(eightBit, 'latin1'));
  await deliver(join(scratch.path, 'pgp-mime-8bit.eml'), 'gina@elsewhere.test');

  const koi8Boundary = `k${randomBytes(6).toString('hex')}`;
  const koi8Outer = rfc5322(
    headers(`${koi8('Иван Петров')} <gina@elsewhere.test>`, `PGP/MIME, ${koi8('счёт за декабрь оплачен')}`, { 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${koi8Boundary}"` }),
    `--${koi8Boundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${koi8Boundary}\nContent-Type: application/octet-stream\n\n${armored}\n--${koi8Boundary}--\n`,
  );
  writeFileSync(join(scratch.path, 'pgp-mime-koi8r.eml'), Buffer.from(koi8Outer, 'latin1'));
  await deliver(join(scratch.path, 'pgp-mime-koi8r.eml'), 'gina@elsewhere.test');

  // gpg's PGP/MIME with protected headers (docs/message-payload.md §1): the real subject inside, "..." outside.
  const protectedInner = `Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\nSubject: Le vrai sujet, protégé\r\nFrom: Gina Outside <gina@elsewhere.test>\r\nTo: bob@${DOMAIN}\r\n\r\nThe subject is inside.\r\n`;
  const protectedArmored = gpg.run(['--armor', '--encrypt', '--sign', '--local-user', 'gina@elsewhere.test', '--recipient', bobId.fingerprint], protectedInner).toString();
  const protectedBoundary = `p${randomBytes(6).toString('hex')}`;
  await deliver(
    eml('pgp-mime-protected', rfc5322(
      headers('Gina Outside <gina@elsewhere.test>', '...', { 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${protectedBoundary}"` }),
      `--${protectedBoundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${protectedBoundary}\nContent-Type: application/octet-stream\n\n${protectedArmored}\n--${protectedBoundary}--\n`,
    )),
    'gina@elsewhere.test',
  );

  // Inline-signed (gpg --sign --armor --textmode) and clear-signed, in readable mail.
  const signedText = 'Signed inline by gpg.\nSecond line.\n';
  const inlineSigned = gpg.run(['--armor', '--sign', '--textmode', '--local-user', 'gina@elsewhere.test'], signedText).toString();
  await deliver(eml('inline', rfc5322(headers('Gina Outside <gina@elsewhere.test>', 'Inline signed', { 'Content-Type': 'text/plain; charset=utf-8' }), inlineSigned)), 'gina@elsewhere.test');
  const clearSigned = gpg.run(['--clearsign', '--local-user', 'gina@elsewhere.test'], 'Clear-signed by gpg.\n').toString();
  await deliver(eml('clear', rfc5322(headers('Gina Outside <gina@elsewhere.test>', 'Clear signed', { 'Content-Type': 'text/plain; charset=utf-8' }), clearSigned)), 'gina@elsewhere.test');

  // PGP/MIME signed (RFC 3156 §5): the signature covers the first part, CRLF canonical.
  const signedPart = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSigned with PGP/MIME.\r\n';
  const detached = gpg.run(['--armor', '--detach-sign', '--local-user', 'gina@elsewhere.test'], signedPart).toString();
  const signedBoundary = `s${randomBytes(6).toString('hex')}`;
  await deliver(
    eml('mime-signed', rfc5322(
      headers('Gina Outside <gina@elsewhere.test>', 'PGP/MIME signed', { 'Content-Type': `multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="${signedBoundary}"` }),
      `--${signedBoundary}\n${signedPart.replace(/\r\n/g, '\n')}\n--${signedBoundary}\nContent-Type: application/pgp-signature; name="signature.asc"\n\n${detached}\n--${signedBoundary}--\n`,
    )),
    'gina@elsewhere.test',
  );

  // Impersonation: a look-alike key claiming Gina's address, an unsigned message claiming
  // her address, a display name that is an address, and outside mail claiming our domain.
  gpg.run(['--quick-gen-key', 'Gina Outside <gina@elsewhere.test>', 'ed25519', 'sign', 'never']);
  const fakeFingerprint = [...gpg.run(['--with-colons', '--list-keys', 'gina@elsewhere.test']).toString().matchAll(/^pub:[^\n]*\nfpr:::::::::([0-9A-F]{40}):/gm)].map((match) => match[1]!).find((each) => each !== fingerprint)!;
  const forged = gpg.run(['--armor', '--encrypt', '--sign', '--local-user', fakeFingerprint, '--recipient', bobId.fingerprint], 'Content-Type: text/plain\r\n\r\nTrust me, I am Gina.\r\n').toString();
  const forgedBoundary = `f${randomBytes(6).toString('hex')}`;
  await deliver(
    eml('forged', rfc5322(
      headers('Gina Outside <gina@elsewhere.test>', 'Look-alike key', { 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${forgedBoundary}"` }),
      `--${forgedBoundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${forgedBoundary}\nContent-Type: application/octet-stream\n\n${forged}\n--${forgedBoundary}--\n`,
    )),
    'gina@elsewhere.test',
  );
  await deliver(eml('unsigned-gina', rfc5322(headers('Gina Outside <gina@elsewhere.test>', 'Unsigned from a contact', { 'Content-Type': 'text/plain' }), 'Please send me your password.\n')), 'gina@elsewhere.test');
  await deliver(eml('display-name', rfc5322(headers('"gina@elsewhere.test" <mallory@evil.test>', 'Display name address', { 'Content-Type': 'text/plain' }), 'It is me, Gina.\n')), 'mallory@evil.test');
  const ownDomain = await deliverBySwaks({ port: relay.smtp!.port, from: 'bounce@evil.test', to: `bob@${DOMAIN}`, file: eml('own-domain', rfc5322(headers(`Alice <alice@${DOMAIN}>`, 'Own domain from outside', { 'Content-Type': 'text/plain' }), 'I am Alice, really.\n')) });
  ownDomainRefusal = ownDomain.output;

  const synced = await onStick(bob, ['sync']);
  expect(synced.status, synced.stderr).toBe(0);
}, 900_000);

afterAll(async () => {
  gpg?.kill();
  await relay?.stop();
  await sink?.close();
  scratch.remove();
});

describe('reading the mail real programs send', { timeout: 600_000 }, () => {
  it('neomutt: multipart/mixed with a PDF (quoted-printable, non-ASCII name) and an image; saved byte for byte', async () => {
    const view = await read("Rapport d'été");
    expect(view.from).toBe('Nora Mutt <nora@mutt.test>');
    expect(view.body).toContain('Bonjour Bob, voici le rapport et la photo.');
    // Readable mail that swaks handed over without STARTTLS: readable by anyone on the way.
    expect(view.exposure.level).toBe('cleartext');
    expect(view.body).not.toMatch(/Content-Type|--[0-9a-z]{8,}/);
    expect(view.attachments.map(({ index, name, type, size, sha256: hash }) => ({ index, name, type, size, sha256: hash }))).toEqual([
      { index: 1, name: 'rapport été.pdf', type: 'application/pdf', size: originals.pdf!.length, sha256: sha256(originals.pdf!) },
      { index: 2, name: 'photo.png', type: 'image/png', size: originals.png!.length, sha256: sha256(originals.png!) },
    ]);
    const folder = join(scratch.path, 'saved-mutt');
    mkdirSync(folder);
    const saved = await onStick(bob, ['read', view.id, '--save-attachments', folder]);
    expect(saved.status, saved.stderr).toBe(0);
    expect(readFileSync(join(folder, 'rapport été.pdf')).equals(originals.pdf!)).toBe(true);
    expect(readFileSync(join(folder, 'photo.png')).equals(originals.png!)).toBe(true);

    // Never over an existing file without --force: exit 24, the file untouched.
    writeFileSync(join(folder, 'photo.png'), 'mine');
    const again = await onStick(bob, ['read', view.id, '--save-attachments', folder, '--attachment', '2']);
    expect(again.status).toBe(24);
    expect(again.stderr).toMatch(/^caliop: error: .*photo\.png/m);
    expect(readFileSync(join(folder, 'photo.png'), 'utf8')).toBe('mine');
    const forced = await onStick(bob, ['read', view.id, '--save-attachments', folder, '--attachment', '2', '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(readFileSync(join(folder, 'photo.png')).equals(originals.png!)).toBe(true);
    expect((await onStick(bob, ['read', view.id, '--save-attachments', folder, '--attachment', '3'])).status).toBe(39);
  });

  it('Python: the text part is preferred to the HTML; the related image and the RFC 2231 name are listed', async () => {
    const view = await read('Alternative, related and mixed');
    expect(view.body).toContain('The plain text part, préféré.');
    expect(view.body).not.toContain('<');
    expect(view.attachments.map((attachment) => [attachment.name, attachment.type, attachment.sha256])).toEqual([
      ['logo.png', 'image/png', sha256(originals.png!)],
      ['Résumé annuel 2026.pdf', 'application/pdf', sha256(originals.pdf!)],
    ]);
    expect(view.exposure.level).toBe('cleartext');
  });

  it('HTML only: readable text, links shown with their target, scripts and styles gone, nothing fetched', async () => {
    const view = await read('HTML only');
    expect(view.body).toContain('Read the quarterly report <https://example.test/report?a=1&b=2> now.');
    expect(view.body).toContain('Café & crème');
    expect(view.body).not.toMatch(/alert|document\.location|color: red|<p>|tracker\.test/);
    expect(view.exposure.level).toBe('cleartext');
  });

  it('a forwarded message: its text below, its own attachment listed and saved', async () => {
    const view = await read('Fwd: The original');
    expect(view.body).toMatch(/See the message below\.[\s\S]*Forwarded message[\s\S]*Subject: The original[\s\S]*The original message text\./);
    expect(view.attachments.map((attachment) => [attachment.index, attachment.name, attachment.type])).toEqual([
      [1, 'The original.eml', 'message/rfc822'],
      [2, 'data.csv', 'text/csv'],
    ]);
    expect(view.exposure.level).toBe('cleartext');
    const folder = join(scratch.path, 'saved-forward');
    mkdirSync(folder);
    expect((await onStick(bob, ['read', view.id, '--save-attachments', folder, '--attachment', '2'])).status).toBe(0);
    expect(readFileSync(join(folder, 'data.csv'), 'utf8')).toBe('col1,col2\n1,2\n');
  });

  it('latin-1 quoted-printable text, and an attachment name that tries to leave the folder', async () => {
    const view = await read('Accents en latin-1');
    expect(view.body).toContain('Déjà vu à Noël, ça coûte 10 EUR.');
    expect(view.exposure.level).toBe('cleartext');
    expect(view.attachments[0]!.name).toBe('../../.bashrc'); // listed as the sender wrote it …
    const folder = join(scratch.path, 'saved-latin', 'inner');
    mkdirSync(folder, { recursive: true });
    const saved = await onStick(bob, ['--json', 'read', view.id, '--save-attachments', folder]);
    expect(saved.status, saved.stderr).toBe(0);
    expect(readdirSync(folder)).toEqual(['_.._.bashrc']); // … but saved inside the folder, visible, no separators
    expect(readdirSync(join(scratch.path, 'saved-latin'))).toEqual(['inner']);
  });

  it('PGP/MIME from gpg without protected headers: the outer subject, kept by the relay, marked unprotected', async () => {
    const view = await read('PGP/MIME, outer subject');
    expect(view.body).toContain('Encrypted by gpg, subject outside.');
    expect(view.signature).toBe('good');
    expect(view.protectedHeaders).toBe(false);
    expect(view.from).toBe('Gina Outside <gina@elsewhere.test>');
    expect(view.exposure.level).toBe('pgp-external');
  });

  it('PGP/MIME from gpg, its outer Subject and From name in raw windows-1252 bytes: read as the stick reads them (€ –, not C1 controls), said to be a guess', async () => {
    const view = await read('PGP/MIME, réglé – 20 € dehors');
    expect(view.body).toContain('Encrypted by gpg, subject outside.');
    expect(view.from).toBe('Gina Outsidé <gina@elsewhere.test>');
    expect(view.protectedHeaders).toBe(false);
    expect(view.charsetGuess).toBe('windows-1252');
    expect((await onStick(bob, ['read', view.id])).stdout).toContain('Charset:   windows-1252, guessed (the sender declared none, or a wrong one)');
    expect((await read('PGP/MIME, outer subject')).charsetGuess).toBeNull(); // ASCII outside: no guess
  });

  it('PGP/MIME from gpg with protected headers: the inner subject, not the outer "...", marked protected', async () => {
    const view = await read('Le vrai sujet, protégé');
    expect(view.body).toContain('The subject is inside.');
    expect(view.signature).toBe('good');
    expect(view.protectedHeaders).toBe(true);
    expect(view.exposure.level).toBe('pgp-external');
  });

  it('inline-signed and clear-signed by gpg: the content readable, the signature good, line ends normalised', async () => {
    const inline = await read('Inline signed');
    expect(inline.body).toContain('Signed inline by gpg.\nSecond line.');
    expect(inline.body).not.toMatch(/BEGIN PGP|\r/);
    expect(inline.signature).toBe('good');
    // Signed proves who wrote it, not who read it on the way: still cleartext.
    expect(inline.exposure.level).toBe('cleartext');
    const clear = await read('Clear signed');
    expect(clear.body).toContain('Clear-signed by gpg.');
    expect(clear.body).not.toMatch(/BEGIN PGP/);
    expect(clear.signature).toBe('good');
    expect(clear.exposure.level).toBe('cleartext');
  });

  it('clear-signed by gpg in Latin-1 and windows-1252, sent by neomutt in that charset: good, é ß € shown; a changed byte: bad', async () => {
    const latin = await read('Clear signed latin-1');
    expect(latin.signature).toBe('good');
    expect(latin.body).toContain('Grüße aus Köln: café, Straße.');
    expect(latin.body).not.toMatch(/BEGIN PGP|\ufffd/);
    const windows = await read('Clear signed windows-1252');
    expect(windows.signature).toBe('good');
    expect(windows.body).toContain('Prix : 20 € – « déjà vu »');
    const changed = await read('Clear signed latin-1, changed');
    expect(changed.signature).toBe('bad');
    expect(changed.body).toContain('Grüße aus Köln: cafê, Straße.');
  });

  it('clear-signed Latin-1 sent with no charset and no MIME, its Subject in Latin-1 bytes (mail(1), cron): good, é ß shown, said to be a guess', async () => {
    const view = await read("Rapport d'activité");
    expect(view.signature).toBe('good');
    expect(view.body).toContain('Grüße aus Köln: café, Straße.');
    expect(view.body).not.toMatch(/BEGIN PGP|\ufffd/);
    expect(view.charsetGuess).toBe('windows-1252');
    const shown = await onStick(bob, ['read', view.id]);
    expect(shown.stdout).toContain('Charset:   windows-1252, guessed (the sender declared none, or a wrong one)');
    expect((await read('Clear signed latin-1')).charsetGuess).toBeNull(); // declared: no guess
  });

  it('Russian in KOI8-R sent with no charset and no MIME, its Subject too: shown right, said to be a guess in koi8-r (the detector)', async () => {
    const view = await read('Счёт за декабрь оплачен');
    expect(view.body).toContain('Здравствуйте! Счёт за декабрь оплачен, квитанция во вложении.');
    expect(view.charsetGuess).toBe('koi8-r');
    expect((await onStick(bob, ['read', view.id])).stdout).toContain('Charset:   koi8-r, guessed (the sender declared none, or a wrong one)');
  });

  it('PGP/MIME from gpg, its outer Subject and From name in raw KOI8-R bytes: the relay read them in KOI8-R (charsetDetected), a guess', async () => {
    const view = await read('PGP/MIME, счёт за декабрь оплачен');
    expect(view.body).toContain('Encrypted by gpg, subject outside.');
    expect(view.from).toBe('Иван Петров <gina@elsewhere.test>');
    expect(view.charsetGuess).toBe('koi8-r');
    const facts = JSON.parse((await onStick(bob, ['--json', 'read', view.id])).stdout) as { relayFacts: { outerHeaders?: { charsetDetected?: unknown } } };
    expect(facts.relayFacts.outerHeaders?.charsetDetected).toEqual({ charset: 'koi8-r', fields: ['subject', 'from'] });
  });

  it('PGP/MIME signed (RFC 3156 §5): good signature, the signature part is not listed as an attachment', async () => {
    const view = await read('PGP/MIME signed');
    expect(view.body).toContain('Signed with PGP/MIME.');
    expect(view.signature).toBe('good');
    expect(view.attachments).toEqual([]);
    expect(view.exposure.level).toBe('cleartext');
  });
});

/** Python's email package, as the other side: the attachments of a MIME message given on stdin, as [name, sha256]. */
function attachmentsByPython(mime: string | Buffer): Array<[string, string]> {
  const script = [
    'import sys, json, hashlib, email, email.policy',
    'm = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)',
    'print(json.dumps([[p.get_filename(), hashlib.sha256(p.get_content() if isinstance(p.get_content(), bytes) else p.get_payload(decode=True)).hexdigest()] for p in m.iter_attachments()]))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input: mime });
  expect(run.status, run.stderr?.toString()).toBe(0);
  return JSON.parse(run.stdout.toString()) as Array<[string, string]>;
}

describe('impersonation (docs/exposure.md §4.1.1, docs/gateway.md §3.9)', { timeout: 600_000 }, () => {
  it('a valid signature by a look-alike key claiming a known contact: signer-mismatch, the alarm', async () => {
    const view = await read('Look-alike key');
    expect(view.signature).toBe('signer-mismatch');
    expect(view.exposure.level).toBe('alarm');
  });

  it('unsigned mail whose From names a contact: a warning reason, never shown as proven', async () => {
    const view = await read('Unsigned from a contact');
    expect(view.signature).toBe('unsigned');
    expect(view.exposure.reasons.map((reason) => reason.code)).toContain('from-contact-unproven');
  });

  it('a display name that looks like an address is shown after the real address', async () => {
    const view = await read('Display name address');
    expect(view.from).toBe('mallory@evil.test ("gina@elsewhere.test")');
  });

  it('outside mail claiming the relay\'s own domain is refused during SMTP (550) and never stored', async () => {
    expect(ownDomainRefusal).toMatch(/<\*\* +550 5\.7\.1 Mail from outside claiming to be from caliop\.example/);
    const inbox = JSON.parse((await onStick(bob, ['--json', 'inbox'])).stdout) as Array<{ subject: string }>;
    expect(inbox.map((entry) => entry.subject)).not.toContain('Own domain from outside');
  });
});

describe('writing with attachments', { timeout: 600_000 }, () => {
  it('an address that is not one is a usage error at once (exit 2), nothing queued', async () => {
    const run = await onStick(alice, ['send', '--to', 'not-an-address', '--subject', 'x'], { input: 'x' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^caliop: error: not an address: "not-an-address"/m);
    expect(JSON.parse((await onStick(alice, ['--json', 'outbox'])).stdout)).toEqual([]);
  });

  it('internal: multipart/mixed inside the encryption; bob lists and saves the files byte for byte', async () => {
    const sent = await onStick(alice, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'Files inside', '--attach', join(files, 'rapport été.pdf'), join(files, 'photo.png')], { input: 'Two files for you.\n' });
    expect(sent.status, sent.stderr).toBe(0);
    expect((await onStick(bob, ['sync'])).status).toBe(0);
    const view = await read('Files inside');
    expect(view.body).toBe('Two files for you.\n');
    expect(view.signature).toBe('good');
    expect(view.protectedHeaders).toBe(true);
    expect(view.attachments.map((attachment) => [attachment.name, attachment.type, attachment.sha256])).toEqual([
      ['rapport été.pdf', 'application/pdf', sha256(originals.pdf!)],
      ['photo.png', 'image/png', sha256(originals.png!)],
    ]);
    const folder = join(scratch.path, 'saved-internal');
    mkdirSync(folder);
    expect((await onStick(bob, ['read', view.id, '--save-attachments', folder])).status).toBe(0);
    expect(readFileSync(join(folder, 'rapport été.pdf')).equals(originals.pdf!)).toBe(true);
    expect(readFileSync(join(folder, 'photo.png')).equals(originals.png!)).toBe(true);
  });

  it('a large attachment rests on the stick as its own sealed objects (docs/store.md §5.1), saved from them and deleted with the message', async () => {
    const large = randomBytes(100_000);
    writeFileSync(join(files, 'grand.bin'), large);
    const objectsOf = (stick: string) => {
      const store = readdirSync(join(stick, 'vault')).find((name) => name.startsWith('store-'))!;
      const root = join(stick, 'vault', store, 'objects');
      return readdirSync(root).flatMap((fan) => readdirSync(join(root, fan)).map((name) => ({ name, size: statSync(join(root, fan, name)).size })));
    };
    const bobBefore = objectsOf(bob);
    const sent = await onStick(alice, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'One large file', '--attach', join(files, 'grand.bin')], { input: 'A large one.\n' });
    expect(sent.status, sent.stderr).toBe(0);
    // The sender's vault document never held it: its sent copy's ciphertext is a blob of the store.
    expect(statSync(join(alice, 'vault', 'caliop.vault')).size).toBeLessThan(64 * 1024);
    expect((await onStick(bob, ['sync'])).status).toBe(0);
    const added = objectsOf(bob).filter((object) => !bobBefore.some((old) => old.name === object.name));
    // Three objects: the message record (small), the ciphertext, and the attachment decoded.
    expect(added).toHaveLength(3);
    expect(added.filter((object) => object.size < 16 * 1024)).toHaveLength(1);
    expect(added.filter((object) => object.size >= large.length)).toHaveLength(2);
    const view = await read('One large file');
    expect(view.signature).toBe('good');
    expect(view.body).toBe('A large one.\n');
    expect(view.attachments).toEqual([{ index: 1, name: 'grand.bin', type: 'application/octet-stream', size: large.length, sha256: sha256(large) }]);
    const folder = join(scratch.path, 'saved-large');
    mkdirSync(folder);
    const saved = await onStick(bob, ['--json', 'read', view.id, '--save-attachments', folder]);
    expect(saved.status, saved.stderr).toBe(0);
    expect(readFileSync(join(folder, 'grand.bin')).equals(large)).toBe(true);
    expect(JSON.parse(saved.stdout)).toEqual([{ index: 1, name: 'grand.bin', path: join(folder, 'grand.bin'), size: large.length, sha256: sha256(large) }]);
    // Deleting the message removes its three objects.
    expect((await onStick(bob, ['delete', view.id])).status).toBe(0);
    views.delete('One large file');
    listed = listed.filter((entry) => entry.id !== view.id);
    expect(objectsOf(bob).map((object) => object.name).sort()).toEqual(bobBefore.map((object) => object.name).sort());
  });

  it('to the outside: PGP/MIME from a real SMTP sink, opened by real gpg, the files intact (read by Python)', async () => {
    const before = sink.received.length;
    const sent = await onStick(alice, ['send', '--to', 'gina@elsewhere.test', '--subject', 'Rapport chiffré', '--attach', join(files, 'rapport été.pdf')], { input: 'Voici le rapport.\n' });
    expect(sent.status, sent.stderr).toBe(0);
    expect(sink.received.length).toBe(before + 1);
    const delivered = sink.received.at(-1)!.raw;
    expect(delivered).toMatch(/^Content-Type: multipart\/encrypted; protocol="application\/pgp-encrypted"/m);
    expect(delivered).toMatch(/^Autocrypt: addr=alice@caliop\.example/m);
    expect(delivered).not.toContain('rapport');
    const armored = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(delivered)![0];
    const inner = gpg.run(['--decrypt'], armored);
    expect(inner.toString('latin1')).toMatch(/^Content-Type: multipart\/mixed; boundary="[^"]+"; protected-headers="v1"/);
    expect(inner.toString('utf8')).toContain('Subject: Rapport chiffré');
    expect(attachmentsByPython(inner)).toEqual([['rapport été.pdf', sha256(originals.pdf!)]]);
  });

  it('over the limit the relay announces: refused before anything leaves (exit 34, the limit named)', async () => {
    const big = join(files, 'big.bin');
    writeFileSync(big, randomBytes(MAX_MESSAGE_BYTES));
    const before = sink.received.length;
    const run = await onStick(alice, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'too big', '--attach', big], { input: 'big' });
    expect(run.status).toBe(34);
    expect(run.stderr).toMatch(new RegExp(`at most ${MAX_MESSAGE_BYTES} bytes`));
    expect(sink.received.length).toBe(before);
    expect(JSON.parse((await onStick(alice, ['--json', 'outbox'])).stdout)).toEqual([]);
  });
});

describe('the outbox never jams', { timeout: 600_000 }, () => {
  it('a message refused for good beside two good ones: both good ones delivered, the bad one failed, named by sync (42), dropped', async () => {
    const before = sink.received.length;
    const send = (to: string, subject: string, extra: string[] = []) =>
      onStick(alice, ['send', '--allow-exposed', '--to', to, '--subject', subject, ...extra], { input: `${subject}\n` });
    expect((await send('first@elsewhere.test', 'good one')).status).toBe(0);
    const refused = await send('nobody@elsewhere.test', 'to nobody');
    expect(refused.status).toBe(43);
    expect(refused.stderr).toMatch(/User unknown/);
    expect(refused.stderr).not.toMatch(/could not be reached/);
    const second = await send('second@elsewhere.test', 'good two', ['--attach', join(files, 'photo.png')]);
    expect(second.status, second.stderr).toBe(0);
    expect(sink.received.slice(before).map((delivery) => delivery.to)).toEqual([['first@elsewhere.test'], ['second@elsewhere.test']]);
    // Readable outbound with an attachment is correct MIME too.
    expect(attachmentsByPython(sink.received.at(-1)!.raw)).toEqual([['photo.png', sha256(originals.png!)]]);

    const outbox = JSON.parse((await onStick(alice, ['--json', 'outbox'])).stdout) as Array<{ id: string; state: string; to: string[]; reason: string; code: string }>;
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ state: 'failed', to: ['nobody@elsewhere.test'], code: 'message_refused' });
    expect(outbox[0]!.reason).toMatch(/User unknown/);
    const id = outbox[0]!.id;

    const synced = await onStick(alice, ['sync']);
    expect(synced.status).toBe(42);
    expect(synced.stderr).toMatch(new RegExp(`message ${id} to nobody@elsewhere\\.test failed: .*User unknown`));
    expect((await onStick(alice, ['outbox', 'retry', id])).status).toBe(43);
    const dropped = await onStick(alice, ['outbox', 'drop', id]);
    expect(dropped.status, dropped.stderr).toBe(0);
    const again = await onStick(alice, ['outbox', 'drop', id]);
    expect(again.status, again.stderr).toBe(38);
    expect((await onStick(alice, ['sync'])).status).toBe(0);
  });
});
