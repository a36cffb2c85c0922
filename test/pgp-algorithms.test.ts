// Issue 10, "Reading and verifying: say what is true": what GnuPG 2.2 makes with every key
// family (test/fixtures/pgp, made once by generate.sh), every cipher it offers and the
// digests it signs with, read by the OpenPGP service of caliop (src/service/pgp.ts), in
// process. Each case: decrypted or "unsupported algorithm NAME" (never "damaged"), and the
// signature state documented in docs/cli.md §6.2 (never `bad` for a valid signature).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCaliopError } from '../src/errors.js';
import { certStatus, checkCertSignatures, decryptData, encryptData, verifyData, type SignatureCheckState } from '../src/service/pgp.js';
import { temporaryFolder } from './helpers/caliop.js';
import { makeGpg } from './helpers/gpg.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'pgp');
const scratch = temporaryFolder('pgp-algorithms');
const peer = makeGpg(scratch.path, { trustAlways: true });
const gpg = peer.spawn;


/** Families that sign and encrypt; DSA/ElGamal and RSA 1024 are read-only peers (weak). */
const FAMILIES = ['rsa2048', 'rsa3072', 'rsa4096', 'rsa1024', 'ed25519', 'nistp256', 'nistp384', 'nistp521', 'brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1', 'dsa2048'] as const;
/** Every cipher `gpg --version` lists for GnuPG 2.2 (Cipher: line). */
const CIPHERS = ['IDEA', '3DES', 'CAST5', 'BLOWFISH', 'AES', 'AES192', 'AES256', 'TWOFISH', 'CAMELLIA128', 'CAMELLIA192', 'CAMELLIA256'] as const;
/** Families that get every cipher (one per key type); the others get AES256 and one refused cipher (CI time). */
const EVERY_CIPHER = new Set(['rsa2048', 'ed25519', 'nistp256', 'brainpoolP256r1', 'dsa2048']);
const UNSUPPORTED_CIPHERS: Record<string, string> = { IDEA: 'IDEA', CAMELLIA128: 'CAMELLIA128', CAMELLIA192: 'CAMELLIA192', CAMELLIA256: 'CAMELLIA256' };

const keys = new Map<string, openpgp.PrivateKey>();
const certs = new Map<string, openpgp.PublicKey>();
const table: string[] = [];

beforeAll(async () => {
  for (const family of [...FAMILIES, 'expired', 'revoked', 'signonly']) {
    const armoredKey = readFileSync(join(FIXTURES, `${family}.key.asc`), 'utf8');
    expect(gpg(['--import'], armoredKey).status).toBe(0);
    const key = await openpgp.readPrivateKey({ armoredKey });
    keys.set(family, key);
    certs.set(family, key.toPublic());
  }
});

afterAll(() => {
  peer.kill();
  scratch.remove();
  process.stdout.write(`\nOpenPGP algorithms, gpg 2.2 -> caliop (${table.length} cases)\n${table.join('\n')}\n`);
});

async function readFromGpg(family: string, cipher: string, digest: string, sign = true): Promise<{ state: SignatureCheckState | 'unsigned' | string; text: string }> {
  const made = gpg(['--armor', ...(sign ? ['-u', `${family}@example.org`, '--sign', '--digest-algo', digest] : []), '--encrypt', '-r', `${family}@example.org`, '--cipher-algo', cipher], 'hello from gpg\n');
  expect(made.status, made.stderr.toString()).toBe(0);
  try {
    const result = await decryptData(made.stdout, keys.get(family)!, [certs.get(family)!]);
    expect(new TextDecoder().decode(result.data)).toBe('hello from gpg\n');
    return { state: result.signatures[0]?.status ?? 'unsigned', text: result.signatures[0]?.detail ?? '' };
  } catch (error) {
    if (!isCaliopError(error)) throw error;
    return { state: `${error.code}: ${error.message}`, text: '' };
  }
}

/** docs/cli.md §6.2: which families sign `good-weak` by their key alone. */
function weakKey(family: string): boolean {
  return family === 'dsa2048' || family === 'rsa1024';
}

describe('every cipher GnuPG 2.2 offers, for every key family', () => {
  for (const family of FAMILIES) {
    it(`${family}: decrypted, or refused as "unsupported algorithm NAME" (exit 26)`, async () => {
      for (const cipher of EVERY_CIPHER.has(family) ? CIPHERS : (['AES256', 'CAMELLIA256'] as const)) {
        const { state } = await readFromGpg(family, cipher, 'SHA256', false);
        table.push(`gpg ${family.padEnd(16)} ${cipher.padEnd(12)} unsigned  -> ${state}`);
        if (UNSUPPORTED_CIPHERS[cipher]) expect(state).toBe(`unsupported_algorithm: unsupported algorithm ${UNSUPPORTED_CIPHERS[cipher]}`);
        else expect(state).toBe('unsigned');
      }
    });
  }
});

