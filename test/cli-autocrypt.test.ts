// Incoming Autocrypt, end to end (docs/gateway.md §4.5.1): real senders (Python's
// `email` package, keys and PGP/MIME made by real gpg) deliver through real swaks to
// the relay's gateway; a real `caliop sync` updates the contacts; `caliop send` then
// encrypts to the key learnt, and real gpg opens it from a real SMTP sink.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEnrolled, onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { rfc5322, txt, writeJson } from './gateway/helpers.js';
import { makeGpg } from './helpers/gpg.js';
import { deliverBySwaks, startSink, type Sink } from './helpers/smtp.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('autocrypt');
let relay: RelayProcess;
let sink: Sink;
let gpg: ReturnType<typeof makeGpg>;
let bob: string;
let bobId: InitResult;
const fingerprints: Record<string, string> = {};
let adaFirstDate = '';
const syncs: Array<{ autocrypt: Array<{ address: string; step: string; source: string; fingerprint: string }> }> = [];

interface ContactRow {
  address: string;
  fingerprint: string;
  verification: string;
  source: string;
  changedFingerprint: string | null;
  autocrypt: { preferEncrypt?: string; autocryptTimestamp?: string; lastSeen?: string; gossipFingerprint?: string } | null;
}

/** A key made by gpg: primary ed25519 for signing, a cv25519 subkey for encryption. */
function makeKey(uid: string, label: string): string {
  gpg.run(['--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  const listed = gpg.run(['--with-colons', '--list-keys', uid]).toString();
  const all = [...listed.matchAll(/^pub:[^\n]*\nfpr:::::::::([0-9A-F]{40}):/gm)].map((match) => match[1]!);
  const fingerprint = all.find((each) => !Object.values(fingerprints).includes(each))!;
  gpg.run(['--quick-add-key', fingerprint, 'cv25519', 'encrypt', 'never']);
  fingerprints[label] = fingerprint;
  return fingerprint;
}

/** Autocrypt Level 1 keydata: the binary minimal cert, base64, folded by spaces (as Autocrypt MUAs do). */
function keydata(fingerprint: string): string {
  const binary = gpg.run(['--export', '--export-options', 'export-minimal', fingerprint]);
  return (binary.toString('base64').match(/.{1,76}/g) ?? []).join(' ');
}

/** Python's email package writes the message (policy SMTP: CRLF, folded headers). */
function python(name: string, headers: Record<string, string>, body: string): string {
  const file = join(scratch.path, `${name}.eml`);
  const script = [
    'import sys, json, email.message, email.policy',
    'spec = json.loads(sys.stdin.read())',
    'm = email.message.EmailMessage(policy=email.policy.SMTP)',
    'for k, v in spec["headers"].items(): m[k] = v',
    'm.set_content(spec["body"])',
    'open(spec["file"], "wb").write(m.as_bytes())',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify({ headers, body, file }) });
  expect(run.status, run.stderr?.toString()).toBe(0);
  return file;
}

async function deliver(file: string, from: string, to: string[] = [`bob@${DOMAIN}`]): Promise<void> {
  const result = await deliverBySwaks({ port: relay.smtp!.port, from, to, file });
  expect(result.output, result.output).toMatch(/<- +250 /);
}

const date = (hoursAgo: number) => new Date(Date.now() - hoursAgo * 3_600_000).toUTCString().replace('GMT', '+0000');
const mid = () => `<${randomBytes(8).toString('hex')}@outside>`;

async function sync(): Promise<void> {
  const run = await onStick(bob, ['--json', 'sync']);
  expect(run.status, run.stderr).toBe(0);
  syncs.push(JSON.parse(run.stdout) as (typeof syncs)[number]);
}

async function contact(address: string): Promise<ContactRow | undefined> {
  const run = await onStick(bob, ['--json', 'contacts', 'list']);
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as ContactRow[]).find((row) => row.address === address);
}

