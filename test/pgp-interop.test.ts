// Issue 10, "What it must show": the interop matrix. caliop's own key (derived from a seed
// exactly as the ceremony derives it) and caliop's OpenPGP service (src/service/pgp.ts),
// against real GnuPG 2.2, Sequoia (sq 0.27) and RNP, each direction, for every key family
// of test/fixtures/pgp (made once by generate.sh): encrypted+signed both ways, compressed and
// not, hidden recipients, detached / inline / clear-signed, CRLF and LF text; plus a v6 key
// made by caliop itself (no peer here makes one) through its own round trip with SEIPDv2.
// The table it prints is kept in docs/interop.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ceremonyCreationDate, deriveIdentity } from '../src/core/key-derivation.js';
import { checkCertSignatures, decryptData, encryptData, signData, verifyData } from '../src/service/pgp.js';
import { temporaryFolder } from './helpers/caliop.js';
import { makeGpg } from './helpers/gpg.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'pgp');
const scratch = temporaryFolder('pgp-interop');
const rnpHome = join(scratch.path, 'rnp');
const env = { ...process.env, HOME: scratch.path, LC_ALL: 'C' };

/** Families each peer is asked to handle (sq 0.27 with Nettle and RNP read brainpool too). */
const FAMILIES = ['rsa2048', 'rsa3072', 'rsa4096', 'ed25519', 'nistp256', 'nistp384', 'nistp521', 'brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1', 'dsa2048'] as const;
type Family = (typeof FAMILIES)[number];
/** The hash each family signs with (gpg refuses a hash shorter than the curve). */
const HASH: Record<Family, string> = {
  rsa2048: 'SHA256', rsa3072: 'SHA256', rsa4096: 'SHA512', ed25519: 'SHA256', nistp256: 'SHA256', nistp384: 'SHA384', nistp521: 'SHA512',
  brainpoolP256r1: 'SHA256', brainpoolP384r1: 'SHA384', brainpoolP512r1: 'SHA512', dsa2048: 'SHA256',
};
const expectedState = (family: Family) => (family === 'dsa2048' ? 'good-weak' : 'good');
/** sq 0.27 (Debian, Nettle backend) has no brainpool curves: "Found no suitable key". */
const sqHandles = (family: Family) => !family.startsWith('brainpool') && family !== 'dsa2048';

const body = 'Bonjour,\nle rendez-vous est à 10 h, place des Lices.\n';
const table: string[] = [];
const caliopFile = { key: join(scratch.path, 'caliop.key.asc'), cert: join(scratch.path, 'caliop.cert.asc') };
let caliopKey: openpgp.PrivateKey;
let caliopCert: openpgp.PublicKey;
const peerKeys = new Map<Family, openpgp.PrivateKey>();

