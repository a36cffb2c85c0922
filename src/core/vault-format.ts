// The sealed vault container (normative: docs/vault-format.md).
//
// Pure: no files, no randomness, no clock. The salt, the nonce and the Argon2id
// output are parameters; src/edges/argon2id.ts computes Argon2id and
// src/edges/vault-file.ts reads and writes the file.

import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CaliopError } from '../errors.js';
import { xchachaAead } from './xchacha-aead.js';

// --- types --------------------------------------------------------------------

/** Argon2id parameters, as stored in the vault header (docs/vault-format.md §2). */
export interface KdfParams {
  algorithm: 'argon2id';
  /** Memory cost m, in KiB (RFC 9106 §3.1). */
  memoryKiB: number;
  /** Number of passes t (RFC 9106 §3.1). */
  passes: number;
  /** Degree of parallelism p (RFC 9106 §3.1). */
  parallelism: number;
}

/** What the header says, in the user's words (docs/vault-format.md §2). */
export interface VaultHeader {
  version: 1;
  kdf: KdfParams;
  salt: Uint8Array;
}

/** Which part of the vault failed its integrity check (docs/vault-format.md §6; 'store': docs/store.md §6). */
export type VaultPart = 'header' | 'ciphertext' | 'store';

/** vault_tampered, saying which part failed. Still a CaliopError with code 'vault_tampered'. */
export class VaultTamperedError extends CaliopError {
  readonly part: VaultPart;
  constructor(part: VaultPart, detail: string) {
    super('vault_tampered', part === 'store' ? `the message store failed its integrity check: ${detail}` : `the vault ${part} failed its integrity check: ${detail}`);
    this.part = part;
  }
}

/** A vault file whose structure and header checksum were checked (docs/vault-format.md §6 steps 1-6). */
export interface ParsedVault {
  header: VaultHeader;
  /** The header bytes exactly as in the file: the AEAD associated data (§3). */
  headerBytes: Uint8Array;
  keyCheck: Uint8Array;
  nonce: Uint8Array;
  /** XChaCha20-Poly1305 ciphertext followed by its 16-byte tag. */
  ciphertext: Uint8Array;
}

// --- constants (docs/vault-format.md §2, §5) ------------------------------------

/** §2: the 8 bytes every vault starts with. */
export const VAULT_MAGIC = new Uint8Array([0x43, 0x41, 0x4c, 0x49, 0x4f, 0x50, 0x56, 0x54]); // "CALIOPVT"
export const VAULT_VERSION = 1;
/** §2: Argon2 type number for Argon2id (RFC 9106 §3.1, y = 2). */
export const KDF_ALGORITHM_ARGON2ID = 2;
export const SALT_LENGTH = 16;
export const MIN_SALT_LENGTH = 16;
export const MAX_SALT_LENGTH = 64;
export const NONCE_LENGTH = 24;
export const TAG_LENGTH = 16;
export const CHECKSUM_LENGTH = 32;
export const KEY_CHECK_LENGTH = 32;
export const ARGON2_OUTPUT_LENGTH = 32;
/** §2: offset of the salt: magic 8 + version 2 + algorithm 1 + m 4 + t 4 + p 4 + salt length 1. */
const SALT_OFFSET = 24;
/** §2: largest ciphertext the u32 length field can declare. */
export const MAX_CIPHERTEXT_LENGTH = 0xffff_ffff;
/**
 * §2.1: the largest vault file caliop reads (it is read whole) or writes. The largest content
 * is an older outbox holding a message of 64 MiB inline (docs/limits.md §2.1) beside the
 * contacts: twice that.
 */
export const VAULT_MAX_BYTES = 128 * 1024 * 1024;

/** §3: HKDF-SHA256 info strings; distinct so the two keys are independent. */
const HKDF_INFO_AEAD_KEY = new TextEncoder().encode('caliop vault v1 aead key');
const HKDF_INFO_CHECK_KEY = new TextEncoder().encode('caliop vault v1 key check');

/** §5.1: the floor below which no vault is created (outside tests). */
export const KDF_FLOOR: Readonly<KdfParams> = Object.freeze({ algorithm: 'argon2id', memoryKiB: 262_144, passes: 3, parallelism: 1 });
/**
 * §5.2: the ceiling above which no vault is opened: what `init` could have written
 * (memory at the floor, passes as calibrated, at most 64), so a crafted header can
 * neither exhaust the host nor stall unlocking for minutes.
 */
