// docs/ceremony.md §8: k-of-n shares of the seed, written as 29 words.

import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { combineShares, decodeShare, encodeShare, splitSeed, SHARE_WORD_COUNT } from '../src/core/seed-shares.js';
import { RECOVERY_WORDLIST } from '../src/core/recovery-words.js';
import { CaliopError, isCaliopError } from '../src/errors.js';

const seed = Uint8Array.from({ length: 32 }, (_, index) => (index * 29 + 3) & 0xff);

async function recoveryError(promise: Promise<unknown>): Promise<CaliopError> {
  try {
    await promise;
  } catch (error) {
    if (isCaliopError(error, 'recovery_invalid')) return error;
    throw error;
  }
  throw new Error('expected a recovery_invalid error');
}

/** Every k-subset of 0..n-1. */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  return [...subsets(n - 1, k - 1).map((subset) => [...subset, n - 1]), ...subsets(n - 1, k)];
}

describe('split and combine (docs/ceremony.md §8.1, §8.3)', () => {
  it('every 3 of 5 shares give the seed back; each share is 29 BIP39 words', async () => {
    const shares = await splitSeed(seed, 5, 3);
    expect(shares).toHaveLength(5);
    for (const share of shares) {
      expect(share).toHaveLength(SHARE_WORD_COUNT);
      for (const word of share) expect(RECOVERY_WORDLIST).toContain(word);
    }
    for (const subset of subsets(5, 3)) {
      expect(await combineShares(subset.map((index) => shares[index]!))).toEqual(seed);
    }
    expect(await combineShares(shares)).toEqual(seed);
  });

  it('round-trips random seeds for random k-of-n (property)', async () => {
    for (let round = 0; round < 30; round++) {
      const secret = new Uint8Array(randomBytes(32));
      const n = 2 + (round % 7);
      const k = 2 + (round % (n - 1));
      const shares = await splitSeed(secret, n, k);
      const picked = shares.slice(n - k);
      expect(await combineShares(picked)).toEqual(secret);
    }
  });

  it('the stored 2-of-3 vector combines to its seed from every pair', async () => {
    const vector = JSON.parse(readFileSync(join(import.meta.dirname, 'vectors', 'ceremony', 'shares-2-of-3.json'), 'utf8')) as { seedHex: string; shares: string[] };
    for (const pair of subsets(3, 2)) {
      const combined = await combineShares(pair.map((index) => vector.shares[index]!.split(' ')));
      expect(Buffer.from(combined).toString('hex')).toBe(vector.seedHex);
    }
  });

  it('refuses impossible splits with a usage error', async () => {
    for (const [n, k] of [[1, 1], [3, 1], [2, 3], [256, 2]] as const) {
      await expect(splitSeed(seed, n, k)).rejects.toSatisfy((error) => isCaliopError(error, 'usage'));
    }
  });
});

describe('the share format (docs/ceremony.md §8.2)', () => {
  it('encodes and decodes its fields', () => {
    const y = new Uint8Array(randomBytes(32));
    const share = { version: 1, setId: 0xbeef, threshold: 4, x: 200, y };
    expect(decodeShare(encodeShare(share))).toEqual(share);
  });

  it('shares of one split carry the same split id and threshold, and distinct x', async () => {
    const decoded = (await splitSeed(seed, 4, 2)).map((words) => decodeShare(words));
    expect(new Set(decoded.map((share) => share.setId)).size).toBe(1);
    expect(decoded.every((share) => share.threshold === 2 && share.version === 1)).toBe(true);
    expect(new Set(decoded.map((share) => share.x)).size).toBe(4);
  });
});

describe('share errors name the share and what is wrong', () => {
  it('fewer shares than the threshold (the combination would silently be wrong)', async () => {
    const shares = await splitSeed(seed, 5, 3);
    expect((await recoveryError(combineShares(shares.slice(0, 2)))).message).toBe('3 different shares are needed and only 2 were given');
  });

  it('the same share twice', async () => {
    const shares = await splitSeed(seed, 3, 2);
    expect((await recoveryError(combineShares([shares[1]!, shares[1]!]))).message).toBe('share 2 is the same share as share 1: give 2 different shares');
  });

  it('shares of two different splits', async () => {
    const first = await splitSeed(seed, 3, 2);
    let second = await splitSeed(seed, 3, 2);
    // Two splits share a 16-bit id once in 65536: draw again then.
    while (decodeShare(second[0]!).setId === decodeShare(first[0]!).setId) second = await splitSeed(seed, 3, 2);
    expect((await recoveryError(combineShares([first[0]!, second[1]!]))).message).toMatch(/share 2 comes from another split than share 1/);
  });

  it('a word not in the list', async () => {
    const shares = await splitSeed(seed, 2, 2);
    shares[1]![6] = 'xyzzy';
    expect((await recoveryError(combineShares(shares))).message).toBe('share 2, word 7: "xyzzy" is not in the BIP39 English word list');
  });

  it('a wrong word from the list, anywhere: the checksum catches it', async () => {
    const shares = await splitSeed(seed, 2, 2);
    for (const position of [0, 5, 17, 27, 28]) {
      const altered = shares.map((words) => [...words]);
      const word = altered[0]![position]!;
      altered[0]![position] = RECOVERY_WORDLIST[(RECOVERY_WORDLIST.indexOf(word) + 1) % 2048]!;
      expect((await recoveryError(combineShares(altered))).message).toMatch(/^share 1 fails its checksum/);
    }
  });

  it('a share with a word missing', async () => {
    const shares = await splitSeed(seed, 2, 2);
    expect((await recoveryError(combineShares([shares[0]!, shares[1]!.slice(1)]))).message).toBe('share 2 has 28 words; a share has 29');
  });
});
