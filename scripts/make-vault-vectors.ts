// Generates test/vectors/vault/*.json (docs/vault-format.md §8) from fixed
// inputs: same inputs, same files. Run once after a format change:
//
//   npm run build && node build/scripts/make-vault-vectors.js
//
// test/vault-format.test.ts imports buildVaultVectors() and checks the stored
// files are exactly what this produces, so the script and the vectors cannot drift.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { deriveArgon2id } from '../src/edges/argon2id.js';
import { sealVault, type KdfParams, type VaultHeader } from '../src/core/vault-format.js';

export type VaultVectorExpectation =
  | 'opens'
  | 'wrong passphrase'
  | 'header tampered'
  | 'ciphertext tampered'
  | 'truncated'
  | 'unknown version';

export interface VaultVector {
  description: string;
  expect: VaultVectorExpectation;
  /** The passphrase bytes, hex, and the same as text when it is UTF-8. */
  passphrase: string;
  passphraseText?: string;
  /** The vault file, base64. */
  file: string;
  /** What the (intact) header declares, and Argon2id's output for it with this passphrase. */
  kdf?: KdfParams;
  salt?: string;
  argon2Output?: string;
  /** The plaintext, hex, when expect is 'opens'. */
  plaintext?: string;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Fixed, obviously-not-random bytes (the vectors must be reproducible). */
function patternBytes(length: number, start: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i * 7) & 0xff);
}

const SMALL_KDF: KdfParams = { algorithm: 'argon2id', memoryKiB: 8192, passes: 1, parallelism: 1 };
const OTHER_KDF: KdfParams = { algorithm: 'argon2id', memoryKiB: 4096, passes: 2, parallelism: 2 };
// ASCII salts, so the Debian `argon2` CLI (salt on its command line) can cross-check Argon2id.
const SALT_A = utf8('caliop-vector-01');
const SALT_B = utf8('caliop-vector-02-longer-salt-32b');
const PASSPHRASE = 'correct horse battery staple';
const UNICODE_PASSPHRASE = 'été à Paris — ключ 🔑';
const PLAINTEXT = utf8('{"seed":"00112233445566778899aabbccddeeff","contacts":[]}');

/** Header bytes end at 28 + salt length; fields at fixed offsets (docs/vault-format.md §2). */
function headerEnd(file: Uint8Array): number {
  return 28 + file[23]!;
}

function withByte(file: Uint8Array, offset: number, xor: number): Uint8Array {
  const copy = file.slice();
  copy[offset] = copy[offset]! ^ xor;
  return copy;
}

/** Rewrites header bytes then recomputes the unkeyed checksum, as a deliberate attacker can. */
function rewriteHeader(file: Uint8Array, edit: (header: DataView) => void): Uint8Array {
  const copy = file.slice();
  const end = headerEnd(copy);
  edit(new DataView(copy.buffer, 0, end));
  copy.set(sha256(copy.subarray(0, end)), end);
  return copy;
}

