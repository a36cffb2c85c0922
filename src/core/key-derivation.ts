// Deterministic OpenPGP identity from the ceremony seed (docs/ceremony.md §3-§6).
//
// Pure: the seed, the creation date and the user id are parameters; no clock, no
// randomness. The same input always gives byte-identical armored output, so that
// `caliop recover` rebuilds exactly the key `caliop init` made (docs/ceremony.md §7).

import * as nodeCrypto from 'node:crypto';
import * as openpgp from 'openpgp';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { CaliopError } from '../errors.js';
import { POST_QUANTUM_KEM_ALGORITHM } from './openpgp-algorithms.js';
import { certForOutsiders } from './outsider-cert.js';

// Issue 13 (a first unlock pays only for what it uses): a process derives three to five
// Ed25519 public keys and two X25519 ones, once. They come from node:crypto (OpenSSL: well
// under a millisecond each, no table to build, no JavaScript to warm up); noble computes them
// where node:crypto cannot. For that case noble's default 8-bit window for the base point
// would build a table of 4,224 points on first use, which cost more CPU than all the keys it
// then speeds up (about 100 ms against 40 ms for four keys with a 4-bit window, 520 points,
// measured under Node 26 on a loaded machine). The keys are the same whatever the way
// (test/key-derivation.test.ts compares both).
ed25519.Point.BASE.precompute(4);

// RFC 8410 §7: the PKCS #8 DER of an Ed25519 / X25519 private key is this prefix, then the 32 bytes.
const PKCS8_PREFIX = {
  ed25519: Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]),
  x25519: Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]),
} as const;
/** RFC 8410 §4: the SPKI DER of an Ed25519 / X25519 public key is 12 bytes, then the 32 bytes. */
const SPKI_PREFIX_BYTES = 12;

/**
 * The public key of a 32-byte Ed25519 seed (RFC 8032 §5.1.5) or X25519 scalar (RFC 7748 §5,
 * clamped by the function), by node:crypto; by noble if node:crypto refuses.
 * `viaNoble` forces noble (the test that compares both).
 */
export function curvePublicKey(curve: 'ed25519' | 'x25519', secret: Uint8Array, options: { viaNoble?: boolean } = {}): Uint8Array {
  if (secret.length !== 32) throw new TypeError(`${curve}: expected a 32-byte secret`);
  if (options.viaNoble !== true) {
    const der = concatBytes(PKCS8_PREFIX[curve], secret);
    try {
      const spki = nodeCrypto.createPublicKey(nodeCrypto.createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'pkcs8' }))
        .export({ format: 'der', type: 'spki' });
      if (spki.length === SPKI_PREFIX_BYTES + 32) return Uint8Array.from(spki.subarray(SPKI_PREFIX_BYTES));
    } catch {
      // a runtime without these key types in node:crypto: noble below
    } finally {
      der.fill(0);
    }
  }
  return curve === 'ed25519' ? ed25519.getPublicKey(secret) : x25519.getPublicKey(secret);
}

/** docs/ceremony.md §1: the seed is 256 bits. */
export const SEED_BYTES = 32;

/**
 * docs/ceremony.md §6.3: every subkey expires 1096 days (three years, one leap day
 * included) after the creation date. The primary key does not expire.
 */
export const SUBKEY_VALIDITY_SECONDS = 1096 * 24 * 60 * 60;

/** docs/ceremony.md §3: HKDF-SHA256 salt, and one info string per derived key. */
export const DERIVATION_SALT = 'caliop-key/ceremony/v1';
export const DERIVATION_INFO = {
  primary: 'caliop-key/ceremony/v1/openpgp-primary-ed25519',
  signing: 'caliop-key/ceremony/v1/openpgp-signing-ed25519',
  encryption: 'caliop-key/ceremony/v1/openpgp-encryption-x25519',
  authentication: 'caliop-key/ceremony/v1/openpgp-authentication-ed25519',
  device: 'caliop-key/ceremony/v1/relay-device-ed25519',
  /** docs/ceremony.md §3.1, docs/decisions/post-quantum.md: 96 bytes, the ML-KEM-768 seed then X25519. */
  postQuantum: 'caliop-key/ceremony/v1/pq-encryption',
} as const;

/** docs/ceremony.md §3.1: the post-quantum subkey's HKDF output: 64 bytes of ML-KEM seed (FIPS 203 d‖z), 32 of X25519. */
const PQ_MATERIAL_BYTES = 96;
const MLKEM_SEED_BYTES = 64;

