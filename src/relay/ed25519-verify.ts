// The relay's Ed25519 verifier: node:crypto (OpenSSL), about twenty times faster
// than the pure-JS default on this machine (docs/decisions/relay.md). Same rules:
// RFC 8032 §5.1.7, canonical S, the public key must decode to a curve point.

import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Ed25519Verify, Sha256Hex } from '../api/request-signing.js';

/** RFC 8410 §4: the DER prefix of an Ed25519 SubjectPublicKeyInfo. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Parsed keys of recent devices (parsing cost as much as verifying in the bench). */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_SIZE = 1024;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('base64');
  let key = keyCache.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(id, key);
  }
  return key;
}

export const opensslEd25519Verify: Ed25519Verify = (signature, message, publicKey) => {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
};

/** The body digest of the signed string (docs/api.md §4.2) by node:crypto: about five times noble's speed on a 6 KB body. */
export const opensslSha256Hex: Sha256Hex = (bytes) => createHash('sha256').update(bytes).digest('hex');
