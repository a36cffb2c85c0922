// The words of the recovery phrase and of the shares: the BIP39 English list
// (docs/ceremony.md §2.1, §8.2). One place that normalises a typed word and says
// precisely what is wrong with it.

import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { CaliopError } from '../errors.js';

export const RECOVERY_WORDLIST: readonly string[] = english;

const indexByWord = new Map(english.map((word, index) => [word, index]));

/** docs/ceremony.md §7.2: case-insensitive, surrounding punctuation and spaces dropped. */
export function normaliseWord(typed: string): string {
  return typed.normalize('NFKD').toLowerCase().replace(/^[\s"'.,;:()[\]]+|[\s"'.,;:()[\]]+$/g, '');
}

/**
 * The 11-bit index of a typed word, or a recovery_invalid error naming the word and,
 * when the first four letters identify one word (BIP39 guarantees they are unique), it.
 */
export function wordIndex(typed: string, where: string): number {
  const word = normaliseWord(typed);
  const index = indexByWord.get(word);
  if (index !== undefined) return index;
  throw new CaliopError('recovery_invalid', `${where}: "${typed}" is not in the BIP39 English word list${suggestion(word)}`);
}

function suggestion(word: string): string {
  if (word.length < 3) return '';
  const prefix = word.slice(0, 4);
  const candidates = english.filter((candidate) => candidate.startsWith(prefix));
  return candidates.length === 1 ? ` (did you mean "${candidates[0]}"?)` : '';
}