/** A PGP/MIME message (RFC 3156) around what gpg made. */
function pgpMime(headers: Record<string, string>, armored: string): string {
  const boundary = `b${randomBytes(6).toString('hex')}`;
  return rfc5322(
    { ...headers, 'MIME-Version': '1.0', 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"` },
    `--${boundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${boundary}\nContent-Type: application/octet-stream\n\n${armored}\n--${boundary}--\n`,
  );
}

beforeAll(async () => {
  sink = await startSink(null);
  relay = await startRelayProcess({
    domain: DOMAIN,
    dataDir: join(scratch.path, 'relay'),
    extraArgs: [
      '--smtp-listen', '127.0.0.1:0',
      // forged.test says all its mail is authenticated; nothing of it here is: DMARC fails.
      '--dns-records', writeJson(join(scratch.path, 'dns.json'), { '_dmarc.forged.test': { TXT: txt('v=DMARC1; p=reject') } }),
      '--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none',
    ],
  });
  bob = join(scratch.path, 'bob');
  mkdirSync(bob);
  bobId = await initEnrolled(bob, 'Bob', `bob@${DOMAIN}`, relay);

  gpg = makeGpg(scratch.path, { trustAlways: true });
  gpg.run(['--import'], (await onStick(bob, ['key', 'export'])).stdout);
  makeKey('Ada <ada@autocrypt.test>', 'ada1');
  makeKey('Ada <ada@autocrypt.test>', 'ada2');
  makeKey('Gina <gina@verified.test>', 'gina1');
  makeKey('Gina <gina@verified.test>', 'gina2');
  makeKey('Ed <ed@pgp.test>', 'ed');
  makeKey('Carol <carol@gossip.test>', 'carol');
  makeKey('Dave <dave@gossip.test>', 'dave');
  makeKey('Mallory <mallory@forged.test>', 'mallory');

  // Gina is a contact verified in person before any Autocrypt header arrives.
  expect((await onStick(bob, ['contacts', 'import'], { input: gpg.run(['--armor', '--export', fingerprints.gina1!]) })).status).toBe(0);
  expect((await onStick(bob, ['contacts', 'verify', 'gina@verified.test', '--fingerprint', fingerprints.gina1!])).status).toBe(0);

  // First sync: Ada's first header; a different key for verified Gina; PGP/MIME from Ed with
  // gossip inside; the same gossip unsigned from Frank; Mallory failing DMARC.
  adaFirstDate = date(48);
  await deliver(python('ada-1', { From: 'Ada <ada@autocrypt.test>', To: `bob@${DOMAIN}`, Subject: 'Ada, first', Date: adaFirstDate, 'Message-ID': mid(), Autocrypt: `addr=ada@autocrypt.test; prefer-encrypt=mutual; keydata=${keydata(fingerprints.ada1!)}` }, 'Hello from Ada.\n'), 'ada@autocrypt.test');
  await deliver(python('gina-2', { From: 'Gina <gina@verified.test>', To: `bob@${DOMAIN}`, Subject: 'Gina, another key', Date: date(24), 'Message-ID': mid(), Autocrypt: `addr=gina@verified.test; keydata=${keydata(fingerprints.gina2!)}` }, 'My new key, trust me.\n'), 'gina@verified.test');
  const gossip = (address: string, label: string) => `Autocrypt-Gossip: addr=${address}; keydata=${keydata(fingerprints[label]!)}`;
  const inner = [
    'Content-Type: text/plain; charset=utf-8',
    gossip('carol@gossip.test', 'carol'),
    gossip('dave@gossip.test', 'dave'), // not a recipient of this message: ignored
    `Autocrypt-Gossip: addr=bob@${DOMAIN}; keydata=${keydata(fingerprints.mallory!)}`, // about us: ignored
    '',
    'To Bob and Carol, with Carol\'s key.',
    '',
  ].join('\r\n');
  const toBoth = `bob@${DOMAIN}, carol@gossip.test`;
  const fromEd = gpg.run(['--armor', '--encrypt', '--sign', '--local-user', fingerprints.ed!, '--recipient', bobId.fingerprint], inner).toString();
  writeFileSync(join(scratch.path, 'ed.eml'), pgpMime({ From: 'Ed <ed@pgp.test>', To: toBoth, Subject: 'Ed, gossip', Date: date(20), 'Message-ID': mid(), Autocrypt: `addr=ed@pgp.test; prefer-encrypt=mutual; keydata=${keydata(fingerprints.ed!)}` }, fromEd));
  await deliver(join(scratch.path, 'ed.eml'), 'ed@pgp.test');
  const unsignedGossip = gpg.run(['--armor', '--encrypt', '--recipient', bobId.fingerprint], inner.replace('carol@gossip.test', 'gus@gossip.test')).toString();
  writeFileSync(join(scratch.path, 'frank.eml'), pgpMime({ From: 'frank@pgp.test', To: `bob@${DOMAIN}, gus@gossip.test`, Subject: 'Frank, unsigned gossip', Date: date(19), 'Message-ID': mid() }, unsignedGossip));
  await deliver(join(scratch.path, 'frank.eml'), 'frank@pgp.test');
  // neomutt in batch mode, autocrypt on: it writes the Autocrypt header of the account its
  // Autocrypt database holds for the From address. Batch mode cannot create that account
  // (neomutt asks on its first interactive start), so the database is made here in
  // neomutt's own schema (autocrypt/schema.c, version 1), with Nora's key made by gpg.
  const noraFingerprint = makeKey('Nora Mutt <nora@mutt.test>', 'nora');
  const autocryptDir = join(scratch.path, 'neomutt-autocrypt');
  mkdirSync(autocryptDir, { mode: 0o700 });
  const database = spawnSync('python3', ['-c', [
    'import sys, sqlite3',
    'db = sqlite3.connect(sys.argv[1])',
    'db.executescript("CREATE TABLE account (email_addr text primary key not null, keyid text, keydata text, prefer_encrypt int, enabled int); CREATE TABLE peer (email_addr text primary key not null, last_seen int, autocrypt_timestamp int, keyid text, keydata text, prefer_encrypt int, gossip_timestamp int, gossip_keyid text, gossip_keydata text); CREATE TABLE peer_history (peer_email_addr text not null, email_msgid text, timestamp int, keydata text); CREATE TABLE gossip_history (peer_email_addr text not null, sender_email_addr text, email_msgid text, timestamp int, gossip_keydata text); CREATE TABLE schema (version int); INSERT INTO schema (version) VALUES (1);")',
    'db.execute("INSERT INTO account VALUES (?, ?, ?, 1, 1)", ("nora@mutt.test", sys.argv[2], sys.argv[3]))',
    'db.commit()',
  ].join('\n'), join(autocryptDir, 'autocrypt.db'), noraFingerprint, gpg.run(['--export', '--export-options', 'export-minimal', noraFingerprint]).toString('base64')]);
  expect(database.status, database.stderr?.toString()).toBe(0);
  const capture = join(scratch.path, 'capture.sh');
  writeFileSync(capture, '#!/bin/sh\ncat > "$CAPTURE"\n');
  chmodSync(capture, 0o755);
  const muttrc = join(scratch.path, 'muttrc');
  writeFileSync(muttrc, [`set from="Nora Mutt <nora@mutt.test>"`, 'set use_from=yes', `set sendmail="${capture}"`, 'set copy=no', 'set record=""', 'set autocrypt=yes', `set autocrypt_dir="${autocryptDir}"`, 'set crypt_use_gpgme=yes', `set folder="${scratch.path}"`, `set spoolfile="${scratch.path}/spool"`, ''].join('\n'));
  const neomuttMail = join(scratch.path, 'neomutt.eml');
  const mutt = spawnSync('neomutt', ['-n', '-F', muttrc, '-s', 'Nora, from neomutt', '--', `bob@${DOMAIN}`], {
    input: 'Hello from neomutt, with Autocrypt.\n',
    env: { ...process.env, HOME: scratch.path, CAPTURE: neomuttMail },
    timeout: 60_000,
  });
  expect(mutt.status, mutt.stderr?.toString()).toBe(0);
  expect(readFileSync(neomuttMail, 'utf8')).toMatch(/^Autocrypt: addr=nora@mutt\.test; prefer-encrypt=mutual; keydata=/m);
  await deliver(neomuttMail, 'nora@mutt.test');
  await deliver(python('mallory', { From: 'mallory@forged.test', To: `bob@${DOMAIN}`, Subject: 'Forged domain', Date: date(10), 'Message-ID': mid(), Autocrypt: `addr=mallory@forged.test; keydata=${keydata(fingerprints.mallory!)}` }, 'x\n'), 'mallory@forged.test');
  await sync();

  // Second sync: an older header with another key, and an auto-reply with it: neither moves Ada.
  await deliver(python('ada-old', { From: 'ada@autocrypt.test', To: `bob@${DOMAIN}`, Subject: 'Ada, older', Date: date(72), 'Message-ID': mid(), Autocrypt: `addr=ada@autocrypt.test; keydata=${keydata(fingerprints.ada2!)}` }, 'old\n'), 'ada@autocrypt.test');
  await deliver(python('ada-auto', { From: 'ada@autocrypt.test', To: `bob@${DOMAIN}`, Subject: 'Ada, away', Date: date(30), 'Message-ID': mid(), 'Auto-Submitted': 'auto-replied', Autocrypt: `addr=ada@autocrypt.test; keydata=${keydata(fingerprints.ada2!)}` }, 'away\n'), 'ada@autocrypt.test');
  await sync();
}, 900_000);

afterAll(async () => {
  gpg?.kill();
  await relay?.stop();
  await sink?.close();
  scratch.remove();
});

describe('incoming Autocrypt (docs/gateway.md §4.5.1)', { timeout: 600_000 }, () => {
  it('a readable message with a header adds the sender, unverified, source autocrypt, prefer-encrypt kept', async () => {
    const ada = await contact('ada@autocrypt.test');
    expect(ada).toMatchObject({ fingerprint: fingerprints.ada1, verification: 'unverified', source: 'autocrypt', changedFingerprint: null });
    expect(ada!.autocrypt).toMatchObject({ preferEncrypt: 'mutual', autocryptTimestamp: new Date(adaFirstDate).toISOString() });
    expect(syncs[0]!.autocrypt).toContainEqual({ address: 'ada@autocrypt.test', step: 'add', source: 'autocrypt', fingerprint: fingerprints.ada1 });
  });

  it('an older header and an auto-reply change nothing but the last message seen', async () => {
    const ada = await contact('ada@autocrypt.test');
    expect(ada!.fingerprint).toBe(fingerprints.ada1);
    expect(syncs[1]!.autocrypt).toEqual([]);
  });

  it('a key verified in person is never replaced: the new one is the changed-key alarm, and sending stops', async () => {
    const gina = await contact('gina@verified.test');
    expect(gina).toMatchObject({ fingerprint: fingerprints.gina1, verification: 'changed', changedFingerprint: fingerprints.gina2 });
    expect(syncs[0]!.autocrypt).toContainEqual({ address: 'gina@verified.test', step: 'change', source: 'autocrypt', fingerprint: fingerprints.gina2 });
    const inbox = JSON.parse((await onStick(bob, ['--json', 'inbox'])).stdout) as Array<{ subject: string; exposure: { level: string; reasons: Array<{ code: string }> } }>;
    const message = inbox.find((entry) => entry.subject === 'Gina, another key')!;
    expect(message.exposure.level).toBe('alarm');
    expect(message.exposure.reasons.map((reason) => reason.code)).toContain('sender-key-changed');
    const send = await onStick(bob, ['send', '--to', 'gina@verified.test', '--subject', 'x'], { input: 'x' });
    expect(send.status).toBe(18);
  });

  it('PGP/MIME: the outer header adds the sender; signed gossip adds a recipient; gossip about us, non-recipients, unsigned mail is ignored', async () => {
    expect(await contact('ed@pgp.test')).toMatchObject({ fingerprint: fingerprints.ed, source: 'autocrypt', autocrypt: { preferEncrypt: 'mutual' } });
    const carol = await contact('carol@gossip.test');
    expect(carol).toMatchObject({ fingerprint: fingerprints.carol, source: 'autocrypt-gossip', verification: 'unverified', autocrypt: { gossipFingerprint: fingerprints.carol } });
    expect(carol!.autocrypt!.lastSeen).toBeUndefined();
    expect(await contact('dave@gossip.test')).toBeUndefined();
    expect(await contact('gus@gossip.test')).toBeUndefined();
    expect(await contact('frank@pgp.test')).toBeUndefined();
    expect(await contact(`bob@${DOMAIN}`)).toBeUndefined();
  });

  it('neomutt (batch mode, autocrypt on) as the sender: its Autocrypt header adds Nora, unverified, prefer-encrypt mutual', async () => {
    const nora = await contact('nora@mutt.test');
    expect(nora).toMatchObject({ fingerprint: fingerprints.nora, verification: 'unverified', source: 'autocrypt', changedFingerprint: null, autocrypt: { preferEncrypt: 'mutual' } });
    expect(syncs[0]!.autocrypt).toContainEqual({ address: 'nora@mutt.test', step: 'add', source: 'autocrypt', fingerprint: fingerprints.nora });
  });

  it('mail failing DMARC for its From domain plants no key', async () => {
    expect(await contact('mallory@forged.test')).toBeUndefined();
  });

  it('the key learnt is used: send encrypts to it (no --allow-exposed), the reason names Autocrypt, real gpg opens it', async () => {
    const before = sink.received.length;
    const sent = await onStick(bob, ['send', '--to', 'ada@autocrypt.test', '--subject', 'Encrypted thanks to Autocrypt'], { input: 'Now encrypted.\n' });
    expect(sent.status, sent.stderr).toBe(0);
    expect(sent.stderr).toContain('found in an Autocrypt header they sent');
    expect(sink.received.length).toBe(before + 1);
    const armored = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(sink.received.at(-1)!.raw)![0];
    expect(gpg.run(['--decrypt'], armored).toString()).toContain('Now encrypted.');
    // docs/decisions/post-quantum.md: our Autocrypt keydata is the cert outsiders get, what
    // `init` printed (no post-quantum subkey), and RNP, Thunderbird's engine, imports it.
    const header = /^Autocrypt: ([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)/m.exec(sink.received.at(-1)!.raw)![1]!.replace(/\s+/g, ' ');
    const keydata = Buffer.from(/keydata=([A-Za-z0-9+/= ]+)/.exec(header)![1]!.replace(/ /g, ''), 'base64');
    const printed = await openpgp.readKey({ armoredKey: bobId.cert });
    expect(new Uint8Array(keydata)).toEqual(printed.write());
    expect(printed.subkeys.map((subkey) => subkey.keyPacket.algorithm as number)).not.toContain(35);
    writeFileSync(join(scratch.path, 'bob-autocrypt.pgp'), keydata);
    const rnpHome = join(scratch.path, 'rnp');
    mkdirSync(rnpHome, { mode: 0o700 });
    const imported = spawnSync('rnpkeys', ['--homedir', rnpHome, '--import', join(scratch.path, 'bob-autocrypt.pgp')]);
    expect(imported.status, imported.stderr.toString()).toBe(0);
  });

  it('a younger header from Ada replaces the key that came from Autocrypt (the spec\'s rule), and sync says so', async () => {
    await deliver(python('ada-new', { From: 'ada@autocrypt.test', To: `bob@${DOMAIN}`, Subject: 'Ada, new key', Date: date(1), 'Message-ID': mid(), Autocrypt: `addr=ada@autocrypt.test; keydata=${keydata(fingerprints.ada2!)}` }, 'new key\n'), 'ada@autocrypt.test');
    const run = await onStick(bob, ['sync']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/ada@autocrypt\.test: .*replaces/);
    const ada = await contact('ada@autocrypt.test');
    expect(ada).toMatchObject({ fingerprint: fingerprints.ada2, source: 'autocrypt', verification: 'unverified', changedFingerprint: null, autocrypt: { preferEncrypt: 'nopreference' } });
  });
});
