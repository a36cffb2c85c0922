// docs/ceremony.md §9-§10: passphrase strength, generated passphrases, the backup check.

import { describe, expect, it } from 'vitest';
import { wordlist as french } from '@scure/bip39/wordlists/french.js';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { translations as zxcvbnFrench } from '@zxcvbn-ts/language-fr';
import { assessPassphrase, FRENCH_GLOSSARY, OFFLINE_GUESSES_PER_SECOND, WEAK_BELOW_GUESSES_LOG10 } from '../src/core/passphrase-strength.js';
import { generatePassphrase, passphraseEntropyBits, PASSPHRASE_SEPARATOR } from '../src/core/passphrase-generator.js';
import { checkBackupWords, chooseBackupCheckPositions } from '../src/core/backup-check.js';
import { prng, prngBytes } from '../scripts/fuzz/prng.js';

// Seeded bytes, not fresh ones: a statistical bound drawn afresh fails now and then with no bug
// (positions under 400: 1.2e-5 a run; chi-square over 2400: 8e-8), and a CI test must not.

describe('passphrase strength (docs/ceremony.md §9.1-§9.2)', () => {
  it('calls common French and English passwords weak, and explains why in both languages', async () => {
    for (const passphrase of ['motdepasse', 'soleil', 'password1', 'azertyuiop', 'Tr0ub4dor&3']) {
      const assessment = await assessPassphrase(passphrase, []);
      expect(assessment.weak, passphrase).toBe(true);
      expect(assessment.guessesLog10).toBeLessThan(WEAK_BELOW_GUESSES_LOG10);
    }
    const common = await assessPassphrase('motdepasse', []);
    expect(common.warning).toEqual({ en: 'This is a commonly used password.', fr: 'Cette phrase de passe est couramment utilisée.' });
    expect(common.suggestions.en.length).toBe(common.suggestions.fr.length);
    expect(common.suggestions.en.length).toBeGreaterThan(0);
  });

  it('speaks of a "phrase de passe" in French, never a "mot de passe" (docs/ui.md §8)', async () => {
    for (const group of ['warnings', 'suggestions'] as const) {
      const replaced = FRENCH_GLOSSARY[group] as Record<string, string>;
      for (const [key, text] of Object.entries(zxcvbnFrench[group] as Record<string, string>)) {
        if (/mot de passe|mots de passe/i.test(text)) expect(replaced[key], `${group}.${key}: ${text}`).toBeDefined();
      }
      for (const text of Object.values(replaced)) expect(text).not.toMatch(/mots? de passe/i);
    }
    const weak = await assessPassphrase('password', ['Zoé Martin', 'zoe@caliop.example']);
    for (const text of [weak.warning?.fr ?? '', ...weak.suggestions.fr]) expect(text).not.toMatch(/mots? de passe/i);
  });

  it('knows French words that the English dictionaries do not', async () => {
    const assessment = await assessPassphrase('grenouille', []);
    expect(assessment.weak).toBe(true);
    expect(assessment.guessesLog10).toBeLessThan(6);
  });

  it('uses the user\'s own name and address against them', async () => {
    const without = await assessPassphrase('camillemartin1990', []);
    const withInputs = await assessPassphrase('camillemartin1990', ['Camille Martin', 'camille.martin@example.fr']);
    expect(withInputs.guessesLog10).toBeLessThan(without.guessesLog10);
    expect(withInputs.weak).toBe(true);
  });

  it('calls a generated 7-word passphrase strong', async () => {
    // Seeded (200 fresh draws: lowest 10^34.0 guesses, all score 4, 'centuries').
    const assessment = await assessPassphrase(generatePassphrase(prngBytes(prng(7), 14), 7, 'fr'), []);
    expect(assessment.weak).toBe(false);
    expect(assessment.score).toBe(4);
    expect(assessment.crackTimeText).toEqual({ en: 'centuries', fr: 'siècles' });
  });

  it('gives the crack time against the vault attacker of §9.2, in words', async () => {
    const assessment = await assessPassphrase('soleil', []);
    expect(assessment.crackTimeSeconds).toBeCloseTo(10 ** assessment.guessesLog10 / OFFLINE_GUESSES_PER_SECOND, 6);
    expect(assessment.crackTimeText.en).toBe('less than a second');
    expect(assessment.crackTimeText.fr).toBe("moins d'une seconde");
  });
});

