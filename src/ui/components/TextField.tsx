// One line of text typed by the user; masked for passphrases (nothing of it is
// drawn, only one dot per character). Enter submits; Esc is left to the screen.
import { Box, Text, useInput } from 'ink';
import { useRef } from 'react';

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
  // Keys can arrive faster than React renders: each one builds on the latest value.
  const latest = useRef(value);
  latest.current = value;
  const change = (next: string) => {
    latest.current = next;
    onChange(next);
  };
  useInput(
    (input, key) => {
      if (key.return) {
        if (multiline) change(`${latest.current}\n`);
        else onSubmit?.(latest.current);
        return;
      }
      if (key.backspace || key.delete) {
        change(latest.current.slice(0, -1));
        return;
      }
      if (key.ctrl || key.meta || key.escape || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
      if (!input) return;
      // Typed text and Enter can arrive in one chunk (a fast typist, a paste).
      const [text, ...rest] = input.split(/\r\n?|\n/);
      change(latest.current + text!.replace(/[\x00-\x1f\x7f]/g, ''));
      if (rest.length === 0) return;
      if (multiline) change(`${latest.current}\n${rest.join('\n').replace(/[\x00-\x09\x0b-\x1f\x7f]/g, '')}`);
      else onSubmit?.(latest.current);
    },
    { isActive: focus },
  );
  const shown = mask ? '•'.repeat([...value].length) : value;
  return (
    <Box flexDirection={multiline ? 'column' : 'row'}>
      <Text bold={focus}>{label}: </Text>
      <Text>
        {shown}
        {focus ? <Text inverse> </Text> : null}
      </Text>
    </Box>
  );
}
