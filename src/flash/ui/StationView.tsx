// The flashing station's screen: the image, every stick seen this session, the totals.

import { Box, Text } from 'ink';

import type { StationState } from '../station-state.js';
import { formatBytes } from './format.js';
import { StationSummary } from './StationSummary.js';
import { StickRow } from './StickRow.js';

export function StationView({ state }: { state: StationState }) {
  const active = state.sticks.some((stick) => ['checking', 'flashing', 'verifying', 'ejecting'].includes(stick.status));
  return (
    <Box flexDirection="column">
      <Text bold>Caliop flashing station</Text>
      <Text>
        Image {state.imagePath} ({formatBytes(state.imageSizeBytes)}, SHA-256 {state.imageSha256.slice(0, 16)}…)
      </Text>
      <Text color="gray">
        Insertion: {state.usesUsbDetection ? 'usb-detection + lsblk every second' : 'lsblk every second (usb-detection not available)'}
      </Text>
      <Box flexDirection="column" marginTop={1}>
        {state.sticks.map((stick, index) => (
          <StickRow key={`${stick.path}-${index}`} stick={stick} />
        ))}
      </Box>
      {!state.stopped ? (
        <Text color="cyan">{active ? 'Writing… plug in more sticks at any time.' : 'Waiting for sticks… plug one in. (Ctrl-C to end the session)'}</Text>
      ) : null}
      <StationSummary state={state} />
    </Box>
  );
}
