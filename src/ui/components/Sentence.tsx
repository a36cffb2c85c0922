// A sentence that wraps between its words, with no space carried to the start of a line:
// Ink's own wrap keeps the space at the break (" un ordinateur hors ligne." on a line of its
// own, issue 16). Words are split at spaces; French punctuation that takes a space before it
// (":", ";", "?", "!", "»") stays with the word before, "«" with the word after, as a no-break
// space would keep them. Plain text: one style for the whole sentence.
import { Box, Text } from 'ink';

export function Sentence({ text, color, dimColor, bold }: { text: string; color?: string; dimColor?: boolean; bold?: boolean }) {
  const words: string[] = [];
  let opening = '';
  for (const word of text.split(' ')) {
    if (word === '') continue;
    if (/^[:;?!»]/.test(word) && words.length > 0 && opening === '') words[words.length - 1] += ` ${word}`;
    else if (word === '«') opening = '« ';
    else {
      words.push(opening + word);
      opening = '';
    }
  }
  if (opening !== '') words.push(opening.trim());
  return (
    <Box flexWrap="wrap" columnGap={1}>
      {words.map((word, index) => (
        <Text key={index} {...(color === undefined ? {} : { color })} {...(dimColor ? { dimColor } : {})} {...(bold ? { bold } : {})}>
          {word}
        </Text>
      ))}
    </Box>
  );
}
