// One stick in the station's view: who it is, and where its flashing stands.

import { Box, Text } from 'ink';

import type { StickState } from '../station-state.js';
import { formatBytes, formatSpeed, progressBar } from './format.js';

const STATUS_TEXT: Record<StickState['status'], string> = {
  present: 'already plugged in at start: not written (re-insert it to flash it)',
  refused: 'refused',
  checking: 'checking',
  flashing: 'writing',
  verifying: 'verifying',
  ejecting: 'ejecting',
  finished: 'done: you can remove it',
  failed: 'FAILED: set it aside',
};

function _color(status: StickState['status']): string | undefined {
  if (status === 'finished') return 'green';
  if (status === 'failed' || status === 'refused') return 'red';
  if (status === 'present') return 'gray';
  return 'yellow';
}

export function StickRow({ stick }: { stick: StickState }) {
  const name = [stick.vendor, stick.model].filter((part) => part !== '').join(' ') || 'unknown stick';
  const moving = stick.status === 'flashing' || stick.status === 'verifying';
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{stick.path}</Text> {name}, {formatBytes(stick.sizeBytes)}, serial {stick.serial || '?'}
        {stick.removed ? <Text color="gray"> (removed)</Text> : null}
      </Text>
      <Text color={_color(stick.status)}>
        {'  '}
        {STATUS_TEXT[stick.status]}
        {moving ? ` ${progressBar(stick.bytesDone, stick.totalBytes)} ${formatSpeed(stick.bytesPerSecond)}` : ''}
        {stick.refusal !== undefined ? `: ${stick.refusal.detail}` : ''}
        {stick.error !== undefined ? ` (${stick.error.message})` : ''}
      </Text>
    </Box>
  );
}
