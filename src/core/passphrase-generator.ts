// Passphrases of random words for the vault (docs/ceremony.md §9.3).
//
// Each word is one of the 2048 BIP39 words of the chosen language, picked with 11 bits
// of the random bytes given: 2048 = 2^11, so no word is likelier than another and no
// byte is ever rejected. Entropy: 11 bits a word, 77 bits for the default 7 words.

import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as french } from '@scure/bip39/wordlists/french.js';

export const PASSPHRASE_DEFAULT_WORDS = 7;
export const PASSPHRASE_BITS_PER_WORD = 11;
export const PASSPHRASE_SEPARATOR = '-';

/**
 * docs/ceremony.md §9.3: French words are written without accents, so they type the same
 * on every keyboard and in every Unicode normal form. The BIP39 French list stays 2048
 * distinct words once its accents are removed (test/passphrase.test.ts checks it).
 */
const WORDLISTS: Record<'en' | 'fr', readonly string[]> = {
  en: english,
  fr: french.map((word) => word.normalize('NFD').replace(/\p{M}/gu, '')),
};

/** `randomBytes` must hold at least 2 bytes a word (from the OS CSPRNG, drawn at the edge). */
export function generatePassphrase(randomBytes: Uint8Array, words = PASSPHRASE_DEFAULT_WORDS, language: 'en' | 'fr' = 'en'): string {
  if (!Number.isInteger(words) || words < 1) throw new RangeError('words: expected a positive integer');
  if (!(randomBytes instanceof Uint8Array) || randomBytes.length < 2 * words) {
    throw new RangeError(`randomBytes: expected at least ${2 * words} bytes for ${words} words`);
  }
  const list = WORDLISTS[language];
  if (!list) throw new RangeError(`language: expected "en" or "fr"`);
  const chosen: string[] = [];
  for (let index = 0; index < words; index++) {
    // The low 11 bits of a 16-bit number: 2^16 is a multiple of 2^11, so uniform.
    const value = ((randomBytes[2 * index]! << 8) | randomBytes[2 * index + 1]!) & 0x7ff;
    chosen.push(list[value]!);
  }
  return chosen.join(PASSPHRASE_SEPARATOR);
}

/** Bits of entropy of a generated passphrase of `words` words. */
export function passphraseEntropyBits(words = PASSPHRASE_DEFAULT_WORDS): number {
  return words * PASSPHRASE_BITS_PER_WORD;
}
