// src/service/pgp-session-key.ts: the session key of an ML-KEM-768+X25519 PKESK (algorithm 35)
// through node:crypto where it has ML-KEM (OpenSSL 3.5: the executables' Node 26), the same key
// openpgp.js finds (its JavaScript ML-KEM), and nothing where a step fails: a modified wrapped
// key, a key the message is not for. Under Node 20 (where the suite runs) node:crypto has no
// ML-KEM: the path finds nothing and openpgp.js decrypts. The Node 26 side runs on the
// TypeScript sources (test/helpers/ts-source-hooks.mjs); skipped when no executable was built here.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { cachedNodeBinary, hostTarget } from '../scripts/build-exe.js';
import { deriveIdentity } from '../src/core/key-derivation.js';
import { acceptingEveryCipher, decryptData, encryptData, SESSION_CIPHERS } from '../src/service/pgp.js';
import { nativeSessionKeys } from '../src/service/pgp-session-key.js';

const REPO = join(import.meta.dirname, '..');
const target = hostTarget();
const node26 = target === undefined ? undefined : cachedNodeBinary(target);

const SCRIPT = `
const src = process.argv[1];
const kd = await import(src + '/core/key-derivation.ts');
const pgp = await import(src + '/service/pgp.ts');
const { nativeSessionKeys } = await import(src + '/service/pgp-session-key.ts');
const openpgp = await import('openpgp');
const { randomBytes } = await import('node:crypto');
const input = JSON.parse(process.argv[2]);
const derive = (seedHex, email) => kd.deriveIdentity({ seed: Buffer.from(seedHex, 'hex'), name: 'Ana', email, creationDate: new Date('2026-01-02T03:04:05Z'), validate: false });
const ana = await derive(input.ana, 'ana@example.org');
const reference = await derive(input.ana, 'ana@example.org'); // openpgp.js's own path, on keys of its own
const other = await derive(input.other, 'other@example.org');
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const report = { rounds: [], tampered: null, otherKey: null, classic: null };
const native = (message, key) => nativeSessionKeys(message, pgp.acceptingEveryCipher(key), openpgp.config, pgp.SESSION_CIPHERS);
for (let i = 0; i < input.rounds; i++) {
  const data = randomBytes(200 + i);
  const encrypted = await pgp.encryptData({ data, recipients: [ana.publicKey], signingKey: ana.privateKey, armor: false, postQuantum: true });
  const message = await openpgp.readMessage({ binaryMessage: encrypted });
  const mine = await native(message, ana.privateKey);
  await kd.expandDecapsulationKeys(reference.privateKey, message);
  const theirs = await openpgp.decryptSessionKeys({ message, decryptionKeys: reference.privateKey });
  const opened = await pgp.decryptData(encrypted, ana.privateKey, [ana.publicKey]);
  report.rounds.push({
    algorithmIds: message.packets.filter((p) => p instanceof openpgp.PublicKeyEncryptedSessionKeyPacket).map((p) => p.publicKeyAlgorithm),
    native: mine?.map((k) => [k.algorithm, hex(k.data)]) ?? null,
    openpgp: theirs.map((k) => [k.algorithm, hex(k.data)]),
    plaintext: hex(opened.data) === hex(data),
    postQuantum: opened.postQuantum,
  });
}
const encrypted = await pgp.encryptData({ data: randomBytes(64), recipients: [ana.publicKey], armor: false, postQuantum: true });
const tampered = await openpgp.readMessage({ binaryMessage: encrypted });
const pkesk = tampered.packets.find((p) => p instanceof openpgp.PublicKeyEncryptedSessionKeyPacket);
pkesk.encrypted.C.wrappedKey[3] ^= 1;
report.tampered = (await native(tampered, ana.privateKey)) ?? null;
report.otherKey = (await native(await openpgp.readMessage({ binaryMessage: encrypted }), other.privateKey)) ?? null;
const classic = await pgp.encryptData({ data: randomBytes(64), recipients: [ana.publicKey], armor: false });
report.classic = ((await native(await openpgp.readMessage({ binaryMessage: classic }), ana.privateKey)) ?? []).length;
process.stdout.write(JSON.stringify(report));
`;

describe('ML-KEM-768+X25519 session keys through node:crypto', () => {
  it('in this Node (20: no ML-KEM in node:crypto) the path finds nothing for a post-quantum message, and openpgp.js decrypts it', async () => {
    const ana = await deriveIdentity({ seed: randomBytes(32), name: 'Ana', email: 'ana@example.org', creationDate: new Date('2026-01-02T03:04:05Z'), validate: false });
    const data = randomBytes(100);
    const encrypted = await encryptData({ data, recipients: [ana.publicKey], armor: false, postQuantum: true });
    const message = await openpgp.readMessage({ binaryMessage: encrypted });
    expect(await nativeSessionKeys(message, acceptingEveryCipher(ana.privateKey), openpgp.config, SESSION_CIPHERS)).toBeUndefined();
    const opened = await decryptData(encrypted, ana.privateKey, []);
    expect(Buffer.from(opened.data).equals(data)).toBe(true);
    expect(opened.postQuantum).toBe(true);
  });

  it.skipIf(node26 === undefined)("in the executables' Node 26: the same session keys as openpgp.js, none for a modified wrapped key or another key", () => {
    const input = { ana: randomBytes(32).toString('hex'), other: randomBytes(32).toString('hex'), rounds: 6 };
    const child = spawnSync(node26!, ['--no-warnings', '--import', join(REPO, 'test', 'helpers', 'ts-source-hooks.mjs'), '--input-type=module', '-e', SCRIPT, join(REPO, 'src'), JSON.stringify(input)], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 240_000,
    });
    if (child.status !== 0) throw new Error(`Node 26 failed (${child.status}): ${child.stderr}`);
    const report = JSON.parse(child.stdout) as {
      rounds: Array<{ algorithmIds: number[]; native: Array<[string, string]> | null; openpgp: Array<[string, string]>; plaintext: boolean; postQuantum: boolean }>;
      tampered: unknown;
      otherKey: unknown;
      classic: number;
    };
    expect(report.rounds).toHaveLength(input.rounds);
    for (const round of report.rounds) {
      expect(round.algorithmIds).toEqual([35]);
      expect(round.native, 'node:crypto found the session key').not.toBeNull();
      expect(round.native).toEqual(round.openpgp);
      expect(round.plaintext).toBe(true);
      expect(round.postQuantum).toBe(true);
    }
    expect(report.tampered, 'a modified wrapped key: no session key').toBeNull();
    expect(report.otherKey, 'a message for another key: no session key').toBeNull();
    expect(report.classic, 'a classic message: its Cv25519 session key').toBe(1);
  }, 300_000);
});
