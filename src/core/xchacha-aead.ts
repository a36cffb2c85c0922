// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): the AEAD of the vault (docs/vault-format.md §3.2)
// and of the message store (docs/store.md §3-§5), defined once for both.
//
// Pure: no files, no randomness, no clock.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { hchacha, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes } from '@noble/hashes/utils.js';

const TAG_LENGTH = 16;

/** RFC 8439 §2.3: "expand 32-byte k" as four little-endian words. */
const SIGMA = new Uint32Array(new Uint8Array([...'expand 32-byte k'].map((char) => char.charCodeAt(0))).buffer);


/**
 * draft-irtf-cfrg-xchacha §2.3: HChaCha20 of the key and the nonce's first 16 bytes, then the
 * ChaCha20-Poly1305 of RFC 8439 with the nonce 0^4 ‖ its last 8 bytes, the bulk done by
 * node:crypto: the same bytes as @noble/ciphers' xchacha20poly1305. Through noble, a 10 MiB
 * attachment's sync spent about a second in JavaScript ChaCha20 and Poly1305 (issue 9), and the
 * executable's first unlock opened the vault and the store's index in cold JavaScript (issue 13).
 */
function xchachaNative(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array) {
  const words = (bytes: Uint8Array) => new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const subkeyWords = new Uint32Array(8);
  hchacha(SIGMA, words(key), words(nonce.subarray(0, 16)), subkeyWords);
  const subkey = new Uint8Array(subkeyWords.buffer);
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16, 24), 4);
  /** The plaintext given in pieces (a store chunk taken from several writes, never joined first): one copy, into the result. */
  const encryptPieces = (pieces: readonly Uint8Array[]): Uint8Array => {
    const length = pieces.reduce((sum, piece) => sum + piece.length, 0);
    const cipher = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(ad, { plaintextLength: length });
    const out = new Uint8Array(length + TAG_LENGTH);
    let at = 0;
    for (const piece of pieces) {
      const sealed = cipher.update(piece);
      out.set(sealed, at);
      at += sealed.length;
    }
    const tail = cipher.final();
    out.set(tail, at);
    out.set(cipher.getAuthTag(), at + tail.length);
    return out;
  };
  return {
    encrypt: (plaintext: Uint8Array): Uint8Array => encryptPieces([plaintext]),
    encryptPieces,
    decrypt(sealed: Uint8Array): Uint8Array {
      if (sealed.length < TAG_LENGTH) throw new Error('sealed data shorter than its tag');
      const decipher = createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG_LENGTH });
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
      decipher.setAAD(ad, { plaintextLength: sealed.length - TAG_LENGTH });
      const head = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
      const tail = decipher.final(); // throws when the tag does not match
      return tail.length === 0 ? new Uint8Array(head.buffer, head.byteOffset, head.byteLength) : concatBytes(head, tail);
    },
  };
}

/** What the store and the vault use of an engine. */
export type XChaChaAead = (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array) => { encrypt(plaintext: Uint8Array): Uint8Array; decrypt(sealed: Uint8Array): Uint8Array };

/** The engine: node:crypto's when it gives noble's bytes on a known input (not every runtime has it), else noble's. */
export function pickXChaChaAead(native: typeof xchachaNative = xchachaNative): XChaChaAead {
  try {
    const key = new Uint8Array(32).map((_, index) => index);
    const nonce = new Uint8Array(24).map((_, index) => 100 + index);
    const ad = new Uint8Array([1, 2, 3]);
    const data = new Uint8Array(100).map((_, index) => index * 7);
    const ours = native(key, nonce, ad).encrypt(data);
    const theirs = xchacha20poly1305(key, nonce, ad).encrypt(data);
    if (ours.length === theirs.length && ours.every((byte, index) => byte === theirs[index])) return native;
  } catch {
    // no chacha20-poly1305 in this runtime's node:crypto
  }
  return xchacha20poly1305;
}

/** XChaCha20-Poly1305(key 32, nonce 24, associated data): `.encrypt(plaintext)` gives ciphertext ‖ tag, `.decrypt` throws on a bad tag. */
export const xchachaAead: XChaChaAead = pickXChaChaAead();

/**
 * One sealing of plaintext given in pieces (ObjectSealer's 64 KiB chunks, docs/store.md §5):
 * node:crypto takes the pieces one update at a time, without joining them (issue 9: joining
 * every write was a copy of each byte of a large message's objects); noble gets them joined.
 */
export function xchachaSealPieces(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, pieces: readonly Uint8Array[]): Uint8Array {
  if (xchachaAead === xchachaNative) return xchachaNative(key, nonce, ad).encryptPieces(pieces);
  return xchachaAead(key, nonce, ad).encrypt(pieces.length === 1 ? pieces[0]! : concatBytes(...pieces));
}
