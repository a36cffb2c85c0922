// X25519 (RFC 7748) and HMAC-SHA256 (RFC 2104) of relay sessions (docs/api.md §4.6) by the
// runtime's own crypto (node:crypto, OpenSSL), for the relay and the client alike: raw 32-byte
// keys as the API carries them, turned into key objects by their DER prefixes. No I/O.

import { createHmac, createPrivateKey, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { SessionMac } from './relay-session.js';

/** RFC 8410 §7 and §4: the DER prefixes of a raw X25519 private key (PKCS #8) and public key (SPKI). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** An X25519 private key object from its raw 32 bytes. */
export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new TypeError('an X25519 private key is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** A fresh X25519 key pair (the client's share, one per session). */
export function newX25519KeyPair(): KeyObject {
  return generateKeyPairSync('x25519').privateKey;
}

/** The raw 32-byte public key of a private key. */
export function x25519PublicBytes(privateKey: KeyObject): Uint8Array {
  return new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32));
}

/** RFC 7748 §5: X25519(own, peer); undefined when the peer key is refused or the result is all zero (a low-order share, §6.1). */
export function x25519Shared(own: KeyObject, peer: Uint8Array): Uint8Array | undefined {
  if (peer.length !== 32) return undefined;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peer]), format: 'der', type: 'spki' });
    const shared = new Uint8Array(diffieHellman({ privateKey: own, publicKey }));
    return shared.every((byte) => byte === 0) ? undefined : shared;
  } catch {
    return undefined;
  }
}

/** HMAC-SHA256 by node:crypto, each session key's object made once (docs/benchmarks.md, relay sessions). */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();
export const runtimeSessionMac: SessionMac = (key, message) => {
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = createSecretKey(key);
    keyObjects.set(key, keyObject);
  }
  return new Uint8Array(createHmac('sha256', keyObject).update(message).digest());
};
