// The session key of a classic Cv25519 message through node:crypto (issue 13: sync on both
// cores spent ~1.5 ms per message in openpgp.js's WebCrypto path: two JWK imports, a
// deriveBits, an AES-KW import, an unwrapKey into an HMAC key and its export, each an async
// job). Same computation, done with one-shot node:crypto calls and a key prepared once:
//
//   RFC 9580 §5.1.5 / RFC 6637 §8 (ECDH, Curve25519Legacy, v3 PKESK):
//   shared = X25519(our secret, ephemeral V)            RFC 7748, little-endian as openpgp.js
//   Z      = HASH(00 00 00 01 || shared || param)[:keySize]   RFC 6637 §7, param of §8
//   m      = AES-KW-unwrap(Z, C)                        RFC 3394 (node:crypto 'id-aesN-wrap')
//   m      = algo || session key || checksum || PKCS#5 padding
//
// Only the plain case is done here: a v3 PKESK, algorithm 18 on Curve25519Legacy, a
// KDF of version 1 with SHA-256/384/512 and AES-KW, addressed by key id to a decryption
// key openpgp.js itself would use (getDecryptionKeys, as in its own decryptSessionKeys).
//
// And, where node:crypto has ML-KEM (OpenSSL 3.5: the executables' Node 26), the same for
// a v3 PKESK of ML-KEM-768+X25519 (algorithm 35, draft-ietf-openpgp-pqc-10 §4.2, as
// openpgp.js 6.3 implements it): openpgp.js expands the decapsulation key from its seed and
// decapsulates in JavaScript (~35 ms of a `decrypt` that needs them, issue 13).
//   ecdhKeyShare  = X25519(our X25519 secret, ecdhCipherText)
//   mlkemKeyShare = ML-KEM-768.Decaps(dk from the seed d ‖ z, mlkemCipherText)   FIPS 203
//   KEK = SHA3-256(mlkemKeyShare ‖ ecdhKeyShare ‖ ecdhCipherText ‖ ecdhPublicKey ‖ 35 ‖ "OpenPGPCompositeKDFv1" ‖ 21)
//   session key = AES-256-KW-unwrap(KEK, C), its cipher named in clear (v3)
//
// Anything else (RSA, NIST curves, X25519 of RFC 9580, ML-KEM where node:crypto has none,
// wildcard key ids, a failure of any step) returns undefined and the caller lets
// openpgp.js do the whole work, with its own errors (docs/cli.md §6.1).
import * as nodeCrypto from 'node:crypto';
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import * as openpgp from 'openpgp';
import { mlkemPrivateKeyObject } from '../core/key-derivation.js';
import { x25519PrivateKey, x25519Shared } from '../api/session-x25519.js';

const CURVE25519_LEGACY_OID = '2b060104019755010501';
const KDF_HASHES: ReadonlyMap<number, string> = new Map([
  [openpgp.enums.hash.sha256, 'sha256'],
  [openpgp.enums.hash.sha384, 'sha384'],
  [openpgp.enums.hash.sha512, 'sha512'],
]);
const KEY_WRAP: ReadonlyMap<number, { readonly cipher: string; readonly keySize: number }> = new Map([
  [openpgp.enums.symmetric.aes128, { cipher: 'id-aes128-wrap', keySize: 16 }],
  [openpgp.enums.symmetric.aes192, { cipher: 'id-aes192-wrap', keySize: 24 }],
  [openpgp.enums.symmetric.aes256, { cipher: 'id-aes256-wrap', keySize: 32 }],
]);
/** Session key sizes (bytes) by symmetric algorithm id, for the ciphers a session key may name. */
const SESSION_KEY_SIZES: ReadonlyMap<number, number> = new Map([
  [openpgp.enums.symmetric.aes128, 16],
  [openpgp.enums.symmetric.aes192, 24],
  [openpgp.enums.symmetric.aes256, 32],
  [openpgp.enums.symmetric.tripledes, 24],
  [openpgp.enums.symmetric.cast5, 16],
  [openpgp.enums.symmetric.blowfish, 16],
  [openpgp.enums.symmetric.twofish, 32],
]);
const RFC3394_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const ANONYMOUS_SENDER = new TextEncoder().encode('Anonymous Sender    ');

