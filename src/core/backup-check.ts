// The backup check of the ceremony (docs/ceremony.md §10): before it finishes, the user
// types again a few words of the phrase, at positions drawn at random.

import { normaliseWord } from './recovery-words.js';

/**
 * `count` distinct positions in 1..`total` (1-based, as printed on the sheet), in
 * increasing order. Unbiased: a byte is used only when below the largest multiple of
 * `total` that fits in 256 (rejection sampling), the others are skipped.
 */
export function chooseBackupCheckPositions(randomBytes: Uint8Array, count = 3, total = 24): number[] {
  if (!Number.isInteger(total) || total < 1 || total > 256) throw new RangeError('total: expected an integer in 1..256');
  if (!Number.isInteger(count) || count < 1 || count > total) throw new RangeError(`count: expected an integer in 1..${total}`);
  const limit = 256 - (256 % total);
  const chosen = new Set<number>();
  for (const byte of randomBytes) {
    if (chosen.size === count) break;
    if (byte >= limit) continue;
    chosen.add((byte % total) + 1);
  }
  if (chosen.size < count) throw new RangeError('randomBytes: not enough random bytes to choose the positions; pass more (64 is plenty)');
  return [...chosen].sort((a, b) => a - b);
}

/** True when every answer is the phrase's word at its (1-based) position, compared case- and space-insensitively. */
export function checkBackupWords(words: string[], positions: number[], answers: string[]): boolean {
  if (positions.length === 0 || positions.length !== answers.length) return false;
  let allMatch = true;
  positions.forEach((position, index) => {
    const expected = words[position - 1];
    if (expected === undefined || normaliseWord(answers[index]!) !== normaliseWord(expected)) allMatch = false;
  });
  return allMatch;
}
