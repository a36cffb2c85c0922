// A fingerprint as a few words two people read aloud to each other (issue 6,
// in-person verification). Pure: the words are the first FINGERPRINT_WORD_COUNT
// groups of 11 bits of the fingerprint itself, each an index into the BIP39 list
// of the chosen language (English or French, 2048 words each = 2^11).
//
// 8 words carry 88 bits: to make a different key whose words match, an attacker
// needs about 2^88 key generations. The full 40-digit fingerprint stays on screen
// beside the words for people who prefer to compare it.

import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as french } from '@scure/bip39/wordlists/french.js';

export const FINGERPRINT_WORD_COUNT = 8;
const BITS_PER_WORD = 11;

const WORDLISTS: Readonly<Record<'en' | 'fr', readonly string[]>> = { en: english, fr: french };

/**
 * The same 88 bits as numbers 0000–2047, one per word (docs/ui.md §3): the BIP39
 * lists are aligned, word N of the English list and word N of the French list are
 * both N, so the numbers are what two sticks in different languages compare.
 */
export function fingerprintNumbers(fingerprint: string, count = FINGERPRINT_WORD_COUNT): string[] {
  return wordIndexes(fingerprint, count).map((index) => String(index).padStart(4, '0'));
}

/** `fingerprint`: 40 hex digits (a v4 fingerprint), spaces allowed, any case. */
export function fingerprintWords(fingerprint: string, language: 'en' | 'fr', count = FINGERPRINT_WORD_COUNT): string[] {
  const list = WORDLISTS[language];
  if (!list) throw new RangeError('language: expected "en" or "fr"');
  return wordIndexes(fingerprint, count).map((index) => list[index]!);
}

function wordIndexes(fingerprint: string, count: number): number[] {
  const hex = fingerprint.replace(/\s+/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(hex)) throw new TypeError('fingerprint: expected 40 hexadecimal digits');
  if (!Number.isInteger(count) || count < 1 || count * BITS_PER_WORD > hex.length * 4) {
    throw new RangeError(`count: expected 1..${Math.floor((hex.length * 4) / BITS_PER_WORD)}`);
  }
  const bits = BigInt(`0x${hex}`);
  const totalBits = BigInt(hex.length * 4);
  const indexes: number[] = [];
  for (let index = 0; index < count; index++) {
    const shift = totalBits - BigInt((index + 1) * BITS_PER_WORD);
    indexes.push(Number((bits >> shift) & 0x7ffn));
  }
  return indexes;
}