/** An ML-KEM-768+X25519 subkey (algorithm 35) ready for node:crypto. */
interface PreparedPostQuantumKey {
  readonly kind: 'mlkem-x25519';
  readonly keyID: openpgp.KeyID;
  readonly x25519: KeyObject;
  readonly ecdhPublicKey: Uint8Array;
  readonly mlkem: KeyObject;
}

interface PreparedKey {
  readonly kind: 'cv25519';
  readonly keyID: openpgp.KeyID;
  readonly secret: KeyObject;
  /** RFC 6637 §8 param: curve OID, algorithm, KDF params, "Anonymous Sender    ", fingerprint. */
  readonly param: Uint8Array;
  readonly hash: string;
  readonly wrap: { readonly cipher: string; readonly keySize: number };
}

type KeyPacketFields = {
  version: number;
  algorithm: number;
  publicParams: { oid?: { toHex(): string; write(): Uint8Array }; Q?: Uint8Array; kdfParams?: { version?: number; hash: number; cipher: number; write(forReplacement: boolean): Uint8Array }; eccPublicKey?: Uint8Array };
  privateParams?: { d?: Uint8Array; eccSecretKey?: Uint8Array; mlkemSeed?: Uint8Array } | null;
  isDecrypted(): boolean | null;
  getFingerprintBytes(): Uint8Array;
  getKeyID(): openpgp.KeyID;
};

const prepared = new WeakMap<openpgp.PrivateKey, Promise<(PreparedKey | PreparedPostQuantumKey)[]>>();

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** draft-ietf-openpgp-pqc-10 §4.2: the algorithm ID of ML-KEM-768+X25519. */
const MLKEM_X25519 = 35;
const COMPOSITE_KDF_DOMAIN = new TextEncoder().encode('OpenPGPCompositeKDFv1');
const MLKEM768_CIPHERTEXT_BYTES = 1088;
/** node:crypto's ML-KEM decapsulation (Node 24.7+; absent from Node 20's typings and runtime). */
const nodeDecapsulate = (nodeCrypto as unknown as { decapsulate?: (key: KeyObject, ciphertext: Uint8Array) => Buffer }).decapsulate;

function preparePostQuantum(packet: KeyPacketFields): PreparedPostQuantumKey | undefined {
  const { eccPublicKey } = packet.publicParams;
  const secret = packet.privateParams;
  if (packet.version !== 4 || !packet.isDecrypted() || !eccPublicKey || eccPublicKey.length !== 32) return undefined;
  if (!secret?.eccSecretKey || secret.eccSecretKey.length !== 32 || !secret.mlkemSeed) return undefined;
  if (nodeDecapsulate === undefined) return undefined;
  const mlkem = mlkemPrivateKeyObject(secret.mlkemSeed);
  if (mlkem === undefined) return undefined; // no ML-KEM in this runtime: openpgp.js
  return { kind: 'mlkem-x25519', keyID: packet.getKeyID(), x25519: x25519PrivateKey(secret.eccSecretKey), ecdhPublicKey: Uint8Array.from(eccPublicKey), mlkem };
}

function prepare(packet: KeyPacketFields): PreparedKey | PreparedPostQuantumKey | undefined {
  if (packet.algorithm === MLKEM_X25519) return preparePostQuantum(packet);
  const { oid, Q, kdfParams } = packet.publicParams;
  const d = packet.privateParams?.d;
  if (packet.version !== 4 || packet.algorithm !== openpgp.enums.publicKey.ecdh || !packet.isDecrypted()) return undefined;
  if (!oid || oid.toHex() !== CURVE25519_LEGACY_OID || !Q || Q.length !== 33 || Q[0] !== 0x40 || !d || d.length > 32 || !kdfParams) return undefined;
  if ((kdfParams.version ?? 1) !== 1) return undefined; // forwarding's replacement parameters: openpgp.js
  const hash = KDF_HASHES.get(kdfParams.hash);
  const wrap = KEY_WRAP.get(kdfParams.cipher);
  if (hash === undefined || wrap === undefined) return undefined;
  // openpgp.js stores the scalar big-endian (left-padded to 32 bytes); X25519 takes it little-endian.
  const scalar = new Uint8Array(32);
  scalar.set(d, 32 - d.length);
  scalar.reverse();
  const secret = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: base64url(scalar), x: base64url(Q.subarray(1)) }, format: 'jwk' });
  scalar.fill(0);
  const param = Buffer.concat([oid.write(), Uint8Array.of(openpgp.enums.publicKey.ecdh), kdfParams.write(true), ANONYMOUS_SENDER, packet.getFingerprintBytes()]);
  return { kind: 'cv25519', keyID: packet.getKeyID(), secret, param, hash, wrap };
}