export type DerivedKeyRole = keyof typeof DERIVATION_INFO;

export interface IdentityInput {
  seed: Uint8Array;
  name: string;
  email: string;
  creationDate: Date;
  /**
   * docs/ceremony.md §6.6: the date of the last renewal (a whole UTC day, see
   * key-lifetime.ts renewalDate): each subkey gets a second binding signature made
   * then, valid 1096 days from then. Absent: the ceremony's bindings only.
   */
  renewedAt?: Date | undefined;
  /**
   * docs/ceremony.md §4: run openpgp.js's `validate()` on each key packet (the public part
   * matches the secret). Default true; a vault's unlock re-derives the key its ceremony
   * made and checked, from the same seed, and passes false (issue 16).
   */
  validate?: boolean;
}

export interface DerivedIdentity {
  /** Unencrypted: seal it in the vault, never write it elsewhere. */
  privateKey: openpgp.PrivateKey;
  publicKey: openpgp.PublicKey;
  /** The primary key's v4 fingerprint: 40 hex digits, upper case. */
  fingerprint: string;
  armoredSecretKey: string;
  /** The full cert: for Caliop sticks only (the relay's enrolment and its directory, docs/api.md §6.2, §7.1, §7.3). */
  armoredCert: string;
  /**
   * docs/decisions/post-quantum.md: the cert anyone outside Caliop is given (`key export`,
   * `init`'s `cert`, the files the interface writes): without the post-quantum subkey,
   * byte for byte the cert of sticks made before it.
   */
  armoredCertForOutsiders: string;
  revocationCertificate: string;
  /** docs/ceremony.md §5: the raw Ed25519 key that signs requests to the relay. */
  device: { secretKey: Uint8Array; publicKey: Uint8Array };
}

/** docs/ceremony.md §2.2: key creation times are whole seconds; drop the milliseconds of a clock reading. */
export function ceremonyCreationDate(now: Date): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000);
}

/** docs/ceremony.md §3: HKDF-SHA256(seed, salt, info): 32 bytes, 96 for the post-quantum subkey (§3.1). */
export function deriveKeyMaterial(seed: Uint8Array, role: DerivedKeyRole): Uint8Array {
  assertSeed(seed);
  const utf8 = new TextEncoder();
  return hkdf(sha256, seed, utf8.encode(DERIVATION_SALT), utf8.encode(DERIVATION_INFO[role]), role === 'postQuantum' ? PQ_MATERIAL_BYTES : 32);
}

/** docs/ceremony.md §5: the first stick's device key depends on the seed only. */
export function deriveDeviceKey(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  return deviceKeyFromSecret(deriveKeyMaterial(seed, 'device'));
}

/** docs/ceremony.md §5: a device key pair from its 32-byte Ed25519 secret (derived, or random for a later stick). */
export function deviceKeyFromSecret(secretKey: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  if (secretKey.length !== 32) throw new TypeError('secretKey: expected 32 bytes');
  return { secretKey, publicKey: curvePublicKey('ed25519', secretKey) };
}

