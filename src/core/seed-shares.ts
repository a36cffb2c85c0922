// k-of-n shares of the ceremony seed, each written as 29 BIP39 English words
// (docs/ceremony.md §8).
//
// The splitting itself is shamir-secret-sharing (audited, GF(2^8) per byte). It draws
// its polynomial coefficients and x coordinates from the OS CSPRNG itself and takes no
// random source as a parameter: this is the one place of the core that uses randomness
// it was not given (docs/ceremony.md §8.1).

import { combine, split } from 'shamir-secret-sharing';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { CaliopError } from '../errors.js';
import { RECOVERY_WORDLIST, wordIndex } from './recovery-words.js';

/** docs/ceremony.md §8.2: share format version. */
export const SHARE_FORMAT_VERSION = 1;
/** docs/ceremony.md §8.2: 37 data bytes and a 23-bit checksum make 319 bits, 29 words of 11 bits. */
export const SHARE_WORD_COUNT = 29;
const SEED_BYTES = 32;
const DATA_BYTES = 5 + SEED_BYTES; // version, set id (2), threshold, x, y (32)
const SET_ID_DOMAIN = new TextEncoder().encode('caliop-key/shares/v1/set-id');

export interface DecodedShare {
  version: number;
  /** Two bytes naming the split this share belongs to (docs/ceremony.md §8.2). */
  setId: number;
  threshold: number;
  /** The share's x coordinate, 1..255. */
  x: number;
  /** The 32 share bytes (the polynomials evaluated at x). */
  y: Uint8Array;
}

/**
 * docs/ceremony.md §8.1: split the seed into `shares` shares, any `threshold` of which
 * rebuild it. 2 <= threshold <= shares <= 255.
 */
export async function splitSeed(seed: Uint8Array, shares: number, threshold: number): Promise<string[][]> {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new TypeError(`seed: expected a Uint8Array of ${SEED_BYTES} bytes`);
  }
  if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 2 || shares < threshold || shares > 255) {
    throw new CaliopError('usage', `cannot split into ${shares} shares with threshold ${threshold}: need 2 <= threshold <= shares <= 255`);
  }
  // The library checks `secret.constructor === Uint8Array`: hand it a plain copy (not a Buffer).
  const secret = Uint8Array.from(seed);
  const raw = await split(secret, shares, threshold);
  secret.fill(0);
  const setId = computeSetId(raw);
  const words = raw.map((share) => encodeShare({
    version: SHARE_FORMAT_VERSION, setId, threshold, x: share[SEED_BYTES]!, y: share.subarray(0, SEED_BYTES),
  }));
  for (const share of raw) share.fill(0);
  return words;
}

/**
 * docs/ceremony.md §8.3: rebuild the seed from at least `threshold` distinct shares of
 * one split. Errors are recovery_invalid with a detail naming the share (1-based, in the
 * order given) and what is wrong.
 */
export async function combineShares(shares: string[][]): Promise<Uint8Array> {
  if (shares.length === 0) throw new CaliopError('recovery_invalid', 'no share was given');
  const decoded = shares.map((words, index) => decodeShare(words, `share ${index + 1}`));
  const first = decoded[0]!;
  for (const [index, share] of decoded.entries()) {
    if (share.setId !== first.setId || share.threshold !== first.threshold) {
      throw new CaliopError('recovery_invalid', `share ${index + 1} comes from another split than share 1 (their split ids differ)`);
    }
    const twin = decoded.findIndex((other) => other.x === share.x);
    if (twin !== index) {
      throw new CaliopError('recovery_invalid', `share ${index + 1} is the same share as share ${twin + 1}: give ${first.threshold} different shares`);
    }
  }
  // With fewer than `threshold` points the interpolation silently yields a wrong seed.
  if (decoded.length < first.threshold) {
    throw new CaliopError('recovery_invalid', `${first.threshold} different shares are needed and only ${decoded.length} ${decoded.length === 1 ? 'was' : 'were'} given`);
  }
  const points = decoded.map((share) => {
    const point = new Uint8Array(SEED_BYTES + 1);
    point.set(share.y);
    point[SEED_BYTES] = share.x;
    return point;
  });
  const seed = await combine(points);
  for (const point of points) point.fill(0);
  return seed;
}

