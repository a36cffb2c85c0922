// docs/decisions/post-quantum.md: every Caliop cert carries an ML-KEM-768+X25519 subkey
// (algorithm 35, derived from the seed, docs/ceremony.md §3.1, §4.3). GnuPG 2.2 and Sequoia
// keep encrypting to its Cv25519 subkey; mail between Caliop users whose certs all carry it
// is encrypted to it (packets inspected), and the index says so; everything else stays classic.
// RNP refuses such a cert as a whole, so everything an outsider gets (init's cert, `key
// export`, the relay's WKD answer) is the cert without it, which rnp, gpg and sq import and
// encrypt to; the stick decrypts. Real gpg, sq and rnp, a real relay on loopback, real
// `caliop` processes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveIdentity, type DerivedIdentity } from '../src/core/key-derivation.js';
import { certForOutsiders } from '../src/core/outsider-cert.js';
import { wkdHash } from '../src/api/wkd-hash.js';
import { decryptData, encryptData } from '../src/service/pgp.js';
import { unlockVault } from '../src/edges/vault-file.js';
import { initEnrolled, onStick, PASSPHRASE, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { rawRequest } from './relay/helpers/raw-request.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const PQ = 35;
const ECDH = 18;
const scratch = temporaryFolder('post-quantum');
const created = new Date('2026-01-02T03:04:05Z');
let identity: DerivedIdentity;

/** Every session-key packet of an OpenPGP message: [algorithm, key id]. */
async function sessionKeyPackets(data: Uint8Array | string): Promise<Array<[number, string]>> {
  const message = typeof data === 'string' ? await openpgp.readMessage({ armoredMessage: data }) : await openpgp.readMessage({ binaryMessage: data as Uint8Array<ArrayBuffer> });
  return message.packets
    .filterByTag(openpgp.enums.packet.publicKeyEncryptedSessionKey)
    .map((packet) => {
      const pkesk = packet as unknown as { publicKeyAlgorithm: number; publicKeyID: openpgp.KeyID };
      return [pkesk.publicKeyAlgorithm, pkesk.publicKeyID.toHex().toUpperCase()];
    });
}

function subkeyID(cert: openpgp.PublicKey, algorithm: number): string {
  return cert.subkeys.find((subkey) => subkey.keyPacket.algorithm === algorithm)!.getKeyID().toHex().toUpperCase();
}

beforeAll(async () => {
  identity = await deriveIdentity({ seed: Uint8Array.from({ length: 32 }, (_, index) => index * 7), name: 'Pia Quantum', email: 'pia@example.org', creationDate: created });
  writeFileSync(join(scratch.path, 'pia.asc'), identity.armoredCert);
  writeFileSync(join(scratch.path, 'pia-outsiders.asc'), identity.armoredCertForOutsiders);
});

const algorithmsOf = (cert: openpgp.PublicKey | openpgp.PrivateKey) => cert.subkeys.map((subkey) => subkey.keyPacket.algorithm as number);
const run = (command: string, args: string[], input?: string | Uint8Array, env: NodeJS.ProcessEnv = process.env) => {
  const result = spawnSync(command, args, { input, env, maxBuffer: 1 << 24 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
};

afterAll(() => scratch.remove());

describe('what GnuPG 2.2 and Sequoia see in a cert with the post-quantum subkey', () => {
  const when = '2026-02-01T00:00:00Z';

  it('gpg 2.2 imports it, marks the algorithm-35 subkey invalid, and encrypts to the Cv25519 subkey; caliop decrypts (classic)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'caliop-pq-gpg-'));
    try {
      const gpg = (args: string[], input?: string) => spawnSync('gpg', ['--homedir', home, '--batch', '--faked-system-time', '20260201T000000', ...args], { input });
      expect(gpg(['--import', join(scratch.path, 'pia.asc')]).status).toBe(0);
      const subkeys = gpg(['--with-colons', '--list-keys', 'pia@example.org']).stdout.toString().split('\n').filter((line) => line.startsWith('sub:'));
      expect(subkeys.map((line) => line.split(':').slice(1, 5).join(':'))).toEqual([
        `-:255:22:${identity.publicKey.subkeys[0]!.getKeyID().toHex().toUpperCase()}`,
        `-:255:18:${subkeyID(identity.publicKey, ECDH)}`,
        `-:255:22:${identity.publicKey.subkeys[2]!.getKeyID().toHex().toUpperCase()}`,
        `i:0:35:${subkeyID(identity.publicKey, PQ)}`,
      ]);
      const encrypted = gpg(['--trust-model', 'always', '--encrypt', '--recipient', 'pia@example.org'], 'to pia from gpg\n');
      expect(encrypted.status, encrypted.stderr.toString()).toBe(0);
      expect(await sessionKeyPackets(encrypted.stdout)).toEqual([[ECDH, subkeyID(identity.publicKey, ECDH)]]);
      const opened = await decryptData(encrypted.stdout, identity.privateKey, []);
      expect(new TextDecoder().decode(opened.data)).toBe('to pia from gpg\n');
      expect(opened.postQuantum).toBe(false);
    } finally {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('sq encrypts to the Cv25519 subkey only; caliop decrypts (classic)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'caliop-pq-sq-'));
    try {
      const encrypted = execFileSync('sq', ['encrypt', '--recipient-cert', join(scratch.path, 'pia.asc'), '--time', when.replace(/[-:]/g, '')], {
        input: 'to pia from sq\n', env: { ...process.env, HOME: home, SEQUOIA_HOME: home },
      });
      expect(await sessionKeyPackets(new TextDecoder().decode(encrypted))).toEqual([[ECDH, subkeyID(identity.publicKey, ECDH)]]);
      const opened = await decryptData(encrypted, identity.privateKey, []);
      expect(new TextDecoder().decode(opened.data)).toBe('to pia from sq\n');
      expect(opened.postQuantum).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('caliop chooses: classic by default (caliop encrypt, sop, outside mail), post-quantum only when asked and every cert has it', async () => {
    const data = new TextEncoder().encode('x');
    const classic = await encryptData({ data, recipients: [identity.publicKey], armor: false, date: new Date(when) });
    expect(await sessionKeyPackets(classic)).toEqual([[ECDH, subkeyID(identity.publicKey, ECDH)]]);
    const postQuantum = await encryptData({ data, recipients: [identity.publicKey], armor: false, date: new Date(when), postQuantum: true });
    expect(await sessionKeyPackets(postQuantum)).toEqual([[PQ, subkeyID(identity.publicKey, PQ)]]);
    const opened = await decryptData(postQuantum, identity.privateKey, []);
    expect(opened.postQuantum).toBe(true);
    // A cert without the subkey (gpg-made) cannot be asked for post-quantum.
    const { publicKey: classicOnly } = await openpgp.generateKey({ userIDs: [{ email: 'old@example.org' }], type: 'ecc', curve: 'ed25519Legacy', format: 'object', date: created });
    await expect(encryptData({ data, recipients: [identity.publicKey, classicOnly], armor: false, date: new Date(when), postQuantum: true })).rejects.toThrow(/no post-quantum encryption subkey/);
  });
});

describe('what outsiders get: the cert without the post-quantum subkey (RNP refuses it whole)', () => {
  it('rnpkeys refuses the full cert as a whole: "unknown key algorithm: 35", nothing imported (the finding)', () => {
    const home = mkdtempSync(join(tmpdir(), 'caliop-pq-rnp-'));
    try {
      const refused = run('rnpkeys', ['--homedir', home, '--import', join(scratch.path, 'pia.asc')]);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/unknown key algorithm: 35/);
      expect(run('rnpkeys', ['--homedir', home, '--list-keys']).stdout.toString()).not.toContain('pia@example.org');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('the cert for outsiders is the full cert minus the algorithm-35 subkey and its binding, every other byte as it was', async () => {
    const full = identity.publicKey.write() as Uint8Array;
    const outside = certForOutsiders(full);
    const read = await openpgp.readKey({ binaryKey: outside as Uint8Array<ArrayBuffer> });
    expect(algorithmsOf(read)).toEqual([22, ECDH, 22]);
    expect(read.getFingerprint()).toBe(identity.publicKey.getFingerprint());
    expect(Buffer.from(full.subarray(0, outside.length)).equals(Buffer.from(outside))).toBe(true); // a prefix: the subkey is last
    expect(certForOutsiders(outside)).toEqual(outside); // idempotent
    expect((await openpgp.readKey({ armoredKey: identity.armoredCertForOutsiders })).write()).toEqual(outside);
    // A secret key loses the secret subkey too.
    expect(algorithmsOf(await openpgp.readPrivateKey({ binaryKey: certForOutsiders(identity.privateKey.write() as Uint8Array) as Uint8Array<ArrayBuffer> }))).toEqual([22, ECDH, 22]);
  });

  it('rnp imports it and encrypts to the Cv25519 subkey; so do gpg 2.2 and sq; caliop decrypts each (classic)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'caliop-pq-outside-'));
    try {
      const file = join(scratch.path, 'pia-outsiders.asc');
      mkdirSync(join(home, 'rnp'), { mode: 0o700 });
      expect(run('rnpkeys', ['--homedir', join(home, 'rnp'), '--import', file]).status).toBe(0);
      const viaRnp = run('rnp', ['--homedir', join(home, 'rnp'), '--encrypt', '-r', 'pia@example.org', '--output', '-'], 'to pia from rnp\n');
      expect(viaRnp.status, viaRnp.stderr).toBe(0);
      mkdirSync(join(home, 'gnupg'), { mode: 0o700 });
      const gpg = (args: string[], input?: string) => run('gpg', ['--homedir', join(home, 'gnupg'), '--batch', '--trust-model', 'always', ...args], input);
      expect(gpg(['--import', file]).status).toBe(0);
      const viaGpg = gpg(['--encrypt', '--recipient', 'pia@example.org'], 'to pia from gpg\n');
      expect(viaGpg.status, viaGpg.stderr).toBe(0);
      const viaSq = run('sq', ['encrypt', '--recipient-cert', file], 'to pia from sq\n', { ...process.env, HOME: home, SEQUOIA_HOME: home });
      expect(viaSq.status, viaSq.stderr).toBe(0);
      for (const [peer, message] of [['rnp', viaRnp.stdout], ['gpg', viaGpg.stdout], ['sq', viaSq.stdout]] as const) {
        expect(await sessionKeyPackets(new Uint8Array(message).at(0) === 0x2d ? message.toString() : new Uint8Array(message))).toEqual([[ECDH, subkeyID(identity.publicKey, ECDH)]]);
        const opened = await decryptData(new Uint8Array(message), identity.privateKey, []);
        expect(new TextDecoder().decode(opened.data)).toBe(`to pia from ${peer}\n`);
        expect(opened.postQuantum).toBe(false);
      }
    } finally {
      spawnSync('gpgconf', ['--homedir', join(home, 'gnupg'), '--kill', 'gpg-agent']);
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('between Caliop sticks, through the relay', () => {
  const DOMAIN = 'caliop.example';
  let relay: RelayProcess;
  const sticks: Record<string, string> = {};
  /** The full certs, as Caliop sticks read them from the relay's directory (docs/api.md §7.1). */
  const certs: Record<string, openpgp.PublicKey> = {};
  let olgaFirstSync: { certPublished: boolean } | undefined;
  let olgaWkdBefore: Buffer;
  /** What `init --json` printed: the cert for outsiders. */
  const initCerts: Record<string, string> = {};

  async function directoryCert(name: string): Promise<openpgp.PublicKey> {
    const answer = await rawRequest(relay.url, { method: 'GET', path: `/v1/certs/${name}@${DOMAIN}` });
    expect(answer.status).toBe(200);
    return openpgp.readKey({ armoredKey: (answer.json as { armoredCert: string }).armoredCert });
  }

  beforeAll(async () => {
    relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), store: 'sqlite' });
    await Promise.all(['alice', 'bob', 'olga'].map(async (name) => {
      const stick = join(scratch.path, name);
      mkdirSync(stick);
      sticks[name] = stick;
      initCerts[name] = (await initEnrolled(stick, name, `${name}@${DOMAIN}`, relay)).cert;
      certs[name] = await directoryCert(name);
    }));
    // Olga's stick is one made before the post-quantum subkey: the relay holds her cert without it.
    const db = new Database(join(relay.dataDir, 'relay.sqlite'));
    const old = new openpgp.PublicKey(certs.olga!.toPacketList());
    old.subkeys = old.subkeys.filter((subkey) => subkey.keyPacket.algorithm !== PQ);
    db.prepare('UPDATE accounts SET cert = ? WHERE address = ?').run(Buffer.from(old.write() as Uint8Array), `olga@${DOMAIN}`);
    db.close();
    // …and her vault is in the format of then (caliop-vault-contents/3, docs/vault-contents.md §1.1):
    // nothing says which cert the directory was given.
    const { plaintext, handle } = await unlockVault(join(sticks.olga!, 'vault', 'caliop.vault'), new TextEncoder().encode(PASSPHRASE));
    const contents = JSON.parse(new TextDecoder().decode(plaintext)) as { format: string; relayAccount: Record<string, unknown> };
    expect(contents.relayAccount.publishedCertSha256).toMatch(/^[0-9a-f]{64}$/);
    delete contents.relayAccount.publishedCertSha256;
    await handle.save(new TextEncoder().encode(JSON.stringify({ ...contents, format: 'caliop-vault-contents/3' })));
    olgaWkdBefore = (await rawRequest(relay.url, { method: 'GET', path: `/.well-known/openpgpkey/hu/${wkdHash('olga')}?l=olga` })).raw;
    expect(algorithmsOf(await directoryCert('olga'))).toEqual([22, ECDH, 22]);
  }, 240_000);

  afterAll(async () => {
    await relay?.stop();
  });

  /** The ciphertext the relay holds for the last message alice sent (what a seized server gives up). */
  function lastStoredMessage(): string {
    const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true });
    try {
      return (db.prepare("SELECT armored_message FROM messages WHERE sender = ? ORDER BY rowid DESC LIMIT 1").get(`alice@${DOMAIN}`) as { armored_message: string }).armored_message;
    } finally {
      db.close();
    }
  }

  it('outsiders get the cert without the subkey: init\'s cert, `key export` and the WKD answer are the same bytes; the directory\'s own route keeps it', async () => {
    expect(algorithmsOf(certs.alice!)).toEqual([22, ECDH, 22, PQ]);
    const printed = await openpgp.readKey({ armoredKey: initCerts.alice! });
    expect(algorithmsOf(printed)).toEqual([22, ECDH, 22]);
    expect(printed.write()).toEqual(certForOutsiders(certs.alice!.write() as Uint8Array));
    const exported = await onStick(sticks.alice!, ['key', 'export']);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout).toBe(initCerts.alice);
    for (const path of [`/.well-known/openpgpkey/${DOMAIN}/hu/${wkdHash('alice')}?l=alice`, `/.well-known/openpgpkey/hu/${wkdHash('alice')}`]) {
      const wkd = await rawRequest(relay.url, { method: 'GET', path });
      expect(wkd.status).toBe(200);
      expect(new Uint8Array(wkd.raw)).toEqual(printed.write());
    }
    const secret = await onStick(sticks.alice!, ['key', 'export', '--secret']);
    expect(secret.status, secret.stderr).toBe(0);
    expect(algorithmsOf(await openpgp.readPrivateKey({ armoredKey: secret.stdout }))).toEqual([22, ECDH, 22]);
  });

  it('rnp imports the WKD answer and encrypts to alice; alice\'s stick decrypts it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'caliop-pq-rnp-wkd-'));
    try {
      const wkd = await rawRequest(relay.url, { method: 'GET', path: `/.well-known/openpgpkey/hu/${wkdHash('alice')}?l=alice` });
      writeFileSync(join(home, 'alice.pgp'), wkd.raw);
      mkdirSync(join(home, 'rnp'), { mode: 0o700 });
      const imported = run('rnpkeys', ['--homedir', join(home, 'rnp'), '--import', join(home, 'alice.pgp')]);
      expect(imported.status, imported.stderr).toBe(0);
      const encrypted = run('rnp', ['--homedir', join(home, 'rnp'), '--encrypt', '--armor', '-r', `alice@${DOMAIN}`, '--output', '-'], 'from Thunderbird\'s engine\n');
      expect(encrypted.status, encrypted.stderr).toBe(0);
      const opened = await onStick(sticks.alice!, ['decrypt'], { input: encrypted.stdout });
      expect(opened.status, opened.stderr).toBe(0);
      expect(opened.stdout).toBe('from Thunderbird\'s engine\n');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('alice to bob (both certs carry it): only ML-KEM-768+X25519 session-key packets, and bob\'s index says payload-encrypted-pq', async () => {
    const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'pq'], { input: 'hybrid\n' });
    expect(sent.status, sent.stderr).toBe(0);
    // Issue 16: the assessment shown before sending says it too (the mirror of bob's payload-encrypted-pq).
    const shown = (JSON.parse(sent.stdout) as { exposure: { message: { reasons: Array<{ code: string; vouchedBy: string }> } } }).exposure.message.reasons;
    expect(shown.find((reason) => reason.code === 'send-encrypted-pq')?.vouchedBy).toBe('stick');
    expect((await sessionKeyPackets(lastStoredMessage())).sort()).toEqual([[PQ, subkeyID(certs.alice!, PQ)], [PQ, subkeyID(certs.bob!, PQ)]].sort());
    expect((await onStick(sticks.bob!, ['sync'])).status).toBe(0);
    const inbox = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ subject: string; exposure: { reasons: Array<{ code: string; vouchedBy: string }> } }>;
    const reasons = inbox.find((entry) => entry.subject === 'pq')!.exposure.reasons;
    expect(reasons.map((reason) => reason.code)).toEqual(expect.arrayContaining(['payload-encrypted', 'payload-encrypted-pq']));
    expect(reasons.find((reason) => reason.code === 'payload-encrypted-pq')!.vouchedBy).toBe('stick');
  });

  it('alice to bob and olga (olga\'s cert has no PQ subkey): classic for every recipient, alice\'s own copy included; olga reads it, no pq reason', async () => {
    const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--to', `olga@${DOMAIN}`, '--subject', 'mixed'], { input: 'classic\n' });
    expect(sent.status, sent.stderr).toBe(0);
    const shown = (JSON.parse(sent.stdout) as { exposure: { message: { reasons: Array<{ code: string }> } } }).exposure.message.reasons;
    expect(shown.map((reason) => reason.code)).not.toContain('send-encrypted-pq');
    const packets = await sessionKeyPackets(lastStoredMessage());
    expect(packets).toHaveLength(3);
    expect(packets.every(([algorithm]) => algorithm === ECDH)).toBe(true);
    expect(packets.map(([, keyID]) => keyID).sort()).toEqual([subkeyID(certs.alice!, ECDH), subkeyID(certs.bob!, ECDH), subkeyID(certs.olga!, ECDH)].sort());
    // Her first sync by this caliop (docs/vault-contents.md §6): it also publishes her cert (the next test).
    const synced = await onStick(sticks.olga!, ['--json', 'sync']);
    expect(synced.status, synced.stderr).toBe(0);
    olgaFirstSync = JSON.parse(synced.stdout) as { certPublished: boolean };
    const inbox = JSON.parse((await onStick(sticks.olga!, ['--json', 'inbox'])).stdout) as Array<{ subject: string; exposure: { reasons: Array<{ code: string }> } }>;
    const codes = inbox.find((entry) => entry.subject === 'mixed')!.exposure.reasons.map((reason) => reason.code);
    expect(codes).toContain('payload-encrypted');
    expect(codes).not.toContain('payload-encrypted-pq');
  });

  it('olga\'s stick, made before: its first sync by this caliop publishes her cert with the subkey (same fingerprint, merged at the relay), once; mail to her is then post-quantum', async () => {
    expect(olgaFirstSync?.certPublished).toBe(true);
    const published = await directoryCert('olga');
    expect(published.getFingerprint()).toBe(certs.olga!.getFingerprint());
    expect(algorithmsOf(published)).toEqual([22, ECDH, 22, PQ]);
    expect(published.write()).toEqual(certs.olga!.write()); // the very cert her stick derives
    // Outsiders still get the same bytes as before.
    expect((await rawRequest(relay.url, { method: 'GET', path: `/.well-known/openpgpkey/hu/${wkdHash('olga')}?l=olga` })).raw.equals(olgaWkdBefore)).toBe(true);
    const again = await onStick(sticks.olga!, ['--json', 'sync']);
    expect((JSON.parse(again.stdout) as { certPublished: boolean }).certPublished).toBe(false);

    const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--to', `olga@${DOMAIN}`, '--subject', 'all pq'], { input: 'hybrid for all\n' });
    expect(sent.status, sent.stderr).toBe(0);
    expect((JSON.parse(sent.stdout) as { exposure: { perRecipient: Array<{ assessment: { reasons: Array<{ code: string }> } }> } }).exposure.perRecipient
      .every(({ assessment }) => assessment.reasons.some((reason) => reason.code === 'send-encrypted-pq'))).toBe(true);
    expect((await sessionKeyPackets(lastStoredMessage())).sort()).toEqual([[PQ, subkeyID(certs.alice!, PQ)], [PQ, subkeyID(certs.bob!, PQ)], [PQ, subkeyID(certs.olga!, PQ)]].sort());
    expect((await onStick(sticks.olga!, ['sync'])).status).toBe(0);
    const inbox = JSON.parse((await onStick(sticks.olga!, ['--json', 'inbox'])).stdout) as Array<{ subject: string; exposure: { reasons: Array<{ code: string }> } }>;
    expect(inbox.find((entry) => entry.subject === 'all pq')!.exposure.reasons.map((reason) => reason.code)).toContain('payload-encrypted-pq');
  });
});
