// docs/store.md §5: the store's objects are sealed with XChaCha20-Poly1305, 64 KiB at a
// time. src/core/store-format.ts does the bulk through node:crypto's chacha20-poly1305
// (HChaCha20 subkey, RFC 8439 AEAD): the same bytes as @noble/ciphers, and the same refusals.
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { OBJECT_CHUNK } from '../src/core/store-format.js';
import { xchachaAead as xchachaChunk } from '../src/core/xchacha-aead.js';

describe('object chunks through node:crypto', () => {
  it('is node:crypto here (Node has chacha20-poly1305), not the noble fallback', () => {
    expect(xchachaChunk).not.toBe(xchacha20poly1305);
  });

  it('seals exactly as @noble/ciphers, and each opens the other', () => {
    for (const length of [0, 1, 15, 16, 17, 63, 64, 65, 1000, OBJECT_CHUNK - 1, OBJECT_CHUNK]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const ad = randomBytes(length % 50);
      const data = randomBytes(length);
      const ours = xchachaChunk(key, nonce, ad).encrypt(data);
      const noble = xchacha20poly1305(key, nonce, ad).encrypt(data);
      expect(Buffer.from(ours).equals(Buffer.from(noble)), `length ${length}`).toBe(true);
      expect(Buffer.from(xchachaChunk(key, nonce, ad).decrypt(noble)).equals(data)).toBe(true);
    }
  });

  it('refuses a modified chunk, a wrong nonce or associated data, a chunk shorter than its tag', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const ad = randomBytes(20);
    const sealed = xchachaChunk(key, nonce, ad).encrypt(randomBytes(5000));
    const flipped = new Uint8Array(sealed);
    flipped[100] = flipped[100]! ^ 1;
    expect(() => xchachaChunk(key, nonce, ad).decrypt(flipped)).toThrow();
    const otherNonce = new Uint8Array(nonce);
    otherNonce[23] = otherNonce[23]! ^ 1; // the part that is not in the subkey
    expect(() => xchachaChunk(key, otherNonce, ad).decrypt(sealed)).toThrow();
    expect(() => xchachaChunk(key, nonce, ad.subarray(1)).decrypt(sealed)).toThrow();
    expect(() => xchachaChunk(key, nonce, ad).decrypt(sealed.subarray(0, 10))).toThrow();
  });
});