/** docs/ceremony.md §4-§6: build the whole OpenPGP key from the seed. */
export async function deriveIdentity(input: IdentityInput): Promise<DerivedIdentity> {
  assertSeed(input.seed);
  const created = checkedCreationDate(input.creationDate);
  const userID = checkedUserID(input.name, input.email);
  const config = ceremonyConfig();
  const validate = input.validate !== false;

  const primarySeed = deriveKeyMaterial(input.seed, 'primary');
  const signingSeed = deriveKeyMaterial(input.seed, 'signing');
  const encryptionScalar = deriveKeyMaterial(input.seed, 'encryption');
  const authenticationSeed = deriveKeyMaterial(input.seed, 'authentication');
  const postQuantumMaterial = deriveKeyMaterial(input.seed, 'postQuantum');
  try {
    const primary = await readKeyPacket(new openpgp.SecretKeyPacket(), ed25519SecretKeyBody(primarySeed, created), config, validate);
    const signing = await readKeyPacket(new openpgp.SecretSubkeyPacket(), ed25519SecretKeyBody(signingSeed, created), config, validate);
    const encryption = await readKeyPacket(new openpgp.SecretSubkeyPacket(), x25519SecretKeyBody(encryptionScalar, created), config, validate);
    const authentication = await readKeyPacket(new openpgp.SecretSubkeyPacket(), ed25519SecretKeyBody(authenticationSeed, created), config, validate);
    const postQuantumBody = await mlkemX25519SecretKeyBody(postQuantumMaterial, created, config);
    // Issue 13: at an unlock, the ML-KEM decapsulation key is expanded only for a message that needs it.
    const postQuantum = validate
      ? await readKeyPacket(new openpgp.SecretSubkeyPacket(), postQuantumBody, config)
      : await readPostQuantumPacketUnexpanded(postQuantumBody, config);

    const userIDPacket = openpgp.UserIDPacket.fromObject(userID);
    const packets = new openpgp.PacketList<openpgp.AnyPacket>();
    packets.push(primary, userIDPacket);
    // docs/ceremony.md §6.1: positive certification of the user id, carrying the preferences.
    packets.push(await signPacket(primary, { userID: userIDPacket, key: primary }, created, config, {
      signatureType: openpgp.enums.signature.certPositive,
      keyFlags: [openpgp.enums.keyFlags.certifyKeys],
      preferredSymmetricAlgorithms: [openpgp.enums.symmetric.aes256, openpgp.enums.symmetric.aes128],
      preferredHashAlgorithms: [openpgp.enums.hash.sha512, openpgp.enums.hash.sha256],
      preferredCompressionAlgorithms: [openpgp.enums.compression.uncompressed, openpgp.enums.compression.zlib, openpgp.enums.compression.zip],
      features: [0x01], // RFC 4880 §5.2.3.24: modification detection (SEIPDv1) only, no SEIPDv2
      keyServerPreferences: [0x80], // RFC 4880 §5.2.3.17: no-modify
      isPrimaryUserID: true,
    }));
    // docs/ceremony.md §6.2: the signing subkey carries an embedded primary key binding (RFC 4880 §5.2.1, 0x19).
    const backSignature = await signPacket(signing, { key: primary, bind: signing }, created, config, {
      signatureType: openpgp.enums.signature.keyBinding,
    });
    const subkeys: Array<[openpgp.SecretSubkeyPacket, number, openpgp.SignaturePacket | null]> = [
      [signing, openpgp.enums.keyFlags.signData, backSignature],
      [encryption, openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage, null],
      [authentication, openpgp.enums.keyFlags.authentication, null],
      // docs/ceremony.md §6, docs/decisions/post-quantum.md: last, so that the bytes before it are those of earlier sticks.
      [postQuantum, openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage, null],
    ];
    const renewed = input.renewedAt === undefined ? undefined : checkedRenewalDate(input.renewedAt, created);
    for (const [subkey, flags, embeddedSignature] of subkeys) {
      packets.push(subkey, await signPacket(primary, { key: primary, bind: subkey }, created, config, {
        signatureType: openpgp.enums.signature.subkeyBinding,
        keyFlags: [flags],
        keyExpirationTime: SUBKEY_VALIDITY_SECONDS,
        keyNeverExpires: false,
        embeddedSignature,
      }));
      if (renewed === undefined) continue;
      // docs/ceremony.md §6.6: the renewal, a later binding of the same subkey (RFC 4880 §5.2.3.6:
      // the expiration counts from the key's creation). The signing subkey signs a new back-signature.
      const renewedBack = embeddedSignature === null ? null : await signPacket(subkey, { key: primary, bind: subkey }, renewed, config, {
        signatureType: openpgp.enums.signature.keyBinding,
      });
      packets.push(await signPacket(primary, { key: primary, bind: subkey }, renewed, config, {
        signatureType: openpgp.enums.signature.subkeyBinding,
        keyFlags: [flags],
        keyExpirationTime: (renewed.getTime() - created.getTime()) / 1000 + SUBKEY_VALIDITY_SECONDS,
        keyNeverExpires: false,
        embeddedSignature: renewedBack,
      }));
    }
    // docs/ceremony.md §6.4: the revocation certificate, made at once, kept apart from the key.
    const revocation = await signPacket(primary, { key: primary }, created, config, {
      signatureType: openpgp.enums.signature.keyRevocation,
      reasonForRevocationFlag: openpgp.enums.reasonForRevocation.noReason,
      reasonForRevocationString: '',
    });
    const revocationPackets = new openpgp.PacketList<openpgp.AnyPacket>();
    revocationPackets.push(revocation);
    const revocationCertificate = openpgp.armor(openpgp.enums.armor.publicKey, revocationPackets.write(), undefined, undefined,
      'This is a revocation certificate', true, config);

    // At the ceremony (validate), serialise and read back: the parser checks the structure we
    // built. An unlock re-derives the key that check passed (issue 13): the packets as built
    // make the key, without the second parse, which expanded the ML-KEM seed once more
    // (openpgp.js's JavaScript ML-KEM key generation, ~50 ms after Argon2id); the same bytes
    // (test/key-derivation.test.ts).
    const privateKey = validate ? await openpgp.readPrivateKey({ binaryKey: packets.write(), config }) : new openpgp.PrivateKey(packets);
    const publicKey = privateKey.toPublic();
    return {
      privateKey,
      publicKey,
      fingerprint: privateKey.getFingerprint().toUpperCase(),
      armoredSecretKey: privateKey.armor(config),
      armoredCert: publicKey.armor(config),
      armoredCertForOutsiders: armoredForOutsiders(publicKey, config),
      revocationCertificate,
      device: deriveDeviceKey(input.seed),
    };
  } finally {
    for (const secret of [primarySeed, signingSeed, encryptionScalar, authenticationSeed, postQuantumMaterial]) secret.fill(0);
  }
}