/** docs/ceremony.md §8.2: 37 bytes + 23 checksum bits -> 29 words. */
export function encodeShare(share: DecodedShare): string[] {
  if (share.y.length !== SEED_BYTES) throw new TypeError(`share y: expected ${SEED_BYTES} bytes`);
  const data = new Uint8Array(DATA_BYTES);
  data.set([share.version, share.setId >>> 8, share.setId & 0xff, share.threshold, share.x]);
  data.set(share.y, 5);
  // data || the first 3 bytes of SHA-256(data): 320 bits, of which the first 319 are written.
  const packed = concatBytes(data, sha256(data).subarray(0, 3));
  data.fill(0);
  const words: string[] = [];
  for (let index = 0; index < SHARE_WORD_COUNT; index++) words.push(RECOVERY_WORDLIST[readBits(packed, index * 11, 11)]!);
  packed.fill(0);
  return words;
}

/** docs/ceremony.md §8.2-§8.3: the words of one share back to its fields, every check made. */
export function decodeShare(words: string[], where = 'share'): DecodedShare {
  if (words.length !== SHARE_WORD_COUNT) {
    throw new CaliopError('recovery_invalid', `${where} has ${words.length} words; a share has ${SHARE_WORD_COUNT}`);
  }
  const packed = new Uint8Array(DATA_BYTES + 3);
  words.forEach((word, index) => writeBits(packed, index * 11, 11, wordIndex(word, `${where}, word ${index + 1}`)));
  const data = packed.slice(0, DATA_BYTES);
  const expected = sha256(data);
  // The last of the 320 bits is padding: compare the 23 checksum bits only.
  if (packed[DATA_BYTES] !== expected[0] || packed[DATA_BYTES + 1] !== expected[1] || (packed[DATA_BYTES + 2]! & 0xfe) !== (expected[2]! & 0xfe)) {
    throw new CaliopError('recovery_invalid', `${where} fails its checksum: a word is wrong, missing or out of order`);
  }
  packed.fill(0);
  const [version, setHigh, setLow, threshold, x] = data;
  if (version !== SHARE_FORMAT_VERSION) {
    throw new CaliopError('recovery_invalid', `${where} was written in share format ${version}, this caliop reads format ${SHARE_FORMAT_VERSION}`);
  }
  if (threshold! < 2 || x === 0) {
    throw new CaliopError('recovery_invalid', `${where} is malformed (threshold ${threshold}, x ${x})`);
  }
  return { version, setId: (setHigh! << 8) | setLow!, threshold: threshold!, x: x!, y: data.slice(5) };
}

/**
 * docs/ceremony.md §8.2: the split id is the first two bytes of
 * SHA-256(domain || every share of the split, in order). It depends on the shares only,
 * so it tells nothing about the seed that the shares do not.
 */
function computeSetId(raw: Uint8Array[]): number {
  const digest = sha256(concatBytes(SET_ID_DOMAIN, ...raw));
  return (digest[0]! << 8) | digest[1]!;
}

/** Big-endian bit field of `count` bits starting at bit `offset` (bit 0 = MSB of byte 0). */
function readBits(bytes: Uint8Array, offset: number, count: number): number {
  let value = 0;
  for (let bit = offset; bit < offset + count; bit++) value = (value << 1) | ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
  return value;
}

function writeBits(bytes: Uint8Array, offset: number, count: number, value: number): void {
  for (let index = 0; index < count; index++) {
    const bit = offset + index;
    if ((value >> (count - 1 - index)) & 1) bytes[bit >> 3]! |= 1 << (7 - (bit & 7));
  }
}
