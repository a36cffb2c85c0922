// Every error as the user must see it: what happened (the CaliopError message) and
// what to do (its hint, in plain words: never a command or a flag), in the interface's language. Anything else is an internal
// error, with its table row. The French texts are the table's own (src/errors.ts `fr`):
// a precise detail a CaliopError carries is English free text, so in French it is
// shown under the translated message, never in its place (docs/ui.md §8).
import { Box, Text } from 'ink';
import { CaliopError, COMMAND_LINE_WORDS, ERROR_TABLE, type ErrorCode, type ErrorSpec } from '../../errors.js';
import { useText } from '../use-text.js';
import type { UiLanguage } from '../i18n/index.js';
import { safeForTerminal } from '../../terminal-text.js';

export interface ErrorDescription {
  readonly message: string;
  readonly hint: string;
  readonly code: string;
  /** French only: the English detail the error carried, when it says more than the table row. */
  readonly detail?: string;
}

export function describeError(error: unknown, language: UiLanguage = 'en'): ErrorDescription {
  // Messages may quote a relay or a sender: inert text only (src/terminal-text.ts).
  const code: ErrorCode = error instanceof CaliopError ? error.code : 'internal';
  const row = ERROR_TABLE[code];
  const detail = error instanceof CaliopError ? error.message : `${row.message}: ${error instanceof Error ? error.message : String(error)}`;
  if (language === 'fr') {
    return { message: row.fr.message, hint: row.fr.hint, code, ...(detail === row.message ? {} : { detail: safeForTerminal(detail) }) };
  }
  // docs/ui.md §7: a hint that names commands or flags is the CLI's; the interface gives the row's plain one.
  const given = error instanceof CaliopError ? error.hint : row.hint;
  const hint = COMMAND_LINE_WORDS.test(given) ? ((row as ErrorSpec).ui ?? row.hint) : given;
  return { message: safeForTerminal(detail), hint: safeForTerminal(hint), code };
}

export function ErrorNotice({ error }: { error: unknown }) {
  const { t, language } = useText();
  const { message, hint, detail } = describeError(error, language);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="red" paddingX={1}>
      <Text bold>✗ {message}</Text>
      {detail === undefined ? null : <Text dimColor>{t('errorDetail', { detail })}</Text>}
      <Text>{t('errorWhatToDo', { hint })}</Text>
    </Box>
  );
}