/**
 * docs/decisions/post-quantum.md: a cert (or secret key) as outsiders get it, armored as
 * `key.armor()` armors it: the same text as before the post-quantum subkey for our certs.
 */
export function armoredForOutsiders(key: openpgp.PublicKey | openpgp.PrivateKey, config: openpgp.Config = ceremonyConfig()): string {
  const type = key.isPrivate() ? openpgp.enums.armor.privateKey : openpgp.enums.armor.publicKey;
  return openpgp.armor(type, certForOutsiders(key.write() as Uint8Array), undefined, undefined, undefined, key.keyPacket.version !== 6, config);
}

/** docs/lost-stick.md §3, docs/ceremony.md §6.7: why a key is revoked, as `caliop key revoke --reason` names it. */
export const REVOCATION_REASONS = {
  // RFC 4880 §5.2.3.23: 0 and 2 are hard revocations (every signature is suspect), 1 is soft.
  lost: { flag: openpgp.enums.reasonForRevocation.noReason, text: 'lost: the stick holding this key was lost' },
  compromised: { flag: openpgp.enums.reasonForRevocation.keyCompromised, text: 'compromised: this key may be known to someone else' },
  superseded: { flag: openpgp.enums.reasonForRevocation.keySuperseded, text: 'superseded: this key is replaced by a newer one' },
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/**
 * docs/ceremony.md §6.7: a key revocation signature (0x20) by the primary key, dated
 * `at` (a whole second), with its reason: deterministic, as every signature here.
 */
export async function deriveRevocationCertificate(seed: Uint8Array, creationDate: Date, at: Date, reason: RevocationReason): Promise<string> {
  assertSeed(seed);
  const created = checkedCreationDate(creationDate);
  const when = checkedRenewalDate(at, new Date(created.getTime() - 1000));
  const config = ceremonyConfig();
  const primarySeed = deriveKeyMaterial(seed, 'primary');
  try {
    const primary = await readKeyPacket(new openpgp.SecretKeyPacket(), ed25519SecretKeyBody(primarySeed, created), config);
    const revocation = await signPacket(primary, { key: primary }, when, config, {
      signatureType: openpgp.enums.signature.keyRevocation,
      reasonForRevocationFlag: REVOCATION_REASONS[reason].flag,
      reasonForRevocationString: REVOCATION_REASONS[reason].text,
    });
    const packets = new openpgp.PacketList<openpgp.AnyPacket>();
    packets.push(revocation);
    return openpgp.armor(openpgp.enums.armor.publicKey, packets.write(), undefined, undefined, 'This is a revocation certificate', true, config);
  } finally {
    primarySeed.fill(0);
  }
}

// ---- internals ----

/**
 * docs/ceremony.md §6.5: openpgp.js settings for byte-identical output that GnuPG 2.2 reads:
 * no salt notation (EdDSA is deterministic, RFC 8032 §5.1.6), no AEAD, v4 keys.
 */
function ceremonyConfig(): openpgp.Config {
  return {
    ...openpgp.config,
    nonDeterministicSignaturesViaNotation: false,
    aeadProtect: false,
    v6Keys: false,
    showVersion: false,
    showComment: false,
  };
}

function assertSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new TypeError(`seed: expected a Uint8Array of ${SEED_BYTES} bytes`);
  }
}

