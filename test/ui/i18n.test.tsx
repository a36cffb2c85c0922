// Both catalogues say everything: the same keys, no empty text, the same {params}.
import { describe, expect, it } from 'vitest';
import { en } from '../../src/ui/i18n/en.js';
import { fr } from '../../src/ui/i18n/fr.js';
import { sealedReasonText, translator } from '../../src/ui/i18n/index.js';
import { OVER_LIMIT_REASONS, overLimitText, type OverLimitReason } from '../../src/core/message-limits.js';

const params = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('UI catalogues', () => {
  it('have exactly the same keys', () => {
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
  });
  it('have no empty string', () => {
    for (const [key, text] of [...Object.entries(en), ...Object.entries(fr)]) expect(text.trim(), key).not.toBe('');
  });
  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) expect(params(fr[key]), key).toEqual(params(en[key]));
  });
});

// docs/limits.md §3: a sealed message's reason in the inbox, in words, in both languages.
describe('why a message stays sealed', () => {
  const reasons: readonly OverLimitReason[] = OVER_LIMIT_REASONS;
  it('in English, the words the CLI gives (overLimitText)', () => {
    for (const reason of reasons) expect(sealedReasonText(translator('en'), reason), reason).toBe(overLimitText(reason));
  });
  it('in French, with the limit in it', () => {
    expect(sealedReasonText(translator('fr'), 'too-many-parts')).toBe('il a plus de 10000 parties MIME');
    expect(sealedReasonText(translator('fr'), 'headers-too-large')).toBe('ses en-têtes dépassent 1 Mio');
  });
});

describe('UI catalogues on an 80-column terminal', () => {
  it('every line of keys fits on one line', () => {
    for (const catalogue of [en, fr]) {
      for (const [key, text] of Object.entries(catalogue)) if (key.endsWith('Keys')) expect([...text].length, `${key}: ${text}`).toBeLessThanOrEqual(80);
    }
  });
});
