// Known-answer vectors for the words read aloud during in-person verification.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as french } from '@scure/bip39/wordlists/french.js';
import { fingerprintNumbers, fingerprintWords } from '../../src/core/fingerprint-words.js';

const folder = join(import.meta.dirname, '../vectors/fingerprint-words');

describe('fingerprintWords vectors', () => {
  for (const file of readdirSync(folder)) {
    const vector = JSON.parse(readFileSync(join(folder, file), 'utf8')) as { fingerprint: string; expect: string; en?: string[]; fr?: string[] };
    it(file, () => {
      if (vector.expect === 'success') {
        expect(fingerprintWords(vector.fingerprint, 'en')).toEqual(vector.en);
        expect(fingerprintWords(vector.fingerprint, 'fr')).toEqual(vector.fr);
        // The numbers are the words' places in both lists: the same for an English and a French stick.
        const numbers = fingerprintNumbers(vector.fingerprint);
        expect(numbers.every((number) => /^\d{4}$/.test(number))).toBe(true);
        expect(numbers.map((number) => english[Number(number)])).toEqual(vector.en);
        expect(numbers.map((number) => french[Number(number)])).toEqual(vector.fr);
      } else {
        expect(() => fingerprintWords(vector.fingerprint, 'en')).toThrow(TypeError);
      }
    });
  }
  it('one changed digit in the first 22 changes the words', () => {
    const base = '7A1B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D';
    for (let index = 0; index < 22; index++) {
      const changed = base.slice(0, index) + (base[index] === '0' ? '1' : '0') + base.slice(index + 1);
      expect(fingerprintWords(changed, 'en')).not.toEqual(fingerprintWords(base, 'en'));
    }
  });
});
