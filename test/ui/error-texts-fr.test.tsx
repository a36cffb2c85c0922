// French is a first-class language (issue 16): every row of the error table has its
// French message and hint, in the glossary's words (docs/ui.md §8), and the interface
// draws them whole on an 80-column terminal; the CLI keeps the English texts.
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { Box } from 'ink';
import { CaliopError, COMMAND_LINE_WORDS, ERROR_TABLE, type ErrorCode, type ErrorSpec } from '../../src/errors.js';
import { ErrorNotice, describeError } from '../../src/ui/components/ErrorNotice.js';
import { TextContext } from '../../src/ui/use-text.js';
import { translator } from '../../src/ui/i18n/index.js';

const codes = Object.keys(ERROR_TABLE) as ErrorCode[];

function frenchNotice(error: unknown): string {
  const app = render(
    <TextContext.Provider value={{ language: 'fr', t: translator('fr') }}>
      <Box width={80}>
        <ErrorNotice error={error} />
      </Box>
    </TextContext.Provider>,
  );
  const frame = app.lastFrame() ?? '';
  app.unmount();
  return frame;
}

/** The words of a frame, borders stripped, lines joined: a word cut by the wrap shows as two pieces. */
const frameWords = (frame: string) => new Set(frame.split('\n').map((line) => line.replace(/[│╭╮╰╯─]/g, ' ')).join(' ').split(/\s+/).filter(Boolean));

describe('error hints in the English interface (docs/ui.md §7)', () => {
  it('no row gives the interface a command, a flag or a file to type, in either language', () => {
    for (const code of codes) {
      const row = ERROR_TABLE[code] as ErrorSpec;
      expect(describeError(new CaliopError(code), 'en').hint, code).not.toMatch(COMMAND_LINE_WORDS);
      expect(row.fr.hint, code).not.toMatch(COMMAND_LINE_WORDS);
      // A row carries `ui` only where its CLI hint needs one.
      expect(row.ui === undefined, code).toBe(!COMMAND_LINE_WORDS.test(row.hint));
    }
  });

  it("a CaliopError's own hint is shown when plain, the row's plain hint when it names a command", () => {
    expect(describeError(new CaliopError('stick_not_found', 'the folder /x does not exist', { hint: 'pass --stick DIR (the mounted stick) or set CALIOP_STICK' }), 'en')).toMatchObject({
      message: 'the folder /x does not exist',
      hint: 'check that the stick is plugged in, then give its folder',
    });
    expect(describeError(new CaliopError('file_unreadable', 'cannot read /x', { hint: 'the file is too large to be a contact list' }), 'en').hint).toBe('the file is too large to be a contact list');
    // The CLI keeps its hint (the printer reads the error itself).
    expect(new CaliopError('stick_not_found').hint).toContain('--stick');
  });
});

describe('error table in French', { timeout: 300_000 }, () => {
  it('every code has a French message and hint, not the English ones', () => {
    for (const code of codes) {
      const { fr, message, hint } = ERROR_TABLE[code] as (typeof ERROR_TABLE)[ErrorCode];
      expect(fr?.message?.trim().length ?? 0, code).toBeGreaterThan(5);
      expect(fr?.hint?.trim().length ?? 0, code).toBeGreaterThan(5);
      expect(fr.message, code).not.toBe(message);
      expect(fr.hint, code).not.toBe(hint);
    }
  });

  it('follows the glossary: clé USB for the stick, no "mot de passe", relais not serveur, no CLI flags', () => {
    for (const code of codes) {
      const { fr } = ERROR_TABLE[code];
      for (const text of [fr.message, fr.hint]) {
        expect(text, code).not.toMatch(/mot de passe|serveur|clé Caliop|--[a-z]/i);
        expect(text, code).not.toMatch(/\bstick\b|\bvault\b|\bpassphrase\b/i);
      }
    }
  });

  it('the interface shows each error whole in French on 80 columns, the detail kept under it', () => {
    for (const code of codes) {
      const frame = frenchNotice(new CaliopError(code));
      for (const line of frame.split('\n')) expect([...line].length, `${code}: ${line}`).toBeLessThanOrEqual(80);
      const words = frameWords(frame);
      for (const word of `${ERROR_TABLE[code].fr.message} ${ERROR_TABLE[code].fr.hint}`.split(/\s+/)) expect(words.has(word), `${code}: "${word}" in\n${frame}`).toBe(true);
      expect(frame, code).not.toContain(ERROR_TABLE[code].message);
      expect(frame, code).not.toContain('Détail');
    }
    const detailed = frenchNotice(new CaliopError('file_unreadable', 'cannot read /media/stick/contacts.json'));
    expect(detailed).toContain(ERROR_TABLE.file_unreadable.fr.message);
    expect(detailed).toContain('Détail technique : cannot read /media/stick/contacts.json');
  });

  it('a screen in French shows the French error, in English the English one', () => {
    const error = new CaliopError('relay_unreachable');
    expect(frenchNotice(error)).toMatchInlineSnapshot(`
      "╭──────────────────────────────────────────────────────────────────────────╮
      │ ✗ le relais est injoignable                                              │
      │ Que faire : vérifiez le réseau ; les messages envoyés attendent dans la  │
      │ boîte d’envoi                                                            │
      ╰──────────────────────────────────────────────────────────────────────────╯"
    `);
    expect(describeError(error, 'en')).toEqual({ message: ERROR_TABLE.relay_unreachable.message, hint: ERROR_TABLE.relay_unreachable.ui, code: 'relay_unreachable' });
    expect(describeError(new Error('boom'), 'fr')).toMatchObject({ message: ERROR_TABLE.internal.fr.message, detail: `${ERROR_TABLE.internal.message}: boom` });
  });
});