/** docs/ceremony.md §6.6: a renewal is dated on a whole second, after the creation date. */
function checkedRenewalDate(date: Date, created: Date): Date {
  const time = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isInteger(time) || time % 1000 !== 0 || time <= created.getTime() || time / 1000 > 0xffffffff) {
    throw new TypeError('renewedAt: expected a Date on a whole second after the creation date');
  }
  return new Date(time);
}

function checkedCreationDate(date: Date): Date {
  const time = date instanceof Date ? date.getTime() : Number.NaN;
  // RFC 4880 §3.5: a time field is an unsigned 32-bit count of seconds.
  if (!Number.isInteger(time) || time % 1000 !== 0 || time <= 0 || time / 1000 > 0xffffffff) {
    throw new TypeError('creationDate: expected a Date on a whole second between 1970 and 2106 (see ceremonyCreationDate)');
  }
  return new Date(time);
}

/** docs/ceremony.md §2.3: the user id is "NAME <EMAIL>", both NFC, trimmed, on one line. */
function checkedUserID(name: string, email: string): { name: string; email: string } {
  const cleanName = name.normalize('NFC').trim();
  const cleanEmail = email.normalize('NFC').trim();
  if (cleanName === '' || /[<>()\p{Cc}]/u.test(cleanName)) {
    throw new CaliopError('usage', 'the name must not be empty nor contain < > ( ) or control characters');
  }
  if (!/^[^\s<>()@\p{Cc}]+@[^\s<>()@\p{Cc}]+\.[^\s<>()@\p{Cc}]+$/u.test(cleanEmail)) {
    throw new CaliopError('usage', `"${cleanEmail}" is not an email address`);
  }
  return { name: cleanName, email: cleanEmail };
}

async function readKeyPacket<P extends openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket>(packet: P, body: Uint8Array, config: openpgp.Config, validate = true): Promise<P> {
  await (packet.read as (bytes: Uint8Array, config: openpgp.Config) => Promise<void>).call(packet, body, config);
  // no body.fill(0) here: the packet's parameters are views into `body`.
  if (validate) await packet.validate(); // §4: the public point must match the secret
  return packet;
}

type SignatureProperties = Partial<Pick<openpgp.SignaturePacket,
  'signatureType' | 'keyExpirationTime' | 'keyNeverExpires' | 'preferredSymmetricAlgorithms' | 'preferredHashAlgorithms'
  | 'preferredCompressionAlgorithms' | 'isPrimaryUserID' | 'reasonForRevocationFlag' | 'reasonForRevocationString' | 'embeddedSignature'>>
  & { keyFlags?: number[]; features?: number[]; keyServerPreferences?: number[] };

/** RFC 4880 §5.2.3: a v4 signature, SHA-512, dated at the creation date. */
async function signPacket(signer: openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket, data: object, created: Date,
  config: openpgp.Config, properties: SignatureProperties): Promise<openpgp.SignaturePacket> {
  const signature = new openpgp.SignaturePacket();
  Object.assign(signature, properties);
  signature.publicKeyAlgorithm = signer.algorithm;
  signature.hashAlgorithm = openpgp.enums.hash.sha512;
  // openpgp.js 6 reads the config from the 5th argument (its typings omit it).
  const sign = signature.sign as (key: typeof signer, data: object, date: Date, detached: boolean, config: openpgp.Config) => Promise<void>;
  await sign.call(signature, signer, data, created, false, config);
  return signature;
}

// RFC 9580 §9.2 (OIDs of the legacy curves), prefixed by their length octet.
const ED25519_LEGACY_OID = Uint8Array.from([0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01]);
const CURVE25519_LEGACY_OID = Uint8Array.from([0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01]);
// RFC 6637 §9: KDF parameters: length 3, reserved 1, SHA-256 (8), AES-128 (7), as GnuPG does for Curve25519.
const ECDH_KDF_PARAMS = Uint8Array.from([0x03, 0x01, 0x08, 0x07]);
const NATIVE_POINT_PREFIX = 0x40; // RFC 9580 §11.2.1: 0x40 prefix of a native (compressed) point

/** docs/ceremony.md §4.1: Ed25519Legacy (algorithm 22) secret key packet body. */
function ed25519SecretKeyBody(seed: Uint8Array, created: Date): Uint8Array {
  const point = concatBytes(Uint8Array.of(NATIVE_POINT_PREFIX), curvePublicKey('ed25519', seed));
  const publicPart = concatBytes(ED25519_LEGACY_OID, mpi(point));
  return secretKeyBody(openpgp.enums.publicKey.eddsaLegacy, created, publicPart, mpi(seed));
}