describe('generated passphrases (docs/ceremony.md §9.3)', () => {
  it('maps 11 bits of each 2-byte chunk to a word: known answers', () => {
    const bytes = Uint8Array.from([0x00, 0x00, 0x07, 0xff, 0xf8, 0x01, 0x12, 0x34]);
    expect(generatePassphrase(bytes, 4, 'en')).toBe(['abandon', 'zoo', 'ability', english[0x234]].join(PASSPHRASE_SEPARATOR));
    expect(generatePassphrase(bytes, 4, 'fr').split(PASSPHRASE_SEPARATOR)[0]).toBe('abaisser');
  });

  it('writes French words without accents, and they stay 2048 distinct words', () => {
    const stripped = new Set(french.map((word) => word.normalize('NFD').replace(/\p{M}/gu, '')));
    expect(stripped.size).toBe(2048);
    const random = prng(50);
    for (let round = 0; round < 50; round++) {
      const passphrase = generatePassphrase(prngBytes(random, 14), 7, 'fr');
      expect(passphrase).toMatch(/^[a-z]+(-[a-z]+){6}$/);
    }
  });

  it('uses every word about equally (no modulo bias)', () => {
    const counts = new Map<string, number>();
    const draws = 20_480;
    const bytes = prngBytes(prng(20_480), 2 * draws);
    for (const word of generatePassphrase(bytes, draws, 'en').split(PASSPHRASE_SEPARATOR)) counts.set(word, (counts.get(word) ?? 0) + 1);
    // 10 expected per word: chi-square over 2047 degrees of freedom stays well under 2400 (mean 2047,
    // sd 64; 100 fresh draws: highest 2212; P(over 2400) = 8e-8 with fresh bytes).
    let chiSquare = 0;
    for (const word of english) chiSquare += ((counts.get(word) ?? 0) - 10) ** 2 / 10;
    expect(chiSquare).toBeLessThan(2400);
  });

  it('has 77 bits of entropy with 7 words, and refuses too few random bytes', () => {
    expect(passphraseEntropyBits(7)).toBe(77);
    expect(() => generatePassphrase(new Uint8Array(13), 7, 'en')).toThrow(RangeError);
  });
});

describe('backup check (docs/ceremony.md §10)', () => {
  const words = english.slice(100, 124);

  it('chooses distinct 1-based positions in 1..24, skipping bytes that would bias them', () => {
    // 240 is the first rejected byte for 24 positions (256 - 256 % 24).
    expect(chooseBackupCheckPositions(Uint8Array.from([240, 255, 0, 0, 23, 47, 5]))).toEqual([1, 6, 24]);
  });

  it('covers every position about equally', () => {
    const counts = new Array<number>(25).fill(0);
    const random = prng(4000);
    for (let round = 0; round < 4000; round++) {
      for (const position of chooseBackupCheckPositions(prngBytes(random, 64))) counts[position]!++;
    }
    expect(counts[0]).toBe(0);
    for (const count of counts.slice(1)) expect(count).toBeGreaterThan(400); // 500 expected, sd 21: with fresh bytes some position fell to 400 in 1.2e-5 of runs
  });

  it('refuses when the random bytes run out', () => {
    expect(() => chooseBackupCheckPositions(Uint8Array.from([1, 1, 1, 250]))).toThrow(RangeError);
  });

  it('accepts the right words typed loosely, and nothing else', () => {
    const positions = [2, 13, 24];
    expect(checkBackupWords(words, positions, [` ${words[1]!.toUpperCase()} `, words[12]!, `${words[23]}.`])).toBe(true);
    expect(checkBackupWords(words, positions, [words[1]!, words[12]!, words[22]!])).toBe(false);
    expect(checkBackupWords(words, positions, [words[1]!, words[12]!])).toBe(false);
    expect(checkBackupWords(words, [0, 1, 2], [words[0]!, words[0]!, words[1]!])).toBe(false);
    expect(checkBackupWords(words, [], [])).toBe(false);
  });
});