export async function buildVaultVectors(): Promise<Record<string, VaultVector>> {
  const vectors: Record<string, VaultVector> = {};

  async function sealed(passphrase: string, kdf: KdfParams, salt: Uint8Array, nonceStart: number, plaintext: Uint8Array) {
    const header: VaultHeader = { version: 1, kdf, salt };
    const argon2Output = await deriveArgon2id(utf8(passphrase), salt, kdf);
    const file = sealVault(header, argon2Output, patternBytes(24, nonceStart), plaintext);
    return { file, argon2Output };
  }

  const main = await sealed(PASSPHRASE, SMALL_KDF, SALT_A, 0x40, PLAINTEXT);
  const base = {
    passphrase: hex(utf8(PASSPHRASE)),
    passphraseText: PASSPHRASE,
    kdf: SMALL_KDF,
    salt: hex(SALT_A),
    argon2Output: hex(main.argon2Output),
  };
  const H = headerEnd(main.file);
  const add = (name: string, vector: Omit<VaultVector, 'passphrase' | 'passphraseText'> & Partial<VaultVector>, withBase = true) => {
    vectors[name] = withBase ? { ...base, ...vector } : { passphrase: base.passphrase, passphraseText: PASSPHRASE, ...vector };
  };

  // --- opens
  add('opens-basic', { description: 'a vault sealing a small JSON document', expect: 'opens', file: base64(main.file), plaintext: hex(PLAINTEXT) });
  const empty = await sealed(PASSPHRASE, SMALL_KDF, SALT_A, 0x80, new Uint8Array(0));
  add('opens-empty-plaintext', { description: 'an empty plaintext: the ciphertext is only the 16-byte tag', expect: 'opens', file: base64(empty.file), plaintext: '' });
  const unicode = await sealed(UNICODE_PASSPHRASE, OTHER_KDF, SALT_B, 0x11, patternBytes(1000, 3));
  vectors['opens-unicode-passphrase-32-byte-salt'] = {
    description: 'a UTF-8 passphrase, a 32-byte salt, t=2 p=2: readers accept salts of 16 to 64 bytes and any parameters within the ceiling',
    expect: 'opens',
    passphrase: hex(utf8(UNICODE_PASSPHRASE)),
    passphraseText: UNICODE_PASSPHRASE,
    file: base64(unicode.file),
    kdf: OTHER_KDF,
    salt: hex(SALT_B),
    argon2Output: hex(unicode.argon2Output),
    plaintext: hex(patternBytes(1000, 3)),
  };

  // --- wrong passphrase
  vectors['wrong-passphrase'] = {
    ...base,
    description: 'the right file with a passphrase that differs in one character',
    expect: 'wrong passphrase',
    passphrase: hex(utf8(PASSPHRASE + '!')),
    passphraseText: PASSPHRASE + '!',
    file: base64(main.file),
    argon2Output: hex(await deriveArgon2id(utf8(PASSPHRASE + '!'), SALT_A, SMALL_KDF)),
  };
  add('wrong-passphrase-key-check-damaged', {
    description: 'a byte of the key check flipped: the right passphrase now fails the keyed check, which cannot tell this from a wrong passphrase (§3.1)',
    expect: 'wrong passphrase',
    file: base64(withByte(main.file, H + 32 + 5, 0x01)),
  });
  add('wrong-passphrase-header-rechecksummed', {
    description: 'passes changed from 1 to 2 and the unkeyed checksum recomputed, as a deliberate attacker can: it reads as a wrong passphrase and nothing decrypts (§3.1)',
    expect: 'wrong passphrase',
    file: base64(rewriteHeader(main.file, (h) => h.setUint32(15, 2))),
    kdf: { ...SMALL_KDF, passes: 2 },
    argon2Output: hex(await deriveArgon2id(utf8(PASSPHRASE), SALT_A, { ...SMALL_KDF, passes: 2 })),
  });

  // --- header tampered
  add('header-tampered-memory', { description: 'memoryKiB changed, checksum not recomputed (accidental damage)', expect: 'header tampered', file: base64(withByte(main.file, 13, 0x01)) });
  add('header-tampered-salt', { description: 'a salt byte flipped', expect: 'header tampered', file: base64(withByte(main.file, 24 + 3, 0x80)) });
  add('header-tampered-length-field', { description: 'the ciphertext length field changed', expect: 'header tampered', file: base64(withByte(main.file, H - 1, 0x01)) });
  add('header-tampered-checksum', { description: 'a byte of the header checksum flipped', expect: 'header tampered', file: base64(withByte(main.file, H + 31, 0x01)) });
  add('header-tampered-magic', { description: 'the magic bytes changed: not a Caliop vault', expect: 'header tampered', file: base64(withByte(main.file, 0, 0x20)) });
  add('header-tampered-memory-above-ceiling', {
    description: 'memoryKiB set to 4 GiB - 1 KiB with a recomputed checksum: refused before any memory is allocated (§5.2)',
    expect: 'header tampered',
    file: base64(rewriteHeader(main.file, (h) => h.setUint32(11, 0xffff_ffff))),
  });
  add('header-tampered-unknown-algorithm', {
    description: 'KDF algorithm byte set to 1 (Argon2i) with a recomputed checksum: version 1 knows only Argon2id',
    expect: 'header tampered',
    file: base64(rewriteHeader(main.file, (h) => h.setUint8(10, 1))),
  });
  add('header-tampered-zero-passes', {
    description: 'passes set to 0 with a recomputed checksum: not computable (RFC 9106 §3.1)',
    expect: 'header tampered',
    file: base64(rewriteHeader(main.file, (h) => h.setUint32(15, 0))),
  });

  // --- ciphertext tampered
  const ciphertextStart = H + 88;
  add('ciphertext-tampered-body', { description: 'a ciphertext byte flipped', expect: 'ciphertext tampered', file: base64(withByte(main.file, ciphertextStart + 10, 0x04)) });
  add('ciphertext-tampered-tag', { description: 'a byte of the Poly1305 tag flipped', expect: 'ciphertext tampered', file: base64(withByte(main.file, main.file.length - 1, 0x01)) });
  add('ciphertext-tampered-nonce', { description: 'a nonce byte flipped', expect: 'ciphertext tampered', file: base64(withByte(main.file, H + 64, 0x01)) });
  const appended = new Uint8Array(main.file.length + 1);
  appended.set(main.file);
  add('ciphertext-tampered-trailing-byte', { description: 'one byte appended after the declared end', expect: 'ciphertext tampered', file: base64(appended) });

  // --- truncated
  add('truncated-empty-file', { description: 'a zero-length file', expect: 'truncated', file: '' }, false);
  add('truncated-inside-magic', { description: 'only the first 5 bytes', expect: 'truncated', file: base64(main.file.subarray(0, 5)) }, false);
  add('truncated-inside-header', { description: 'cut inside the salt', expect: 'truncated', file: base64(main.file.subarray(0, 30)) }, false);
  add('truncated-inside-checksum', { description: 'cut inside the header checksum', expect: 'truncated', file: base64(main.file.subarray(0, H + 10)) }, false);
  add('truncated-no-ciphertext', { description: 'cut right after the nonce', expect: 'truncated', file: base64(main.file.subarray(0, H + 88)) });
  add('truncated-last-byte', { description: 'the last byte missing', expect: 'truncated', file: base64(main.file.subarray(0, main.file.length - 1)) });

  // --- unknown version
  add('unknown-version-2', { description: 'format version 2 (a future caliop)', expect: 'unknown version', file: base64(withByte(main.file, 9, 0x03)) }, false);
  add('unknown-version-0', { description: 'format version 0', expect: 'unknown version', file: base64(withByte(main.file, 9, 0x01)) }, false);

  // Readable key order in the files: what happens first, then the inputs.
  const ordered: Record<string, VaultVector> = {};
  for (const [name, v] of Object.entries(vectors)) {
    ordered[name] = {
      description: v.description, expect: v.expect, passphrase: v.passphrase,
      ...(v.passphraseText === undefined ? {} : { passphraseText: v.passphraseText }),
      file: v.file,
      ...(v.kdf === undefined ? {} : { kdf: v.kdf, salt: v.salt, argon2Output: v.argon2Output }),
      ...(v.plaintext === undefined ? {} : { plaintext: v.plaintext }),
    };
  }
  return ordered;
}

export const VAULT_VECTORS_FOLDER = join('test', 'vectors', 'vault');

async function main(): Promise<void> {
  const vectors = await buildVaultVectors();
  await mkdir(VAULT_VECTORS_FOLDER, { recursive: true });
  for (const [name, vector] of Object.entries(vectors)) {
    await writeFile(join(VAULT_VECTORS_FOLDER, `${name}.json`), JSON.stringify(vector, null, 2) + '\n');
  }
  console.log(`wrote ${Object.keys(vectors).length} vectors to ${VAULT_VECTORS_FOLDER}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