/** The decryption keys openpgp.js would use (getDecryptionKeys, no expiry check, as in its decryptSessionKeys), prepared once per key. */
function preparedKeys(decryptionKey: openpgp.PrivateKey, config: openpgp.Config): Promise<(PreparedKey | PreparedPostQuantumKey)[]> {
  let keys = prepared.get(decryptionKey);
  if (keys === undefined) {
    keys = (async () => {
      try {
        const usable = await decryptionKey.getDecryptionKeys(undefined, null as unknown as Date, undefined, config);
        return usable.flatMap((key) => {
          try {
            const one = prepare(key.keyPacket as unknown as KeyPacketFields);
            return one ? [one] : [];
          } catch {
            return [];
          }
        });
      } catch {
        return [];
      }
    })();
    prepared.set(decryptionKey, keys);
  }
  return keys;
}

function checksumOf(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum + byte) & 0xffff;
  return sum;
}

/** One PKESK's session key with one prepared key, or undefined when any step fails. */
function unwrapSessionKey(key: PreparedKey, V: Uint8Array, C: Uint8Array, accepted: ReadonlySet<number>): openpgp.SessionKey | undefined {
  if (V.length !== 33 || V[0] !== 0x40) return undefined;
  const ephemeral = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: base64url(V.subarray(1)) }, format: 'jwk' });
  const shared = diffieHellman({ privateKey: key.secret, publicKey: ephemeral });
  if (shared.every((byte) => byte === 0)) return undefined;
  // openpgp.js also tries the secret without leading, then without trailing zero bytes
  // (old Go and old OpenPGP.js senders): the same three tries, in the same order.
  const tries = [shared, shared.subarray(shared.findIndex((byte) => byte !== 0)), shared.subarray(0, shared.findLastIndex((byte) => byte !== 0) + 1)];
  for (const [index, secret] of tries.entries()) {
    if (index > 0 && secret.length === shared.length) continue; // nothing stripped: the same try again
    const Z = createHash(key.hash).update(Uint8Array.of(0, 0, 0, 1)).update(secret).update(key.param).digest().subarray(0, key.wrap.keySize);
    let m: Buffer;
    try {
      const unwrap = createDecipheriv(key.wrap.cipher, Z, RFC3394_IV);
      m = Buffer.concat([unwrap.update(C), unwrap.final()]);
    } catch {
      continue; // integrity check failed: not this secret
    }
    // PKCS#5 padding (RFC 6637 §8), then algorithm, key, two-byte checksum of the key.
    const pad = m[m.length - 1] ?? 0;
    if (pad < 1 || pad > m.length || !m.subarray(m.length - pad).every((byte) => byte === pad)) return undefined;
    const body = m.subarray(0, m.length - pad);
    if (body.length < 3) return undefined;
    const algorithm = body[0]!;
    const sessionKey = body.subarray(1, body.length - 2);
    const checksum = (body[body.length - 2]! << 8) | body[body.length - 1]!;
    if (checksum !== checksumOf(sessionKey) || SESSION_KEY_SIZES.get(algorithm) !== sessionKey.length || !accepted.has(algorithm)) return undefined;
    return { data: Uint8Array.from(sessionKey), algorithm: openpgp.enums.read(openpgp.enums.symmetric, algorithm) as openpgp.SessionKey['algorithm'] };
  }
  return undefined;
}