/**
 * docs/ceremony.md §4.2: Curve25519Legacy ECDH (algorithm 18) secret key packet body.
 * RFC 9580 §5.5.5.6.1.1: the secret is the clamped X25519 scalar, stored big-endian
 * (the reverse of X25519's little-endian byte string), as GnuPG and openpgp.js store it.
 */
function x25519SecretKeyBody(derived: Uint8Array, created: Date): Uint8Array {
  const scalar = Uint8Array.from(derived); // little-endian, RFC 7748 §5
  scalar[0]! &= 248;
  scalar[31]! &= 127;
  scalar[31]! |= 64;
  const point = concatBytes(Uint8Array.of(NATIVE_POINT_PREFIX), curvePublicKey('x25519', scalar));
  const publicPart = concatBytes(CURVE25519_LEGACY_OID, mpi(point), ECDH_KDF_PARAMS);
  const bigEndian = scalar.reverse();
  const body = secretKeyBody(openpgp.enums.publicKey.ecdh, created, publicPart, mpi(bigEndian));
  bigEndian.fill(0);
  return body;
}

// FIPS 203 §8 (ML-KEM-768): key sizes.
const MLKEM768_PUBLIC_BYTES = 1184;
const MLKEM768_PKE_SECRET_BYTES = 1152;

/**
 * docs/ceremony.md §4.3: ML-KEM-768+X25519 (algorithm 35) secret subkey packet body, v4.
 * Public: the 32-byte X25519 public key, then the 1184-byte ML-KEM-768 encapsulation key
 * (draft-ietf-openpgp-pqc-10 §5.3.1, fixed lengths, no MPI). Secret: the 32 X25519 bytes
 * as derived (clamped at use, RFC 7748 §5), then the 64-byte ML-KEM seed d‖z.
 * The encapsulation key is what ML-KEM.KeyGen_internal(d, z) gives; openpgp.js expands the
 * seed when it reads the packet, and FIPS 203 Algorithm 16 lays the decapsulation key out as
 * dk_PKE ‖ ek ‖ H(ek) ‖ z, so ek is read from there (no second ML-KEM implementation).
 */
async function mlkemX25519SecretKeyBody(material: Uint8Array, created: Date, config: openpgp.Config): Promise<Uint8Array> {
  const mlkemSeed = material.subarray(0, MLKEM_SEED_BYTES);
  const x25519Secret = material.subarray(MLKEM_SEED_BYTES, PQ_MATERIAL_BYTES);
  const secretPart = concatBytes(x25519Secret, mlkemSeed);
  const body = (encapsulationKey: Uint8Array) =>
    secretKeyBody(POST_QUANTUM_KEM_ALGORITHM, created, concatBytes(curvePublicKey('x25519', x25519Secret), encapsulationKey), Uint8Array.from(secretPart));
  const native = mlkemEncapsulationKey(mlkemSeed);
  if (native !== undefined) {
    const result = body(native);
    secretPart.fill(0);
    return result;
  }
  const probe = new openpgp.SecretSubkeyPacket();
  await (probe.read as (bytes: Uint8Array, config: openpgp.Config) => Promise<void>).call(probe, body(new Uint8Array(MLKEM768_PUBLIC_BYTES)), config);
  const { mlkemSecretKey } = probe.privateParams as unknown as { mlkemSecretKey: Uint8Array };
  const encapsulationKey = Uint8Array.from(mlkemSecretKey.subarray(MLKEM768_PKE_SECRET_BYTES, MLKEM768_PKE_SECRET_BYTES + MLKEM768_PUBLIC_BYTES));
  mlkemSecretKey.fill(0);
  const result = body(encapsulationKey);
  secretPart.fill(0);
  return result; // readKeyPacket's validate() (at the ceremony) re-expands the seed and compares ek: a wrong layout fails there
}

/** draft-ietf-openpgp-pqc-10 §5.3.1: the secret part of an algorithm-35 key: X25519 (32 bytes), then the ML-KEM seed (64). */
const PQ_SECRET_PART_BYTES = 32 + MLKEM_SEED_BYTES;

