// docs/ceremony.md §2.1, §7: the recovery phrase, the printed sheet and its parser.

import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatRecoverySheet, formatShareSheet, parseRecoverySheet, phraseFromSeed, seedFromPhrase, PHRASE_WORD_COUNT,
} from '../src/core/recovery-sheet.js';
import { splitSeed } from '../src/core/seed-shares.js';
import { CaliopError, isCaliopError } from '../src/errors.js';

const vectorDir = join(import.meta.dirname, 'vectors', 'ceremony');
const countingSeed = Uint8Array.from({ length: 32 }, (_, index) => index);
const facts = { creationDate: new Date('2026-01-02T03:04:05Z'), name: 'Alice Example', email: 'alice@example.org', fingerprint: 'DD2AFAAEF852111DB5A32AFA25BEE41DD851093E' };

async function recoveryError(promise: Promise<unknown> | (() => unknown)): Promise<CaliopError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (isCaliopError(error, 'recovery_invalid')) return error;
    throw error;
  }
  throw new Error('expected a recovery_invalid error');
}

describe('the phrase (docs/ceremony.md §2.1)', () => {
  it('is the seed as BIP39 entropy: the all-zero seed is "abandon" x23 "art" (BIP39 reference vector)', () => {
    expect(phraseFromSeed(new Uint8Array(32)).join(' ')).toBe(`${'abandon '.repeat(23)}art`);
    expect(phraseFromSeed(new Uint8Array(32).fill(0xff)).join(' ')).toBe(`${'zoo '.repeat(23)}vote`);
  });

  it('round-trips 200 random seeds', () => {
    for (let round = 0; round < 200; round++) {
      const seed = new Uint8Array(randomBytes(32));
      const words = phraseFromSeed(seed);
      expect(words).toHaveLength(PHRASE_WORD_COUNT);
      expect(seedFromPhrase(words)).toEqual(seed);
    }
  });

  it('tolerates case and stray punctuation around a word', () => {
    const words = phraseFromSeed(countingSeed).map((word, index) => (index % 2 ? word.toUpperCase() : `${word},`));
    expect(seedFromPhrase(words)).toEqual(countingSeed);
  });

  it('names the unknown word, its position and the likely word', async () => {
    const words = phraseFromSeed(countingSeed);
    words[4] = 'expier';
    const error = await recoveryError(() => seedFromPhrase(words));
    expect(error.message).toBe('word 5: "expier" is not in the BIP39 English word list (did you mean "expire"?)');
    expect(error.exitCode).toBe(19);
  });

  it('detects a wrong word that is in the list (checksum)', async () => {
    const words = phraseFromSeed(countingSeed);
    words[23] = words[23] === 'zoo' ? 'zone' : 'zoo';
    expect((await recoveryError(() => seedFromPhrase(words))).message).toMatch(/BIP39 checksum/);
  });

  it('says how many words it found', async () => {
    expect((await recoveryError(() => seedFromPhrase(phraseFromSeed(countingSeed).slice(0, 12)))).message).toBe('found 12 words; a recovery phrase has 24');
  });
});

describe('the sheet (docs/ceremony.md §7.1)', () => {
  const sheet = formatRecoverySheet({ ...facts, words: phraseFromSeed(countingSeed) });

  it('carries the creation date, the user id, the fingerprint and says they are needed', () => {
    expect(sheet).toContain('created: 2026-01-02T03:04:05Z\n');
    expect(sheet).toContain('name: Alice Example\n');
    expect(sheet).toContain('email: alice@example.org\n');
    expect(sheet).toContain('fingerprint: DD2A FAAE F852 111D B5A3  2AFA 25BE E41D D851 093E\n');
    expect(sheet).toMatch(/you need the 24 words AND the creation date, name and email/);
    expect(sheet).toMatch(/il faut les 24 mots ET la date de création/);
    expect(sheet).toContain(' 1. abandon     2. amount      3. liar        4. amount\n');
  });

  it('is read back to the same seed and facts', async () => {
    expect(await parseRecoverySheet(sheet)).toEqual({ seed: countingSeed, ...facts });
  });

  it('is read back with Windows line ends and indentation', async () => {
    expect((await parseRecoverySheet(sheet.replace(/\n/g, '\r\n').replace(/^/gm, '   '))).seed).toEqual(countingSeed);
  });

  it('refuses a name on two lines', () => {
    expect(() => formatRecoverySheet({ ...facts, name: 'Alice\nExample', words: phraseFromSeed(countingSeed) })).toThrow(TypeError);
  });
});

describe('sheet vectors (docs/ceremony.md §11): one case per file', () => {
  const files = readdirSync(vectorDir).filter((file) => file.startsWith('sheet-'));
  it('has vectors', () => expect(files.length).toBeGreaterThanOrEqual(8));
  for (const file of files) {
    const vector = JSON.parse(readFileSync(join(vectorDir, file), 'utf8')) as { description: string; text: string; expect: string; detailContains?: string };
    it(`${file}: ${vector.description}`, async () => {
      if (vector.expect === 'success') {
        const parsed = await parseRecoverySheet(vector.text);
        expect(parsed.seed).toEqual(countingSeed);
        expect(parsed.creationDate).toEqual(facts.creationDate);
      } else {
        const error = await recoveryError(parseRecoverySheet(vector.text));
        expect(error.code).toBe(vector.expect);
        expect(error.message).toContain(vector.detailContains);
      }
    });
  }
});