function run(command: string, args: string[], input?: string | Uint8Array) {
  const result = spawnSync(command, args, { input, env, maxBuffer: 1 << 24 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
}
const peer = makeGpg(scratch.path, { trustAlways: true, extraArgs: ['--status-fd', '2'], env: { LC_ALL: 'C' } });
const gpg = peer.spawn;
const rnp = (args: string[], input?: string | Uint8Array) => run('rnp', ['--homedir', rnpHome, '--password', '', ...args], input);
const fixture = (family: string, kind: 'key' | 'cert') => join(FIXTURES, `${family}.${kind}.asc`);
const file = (name: string, data: string | Uint8Array) => {
  const path = join(scratch.path, name);
  writeFileSync(path, data);
  return path;
};

function record(peer: string, direction: string, family: string, variant: string, outcome: string): void {
  table.push(`| ${peer} | ${direction} | ${family} | ${variant} | ${outcome} |`);
}

beforeAll(async () => {
  mkdirSync(rnpHome, { mode: 0o700 });
  const identity = await deriveIdentity({
    seed: Uint8Array.from({ length: 32 }, (_, index) => (index * 29 + 3) & 0xff),
    name: 'Alice Caliop',
    email: 'alice@caliop.example',
    creationDate: ceremonyCreationDate(new Date(Date.now() - 86_400_000)),
  });
  caliopKey = await openpgp.readPrivateKey({ armoredKey: identity.armoredSecretKey });
  caliopCert = caliopKey.toPublic();
  writeFileSync(caliopFile.key, identity.armoredSecretKey);
  // docs/decisions/post-quantum.md: peers get the cert for outsiders (RNP refuses the post-quantum subkey).
  writeFileSync(caliopFile.cert, identity.armoredCertForOutsiders);
  expect(gpg(['--import', caliopFile.cert]).status).toBe(0);
  expect(run('rnpkeys', ['--homedir', rnpHome, '--import', caliopFile.cert]).status).toBe(0);
  for (const family of FAMILIES) {
    peerKeys.set(family, await openpgp.readPrivateKey({ armoredKey: readFileSync(fixture(family, 'key'), 'utf8') }));
    expect(gpg(['--import', fixture(family, 'key')]).status).toBe(0);
    expect(run('rnpkeys', ['--homedir', rnpHome, '--password', '', '--import', fixture(family, 'key')]).status).toBe(0);
  }
});

afterAll(() => {
  peer.kill();
  scratch.remove();
  process.stdout.write(`\nInterop matrix (${table.length} cases)\n| peer | direction | key | variant | outcome |\n|---|---|---|---|---|\n${table.join('\n')}\n`);
});

async function caliopReads(peer: string, family: Family, variant: string, message: Uint8Array, verification: openpgp.PublicKey[]): Promise<void> {
  const result = await decryptData(message, caliopKey, verification);
  expect(new TextDecoder().decode(result.data)).toBe(body);
  expect(result.signatures.map((check) => check.status)).toEqual([expectedState(family)]);
  record(peer, `${peer} -> caliop`, family, variant, result.signatures[0]!.status);
}

describe('caliop encrypts and signs; every peer decrypts and verifies', () => {
  for (const family of FAMILIES.filter((name) => name !== 'dsa2048')) {
    it(`to a ${family} peer: gpg, sq and rnp decrypt and find caliop's signature valid`, async () => {
      const peerCert = peerKeys.get(family)!.toPublic();
      for (const armor of [true, false]) {
        const message = await encryptData({ data: new TextEncoder().encode(body), recipients: [peerCert], signingKey: caliopKey, armor });
        const variant = armor ? 'armored' : 'binary';
        const viaGpg = gpg(['--decrypt'], message);
        expect(viaGpg.status, viaGpg.stderr).toBe(0);
        expect(viaGpg.stdout.toString()).toBe(body);
        expect(viaGpg.stderr).toMatch(/\[GNUPG:\] VALIDSIG/);
        record('gpg', 'caliop -> gpg', family, variant, 'decrypted, VALIDSIG');
        const input = file(`to-${family}.${armor ? 'asc' : 'pgp'}`, message);
        if (!sqHandles(family)) record('sq', 'caliop -> sq', family, variant, 'n/a: sq 0.27 has no brainpool');
        const viaSq = !sqHandles(family) ? undefined : run('sq', ['decrypt', '--recipient-key', fixture(family, 'key'), '--signer-cert', caliopFile.cert, input]);
        if (viaSq) {
          expect(viaSq.status, viaSq.stderr).toBe(0);
          expect(viaSq.stdout.toString()).toBe(body);
          expect(viaSq.stderr).toMatch(/Good signature/);
          record('sq', 'caliop -> sq', family, variant, 'decrypted, Good signature');
        }
        const viaRnp = rnp(['--decrypt', '--output', '-', input]);
        expect(viaRnp.status, viaRnp.stderr).toBe(0);
        expect(viaRnp.stdout.toString()).toBe(body);
        expect(viaRnp.stderr).toMatch(/Good signature|Valid signature/i);
        record('rnp', 'caliop -> rnp', family, variant, 'decrypted, valid signature');
      }
    });
  }
});

describe('every peer encrypts and signs; caliop decrypts and verifies', () => {
  for (const family of FAMILIES) {
    it(`from a ${family} peer (gpg compressed and not, sq, rnp)`, async () => {
      const verification = [peerKeys.get(family)!.toPublic()];
      for (const compress of ['6', '0']) {
        const made = gpg(['-u', `${family}@example.org`, '--digest-algo', HASH[family], '-z', compress, '--sign', '--encrypt', '-r', 'alice@caliop.example'], body);
        expect(made.status, made.stderr).toBe(0);
        await caliopReads('gpg', family, compress === '0' ? 'uncompressed' : 'compressed', made.stdout, verification);
      }
      if (sqHandles(family)) {
        const viaSq = run('sq', ['encrypt', '--recipient-cert', caliopFile.cert, '--signer-key', fixture(family, 'key')], body);
        expect(viaSq.status, viaSq.stderr).toBe(0);
        await caliopReads('sq', family, 'armored', viaSq.stdout, verification);
      }
      const viaRnp = rnp(['-u', `${family}@example.org`, '--hash', HASH[family], '--sign', '--encrypt', '-r', 'alice@caliop.example', '--output', '-'], body);
      expect(viaRnp.status, viaRnp.stderr).toBe(0);
      await caliopReads('rnp', family, 'binary', viaRnp.stdout, verification);
    });
  }

  it('hidden recipients (gpg --hidden-recipient, with two others): caliop finds its key', async () => {
    const made = gpg(['--hidden-recipient', 'alice@caliop.example', '--hidden-recipient', 'rsa2048@example.org', '-r', 'ed25519@example.org', '-u', 'ed25519@example.org', '--sign', '--encrypt'], body);
    expect(made.status, made.stderr).toBe(0);
    await caliopReads('gpg', 'ed25519', 'hidden recipients (3)', made.stdout, [peerKeys.get('ed25519')!.toPublic()]);
  });
});

describe('signatures without encryption: detached, inline, clear-signed; CRLF and LF', () => {
  for (const [name, text] of [['LF', 'one\ntwo\n'], ['CRLF', 'one\r\ntwo\r\n']] as const) {
    it(`${name} text: gpg, sq and rnp signatures verify in caliop; caliop's verify in gpg and sq`, async () => {
      const peer = peerKeys.get('rsa3072')!.toPublic();
      const data = new TextEncoder().encode(text);
      const cases: [string, string, Uint8Array, Uint8Array | undefined][] = [
        ['gpg', 'clear-signed', gpg(['-u', 'rsa3072@example.org', '--clearsign'], text).stdout, undefined],
        ['gpg', 'inline', gpg(['-u', 'rsa3072@example.org', '--sign'], text).stdout, undefined],
        ['gpg', 'detached --textmode', data, gpg(['-u', 'rsa3072@example.org', '--detach-sign', '--textmode'], text).stdout],
        ['sq', 'detached', data, run('sq', ['sign', '--detached', '--signer-key', fixture('rsa3072', 'key')], text).stdout],
        ['sq', 'clear-signed', run('sq', ['sign', '--cleartext-signature', '--signer-key', fixture('rsa3072', 'key')], text).stdout, undefined],
        ['rnp', 'clear-signed', rnp(['-u', 'rsa3072@example.org', '--clearsign', '--output', '-'], text).stdout, undefined],
        ['rnp', 'detached', data, rnp(['-u', 'rsa3072@example.org', '--sign', '--detach', '--output', '-'], text).stdout],
      ];
      for (const [tool, variant, message, detached] of cases) {
        const result = await verifyData(message, [peer], detached);
        expect(result.signatures.map((check) => check.status), `${tool} ${variant}`).toEqual(['good']);
        record(tool, `${tool} -> caliop`, 'rsa3072', `${variant}, ${name}`, 'good');
      }
      const signature = await signData(data, caliopKey, { detached: true, armor: true });
      const sigFile = file(`caliop-${name}.sig`, signature);
      const dataFile = file(`data-${name}.txt`, data);
      expect(gpg(['--verify', sigFile, dataFile]).stderr).toMatch(/\[GNUPG:\] VALIDSIG/);
      record('gpg', 'caliop -> gpg', 'caliop', `detached, ${name}`, 'VALIDSIG');
      const viaSq = run('sq', ['verify', '--signer-cert', caliopFile.cert, '--detached', sigFile, dataFile]);
      expect(viaSq.status, viaSq.stderr).toBe(0);
      record('sq', 'caliop -> sq', 'caliop', `detached, ${name}`, 'Good signature');
    });
  }
});

describe('every cipher GnuPG 2.2 offers, encrypting to caliop', () => {
  it('is decrypted, or refused as unsupported by name', async () => {
    for (const cipher of ['3DES', 'CAST5', 'BLOWFISH', 'AES', 'AES192', 'AES256', 'TWOFISH', 'IDEA', 'CAMELLIA128', 'CAMELLIA192', 'CAMELLIA256']) {
      const made = gpg(['--cipher-algo', cipher, '-r', 'alice@caliop.example', '--encrypt'], body);
      expect(made.status, made.stderr).toBe(0);
      const outcome = await decryptData(made.stdout, caliopKey, []).then(
        (result) => new TextDecoder().decode(result.data) === body ? 'decrypted' : 'WRONG',
        (error: Error) => error.message,
      );
      record('gpg', 'gpg -> caliop', 'caliop', `--cipher-algo ${cipher}`, outcome);
      expect(outcome).toBe(/IDEA|CAMELLIA/.test(cipher) ? `unsupported algorithm ${cipher}` : 'decrypted');
    }
  });
});

describe('a v6 key (RFC 9580) made by caliop itself', () => {
  it('passes the import check, is encrypted to with SEIPDv2, and round-trips signed', async () => {
    const { privateKey } = await openpgp.generateKey({
      type: 'curve25519', userIDs: [{ name: 'Vera Six', email: 'vera@example.org' }], format: 'object', config: { v6Keys: true, aeadProtect: true },
    });
    const cert = await checkCertSignatures(privateKey.toPublic());
    expect(cert.getFingerprint()).toMatch(/^[0-9a-f]{64}$/);
    const message = await encryptData({ data: new TextEncoder().encode(body), recipients: [cert], signingKey: caliopKey, armor: false });
    const parsed = await openpgp.readMessage({ binaryMessage: message });
    const seipd = parsed.packets.findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as { version: number };
    expect(seipd.version).toBe(2);
    const result = await decryptData(message, privateKey, [caliopCert]);
    expect(new TextDecoder().decode(result.data)).toBe(body);
    expect(result.signatures.map((check) => check.status)).toEqual(['good']);
    record('caliop', 'caliop -> caliop', 'v6 Ed25519/X25519', 'SEIPDv2', 'decrypted, good');
    // Mixed recipients (v4 peer and v6): SEIPDv1, which both read.
    const mixed = await encryptData({ data: new TextEncoder().encode(body), recipients: [cert, peerKeys.get('ed25519')!.toPublic()], armor: false });
    const mixedSeipd = (await openpgp.readMessage({ binaryMessage: mixed })).packets.findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as { version: number };
    expect(mixedSeipd.version).toBe(1);
    expect(gpg(['--decrypt'], mixed).stdout.toString()).toBe(body);
    record('gpg', 'caliop -> gpg', 'v6 + ed25519 recipients', 'SEIPDv1', 'decrypted');
  });
});
