// docs/ui.md §3: fingerprint words and numbers typed after hearing them (`caliop contacts
// verify --words`): the Unicode form a keyboard types, accents, case, spacing and a number's
// leading zeros must not make the same words differ, and other words must still differ.
import { expect, it } from 'vitest';
import { fingerprintNumbers, fingerprintWords } from '../src/core/fingerprint-words.js';
import { spokenTokens } from '../src/service/contacts.js';

// Chosen so that its French words carry accents (word list entries stored decomposed).
const FINGERPRINTS = ['C8A2E1F0B34D5C6E7F8091A2B3C4D5E6F7089A1B', '0123456789ABCDEF0123456789ABCDEF01234567', 'FFEEDDCCBBAA99887766554433221100FFEEDDCC'];

it('spoken_tokens_forms: composed, decomposed, unaccented and upper-case French words are the same words; numbers with or without leading zeros', () => {
  let accented = 0;
  for (const fingerprint of FINGERPRINTS) {
    const french = fingerprintWords(fingerprint, 'fr').join(' ');
    if (french.normalize('NFC') !== french.normalize('NFD')) accented += 1;
    const reference = spokenTokens(french);
    expect(spokenTokens(french.normalize('NFC'))).toBe(reference);
    expect(spokenTokens(french.normalize('NFD'))).toBe(reference);
    expect(spokenTokens(french.normalize('NFD').replace(/\p{M}/gu, ''))).toBe(reference);
    expect(spokenTokens(`  ${french.toUpperCase().split(' ').join(', ')} `)).toBe(reference);
    const numbers = fingerprintNumbers(fingerprint);
    expect(spokenTokens(numbers.map((n) => String(Number(n))).join(' '))).toBe(spokenTokens(numbers.join(' ')));
    // Another key's words are other words.
    const other = FINGERPRINTS.find((candidate) => candidate !== fingerprint)!;
    expect(spokenTokens(fingerprintWords(other, 'fr').join(' '))).not.toBe(reference);
    expect(spokenTokens(fingerprintNumbers(other).join(' '))).not.toBe(spokenTokens(numbers.join(' ')));
  }
  // The case this guards: at least one list of words with accents was tried.
  expect(accented).toBeGreaterThan(0);
});
