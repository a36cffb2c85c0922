// The sealed vault format (docs/vault-format.md): external vectors, one case per
// file and one failure per vector (age-style), then the KDF parameter rules and a
// round-trip property test.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CaliopError } from '../src/errors.js';
import {
  KDF_CEILING,
  KDF_FLOOR,
  UNSAFE_TEST_KDF,
  VaultTamperedError,
  assertKdfParamsForCreation,
  calibratedKdfParams,
  deriveVaultKeys,
  kdfParamsProblem,
  openParsedVault,
  openVault,
  parseVault,
  readVaultHeader,
  sealVault,
  type KdfParams,
  type VaultHeader,
} from '../src/core/vault-format.js';
import { deriveArgon2id } from '../src/edges/argon2id.js';
import { buildVaultVectors, type VaultVector } from '../scripts/make-vault-vectors.js';

const VECTORS_FOLDER = join(import.meta.dirname, 'vectors', 'vault');
const vectorFiles = readdirSync(VECTORS_FOLDER).filter((name) => name.endsWith('.json')).sort();
const loadVector = (name: string): VaultVector => JSON.parse(readFileSync(join(VECTORS_FOLDER, name), 'utf8')) as VaultVector;
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** What opening the file with the passphrase does, in the vectors' words. */
async function outcomeOf(vector: VaultVector): Promise<{ outcome: string; plaintext?: Uint8Array; argon2Output?: Uint8Array }> {
  const file = new Uint8Array(Buffer.from(vector.file, 'base64'));
  let argon2Output: Uint8Array | undefined;
  try {
    const parsed = parseVault(file);
    argon2Output = await deriveArgon2id(fromHex(vector.passphrase), parsed.header.salt, parsed.header.kdf);
    const plaintext = openParsedVault(parsed, argon2Output);
    return { outcome: 'opens', plaintext, argon2Output };
  } catch (error) {
    if (!(error instanceof CaliopError)) throw error;
    const outcome = {
      wrong_passphrase: 'wrong passphrase',
      vault_truncated: 'truncated',
      vault_unsupported_version: 'unknown version',
      vault_tampered: error instanceof VaultTamperedError ? `${error.part} tampered` : 'tampered, part unknown',
    }[error.code as string] ?? `unexpected ${error.code}`;
    return argon2Output === undefined ? { outcome } : { outcome, argon2Output };
  }
}

describe('vault vectors (test/vectors/vault)', () => {
  it('has one case for every expectation', () => {
    const expectations = new Set(vectorFiles.map((name) => loadVector(name).expect));
    expect([...expectations].sort()).toEqual(
      ['ciphertext tampered', 'header tampered', 'opens', 'truncated', 'unknown version', 'wrong passphrase'],
    );
  });

  for (const name of vectorFiles) {
    const vector = loadVector(name);
    it(`${name.replace(/\.json$/, '')}: ${vector.expect}`, async () => {
      const result = await outcomeOf(vector);
      expect(result.outcome, vector.description).toBe(vector.expect);
      if (vector.expect === 'opens') expect(toHex(result.plaintext!)).toBe(vector.plaintext);
      // Argon2id gives the recorded output whenever the header was readable.
      if (result.argon2Output !== undefined && vector.argon2Output !== undefined) {
        expect(toHex(result.argon2Output)).toBe(vector.argon2Output);
      }
    });
  }

  it('are exactly what scripts/make-vault-vectors.ts produces (the script and the files cannot drift)', async () => {
    const built = await buildVaultVectors();
    expect(Object.keys(built).map((name) => `${name}.json`).sort()).toEqual(vectorFiles);
    for (const [name, vector] of Object.entries(built)) expect(loadVector(`${name}.json`)).toEqual(vector);
  });

  it('records Argon2id outputs that the Debian reference `argon2` CLI agrees with', () => {
    for (const name of vectorFiles) {
      const vector = loadVector(name);
      if (vector.kdf === undefined || vector.salt === undefined || vector.argon2Output === undefined) continue;
      const native = execFileSync('argon2', [
        Buffer.from(vector.salt, 'hex').toString('latin1'), '-id', '-k', String(vector.kdf.memoryKiB),
        '-t', String(vector.kdf.passes), '-p', String(vector.kdf.parallelism), '-l', '32', '-r',
      ], { input: Buffer.from(vector.passphrase, 'hex') }).toString().trim();
      expect(native, name).toBe(vector.argon2Output);
    }
  });
});

