// docs/store.md §5: the store's objects are sealed with XChaCha20-Poly1305, 64 KiB at a
// time. src/core/store-format.ts does the bulk through node:crypto's chacha20-poly1305
// (HChaCha20 subkey, RFC 8439 AEAD): the same bytes as @noble/ciphers, and the same refusals.
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { OBJECT_CHUNK, OBJECT_HEADER_LENGTH, ObjectOpener, ObjectSealer, SEALED_CHUNK } from '../src/core/store-format.js';
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

// ObjectSealer seals each 64 KiB chunk from the pieces it spans, never joining them first:
// whatever the pieces, the same object, which opens to the data.
describe('an object sealed from pieces of any size', () => {
  it('gives the same bytes as the data pushed whole, and opens back', () => {
    const data = randomBytes(3 * OBJECT_CHUNK + 12_345);
    const prefix = randomBytes(15);
    const key = randomBytes(32);
    const name = 'ab'.repeat(16);
    const seal = (sizes: readonly number[]) => {
      const sealer = new ObjectSealer(key, name, prefix);
      const out: Uint8Array[] = [sealer.header];
      let at = 0;
      for (let i = 0; at < data.length; i++) {
        const size = sizes[i % sizes.length]!;
        out.push(...sealer.push(data.subarray(at, at + size)));
        at += size;
      }
      out.push(...sealer.finish());
      return Buffer.concat(out);
    };
    const whole = seal([data.length]);
    for (const sizes of [[1000], [OBJECT_CHUNK], [OBJECT_CHUNK - 1], [OBJECT_CHUNK + 1], [7, 65_000, 200_000, 3], [100_000]]) {
      expect(seal(sizes).equals(whole), sizes.join(',')).toBe(true);
    }
    // Opened chunk by chunk: the data back.
    const opener = new ObjectOpener(key, name, whole.subarray(0, OBJECT_HEADER_LENGTH));
    const plain: Uint8Array[] = [];
    const body = whole.subarray(OBJECT_HEADER_LENGTH);
    for (let at = 0; at < body.length; at += SEALED_CHUNK) plain.push(...opener.chunk(body.subarray(at, at + SEALED_CHUNK), at + SEALED_CHUNK >= body.length));
    expect(Buffer.concat(plain).equals(data)).toBe(true);
  });
});
