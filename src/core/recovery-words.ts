// The words of the recovery phrase and of the shares: the BIP39 English list
// (docs/ceremony.md §2.1, §8.2). One place that normalises a typed word and says
// precisely what is wrong with it.

import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { CaliopError } from '../errors.js';

export const RECOVERY_WORDLIST: readonly string[] = english;

const indexByWord = new Map(english.map((word, index) => [word, index]));

/** docs/ceremony.md §7.2: case-insensitive, surrounding punctuation and spaces dropped. */
export function normaliseWord(typed: string): string {
  // One pass from each end: the expression /[…]+$/ tried a run from each of its
  // characters, the square of a run inside a word (80,000 dots: 12 s; docs/fuzzing.md).
  const word = typed.normalize('NFKD').toLowerCase();
  let start = 0;
  let end = word.length;
  while (start < end && isSurrounding(word.charCodeAt(start))) start++;
  while (end > start && isSurrounding(word.charCodeAt(end - 1))) end--;
  return word.slice(start, end);
}

/** A unit normaliseWord drops at either end: white space (as \s) or one of "'.,;:()[]. */
function isSurrounding(unit: number): boolean {
  return SURROUNDING.has(unit) || /\s/.test(String.fromCharCode(unit));
}
const SURROUNDING = new Set(Array.from('"\'.,;:()[]', (character) => character.charCodeAt(0)));

/**
 * docs/ceremony.md §7.2: what an error quotes of the text read, at most QUOTE_MAX_CHARS: a
 * word or a field of the file can be any length, and the message is for a terminal.
 */
export function quoteExcerpt(text: string): string {
  const units = Array.from(text);
  return units.length <= QUOTE_MAX_CHARS ? text : `${units.slice(0, QUOTE_MAX_CHARS).join('')}… (${units.length} characters)`;
}
export const QUOTE_MAX_CHARS = 40;

/**
 * The 11-bit index of a typed word, or a recovery_invalid error naming the word and,
 * when the first four letters identify one word (BIP39 guarantees they are unique), it.
 */
export function wordIndex(typed: string, where: string): number {
  const word = normaliseWord(typed);
  const index = indexByWord.get(word);
  if (index !== undefined) return index;
  throw new CaliopError('recovery_invalid', `${where}: "${quoteExcerpt(typed)}" is not in the BIP39 English word list${suggestion(word)}`);
}

function suggestion(word: string): string {
  if (word.length < 3) return '';
  const prefix = word.slice(0, 4);
  const candidates = english.filter((candidate) => candidate.startsWith(prefix));
  return candidates.length === 1 ? ` (did you mean "${candidates[0]}"?)` : '';
}
