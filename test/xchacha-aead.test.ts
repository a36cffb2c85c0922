// docs/vault-format.md §3.2, docs/store.md §3-§5: the vault and the message store's index,
// journal and objects are sealed with one XChaCha20-Poly1305 (src/core/xchacha-aead.ts): HChaCha20,
// then node:crypto's chacha20-poly1305 (issue 13: the executable's first unlock opened the vault
// and the index in cold JavaScript), @noble/ciphers' where the runtime lacks it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

// Counts the calls of noble's whole-JavaScript AEAD (the engine keeps its one check at load).
const noble = vi.hoisted(() => ({ calls: 0 }));
vi.mock('@noble/ciphers/chacha.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('@noble/ciphers/chacha.js')>();
  const counted = ((...args: Parameters<typeof original.xchacha20poly1305>) => {
    noble.calls += 1;
    return original.xchacha20poly1305(...args);
  }) as typeof original.xchacha20poly1305;
  return { ...original, xchacha20poly1305: counted };
});

const { xchacha20poly1305 } = await import('@noble/ciphers/chacha.js');
const { pickXChaChaAead, xchachaAead } = await import('../src/core/xchacha-aead.js');
const { deriveVaultKeys, openParsedVault, parseVault, sealVault } = await import('../src/core/vault-format.js');
const { emptyStoreState, openIndex, openJournal, sealIndex, sealJournalRecord, journalHeader } = await import('../src/core/store-format.js');

const vector = JSON.parse(readFileSync(join(import.meta.dirname, 'vectors', 'vault', 'opens-basic.json'), 'utf8')) as {
  file: string;
  argon2Output: string;
  plaintext: string;
};

describe('XChaCha20-Poly1305 of the vault and the store', () => {
  it('opens and seals the vault through node:crypto: the vector opens, a new vault is byte for byte what noble seals, no call to noble', () => {
    const before = noble.calls;
    const argon2Output = Buffer.from(vector.argon2Output, 'hex');
    const parsed = parseVault(Buffer.from(vector.file, 'base64'));
    expect(Buffer.from(openParsedVault(parsed, argon2Output)).toString('hex')).toBe(vector.plaintext);
    const nonce = randomBytes(24);
    const sealed = sealVault(parsed.header, argon2Output, nonce, Buffer.from(vector.plaintext, 'hex'));
    expect(noble.calls).toBe(before);
    // The same ciphertext as @noble/ciphers gives under the vault's key (§3.2).
    const reparsed = parseVault(sealed);
    const { aeadKey } = deriveVaultKeys(argon2Output);
    const nobles = xchacha20poly1305(aeadKey, nonce, reparsed.headerBytes).encrypt(Buffer.from(vector.plaintext, 'hex'));
    expect(Buffer.from(reparsed.ciphertext).equals(Buffer.from(nobles))).toBe(true);
    expect(Buffer.from(openParsedVault(reparsed, argon2Output)).toString('hex')).toBe(vector.plaintext);
  });

  it('opens the store index and journal through node:crypto, no call to noble; a flipped bit still fails', async () => {
    const key = randomBytes(32);
    const before = noble.calls;
    const index = await sealIndex(key, 3, randomBytes, emptyStoreState());
    expect((await openIndex(key, index)).generation).toBe(3);
    const record = await sealJournalRecord(key, 3, 0, randomBytes(24), [{ op: 'cursor', cursor: 'c-1' }]);
    const journal = Buffer.concat([journalHeader(3), record]);
    expect((await openJournal(key, journal)).records).toHaveLength(1);
    expect(noble.calls).toBe(before);
    const flipped = Uint8Array.from(index);
    flipped[flipped.length - 1]! ^= 1;
    await expect(openIndex(key, flipped)).rejects.toThrow(/integrity/);
  });

  it('is the same AEAD as noble, each opening the other', () => {
    for (const length of [0, 1, 63, 64, 65, 4096]) {
      const [key, nonce, ad, data] = [randomBytes(32), randomBytes(24), randomBytes(length % 7), randomBytes(length)];
      const ours = xchachaAead(key, nonce, ad).encrypt(data);
      expect(Buffer.from(ours).equals(Buffer.from(xchacha20poly1305(key, nonce, ad).encrypt(data)))).toBe(true);
      expect(Buffer.from(xchachaAead(key, nonce, ad).decrypt(ours)).equals(data)).toBe(true);
    }
  });

  it('falls back to noble when the runtime has no chacha20-poly1305, or gives other bytes', () => {
    expect(pickXChaChaAead()).not.toBe(xchacha20poly1305);
    const missing = () => {
      throw new Error('Unknown cipher');
    };
    expect(pickXChaChaAead(missing as never)).toBe(xchacha20poly1305);
    const wrong = ((key: Uint8Array, nonce: Uint8Array, ad: Uint8Array) => {
      const real = xchacha20poly1305(key, nonce, ad);
      return { encrypt: (data: Uint8Array) => real.encrypt(data).map((byte) => byte ^ 1), decrypt: real.decrypt };
    }) as never;
    expect(pickXChaChaAead(wrong)).toBe(xchacha20poly1305);
  });
});
