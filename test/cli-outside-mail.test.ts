// Issue 4 end to end, through real `caliop` processes: mail from other services
// delivered by real swaks (with and without STARTTLS, DKIM that verifies and one
// that fails, PGP/MIME made by real gpg) ends in `caliop inbox --json` with its
// level and reasons; mail to the outside leaves through a real SMTP sink as
// PGP/MIME that gpg opens, or is refused readable without --allow-exposed.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findArrivedCiphertext } from '../src/relay/gateway/inbound-mime.js';
import { initEnrolled, onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { makeDkimKey, rfc5322, signDkim, txt, writeJson } from './gateway/helpers.js';
import { makeGpg } from './helpers/gpg.js';
import { deliverBySwaks, startSink, type Sink } from './helpers/smtp.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('outside');
const dkimKey = makeDkimKey();
let relay: RelayProcess;
let sink: Sink;
let gpg: ReturnType<typeof makeGpg>;
const sticks: Record<string, string> = {};
const ids: Record<string, InitResult> = {};

interface Entry {
  id: string;
  from: string;
  subject: string;
  direction: string;
  exposure: { level: string; score: number; reasons: Array<{ code: string; vouchedBy: string; text: { en: string } }> };
}

async function inbox(name: string): Promise<Entry[]> {
  const run = await onStick(sticks[name]!, ['--json', 'inbox']);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Entry[];
}

async function receiveOne(name: string, subject: string): Promise<Entry> {
  const synced = await onStick(sticks[name]!, ['sync']);
  expect(synced.status, synced.stderr).toBe(0);
  const entry = (await inbox(name)).find((candidate) => candidate.subject === subject);
  expect(entry, `no message "${subject}" in ${name}'s inbox`).toBeDefined();
  return entry!;
}

async function deliver(message: string, options: { from: string; tls: boolean; to?: string }): Promise<void> {
  const result = await deliverBySwaks({ port: relay.smtp!.port, from: options.from, to: options.to ?? `bob@${DOMAIN}`, tls: options.tls, message, folder: scratch.path });
  expect(result.output).toMatch(/<[~-] +250 /); // swaks marks replies <~ over TLS, <- without
}

function headers(from: string, subject: string): Record<string, string> {
  return { Date: new Date().toUTCString().replace('GMT', '+0000'), 'Message-ID': `<${randomBytes(8).toString('hex')}@outside>`, From: from, To: `bob@${DOMAIN}`, Subject: subject };
}

beforeAll(async () => {
  sink = await startSink(null);
  const records = writeJson(join(scratch.path, 'dns.json'), {
    'sel._domainkey.signed.test': { TXT: txt(dkimKey.txtRecord) },
    'signed.test': { TXT: txt('v=spf1 ip4:127.0.0.1 -all') },
    '_dmarc.signed.test': { TXT: txt('v=DMARC1; p=reject') },
    'sel._domainkey.tampered.test': { TXT: txt(dkimKey.txtRecord) },
    '_dmarc.tampered.test': { TXT: txt('v=DMARC1; p=reject') },
  });
  relay = await startRelayProcess({
    domain: DOMAIN,
    dataDir: join(scratch.path, 'relay'),
    extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', records, '--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none'],
  });
  for (const name of ['alice', 'bob']) {
    const stick = join(scratch.path, name);
    mkdirSync(stick);
    ids[name] = await initEnrolled(stick, name, `${name}@${DOMAIN}`, relay);
    sticks[name] = stick;
  }
  gpg = makeGpg(scratch.path, { trustAlways: true });
  gpg.run(['--quick-gen-key', 'Gina Outside <gina@elsewhere.test>', 'ed25519', 'sign', 'never']);
  const fingerprint = /^fpr:::::::::([0-9A-F]{40}):/m.exec(gpg.run(['--with-colons', '--list-keys', 'gina@elsewhere.test']).toString())![1]!;
  gpg.run(['--quick-add-key', fingerprint, 'cv25519', 'encrypt', 'never']);
  const ginaCert = gpg.run(['--armor', '--export', 'gina@elsewhere.test']);
  for (const name of ['alice', 'bob']) expect((await onStick(sticks[name]!, ['contacts', 'import'], { input: ginaCert })).status).toBe(0);
  for (const name of ['alice', 'bob']) gpg.run(['--import'], (await onStick(sticks[name]!, ['key', 'export'])).stdout);
}, 300_000); // a hang guard: a relay, two sticks, a GnuPG key and eight caliop runs on a machine at load 30 (the other set-ups' budget)

afterAll(async () => {
  gpg?.kill();
  await relay?.stop();
  await sink?.close();
  scratch.remove();
});

describe('mail from other services, as caliop inbox --json shows it', () => {
  it('STARTTLS with DKIM, SPF and DMARC passing: tls-only, with the relay-seen TLS and the verified DKIM as reasons', async () => {
    const message = await signDkim(rfc5322(headers('Sam <sam@signed.test>', 'tls and dkim'), 'Bonjour Bob, en clair mais sur TLS.\n'), dkimKey, 'signed.test', 'sel');
    await deliver(message, { from: 'sam@signed.test', tls: true });
    const entry = await receiveOne('bob', 'tls and dkim');
    expect(entry.from).toBe('Sam <sam@signed.test>');
    expect(entry.exposure.level).toBe('tls-only');
    const codes = entry.exposure.reasons.map((reason) => reason.code);
    expect(codes).toEqual(expect.arrayContaining(['route-smtp-inbound', 'arrived-readable', 'relay-held-plaintext', 'payload-not-encrypted']));
    expect(entry.exposure.reasons.filter((reason) => reason.vouchedBy === 'relay').length).toBeGreaterThan(2);
    expect(JSON.stringify(entry.exposure.reasons)).toMatch(/TLSv1\.[23]/);
    expect(codes.some((code) => code.startsWith('dkim-pass'))).toBe(true);
  });

  it('without TLS: cleartext, readable by anyone on the network', async () => {
    await deliver(rfc5322(headers('Sam <sam@plain.test>', 'no tls at all'), 'Pas de chiffrement du tout.\n'), { from: 'sam@plain.test', tls: false });
    const entry = await receiveOne('bob', 'no tls at all');
    expect(entry.exposure.level).toBe('cleartext');
    expect(entry.exposure.reasons.map((reason) => reason.code)).toEqual(expect.arrayContaining(['hop-no-tls']));
  });

  it('a DKIM signature that fails (body changed after signing) under p=reject: the alarm', async () => {
    const signed = await signDkim(rfc5322(headers('Tom <tom@tampered.test>', 'tampered'), 'Le texte original.\n'), dkimKey, 'tampered.test', 'sel');
    await deliver(signed.replace('Le texte original.', 'Le texte modifie.'), { from: 'tom@tampered.test', tls: true });
    const entry = await receiveOne('bob', 'tampered');
    expect(entry.exposure.level).toBe('alarm');
    const codes = entry.exposure.reasons.map((reason) => reason.code);
    expect(codes.some((code) => code.startsWith('dkim-fail'))).toBe(true);
    expect(codes.some((code) => code.startsWith('dmarc-fail'))).toBe(true);
  });

  it('PGP/MIME made by gpg and signed by a known outside contact: pgp-external', async () => {
    const inner = 'Content-Type: text/plain; charset=utf-8\r\n\r\nChiffré par gpg, de l\'extérieur.\r\n';
    const armored = gpg.run(['--armor', '--encrypt', '--sign', '--local-user', 'gina@elsewhere.test', '--recipient', ids.bob!.fingerprint], inner).toString();
    const boundary = `b${randomBytes(6).toString('hex')}`;
    const message = rfc5322(
      { ...headers('Gina Outside <gina@elsewhere.test>', 'pgp from gpg'), 'MIME-Version': '1.0', 'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"` },
      `--${boundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${boundary}\nContent-Type: application/octet-stream\n\n${armored}\n--${boundary}--\n`,
    );
    await deliver(message, { from: 'gina@elsewhere.test', tls: true });
    const synced = await onStick(sticks.bob!, ['sync']);
    expect(synced.status, synced.stderr).toBe(0);
    const entry = (await inbox('bob')).find((candidate) => candidate.from.includes('gina@elsewhere.test'))!;
    expect(entry.exposure.level).toBe('pgp-external');
    expect(entry.exposure.reasons.map((reason) => reason.code)).toEqual(expect.arrayContaining(['payload-encrypted', 'signature-valid', 'arrived-encrypted']));
    const read = JSON.parse((await onStick(sticks.bob!, ['--json', 'read', entry.id])).stdout) as { body: string; signature: string };
    expect(read.body).toContain("Chiffré par gpg, de l'extérieur.");
    expect(read.signature).toBe('good');
  });

  it('the levels order as specified: internal verified > internal TOFU > PGP external > TLS-only > cleartext, and the alarm below all', async () => {
    expect((await onStick(sticks.alice!, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'internal tofu'], { input: 'hello' })).status).toBe(0);
    await receiveOne('bob', 'internal tofu');
    const before = await inbox('bob');
    const score = (subject: string, entries: Entry[]) => entries.find((entry) => entry.subject === subject || entry.from.includes(subject))!.exposure;
    expect(score('internal tofu', before).level).toBe('e2e-tofu');
    expect((await onStick(sticks.bob!, ['contacts', 'verify', `alice@${DOMAIN}`, '--fingerprint', ids.alice!.fingerprint])).status).toBe(0);
    const after = await inbox('bob');
    const ladder = [score('internal tofu', after), score('internal tofu', before), score('gina@elsewhere.test', after), score('tls and dkim', after), score('no tls at all', after), score('tampered', after)];
    expect(ladder.map((exposure) => exposure.level)).toEqual(['e2e-verified', 'e2e-tofu', 'pgp-external', 'tls-only', 'cleartext', 'alarm']);
    for (let index = 1; index < ladder.length; index += 1) expect(ladder[index - 1]!.score).toBeGreaterThan(ladder[index]!.score);

    const text = await onStick(sticks.bob!, ['inbox']);
    expect(text.stdout).toMatch(/End to end, verified key/);
    expect(text.stdout).toMatch(/#{4}|●{4}/); // the level as a symbol, never colour alone
  });
});

describe('mail to the outside', () => {
  it('with the recipient\'s cert: PGP/MIME through the smarthost, which gpg decrypts; Autocrypt carries our key', async () => {
    const before = sink.received.length;
    const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', 'gina@elsewhere.test', '--subject', 'Sujet protégé'], { input: 'Bonjour Gina, ceci reste chiffré.\n' });
    expect(sent.status, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout).exposure.message.level).toBe('pgp-external');
    expect(sink.received.length).toBe(before + 1);
    const delivered = sink.received.at(-1)!;
    expect(delivered.to).toEqual(['gina@elsewhere.test']);
    expect(delivered.raw).toMatch(/^Subject: \.\.\.$/m);
    expect(delivered.raw).not.toContain('ceci reste chiffré');
    expect(delivered.raw).toMatch(/^Autocrypt: addr=alice@caliop\.example; prefer-encrypt=mutual; keydata=/m);
    const ciphertext = findArrivedCiphertext(delivered.raw);
    expect(ciphertext).not.toBeNull();
    const opened = gpg.run(['--decrypt'], ciphertext!.armoredMessage).toString();
    expect(opened).toContain('Subject: Sujet protégé');
    expect(opened).toContain('Bonjour Gina, ceci reste chiffré.');
  });

  it('without a cert: refused (40) after showing the assessment, nothing leaves; with --allow-exposed it leaves readable', async () => {
    const before = sink.received.length;
    const refused = await onStick(sticks.alice!, ['send', '--to', 'nocert@elsewhere.test', '--subject', 'en clair'], { input: 'lisible' });
    expect(refused.status).toBe(40);
    expect(refused.stderr).toMatch(/^caliop: to nocert@elsewhere\.test: /m);
    expect(refused.stderr).toMatch(/^caliop: error: this message would leave Caliop readable/m);
    expect(sink.received.length).toBe(before);

    const allowed = await onStick(sticks.alice!, ['--json', 'send', '--to', 'nocert@elsewhere.test', '--subject', 'en clair', '--allow-exposed'], { input: 'lisible' });
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout).exposure.message.level).toBe('cleartext');
    expect(sink.received.length).toBe(before + 1);
    expect(sink.received.at(-1)!.raw).toContain('lisible');
    const sentCopy = (await inbox('alice')).find((entry) => entry.subject === 'en clair' && entry.direction === 'out');
    expect(sentCopy?.exposure.level).toBe('cleartext');
  });
});