describe('signature states for what gpg signs (docs/cli.md §6.2)', () => {
  for (const family of FAMILIES) {
    it(`${family}: SHA256 and SHA512 are good (good-weak for a weak key); SHA-1 is good-weak or unsupported, never bad`, async () => {
      for (const digest of ['SHA256', 'SHA512', 'SHA1']) {
        // gpg refuses to sign with a hash shorter than the curve (ECDSA P-384/P-521, brainpool 384/512).
        const made = gpg(['-u', `${family}@example.org`, '--digest-algo', digest, '--sign'], 'x');
        if (made.status !== 0) {
          table.push(`gpg ${family.padEnd(16)} AES256       ${digest.padEnd(9)} -> (gpg refuses to sign)`);
          continue;
        }
        const { state, text } = await readFromGpg(family, 'AES256', digest);
        table.push(`gpg ${family.padEnd(16)} AES256       ${digest.padEnd(9)} -> ${state}${text ? ` (${text})` : ''}`);
        expect(state).not.toBe('bad');
        if (digest === 'SHA1') {
          if (family === 'ed25519') expect(state).toBe('unsupported-algorithm'); // RFC 9580 §5.2.3.4: EdDSA needs a 256-bit hash
          else expect(state).toBe('good-weak');
        } else {
          expect(state).toBe(weakKey(family) ? 'good-weak' : 'good');
        }
      }
    });
  }

  it('a modified signed message is bad: the only way to be bad', async () => {
    const signed = new Uint8Array(gpg(['-u', 'ed25519@example.org', '--compress-algo', 'none', '--sign'], 'the original text\n').stdout);
    const at = Buffer.from(signed).indexOf('original');
    expect(at).toBeGreaterThan(0);
    signed.set(new TextEncoder().encode('ORIGINAL'), at);
    const result = await verifyData(signed, [certs.get('ed25519')!]);
    expect(result.signatures.map((check) => check.status)).toEqual(['bad']);
  });

  it('clear-signed CRLF and LF text and detached signatures verify good', async () => {
    for (const text of ['line one\nline two\n', 'line one\r\nline two\r\n']) {
      const clear = gpg(['-u', 'rsa3072@example.org', '--clearsign'], text).stdout;
      expect((await verifyData(clear, [certs.get('rsa3072')!])).signatures[0]!.status).toBe('good');
      const detached = gpg(['-u', 'nistp256@example.org', '--detach-sign', '--textmode'], text).stdout;
      expect((await verifyData(new TextEncoder().encode(text), [certs.get('nistp256')!], detached)).signatures[0]!.status).toBe('good');
    }
  });

  it('a signature by a revoked key is revoked-key, not bad; by an expired key within its life, good', async () => {
    // gpg refuses to sign with a revoked key: sign with a copy that lacks the revocation,
    // then verify against the cert as published (with its revocation).
    const unrevoked = (keys.get('revoked') as unknown as { clone(): unknown }).clone() as openpgp.PrivateKey;
    (unrevoked as unknown as { revocationSignatures: unknown[] }).revocationSignatures = [];
    const signed = await openpgp.sign({ message: await openpgp.createMessage({ text: 'after revocation' }), signingKeys: unrevoked, format: 'binary' });
    const revoked = await verifyData(signed, [certs.get('revoked')!]);
    expect(revoked.signatures.map((check) => check.status)).toEqual(['revoked-key']);
    // Made in 2020 while the key was valid (it expired on 2020-12-31): still good today.
    const old = await openpgp.sign({ message: await openpgp.createMessage({ text: 'in 2020', date: new Date('2020-06-01') }), signingKeys: keys.get('expired')!, date: new Date('2020-06-01'), format: 'binary' });
    expect((await verifyData(old, [certs.get('expired')!])).signatures.map((check) => check.status)).toEqual(['good']);
  });
});

describe('certificates: states and integrity (docs/cli.md §6.3-§6.4)', () => {
  it('expired, revoked and sign-only certs get their state; encrypting to them is refused naming it (exit 27)', async () => {
    expect((await certStatus(certs.get('expired')!)).state).toBe('expired');
    expect((await certStatus(certs.get('revoked')!)).state).toBe('revoked');
    expect((await certStatus(certs.get('signonly')!)).state).toBe('no-encryption-subkey');
    for (const family of FAMILIES) expect((await certStatus(certs.get(family)!)).state).toBe('usable');
    for (const [family, words] of [['expired', /expired on 2020-12-3/], ['revoked', /revoked/], ['signonly', /no usable encryption subkey/]] as const) {
      const refused = await encryptData({ data: new Uint8Array([1]), recipients: [certs.get(family)!], armor: true }).catch((error: unknown) => error);
      expect(isCaliopError(refused, 'recipient_cert_unusable')).toBe(true);
      expect((refused as Error).message).toMatch(words);
    }
  });

  it('every fixture cert passes the import check; a bit flip in any signed part is refused', async () => {
    for (const family of FAMILIES) await checkCertSignatures(certs.get(family)!);
    const binary = certs.get('ed25519')!.write();
    let refused = 0;
    let tried = 0;
    for (let offset = 0; offset < binary.length; offset += 3) {
      const flipped = new Uint8Array(binary);
      flipped[offset]! ^= 0x10;
      let key: openpgp.Key;
      try {
        key = await openpgp.readKey({ binaryKey: flipped });
      } catch {
        continue; // not parseable: refused earlier, as bad_input
      }
      tried += 1;
      const accepted = await checkCertSignatures(key).then((checked) => checked, () => undefined);
      if (accepted === undefined) {
        refused += 1;
        continue;
      }
      // Accepted only when what was flipped is outside what signatures cover (unhashed
      // subpackets, key ids): the fingerprint and every user id are unchanged.
      expect(accepted.getFingerprint()).toBe(certs.get('ed25519')!.getFingerprint());
      expect(accepted.users.map((user) => user.userID?.userID)).toEqual(certs.get('ed25519')!.users.map((user) => user.userID?.userID));
    }
    process.stdout.write(`bit flips in an ed25519 cert: ${tried} parsed, ${refused} refused\n`);
    expect(refused).toBeGreaterThan(tried / 2);
  });
});
