// The English and French catalogues of the exposure index (docs/exposure.md §3, §8):
// complete, non-empty, same placeholders in both languages, symbols terminal-safe.

import { describe, expect, it } from 'vitest';
import { LEVELS, LEVEL_SYMBOLS, REASON_CODES, assessReceived } from '../src/core/exposure.js';
import { LANGUAGES, LEVEL_NAMES, LIST_LEVEL_NAMES, LIST_NAME_WIDTH, PARAM_VALUE_TEXTS, REASON_TEXTS, VOUCH_NAMES, exposureLabel, placeholdersOf, reasonLine, renderReasonText } from '../src/core/exposure-text.js';

describe('exposure texts', () => {
  it('name every level in every language, distinctly', () => {
    for (const language of LANGUAGES) {
      for (const level of LEVELS) expect(LEVEL_NAMES[language][level]?.trim().length, `${language} ${level}`).toBeGreaterThan(0);
      expect(new Set(LEVELS.map((level) => LEVEL_NAMES[language][level])).size).toBe(LEVELS.length);
      expect(Object.keys(LEVEL_NAMES[language]).sort()).toEqual([...LEVELS].sort());
    }
  });

  it('have list names (the inbox) of at most LIST_NAME_WIDTH columns, distinct, the full name where it fits', () => {
    for (const language of LANGUAGES) {
      expect(new Set(LEVELS.map((level) => LIST_LEVEL_NAMES[language][level])).size).toBe(LEVELS.length);
      for (const level of LEVELS) {
        const name = LIST_LEVEL_NAMES[language][level];
        expect([...name].length, `${language} ${level}: ${name}`).toBeLessThanOrEqual(LIST_NAME_WIDTH);
        if ([...LEVEL_NAMES[language][level]].length <= LIST_NAME_WIDTH) expect(name).toBe(LEVEL_NAMES[language][level]);
      }
    }
  });

  it('have a sentence for every reason code in every language, and no extra one', () => {
    for (const language of LANGUAGES) {
      expect(Object.keys(REASON_TEXTS[language]).sort(), language).toEqual([...REASON_CODES].sort());
      for (const code of REASON_CODES) {
        const text = REASON_TEXTS[language][code];
        expect(text?.trim().length, `${language} ${code}`).toBeGreaterThan(0);
        expect(text, `${language} ${code} ends a sentence`).toMatch(/[.!]$/);
      }
    }
  });

  it('use the same placeholders in English and French', () => {
    for (const code of REASON_CODES) {
      expect(placeholdersOf(REASON_TEXTS.fr[code]), code).toEqual(placeholdersOf(REASON_TEXTS.en[code]));
    }
  });

  it('translate word-valued params in both languages', () => {
    expect(Object.keys(PARAM_VALUE_TEXTS.fr)).toEqual(Object.keys(PARAM_VALUE_TEXTS.en));
    for (const [name, values] of Object.entries(PARAM_VALUE_TEXTS.en)) {
      expect(Object.keys(PARAM_VALUE_TEXTS.fr[name] ?? {}).sort()).toEqual(Object.keys(values).sort());
    }
    expect(renderReasonText('fr', 'recipient-external-cert', { address: 'a@b.example', source: 'contacts' })).toContain('vos contacts');
    expect(renderReasonText('en', 'hop-tls', { from: 'a', by: 'b' })).toBe('The connection from a to b was encrypted (?, ?).');
  });

  it('uses symbols that are 4 columns, distinct, with a pure-ASCII fallback (never colour alone)', () => {
    const unicode = LEVELS.map((level) => LEVEL_SYMBOLS[level].unicode);
    const ascii = LEVELS.map((level) => LEVEL_SYMBOLS[level].ascii);
    expect(new Set(unicode).size).toBe(LEVELS.length);
    expect(new Set(ascii).size).toBe(LEVELS.length);
    for (const symbol of [...unicode, ...ascii]) expect([...symbol]).toHaveLength(4);
    for (const symbol of ascii) expect(symbol).toMatch(/^[\x21-\x7e]{4}$/);
    // No escape sequences (colour) anywhere in the output.
    const assessment = assessReceived({ stick: { encryptedToMe: false, signature: 'absent', senderKey: 'unknown', headersProtected: false }, relay: null });
    expect(JSON.stringify(assessment)).not.toMatch(/\\u001b|\x1b/);
  });

  it('give every face the same label and reason lines', () => {
    const assessment = assessReceived({ stick: { encryptedToMe: false, signature: 'absent', senderKey: 'unknown', headersProtected: false }, relay: null });
    expect(exposureLabel(assessment, 'en')).toBe('○○○○ Readable on the network');
    expect(exposureLabel(assessment, 'fr', { ascii: true })).toBe('---- Lisible sur le réseau');
    const first = assessment.reasons[0]!;
    expect(reasonLine(first, 'en')).toBe(`${first.text.en} (${VOUCH_NAMES.en[first.vouchedBy]})`);
    for (const language of LANGUAGES) {
      for (const vouch of ['stick', 'relay'] as const) expect(VOUCH_NAMES[language][vouch].length).toBeGreaterThan(0);
    }
  });
});