describe('the three checks are told apart (docs/vault-format.md §3.1, §6)', () => {
  const header: VaultHeader = { version: 1, kdf: { ...UNSAFE_TEST_KDF }, salt: new Uint8Array(16).fill(7) };
  const key = new Uint8Array(32).fill(1);
  const file = sealVault(header, key, new Uint8Array(24).fill(2), new TextEncoder().encode('secret'));

  it('header_swap_detected_by_aead: a new header with recomputed checks under the right key still fails the AEAD', () => {
    // Same Argon2 output (the pure core lets us skip Argon2id), header passes changed:
    // the unkeyed checksum and the keyed check are recomputed; only the associated data catches it.
    const parsed = parseVault(file);
    const forgedHeader = parsed.headerBytes.slice();
    new DataView(forgedHeader.buffer).setUint32(15, 2);
    const forged = { ...parsed, headerBytes: forgedHeader, keyCheck: hmac(sha256, deriveVaultKeys(key).checkKey, forgedHeader) };
    expect(() => openParsedVault(forged, key)).toThrow(VaultTamperedError);
    try {
      openParsedVault(forged, key);
    } catch (error) {
      expect((error as VaultTamperedError).part).toBe('ciphertext');
      expect((error as VaultTamperedError).code).toBe('vault_tampered');
      expect((error as VaultTamperedError).exitCode).toBe(7);
    }
  });

  it('wrong_passphrase has its own code and exit code', () => {
    expect(() => openVault(file, new Uint8Array(32).fill(9))).toThrow(expect.objectContaining({ code: 'wrong_passphrase', exitCode: 6 }));
  });

  it('readVaultHeader needs no key and reports the KDF parameters', () => {
    expect(readVaultHeader(file)).toEqual(header);
  });

  it('every one-byte flip of a vault is refused, never opened', () => {
    for (let offset = 0; offset < file.length; offset++) {
      const damaged = file.slice();
      damaged[offset] = damaged[offset]! ^ 0x01;
      expect(() => openVault(damaged, key), `offset ${offset}`).toThrow(CaliopError);
    }
  });

  it('every truncation of a vault is reported as truncated', () => {
    for (let length = 0; length < file.length; length++) {
      expect(() => parseVault(file.subarray(0, length)), `length ${length}`).toThrow(expect.objectContaining({ code: 'vault_truncated' }));
    }
  });
});

describe('KDF parameters (docs/vault-format.md §5)', () => {
  it('the floor is 256 MiB, 3 passes, parallelism 1', () => {
    expect(KDF_FLOOR).toEqual({ algorithm: 'argon2id', memoryKiB: 262144, passes: 3, parallelism: 1 });
    expect(kdfParamsProblem(KDF_FLOOR)).toBeUndefined();
  });

  it('refuses to create below the floor unless the test escape hatch is on', () => {
    const weak: KdfParams = { ...KDF_FLOOR, memoryKiB: 131072 };
    expect(() => assertKdfParamsForCreation(weak, { allowUnsafeTestParams: false })).toThrow(/below the Argon2id floor/);
    expect(() => assertKdfParamsForCreation({ ...KDF_FLOOR, passes: 2 }, { allowUnsafeTestParams: false })).toThrow(CaliopError);
    expect(() => assertKdfParamsForCreation(UNSAFE_TEST_KDF, { allowUnsafeTestParams: true })).not.toThrow();
    expect(() => assertKdfParamsForCreation(KDF_FLOOR, { allowUnsafeTestParams: false })).not.toThrow();
  });

  it('refuses absurd parameters when opening (ceiling) and uncomputable ones (RFC 9106 §3.1)', () => {
    expect(kdfParamsProblem({ ...KDF_FLOOR, memoryKiB: KDF_CEILING.memoryKiB + 1 })).toMatch(/ceiling/);
    expect(kdfParamsProblem({ ...KDF_FLOOR, passes: KDF_CEILING.passes + 1 })).toMatch(/ceiling/);
    expect(kdfParamsProblem({ ...KDF_FLOOR, parallelism: KDF_CEILING.parallelism + 1 })).toMatch(/ceiling/);
    expect(kdfParamsProblem({ ...KDF_FLOOR, passes: 0 })).toBeDefined();
    expect(kdfParamsProblem({ ...KDF_FLOOR, parallelism: 0 })).toBeDefined();
    expect(kdfParamsProblem({ ...KDF_FLOOR, memoryKiB: 7 })).toBeDefined();
    expect(kdfParamsProblem({ ...KDF_FLOOR, memoryKiB: 1.5 })).toBeDefined();
    expect(kdfParamsProblem({ ...UNSAFE_TEST_KDF })).toBeUndefined();
  });

  it('calibration scales passes to about one second, never below the floor nor above the ceiling', () => {
    expect(calibratedKdfParams(1500)).toEqual(KDF_FLOOR); // a slow machine keeps the floor
    expect(calibratedKdfParams(1000)).toEqual(KDF_FLOOR);
    expect(calibratedKdfParams(375)).toEqual({ ...KDF_FLOOR, passes: 8 }); // 125 ms per pass
    expect(calibratedKdfParams(600)).toEqual({ ...KDF_FLOOR, passes: 5 });
    expect(calibratedKdfParams(1)).toEqual({ ...KDF_FLOOR, passes: KDF_CEILING.passes });
    expect(calibratedKdfParams(300, 2000)).toEqual({ ...KDF_FLOOR, passes: 20 });
    expect(() => calibratedKdfParams(0)).toThrow(TypeError);
    expect(() => calibratedKdfParams(Number.NaN)).toThrow(TypeError);
  });
});

