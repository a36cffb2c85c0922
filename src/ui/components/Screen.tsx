// The frame of every screen: a title line, the content, the keys at the bottom.
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';

const WIDTH = 80;

/**
 * The keys, "A · B · C": a line too long for the screen breaks between two keys, never inside
 * one ("Échap : retour" stays whole) and with no space at the start of the next line.
 */
function KeysLine({ keys }: { keys: string }) {
  const items = keys.split(' · ');
  return (
    <Box flexWrap="wrap" columnGap={1}>
      {items.map((item, index) => (
        <Text key={index} dimColor>
          {index < items.length - 1 ? `${item} ·` : item}
        </Text>
      ))}
    </Box>
  );
}

/** A title and a status share the first line when both fit on it; else the status goes on its own line (never wrapped). */
export function Screen({ title, keys, children, status }: { title: string; keys: string; children: ReactNode; status?: string }) {
  const together = status === undefined || [...title].length + 2 + [...status].length <= WIDTH;
  return (
    <Box flexDirection="column" width={WIDTH}>
      <Box justifyContent="space-between">
        <Text bold color="blue" wrap="truncate">
          {title}
        </Text>
        {status && together ? <Text>{status}</Text> : null}
      </Box>
      {status && !together ? <Text wrap="truncate">{status}</Text> : null}
      <Box flexDirection="column" marginTop={1}>
        {children}
      </Box>
      <KeysLine keys={keys} />
    </Box>
  );
}