export const KDF_CEILING: Readonly<Omit<KdfParams, 'algorithm'>> = Object.freeze({ memoryKiB: 262_144, passes: 64, parallelism: 4 });
/** §5.4: the parameters of CALIOP_UNSAFE_TEST_KDF=1, for test suites only. */
export const UNSAFE_TEST_KDF: Readonly<KdfParams> = Object.freeze({ algorithm: 'argon2id', memoryKiB: 8192, passes: 1, parallelism: 1 });
/** §5.3: how long one unlock should take on the machine that creates the vault. */
export const CALIBRATION_TARGET_MS = 1000;

// --- small boundary helpers ----------------------------------------------------

function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new TypeError(`${name} must be ${length} bytes, got ${value.length}`);
  }
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  // Constant time in the content (the lengths are public).
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

// --- KDF parameter rules (docs/vault-format.md §5) -----------------------------

/**
 * Why these parameters cannot or must not be computed when opening a vault, or
 * undefined if they are fine: RFC 9106 §3.1 limits and our ceiling (§5.2).
 */
export function kdfParamsProblem(params: KdfParams): string | undefined {
  if (params.algorithm !== 'argon2id') return `unknown KDF algorithm ${String(params.algorithm)}`;
  const { memoryKiB, passes, parallelism } = params;
  if (!isUint32(memoryKiB) || !isUint32(passes) || !isUint32(parallelism)) return 'KDF parameters must be 32-bit unsigned integers';
  // RFC 9106 §3.1: 1 <= p <= 2^24-1, t >= 1, m >= 8p.
  if (parallelism < 1) return 'parallelism must be at least 1';
  if (passes < 1) return 'passes must be at least 1';
  if (memoryKiB < 8 * parallelism) return 'memory must be at least 8 KiB per lane';
  // §5.2: the ceiling.
  if (memoryKiB > KDF_CEILING.memoryKiB) return `memory ${memoryKiB} KiB is above the ceiling of ${KDF_CEILING.memoryKiB} KiB`;
  if (passes > KDF_CEILING.passes) return `${passes} passes is above the ceiling of ${KDF_CEILING.passes}`;
  if (parallelism > KDF_CEILING.parallelism) return `parallelism ${parallelism} is above the ceiling of ${KDF_CEILING.parallelism}`;
  return undefined;
}

/** Throws unless kdfParamsProblem(params) is undefined (a programming error at creation). */
export function assertKdfParamsComputable(params: KdfParams): void {
  const problem = kdfParamsProblem(params);
  if (problem !== undefined) throw new CaliopError('internal', `invalid Argon2id parameters: ${problem}`);
}

/** True when the parameters are at or above the floor on every axis (§5.1). */
export function kdfParamsMeetFloor(params: KdfParams): boolean {
  return params.memoryKiB >= KDF_FLOOR.memoryKiB && params.passes >= KDF_FLOOR.passes && params.parallelism >= KDF_FLOOR.parallelism;
}

/**
 * §5.1, §5.4: the check made before creating or re-sealing a vault. Below the
 * floor only when the caller says the test escape hatch is on.
 */
export function assertKdfParamsForCreation(params: KdfParams, options: { allowUnsafeTestParams: boolean }): void {
  assertKdfParamsComputable(params);
  if (!kdfParamsMeetFloor(params) && !options.allowUnsafeTestParams) {
    throw new CaliopError(
      'internal',
      `refusing to create a vault below the Argon2id floor (m=${params.memoryKiB} KiB, t=${params.passes}, p=${params.parallelism}; ` +
        `floor m=${KDF_FLOOR.memoryKiB} KiB, t=${KDF_FLOOR.passes}); CALIOP_UNSAFE_TEST_KDF=1 allows it in test suites only`,
    );
  }
}

/**
 * §5.3 calibration: given how long one derivation at the floor took on this
 * machine, the parameters that make one unlock take about targetMs. Memory stays
 * at the floor; passes scale linearly (Argon2 time is linear in t), never below
 * the floor and never above the ceiling.
 */
export function calibratedKdfParams(measuredMsAtFloor: number, targetMs: number = CALIBRATION_TARGET_MS): KdfParams {
  if (!(measuredMsAtFloor > 0) || !Number.isFinite(measuredMsAtFloor)) throw new TypeError('measuredMsAtFloor must be a positive number');
  if (!(targetMs > 0) || !Number.isFinite(targetMs)) throw new TypeError('targetMs must be a positive number');
  const perPassMs = measuredMsAtFloor / KDF_FLOOR.passes;
  const passes = Math.min(KDF_CEILING.passes, Math.max(KDF_FLOOR.passes, Math.round(targetMs / perPassMs)));
  return { ...KDF_FLOOR, passes };
}

