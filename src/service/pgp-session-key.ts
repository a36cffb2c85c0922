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
// Anything else (post-quantum algorithm 35, RSA, NIST curves, X25519 of RFC 9580,
// wildcard key ids, a failure of any step) returns undefined and the caller lets
// openpgp.js do the whole work, with its own errors (docs/cli.md §6.1).
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import * as openpgp from 'openpgp';

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

interface PreparedKey {
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
  publicParams: { oid?: { toHex(): string; write(): Uint8Array }; Q?: Uint8Array; kdfParams?: { version?: number; hash: number; cipher: number; write(forReplacement: boolean): Uint8Array } };
  privateParams?: { d?: Uint8Array } | null;
  isDecrypted(): boolean | null;
  getFingerprintBytes(): Uint8Array;
  getKeyID(): openpgp.KeyID;
};

const prepared = new WeakMap<openpgp.PrivateKey, Promise<PreparedKey[]>>();

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function prepare(packet: KeyPacketFields): PreparedKey | undefined {
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
  return { keyID: packet.getKeyID(), secret, param, hash, wrap };
}

/** The decryption keys openpgp.js would use (getDecryptionKeys, no expiry check, as in its decryptSessionKeys), prepared once per key. */
function preparedKeys(decryptionKey: openpgp.PrivateKey, config: openpgp.Config): Promise<PreparedKey[]> {
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

/**
 * The session keys of `message`'s classic Cv25519 PKESKs addressed to `decryptionKey`, for
 * `openpgp.decrypt({ sessionKeys })`; undefined when none could be found this way (then
 * openpgp.js decrypts the PKESKs itself). `accepted`: the ciphers a session key may name
 * (what openpgp.js would accept with this key: see acceptingEveryCipher).
 */
export async function cv25519SessionKeys(
  message: openpgp.Message<unknown>,
  decryptionKey: openpgp.PrivateKey,
  config: openpgp.Config,
  accepted: ReadonlySet<number>,
): Promise<openpgp.SessionKey[] | undefined> {
  const pkesks = message.packets.filter((packet) => packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket) as unknown as {
    version: number;
    publicKeyAlgorithm: number;
    publicKeyID: openpgp.KeyID & { isWildcard(): boolean };
    encrypted?: { V?: Uint8Array; C?: { data?: Uint8Array } } | null;
  }[];
  if (pkesks.length === 0) return undefined;
  const keys = await preparedKeys(decryptionKey, config);
  if (keys.length === 0) return undefined;
  const found: openpgp.SessionKey[] = [];
  for (const pkesk of pkesks) {
    if (pkesk.version !== 3 || pkesk.publicKeyAlgorithm !== openpgp.enums.publicKey.ecdh || pkesk.publicKeyID.isWildcard()) continue;
    const key = keys.find((candidate) => candidate.keyID.equals(pkesk.publicKeyID));
    const V = pkesk.encrypted?.V;
    const C = pkesk.encrypted?.C?.data;
    if (!key || !V || !C) continue;
    try {
      const sessionKey = unwrapSessionKey(key, V, C, accepted);
      if (sessionKey) found.push(sessionKey);
    } catch {
      // a malformed point or key: openpgp.js will say what is wrong
    }
  }
  return found.length > 0 ? found : undefined;
}