/**
 * Issue 13: the post-quantum subkey's packet as openpgp.js reads it, except that the ML-KEM
 * decapsulation key is not expanded from the seed yet. openpgp.js expands it on every read
 * (its JavaScript ML-KEM key generation: 15-90 ms after Argon2id, measured), though only a
 * message encrypted to this subkey uses it; `key show`, `inbox`, `sign`, a classic message
 * never do. The packet holds what is written (the public part, the X25519 secret, the seed:
 * openpgp.js never writes the expanded key), so it writes the same bytes;
 * expandDecapsulationKeys adds the expanded key before a decryption that needs it.
 * Only for a body we built (mlkemX25519SecretKeyBody: unencrypted, v4): anything else is refused.
 */
async function readPostQuantumPacketUnexpanded(body: Uint8Array, config: openpgp.Config): Promise<openpgp.SecretSubkeyPacket> {
  const packet = new openpgp.SecretSubkeyPacket();
  const fields = packet as unknown as UnexpandedPacketFields;
  const at = await fields.readPublicKey(body, config);
  const keyMaterial = body.subarray(at + 1);
  const cleartext = keyMaterial.subarray(0, -2);
  let checksum = 0;
  for (const byte of cleartext) checksum = (checksum + byte) & 0xffff;
  if (packet.version !== 4 || packet.algorithm !== POST_QUANTUM_KEM_ALGORITHM || body[at] !== 0 || cleartext.length !== PQ_SECRET_PART_BYTES
    || keyMaterial[keyMaterial.length - 2] !== checksum >>> 8 || keyMaterial[keyMaterial.length - 1] !== (checksum & 0xff)) {
    throw new TypeError('not an unencrypted v4 ML-KEM-768+X25519 secret subkey body');
  }
  // As openpgp.js's SecretKeyPacket.read leaves an unencrypted key, less mlkemSecretKey.
  fields.s2kUsage = 0;
  fields.isEncrypted = false;
  fields.keyMaterial = keyMaterial;
  fields.privateParams = { eccSecretKey: cleartext.subarray(0, 32), mlkemSeed: cleartext.subarray(32) };
  return packet;
}

/** The fields of openpgp.js's SecretKeyPacket that its typings do not show. */
interface UnexpandedPacketFields {
  readPublicKey(bytes: Uint8Array, config: openpgp.Config): Promise<number>;
  s2kUsage: number;
  isEncrypted: boolean;
  keyMaterial: Uint8Array;
  privateParams: { eccSecretKey: Uint8Array; mlkemSeed: Uint8Array; mlkemSecretKey?: Uint8Array };
}

const expansions = new WeakMap<openpgp.SecretSubkeyPacket | openpgp.SecretKeyPacket, Promise<void>>();

/** The packet's ML-KEM decapsulation key, expanded from its seed by openpgp.js (reading the packet's own bytes), once. */
function expandDecapsulationKey(packet: openpgp.SecretSubkeyPacket | openpgp.SecretKeyPacket): Promise<void> {
  let expansion = expansions.get(packet);
  if (expansion === undefined) {
    expansion = (async () => {
      const full = new openpgp.SecretSubkeyPacket();
      await (full.read as (bytes: Uint8Array, config: openpgp.Config) => Promise<void>).call(full, packet.write(), ceremonyConfig());
      packet.privateParams = full.privateParams;
    })();
    expansions.set(packet, expansion);
  }
  return expansion;
}

/**
 * Issue 13: before openpgp.js decrypts `message` with `keys`, the decapsulation key of each
 * of their post-quantum subkeys that one of its session-key packets is addressed to (or to
 * anyone: a wildcard key ID) and that readPostQuantumPacketUnexpanded left unexpanded.
 * Any other message costs nothing.
 */
export async function expandDecapsulationKeys(keys: openpgp.PrivateKey | readonly openpgp.PrivateKey[], message: openpgp.Message<unknown>): Promise<void> {
  const targets = message.packets.filter((packet): packet is openpgp.PublicKeyEncryptedSessionKeyPacket =>
    packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket && (packet as unknown as { publicKeyAlgorithm: number }).publicKeyAlgorithm === POST_QUANTUM_KEM_ALGORITHM)
    .map((packet) => (packet as unknown as { publicKeyID: openpgp.KeyID & { isWildcard(): boolean } }).publicKeyID);
  if (targets.length === 0) return;
  for (const key of Array.isArray(keys) ? keys : [keys as openpgp.PrivateKey]) {
    for (const { keyPacket } of key.getKeys()) {
      const params = keyPacket.privateParams as { mlkemSeed?: Uint8Array; mlkemSecretKey?: Uint8Array } | null;
      if (keyPacket.algorithm !== POST_QUANTUM_KEM_ALGORITHM || !keyPacket.isDecrypted() || params?.mlkemSeed === undefined || params.mlkemSecretKey !== undefined) continue;
      const id = keyPacket.getKeyID();
      if (targets.some((target) => target.isWildcard() || target.equals(id))) await expandDecapsulationKey(keyPacket as openpgp.SecretSubkeyPacket);
    }
  }
}