describe('round trip (property test)', () => {
  // A small deterministic generator, so a failure can be replayed from its seed.
  function xorshift(seed: number): () => number {
    let state = seed >>> 0 || 1;
    return () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 0x1_0000_0000;
    };
  }
  const bytes = (next: () => number, length: number) => Uint8Array.from({ length }, () => Math.floor(next() * 256));

  it('seal then open gives back the plaintext, header and all, for 300 random cases (pure core)', () => {
    const next = xorshift(0xca11_0b);
    for (let round = 0; round < 300; round++) {
      const parallelism = 1 + Math.floor(next() * 4);
      const kdf: KdfParams = {
        algorithm: 'argon2id',
        memoryKiB: 8 * parallelism + Math.floor(next() * KDF_CEILING.memoryKiB),
        passes: 1 + Math.floor(next() * KDF_CEILING.passes),
        parallelism,
      };
      const header: VaultHeader = { version: 1, kdf, salt: bytes(next, 16 + Math.floor(next() * 49)) };
      const key = bytes(next, 32);
      const plaintext = bytes(next, Math.floor(next() ** 3 * 20_000));
      const file = sealVault(header, key, bytes(next, 24), plaintext);
      const parsed = parseVault(file);
      expect(parsed.header, `round ${round}`).toEqual(header);
      expect(toHex(openParsedVault(parsed, key)), `round ${round}`).toBe(toHex(plaintext));
      expect(() => openParsedVault(parsed, bytes(next, 32)), `round ${round}`).toThrow(expect.objectContaining({ code: 'wrong_passphrase' }));
    }
  });

  it('through real Argon2id with small random parameters (10 cases)', async () => {
    const next = xorshift(0x5eed);
    for (let round = 0; round < 10; round++) {
      const parallelism = 1 + Math.floor(next() * 3);
      const kdf: KdfParams = { algorithm: 'argon2id', memoryKiB: 64 * parallelism + Math.floor(next() * 2048), passes: 1 + Math.floor(next() * 3), parallelism };
      const passphrase = bytes(next, 1 + Math.floor(next() * 40));
      const header: VaultHeader = { version: 1, kdf, salt: bytes(next, 16) };
      const plaintext = bytes(next, Math.floor(next() * 3000));
      const file = sealVault(header, await deriveArgon2id(passphrase, header.salt, kdf), bytes(next, 24), plaintext);
      const parsed = parseVault(file);
      const reopened = openParsedVault(parsed, await deriveArgon2id(passphrase, parsed.header.salt, parsed.header.kdf));
      expect(toHex(reopened), `round ${round}`).toBe(toHex(plaintext));
    }
  });
});
