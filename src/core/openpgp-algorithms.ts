// The OpenPGP algorithms we meet, by their RFC 9580 code points, and what we think of
// them (docs/cli.md §6 "Algorithms and signature states"). Pure: numbers in, names and
// verdicts out.

/** RFC 9580 §9.3 (and RFC 4880 §9.2): symmetric algorithm ids, as GnuPG 2.2 names them. */
export const SYMMETRIC_NAMES: Readonly<Record<number, string>> = {
  1: 'IDEA',
  2: '3DES',
  3: 'CAST5',
  4: 'BLOWFISH',
  7: 'AES128',
  8: 'AES192',
  9: 'AES256',
  10: 'TWOFISH',
  11: 'CAMELLIA128',
  12: 'CAMELLIA192',
  13: 'CAMELLIA256',
};

/** The symmetric algorithms we decrypt (openpgp.js implements them). Everything else is "unsupported algorithm NAME". */
export const SUPPORTED_SYMMETRIC: ReadonlySet<number> = new Set([2, 3, 4, 7, 8, 9, 10]);

/** RFC 9580 §9.5: hash algorithm ids. */
export const HASH_NAMES: Readonly<Record<number, string>> = {
  1: 'MD5',
  2: 'SHA1',
  3: 'RIPEMD160',
  8: 'SHA256',
  9: 'SHA384',
  10: 'SHA512',
  11: 'SHA224',
  12: 'SHA3-256',
  14: 'SHA3-512',
};

/** RFC 9580 §9.1: public-key algorithm ids. */
export const PUBLIC_KEY_NAMES: Readonly<Record<number, string>> = {
  1: 'RSA',
  2: 'RSA',
  3: 'RSA',
  16: 'ElGamal',
  17: 'DSA',
  18: 'ECDH',
  19: 'ECDSA',
  20: 'ElGamal',
  22: 'EdDSA',
  25: 'X25519',
  26: 'X448',
  27: 'Ed25519',
  28: 'Ed448',
  35: 'ML-KEM-768+X25519',
};

/**
 * draft-ietf-openpgp-pqc-10 §5.3 (docs/decisions/post-quantum.md): the ML-KEM-768+X25519
 * composite KEM, the post-quantum encryption subkey of every Caliop cert.
 */
export const POST_QUANTUM_KEM_ALGORITHM = 35;

export function symmetricName(id: number): string {
  return SYMMETRIC_NAMES[id] ?? `symmetric algorithm ${id}`;
}

export function hashName(id: number): string {
  return HASH_NAMES[id] ?? `hash algorithm ${id}`;
}

export function publicKeyName(id: number): string {
  return PUBLIC_KEY_NAMES[id] ?? `public-key algorithm ${id}`;
}

/**
 * Hashes we read but would no longer create: a signature made with one is `good-weak`.
 * MD5 is not read at all (GnuPG 2.2 and Sequoia both reject it): `unsupported-algorithm`.
 */
export const WEAK_HASHES: ReadonlySet<number> = new Set([2, 3]);
export const REJECTED_HASHES: ReadonlySet<number> = new Set([1]);

/**
 * GnuPG 2.2's published rule (NEWS of 2.2.18, "Reject SHA-1 based key signatures created
 * after 2019-01-19"), which we follow for self-signatures and subkey bindings: a SHA-1
 * key signature made on or after this date does not count. SHA-1 data signatures are
 * read at any date, and are `good-weak` (docs/cli.md §6.2).
 */
export const SHA1_KEY_SIGNATURE_CUTOFF = new Date('2019-01-19T00:00:00Z');

export interface SigningKeyFacts {
  /** RFC 9580 §9.1 id of the key that made the signature. */
  readonly algorithm: number;
  /** Modulus size for RSA, prime size for DSA/ElGamal. */
  readonly bits?: number | undefined;
}

/**
 * docs/cli.md §6.2: why a valid signature is only `good-weak`, or undefined when it is
 * `good`. Weak: a SHA-1 or RIPEMD-160 hash, a DSA or ElGamal key, an RSA key under 2048 bits.
 */
export function weaknessOf(hashAlgorithm: number, key: SigningKeyFacts): string | undefined {
  const reasons: string[] = [];
  if (WEAK_HASHES.has(hashAlgorithm)) reasons.push(`${hashName(hashAlgorithm)} hash`);
  if (key.algorithm === 17 || key.algorithm === 16 || key.algorithm === 20) reasons.push(`${publicKeyName(key.algorithm)} key`);
  if ((key.algorithm === 1 || key.algorithm === 3) && key.bits !== undefined && key.bits < 2048) reasons.push(`RSA ${key.bits}-bit key`);
  return reasons.length > 0 ? reasons.join(', ') : undefined;
}

/**
 * RFC 9580 §5.5.4: an upper-case hex fingerprint, by key version: 40 digits for v4
 * (SHA-1), 64 for v6 (SHA-256). One definition for contacts, the directory and the API.
 */
export const FINGERPRINT_PATTERN = /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/;
