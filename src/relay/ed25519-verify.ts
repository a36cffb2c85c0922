// The relay's Ed25519 verifier: node:crypto (OpenSSL), about twenty times faster
// than the pure-JS default on this machine (docs/decisions/relay.md). Same rules:
// RFC 8032 §5.1.7, canonical S, the public key must decode to a curve point.

import { createPublicKey, verify } from 'node:crypto';
import type { Ed25519Verify } from '../api/request-signing.js';

/** RFC 8410 §4: the DER prefix of an Ed25519 SubjectPublicKeyInfo. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const opensslEd25519Verify: Ed25519Verify = (signature, message, publicKey) => {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
};