// --- encoding (docs/vault-format.md §2) -----------------------------------------

function headerLength(saltLength: number): number {
  return SALT_OFFSET + saltLength + 4; // salt, then the u32 ciphertext length
}

/** §2: the header bytes for this header and ciphertext length. */
export function encodeVaultHeader(header: VaultHeader, ciphertextLength: number): Uint8Array {
  if (header.version !== VAULT_VERSION) throw new TypeError(`header.version must be ${VAULT_VERSION}`);
  assertKdfParamsComputable(header.kdf);
  assertBytes('header.salt', header.salt);
  if (header.salt.length < MIN_SALT_LENGTH || header.salt.length > MAX_SALT_LENGTH) {
    throw new TypeError(`header.salt must be ${MIN_SALT_LENGTH} to ${MAX_SALT_LENGTH} bytes`);
  }
  if (!isUint32(ciphertextLength) || ciphertextLength < TAG_LENGTH) throw new TypeError('ciphertextLength out of range');
  const bytes = new Uint8Array(headerLength(header.salt.length));
  const view = new DataView(bytes.buffer);
  bytes.set(VAULT_MAGIC, 0);
  view.setUint16(8, header.version);
  bytes[10] = KDF_ALGORITHM_ARGON2ID;
  view.setUint32(11, header.kdf.memoryKiB);
  view.setUint32(15, header.kdf.passes);
  view.setUint32(19, header.kdf.parallelism);
  bytes[23] = header.salt.length;
  bytes.set(header.salt, SALT_OFFSET);
  view.setUint32(SALT_OFFSET + header.salt.length, ciphertextLength);
  return bytes;
}

/** §3: the two keys, derived from the Argon2id output with HKDF-SHA256 (RFC 5869). */
export function deriveVaultKeys(argon2Output: Uint8Array): { aeadKey: Uint8Array; checkKey: Uint8Array } {
  assertBytes('argon2Output', argon2Output, ARGON2_OUTPUT_LENGTH);
  // RFC 5869 §3.1: no salt needed, the input is already uniformly random; info separates the keys.
  return {
    aeadKey: hkdf(sha256, argon2Output, undefined, HKDF_INFO_AEAD_KEY, 32),
    checkKey: hkdf(sha256, argon2Output, undefined, HKDF_INFO_CHECK_KEY, 32),
  };
}

/**
 * §2-§3: the whole vault file sealing the plaintext. The nonce must be 24 fresh
 * random bytes for every call (§3.2); the salt is the one Argon2id used.
 */
export function sealVault(header: VaultHeader, argon2Output: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  assertBytes('nonce', nonce, NONCE_LENGTH);
  assertBytes('plaintext', plaintext);
  if (plaintext.length > MAX_CIPHERTEXT_LENGTH - TAG_LENGTH) throw new TypeError('plaintext too large for a vault');
  const headerBytes = encodeVaultHeader(header, plaintext.length + TAG_LENGTH);
  const { aeadKey, checkKey } = deriveVaultKeys(argon2Output);
  try {
    const checksum = sha256(headerBytes); // §3.1 (a)
    const keyCheck = hmac(sha256, checkKey, headerBytes); // §3.1 (b)
    const ciphertext = xchachaAead(aeadKey, nonce, headerBytes).encrypt(plaintext); // §3.2 (c)
    const file = new Uint8Array(headerBytes.length + CHECKSUM_LENGTH + KEY_CHECK_LENGTH + NONCE_LENGTH + ciphertext.length);
    let offset = 0;
    for (const part of [headerBytes, checksum, keyCheck, nonce, ciphertext]) {
      file.set(part, offset);
      offset += part.length;
    }
    return file;
  } finally {
    aeadKey.fill(0);
    checkKey.fill(0);
  }
}

// --- decoding (docs/vault-format.md §6) -----------------------------------------

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function truncated(detail: string): CaliopError {
  return new CaliopError('vault_truncated', `the vault file is truncated: ${detail}`);
}

/**
 * §6 steps 1-6: checks the structure and the unkeyed header checksum, without the
 * passphrase. Throws vault_truncated, vault_unsupported_version or
 * vault_tampered (part 'header', or 'ciphertext' for trailing bytes).
 */
