// Every error as the user must see it: what happened (the CaliopError message) and
// what to do (its hint). Anything else is an internal error, with its table row.
import { Box, Text } from 'ink';
import { CaliopError, ERROR_TABLE } from '../../errors.js';
import { useText } from '../use-text.js';
import { safeForTerminal } from '../../core/terminal-text.js';

export function describeError(error: unknown): { message: string; hint: string; code: string } {
  // Messages may quote a relay or a sender: inert text only (src/core/terminal-text.ts).
  if (error instanceof CaliopError) return { message: safeForTerminal(error.message), hint: safeForTerminal(error.hint), code: error.code };
  const detail = error instanceof Error ? error.message : String(error);
  return { message: safeForTerminal(`${ERROR_TABLE.internal.message}: ${detail}`), hint: ERROR_TABLE.internal.hint, code: 'internal' };
}

export function ErrorNotice({ error }: { error: unknown }) {
  const { t } = useText();
  const { message, hint } = describeError(error);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="red" paddingX={1}>
      <Text bold>✗ {message}</Text>
      <Text>{t('errorWhatToDo', { hint })}</Text>
    </Box>
  );
}
