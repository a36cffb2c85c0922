// One line of text typed by the user; masked for passphrases (nothing of it is
// drawn, only one dot per character). Enter submits; Esc is left to the screen.
// Keys come one at a time through the KeyQueue (docs/ui.md §5), so text typed
// after Enter or Tab goes to whatever field has the focus by then.
import { Box, Text } from 'ink';
import { useRef } from 'react';
import { useKeys } from '../key-queue.js';
import { useText } from '../use-text.js';

export interface TextFieldProps {
  readonly label: string;
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly onSubmit?: (value: string) => void;
  readonly mask?: boolean;
  readonly focus?: boolean;
  /** Enter adds a new line instead of submitting (the message body). */
  readonly multiline?: boolean;
  /**
   * Multiline only: at most this many rows of the value are drawn, its end (where the typing
   * is), under a line that counts the rows above; so a long body never pushes the screen's
   * title and the exposure off an 80×24 terminal (issue 16).
   */
  readonly maxRows?: number;
}

/** The screen's width less the field's indent: rows are cut here when a value is folded (maxRows). */
const ROW_WIDTH = 78;

/** The value as drawn rows: each line broken at its last space within ROW_WIDTH (a longer word cut); an empty line is a row. */
function rowsOf(value: string): string[] {
  return value.split('\n').flatMap((line) => {
    let rest = [...line];
    if (rest.length === 0) return [''];
    const rows: string[] = [];
    while (rest.length > ROW_WIDTH) {
      const space = rest.lastIndexOf(' ', ROW_WIDTH);
      const cut = space > 0 ? space : ROW_WIDTH;
      rows.push(rest.slice(0, cut).join(''));
      rest = rest.slice(space > 0 ? cut + 1 : cut);
    }
    rows.push(rest.join(''));
    return rows;
  });
}

export function TextField({ label, value, onChange, onSubmit, mask = false, focus = true, multiline = false, maxRows }: TextFieldProps) {
  // The value this field last set, in case the parent has not drawn it yet.
  const latest = useRef(value);
  latest.current = value;
  const change = (next: string) => {
    latest.current = next;
    onChange(next);
  };
  useKeys(
    (input, key) => {
      if (key.return) {
        if (multiline) change(`${latest.current}\n`);
        else onSubmit?.(latest.current);
        return;
      }
      if (key.backspace || key.delete) {
        change([...latest.current].slice(0, -1).join(''));
        return;
      }
      if (key.ctrl || key.meta || key.escape || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
      if (input) change(latest.current + input);
    },
    { isActive: focus, text: true },
  );
  const { t } = useText();
  const shown = mask ? '•'.repeat([...value].length) : value;
  // Folded (maxRows): the last rows, one terminal row each (drawn truncated: nothing wraps again).
  const rows = multiline && maxRows !== undefined ? rowsOf(shown) : [];
  const above = maxRows !== undefined && rows.length > maxRows ? rows.length - maxRows : 0;
  if (above > 0) {
    const visible = rows.slice(above);
    return (
      <Box flexDirection="column">
        <Text bold={focus}>{t('labelOnly', { label })} </Text>
        <Text dimColor>{t('rowsAbove', { count: above })}</Text>
        {visible.map((row, index) => (
          <Text key={index} wrap="truncate">
            {row}
            {focus && index === visible.length - 1 ? <Text inverse> </Text> : null}
          </Text>
        ))}
      </Box>
    );
  }
  return (
    <Box flexDirection={multiline ? 'column' : 'row'}>
      {/* The label keeps its width; a long value (a file path) wraps in the room left beside it. */}
      <Box flexShrink={0}>
        <Text bold={focus}>{t('labelOnly', { label })} </Text>
      </Box>
      <Box flexShrink={1}>
        <Text wrap="wrap">
          {shown}
          {focus ? <Text inverse> </Text> : null}
        </Text>
      </Box>
    </Box>
  );
}