export function parseVault(file: Uint8Array): ParsedVault {
  assertBytes('file', file);
  // Step 1: magic.
  if (!startsWith(file, VAULT_MAGIC)) throw new VaultTamperedError('header', 'this is not a Caliop vault (wrong magic bytes)');
  if (file.length < 10) throw truncated(`${file.length} bytes, not even a version number`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  // Step 2: version, before anything else whose layout depends on it.
  const version = view.getUint16(8);
  if (version !== VAULT_VERSION) {
    throw new CaliopError('vault_unsupported_version', `the vault has format version ${version}; this caliop reads version ${VAULT_VERSION}`);
  }
  // Step 3: the header and its checksum are all there.
  if (file.length < SALT_OFFSET) throw truncated(`${file.length} bytes, shorter than the fixed header`);
  const saltLength = file[23]!;
  const headerEnd = headerLength(saltLength);
  const checksumEnd = headerEnd + CHECKSUM_LENGTH;
  if (file.length < checksumEnd) throw truncated(`${file.length} bytes, shorter than the ${checksumEnd}-byte header and checksum`);
  const headerBytes = file.subarray(0, headerEnd);
  // Step 4: the unkeyed checksum (§3.1 a).
  if (!equalBytes(sha256(headerBytes), file.subarray(headerEnd, checksumEnd))) {
    throw new VaultTamperedError('header', 'its checksum does not match (damaged or modified)');
  }
  // Step 5: field values.
  if (saltLength < MIN_SALT_LENGTH || saltLength > MAX_SALT_LENGTH) throw new VaultTamperedError('header', `salt length ${saltLength} is not allowed`);
  if (file[10] !== KDF_ALGORITHM_ARGON2ID) throw new VaultTamperedError('header', `unknown KDF algorithm number ${file[10]}`);
  const kdf: KdfParams = {
    algorithm: 'argon2id',
    memoryKiB: view.getUint32(11),
    passes: view.getUint32(15),
    parallelism: view.getUint32(19),
  };
  const problem = kdfParamsProblem(kdf);
  if (problem !== undefined) throw new VaultTamperedError('header', problem);
  const ciphertextLength = view.getUint32(headerEnd - 4);
  if (ciphertextLength < TAG_LENGTH) throw new VaultTamperedError('header', `ciphertext length ${ciphertextLength} is shorter than a tag`);
  // Step 6: the rest of the file has exactly the declared length.
  const nonceStart = checksumEnd + KEY_CHECK_LENGTH;
  const ciphertextStart = nonceStart + NONCE_LENGTH;
  const expectedLength = ciphertextStart + ciphertextLength;
  if (file.length < expectedLength) throw truncated(`${file.length} of ${expectedLength} bytes`);
  if (file.length > expectedLength) throw new VaultTamperedError('ciphertext', `${file.length - expectedLength} unexpected bytes after its end`);
  return {
    header: { version: VAULT_VERSION, kdf, salt: file.slice(SALT_OFFSET, SALT_OFFSET + saltLength) },
    headerBytes: file.slice(0, headerEnd),
    keyCheck: file.slice(checksumEnd, nonceStart),
    nonce: file.slice(nonceStart, ciphertextStart),
    ciphertext: file.slice(ciphertextStart, expectedLength),
  };
}

/** §6 steps 1-6, for callers that only need the header (e.g. `key show`). */
export function readVaultHeader(file: Uint8Array): VaultHeader {
  return parseVault(file).header;
}

/**
 * §6 steps 7-8: the plaintext, given the Argon2id output for parsed.header.
 * Throws wrong_passphrase when the key check fails, vault_tampered (part
 * 'ciphertext') when the key check passes but the AEAD tag does not.
 */
export function openParsedVault(parsed: ParsedVault, argon2Output: Uint8Array): Uint8Array {
  const { aeadKey, checkKey } = deriveVaultKeys(argon2Output);
  try {
    // Step 7: the keyed check (§3.1 b).
    if (!equalBytes(hmac(sha256, checkKey, parsed.headerBytes), parsed.keyCheck)) {
      throw new CaliopError('wrong_passphrase');
    }
    // Step 8: the AEAD (§3.2 c), header bytes as associated data.
    try {
      return xchachaAead(aeadKey, parsed.nonce, parsed.headerBytes).decrypt(parsed.ciphertext);
    } catch (cause) {
      const error = new VaultTamperedError('ciphertext', 'its authentication tag does not match (damaged or modified)');
      (error as { cause?: unknown }).cause = cause;
      throw error;
    }
  } finally {
    aeadKey.fill(0);
    checkKey.fill(0);
  }
}

/** §6: parseVault then openParsedVault. */
export function openVault(file: Uint8Array, argon2Output: Uint8Array): Uint8Array {
  return openParsedVault(parseVault(file), argon2Output);
}
