// French typography (docs/ui.md §8): a space before ':' ';' '!' '?', in every French text
// the user can see, and no label whose colon is written in the code instead of the catalogue.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { REASON_TEXTS, LEVEL_NAMES, VOUCH_NAMES } from '../../src/core/exposure-text.js';
import { ERROR_TABLE } from '../../src/errors.js';
import { fr } from '../../src/ui/i18n/fr.js';
import { translator } from '../../src/ui/i18n/index.js';
import { TextField } from '../../src/ui/components/TextField.js';
import { KeyQueue } from '../../src/ui/key-queue.js';
import { TextContext } from '../../src/ui/use-text.js';
import { waitForFrame } from './frames.js';

/** A ':' ';' '!' or '?' that ends a word (followed by a space or the end) with no space before it. */
const GLUED = /[^\s\d{(«]([:;!?])(?=\s|$)/u;

function frenchTexts(): [string, string][] {
  const errors = Object.entries(ERROR_TABLE).flatMap(([code, row]) => [
    [`errors.${code}.message`, row.fr.message],
    [`errors.${code}.hint`, row.fr.hint],
  ] as [string, string][]);
  return [
    ...Object.entries(fr).map(([key, text]) => [`ui.${key}`, text] as [string, string]),
    ...errors,
    ...Object.entries(REASON_TEXTS.fr).map(([key, text]) => [`reason.${key}`, text] as [string, string]),
    ...Object.entries(LEVEL_NAMES.fr).map(([key, text]) => [`level.${key}`, text] as [string, string]),
    ...Object.entries(VOUCH_NAMES.fr).map(([key, text]) => [`vouch.${key}`, text] as [string, string]),
  ];
}

describe('French typography', () => {
  it('the rule finds a glued colon and accepts a spaced one (the test can fail)', () => {
    expect(GLUED.test('Objet: bonjour')).toBe(true);
    expect(GLUED.test('Vraiment?')).toBe(true);
    expect(GLUED.test('Objet : bonjour')).toBe(false);
    expect(GLUED.test('https://caliop.test 12:30')).toBe(false);
  });

  it('every French text puts a space before : ; ! ?', () => {
    const glued = frenchTexts().filter(([, text]) => GLUED.test(text)).map(([key, text]) => `${key}: ${text}`);
    expect(glued).toEqual([]);
  });

  it('a label and its value follow each language', () => {
    expect(translator('fr')('labelled', { label: 'De', value: 'alice@caliop.test' })).toBe('De : alice@caliop.test');
    expect(translator('en')('labelled', { label: 'From', value: 'alice@caliop.test' })).toBe('From: alice@caliop.test');
  });

  it('a field of the French interface draws "Objet :"', async () => {
    const app = render(
      <TextContext.Provider value={{ language: 'fr', t: translator('fr') }}>
        <KeyQueue>
          <TextField label="Objet" value="bonjour" onChange={() => undefined} />
          <Text>fin</Text>
        </KeyQueue>
      </TextContext.Provider>,
    );
    const frame = await waitForFrame(app, /fin/, 20_000);
    expect(frame).toContain('Objet : bonjour');
    app.unmount();
  });

  it('no screen writes a label colon itself (it comes from the catalogue)', () => {
    const root = join(import.meta.dirname, '../../src/ui');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => /\.tsx?$/.test(name) && !name.startsWith('i18n'));
    expect(files.length).toBeGreaterThan(10);
    const hardCoded = /\$\{t\([^)]*\)\}:|\{t\([^)]*\)\}:|\{label\}:/u;
    const found = files.filter((name) => hardCoded.test(readFileSync(join(root, name), 'utf8')));
    expect(found).toEqual([]);
  });
});
