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
}

export function TextField({ label, value, onChange, onSubmit, mask = false, focus = true, multiline = false }: TextFieldProps) {
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
