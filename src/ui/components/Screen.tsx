// The frame of every screen: a title line, the content, the keys at the bottom.
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';

export function Screen({ title, keys, children, status }: { title: string; keys: string; children: ReactNode; status?: string }) {
  return (
    <Box flexDirection="column" width={80}>
      <Box justifyContent="space-between">
        <Text bold color="blue">
          {title}
        </Text>
        {status ? <Text>{status}</Text> : null}
      </Box>
      <Box flexDirection="column" marginTop={1}>
        {children}
      </Box>
      <Text dimColor>{keys}</Text>
    </Box>
  );
}
