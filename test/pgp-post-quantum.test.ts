// docs/decisions/post-quantum.md: every Caliop cert carries an ML-KEM-768+X25519 subkey
// (algorithm 35, derived from the seed, docs/ceremony.md §3.1, §4.3). GnuPG 2.2 and Sequoia
// keep encrypting to its Cv25519 subkey; mail between Caliop users whose certs all carry it
// is encrypted to it (packets inspected), and the index says so; everything else stays classic.
// Real gpg and sq, a real relay on loopback, real `caliop` processes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveIdentity, type DerivedIdentity } from '../src/core/key-derivation.js';
import { decryptData, encryptData } from '../src/service/pgp.js';
import { onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
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
});

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

describe('between Caliop sticks, through the relay', () => {
  const DOMAIN = 'caliop.example';
  let relay: RelayProcess;
  const sticks: Record<string, string> = {};
  const certs: Record<string, openpgp.PublicKey> = {};

  beforeAll(async () => {
    relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), store: 'sqlite' });
    await Promise.all(['alice', 'bob', 'olga'].map(async (name) => {
      const stick = join(scratch.path, name);
      mkdirSync(stick);
      const run = await onStick(stick, ['--batch', '--json', 'init', '--name', name, '--email', `${name}@${DOMAIN}`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!]);
      expect(run.status, run.stderr).toBe(0);
      sticks[name] = stick;
      certs[name] = await openpgp.readKey({ armoredKey: (JSON.parse(run.stdout) as InitResult).cert });
    }));
    // Olga's stick is one made before the post-quantum subkey: the relay holds her cert without it.
    const db = new Database(join(relay.dataDir, 'relay.sqlite'));
    const old = new openpgp.PublicKey(certs.olga!.toPacketList());
    old.subkeys = old.subkeys.filter((subkey) => subkey.keyPacket.algorithm !== PQ);
    db.prepare('UPDATE accounts SET cert = ? WHERE address = ?').run(Buffer.from(old.write() as Uint8Array), `olga@${DOMAIN}`);
    db.close();
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

  it('alice to bob (both certs carry it): only ML-KEM-768+X25519 session-key packets, and bob\'s index says payload-encrypted-pq', async () => {
    const sent = await onStick(sticks.alice!, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'pq'], { input: 'hybrid\n' });
    expect(sent.status, sent.stderr).toBe(0);
    expect((await sessionKeyPackets(lastStoredMessage())).sort()).toEqual([[PQ, subkeyID(certs.alice!, PQ)], [PQ, subkeyID(certs.bob!, PQ)]].sort());
    expect((await onStick(sticks.bob!, ['sync'])).status).toBe(0);
    const inbox = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ subject: string; exposure: { reasons: Array<{ code: string; vouchedBy: string }> } }>;
    const reasons = inbox.find((entry) => entry.subject === 'pq')!.exposure.reasons;
    expect(reasons.map((reason) => reason.code)).toEqual(expect.arrayContaining(['payload-encrypted', 'payload-encrypted-pq']));
    expect(reasons.find((reason) => reason.code === 'payload-encrypted-pq')!.vouchedBy).toBe('stick');
  });

  it('alice to bob and olga (olga\'s cert has no PQ subkey): classic for every recipient, alice\'s own copy included; olga reads it, no pq reason', async () => {
    const sent = await onStick(sticks.alice!, ['send', '--to', `bob@${DOMAIN}`, '--to', `olga@${DOMAIN}`, '--subject', 'mixed'], { input: 'classic\n' });
    expect(sent.status, sent.stderr).toBe(0);
    const packets = await sessionKeyPackets(lastStoredMessage());
    expect(packets).toHaveLength(3);
    expect(packets.every(([algorithm]) => algorithm === ECDH)).toBe(true);
    expect(packets.map(([, keyID]) => keyID).sort()).toEqual([subkeyID(certs.alice!, ECDH), subkeyID(certs.bob!, ECDH), subkeyID(certs.olga!, ECDH)].sort());
    expect((await onStick(sticks.olga!, ['sync'])).status).toBe(0);
    const inbox = JSON.parse((await onStick(sticks.olga!, ['--json', 'inbox'])).stdout) as Array<{ subject: string; exposure: { reasons: Array<{ code: string }> } }>;
    const codes = inbox.find((entry) => entry.subject === 'mixed')!.exposure.reasons.map((reason) => reason.code);
    expect(codes).toContain('payload-encrypted');
    expect(codes).not.toContain('payload-encrypted-pq');
  });
});