/** draft-ietf-lamps-kyber-certificates §6: PKCS #8 of an ML-KEM-768 key in its seed form: this prefix, then d ‖ z (64 bytes). */
const MLKEM768_PKCS8_SEED_PREFIX = Uint8Array.from([
  0x30, 0x54, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, 0x02, 0x04, 0x42, 0x80, 0x40,
]);
/** draft-ietf-lamps-kyber-certificates §4: the SPKI of an ML-KEM-768 key is 22 bytes, then ek (1184). */
const MLKEM768_SPKI_PREFIX_BYTES = 22;

/**
 * The ML-KEM-768 encapsulation key of the seed d ‖ z (FIPS 203 ML-KEM.KeyGen_internal) by
 * node:crypto (OpenSSL 3.5: the executables' Node 26), or undefined where node:crypto has no
 * ML-KEM (Node 20, Bun): then openpgp.js expands the seed. Issue 13: openpgp.js's JavaScript
 * ML-KEM key generation ran twice on every derivation (this probe, then reading the packet).
 */
export function mlkemEncapsulationKey(seed: Uint8Array): Uint8Array | undefined {
  const privateKey = mlkemPrivateKeyObject(seed);
  if (privateKey === undefined) return undefined;
  const spki = nodeCrypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return spki.length === MLKEM768_SPKI_PREFIX_BYTES + MLKEM768_PUBLIC_BYTES ? Uint8Array.from(spki.subarray(MLKEM768_SPKI_PREFIX_BYTES)) : undefined;
}

/**
 * The ML-KEM-768 private key of the seed d ‖ z as a node:crypto key object (OpenSSL 3.5: the
 * executables' Node 26), or undefined where node:crypto has no ML-KEM (Node 20, Bun).
 */
export function mlkemPrivateKeyObject(seed: Uint8Array): nodeCrypto.KeyObject | undefined {
  if (seed.length !== MLKEM_SEED_BYTES) throw new TypeError(`ML-KEM-768: expected a ${MLKEM_SEED_BYTES}-byte seed`);
  const der = concatBytes(MLKEM768_PKCS8_SEED_PREFIX, seed);
  try {
    const key = nodeCrypto.createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'pkcs8' });
    return String(key.asymmetricKeyType) === 'ml-kem-768' ? key : undefined;
  } catch {
    return undefined; // no ML-KEM in this runtime's node:crypto
  } finally {
    der.fill(0);
  }
}

/** RFC 4880 §5.5.2 (v4 public part) then §5.5.3 (unencrypted secret part: MPIs, or fixed-length fields for algorithm 35; 2-octet checksum). */
function secretKeyBody(algorithm: number, created: Date, publicPart: Uint8Array, secretMPI: Uint8Array): Uint8Array {
  const seconds = created.getTime() / 1000;
  const header = Uint8Array.of(4, seconds >>> 24, (seconds >>> 16) & 0xff, (seconds >>> 8) & 0xff, seconds & 0xff, algorithm);
  let checksum = 0;
  for (const byte of secretMPI) checksum = (checksum + byte) & 0xffff;
  const body = concatBytes(header, publicPart, Uint8Array.of(0 /* s2k usage: not encrypted */), secretMPI, Uint8Array.of(checksum >>> 8, checksum & 0xff));
  secretMPI.fill(0);
  return body;
}

/** RFC 4880 §3.2: two-octet bit count, then the big-endian value without leading zero octets. */
function mpi(value: Uint8Array): Uint8Array {
  let start = 0;
  while (start < value.length && value[start] === 0) start++;
  const digits = value.subarray(start);
  const bits = digits.length === 0 ? 0 : (digits.length - 1) * 8 + (32 - Math.clz32(digits[0]!));
  return concatBytes(Uint8Array.of(bits >>> 8, bits & 0xff), digits);
}