describe('the parser (docs/ceremony.md §7.2-§7.3)', () => {
  const words = phraseFromSeed(countingSeed);

  it('returns no name and email when the text has none', async () => {
    const parsed = await parseRecoverySheet(`created: 2026-01-02T03:04:05Z\n${words.join(' ')}`);
    expect(parsed).toEqual({ seed: countingSeed, creationDate: facts.creationDate });
  });

  it('reads a "words:" label line', async () => {
    expect((await parseRecoverySheet(`created: 2026-01-02T03:04:05Z\nwords: ${words.join(' ')}`)).seed).toEqual(countingSeed);
  });

  it('names an unknown line', async () => {
    expect((await recoveryError(parseRecoverySheet(`created: 2026-01-02T03:04:05Z\npassword: x\n${words.join(' ')}`))).message)
      .toBe('line 2: unknown line "password:" (expected name, email, created, fingerprint, share or words)');
  });

  it('refuses a malformed fingerprint', async () => {
    expect((await recoveryError(parseRecoverySheet(`created: 2026-01-02T03:04:05Z\nfingerprint: 1234\n${words.join(' ')}`))).message)
      .toMatch(/line 2: the fingerprint must be 40 hexadecimal digits/);
  });

  it('refuses numbering that repeats a number', async () => {
    const text = `created: 2026-01-02T03:04:05Z\n${words.map((word, index) => `${index === 5 ? 5 : index + 1}. ${word}`).join('\n')}`;
    expect((await recoveryError(parseRecoverySheet(text))).message).toMatch(/word number 5 on line 7 is repeated/);
  });

  it('refuses two different creation dates (sheets of two keys)', async () => {
    const text = `created: 2026-01-02T03:04:05Z\ncreated: 2026-01-02T03:04:06Z\n${words.join(' ')}`;
    expect((await recoveryError(parseRecoverySheet(text))).message).toMatch(/differs from line 1/);
  });

  it('refuses a phrase mixed with shares', async () => {
    const shares = await splitSeed(countingSeed, 2, 2);
    const text = `created: 2026-01-02T03:04:05Z\n${words.join(' ')}\nshare: 1 of 2\n${shares[0]!.join(' ')}`;
    expect((await recoveryError(parseRecoverySheet(text))).message).toMatch(/both a recovery phrase and shares/);
  });
});

describe('share sheets concatenated (docs/ceremony.md §8.4)', () => {
  it('any 3 of 5 sheets, in any order, give the seed back', async () => {
    const shares = await splitSeed(countingSeed, 5, 3);
    const sheets = shares.map((shareWords, index) => formatShareSheet({ ...facts, words: shareWords, shareNumber: index + 1, shareCount: 5, threshold: 3 }));
    expect(sheets[1]).toContain('share: 2 of 5, 3 needed\n');
    expect(sheets[1]).toMatch(/Any 3 different shares rebuild your key/);
    for (const pick of [[0, 1, 2], [4, 2, 0], [1, 3, 4], [0, 1, 2, 3, 4]]) {
      const parsed = await parseRecoverySheet(pick.map((index) => sheets[index]).join('\n'));
      expect(parsed).toEqual({ seed: countingSeed, ...facts, sharesCombined: pick.length });
    }
  });

  it('reads the stored 2-of-3 share vector sheets', async () => {
    const vector = JSON.parse(readFileSync(join(vectorDir, 'shares-2-of-3.json'), 'utf8')) as { shareSheets: string[]; seedHex: string };
    const parsed = await parseRecoverySheet(vector.shareSheets[2]! + vector.shareSheets[0]!);
    expect(Buffer.from(parsed.seed).toString('hex')).toBe(vector.seedHex);
  });

  it('reads bare share words without sheet headers, one share per numbered block', async () => {
    const shares = await splitSeed(countingSeed, 3, 2);
    const text = `created: 2026-01-02T03:04:05Z\n${[shares[0]!, shares[2]!].map((block) => block.map((word, index) => `${index + 1}. ${word}`).join('\n')).join('\n')}`;
    expect((await parseRecoverySheet(text)).seed).toEqual(countingSeed);
  });

  it('with too few sheets, says how many are needed', async () => {
    const shares = await splitSeed(countingSeed, 5, 3);
    const sheets = shares.map((shareWords, index) => formatShareSheet({ ...facts, words: shareWords, shareNumber: index + 1, shareCount: 5, threshold: 3 }));
    expect((await recoveryError(parseRecoverySheet(sheets[0]! + sheets[1]!))).message).toBe('3 different shares are needed and only 2 were given');
  });
});