/** One ML-KEM-768+X25519 PKESK's session key (the header of this file), or undefined when any step fails. */
function unwrapPostQuantumSessionKey(
  key: PreparedPostQuantumKey,
  encrypted: { eccCipherText?: Uint8Array; mlkemCipherText?: Uint8Array; C?: { algorithm?: number | null; wrappedKey?: Uint8Array } },
  accepted: ReadonlySet<number>,
): openpgp.SessionKey | undefined {
  const { eccCipherText, mlkemCipherText, C } = encrypted;
  const algorithm = C?.algorithm;
  if (!eccCipherText || eccCipherText.length !== 32 || !mlkemCipherText || mlkemCipherText.length !== MLKEM768_CIPHERTEXT_BYTES || !C?.wrappedKey || typeof algorithm !== 'number') return undefined;
  const ecdhKeyShare = x25519Shared(key.x25519, eccCipherText);
  if (ecdhKeyShare === undefined) return undefined;
  const mlkemKeyShare = nodeDecapsulate!(key.mlkem, mlkemCipherText);
  const kek = createHash('sha3-256')
    .update(mlkemKeyShare)
    .update(ecdhKeyShare)
    .update(eccCipherText)
    .update(key.ecdhPublicKey)
    .update(Uint8Array.of(MLKEM_X25519))
    .update(COMPOSITE_KDF_DOMAIN)
    .update(Uint8Array.of(COMPOSITE_KDF_DOMAIN.length))
    .digest();
  let sessionKey: Buffer;
  try {
    const unwrap = createDecipheriv('id-aes256-wrap', kek, RFC3394_IV);
    sessionKey = Buffer.concat([unwrap.update(C.wrappedKey), unwrap.final()]);
  } catch {
    return undefined; // integrity check failed
  } finally {
    kek.fill(0);
    mlkemKeyShare.fill(0);
  }
  if (SESSION_KEY_SIZES.get(algorithm) !== sessionKey.length || !accepted.has(algorithm)) return undefined;
  return { data: Uint8Array.from(sessionKey), algorithm: openpgp.enums.read(openpgp.enums.symmetric, algorithm) as openpgp.SessionKey['algorithm'] };
}

/**
 * The session keys of `message`'s PKESKs addressed to `decryptionKey` that node:crypto can
 * open (classic Cv25519; ML-KEM-768+X25519 where node:crypto has ML-KEM), for
 * `openpgp.decrypt({ sessionKeys })`; undefined when none could be found this way (then
 * openpgp.js decrypts the PKESKs itself). `accepted`: the ciphers a session key may name
 * (what openpgp.js would accept with this key: see acceptingEveryCipher).
 */
export async function nativeSessionKeys(
  message: openpgp.Message<unknown>,
  decryptionKey: openpgp.PrivateKey,
  config: openpgp.Config,
  accepted: ReadonlySet<number>,
): Promise<openpgp.SessionKey[] | undefined> {
  const pkesks = message.packets.filter((packet) => packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket) as unknown as {
    version: number;
    publicKeyAlgorithm: number;
    publicKeyID: openpgp.KeyID & { isWildcard(): boolean };
    encrypted?: { V?: Uint8Array; C?: { data?: Uint8Array; algorithm?: number | null; wrappedKey?: Uint8Array }; eccCipherText?: Uint8Array; mlkemCipherText?: Uint8Array } | null;
  }[];
  if (pkesks.length === 0) return undefined;
  const keys = await preparedKeys(decryptionKey, config);
  if (keys.length === 0) return undefined;
  const found: openpgp.SessionKey[] = [];
  for (const pkesk of pkesks) {
    if (pkesk.version !== 3 || pkesk.publicKeyID.isWildcard() || !pkesk.encrypted) continue;
    const key = keys.find((candidate) => candidate.keyID.equals(pkesk.publicKeyID));
    if (!key) continue;
    try {
      let sessionKey: openpgp.SessionKey | undefined;
      if (key.kind === 'mlkem-x25519' && pkesk.publicKeyAlgorithm === MLKEM_X25519) {
        sessionKey = unwrapPostQuantumSessionKey(key, pkesk.encrypted, accepted);
      } else if (key.kind === 'cv25519' && pkesk.publicKeyAlgorithm === openpgp.enums.publicKey.ecdh) {
        const V = pkesk.encrypted.V;
        const C = pkesk.encrypted.C?.data;
        if (V && C) sessionKey = unwrapSessionKey(key, V, C, accepted);
      }
      if (sessionKey) found.push(sessionKey);
    } catch {
      // a malformed point or key: openpgp.js will say what is wrong
    }
  }
  return found.length > 0 ? found : undefined;
}
