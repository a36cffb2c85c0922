// The station's totals, shown under the sticks and when it stops.

import { Text } from 'ink';

import type { StationState } from '../station-state.js';

export function StationSummary({ state }: { state: StationState }) {
  const refused = state.sticks.filter((stick) => stick.status === 'refused').length;
  return (
    <Text bold={state.stopped}>
      {state.stopped ? 'Session over: ' : ''}
      <Text color="green">{state.okCount} written and verified</Text>, <Text color={state.failedCount > 0 ? 'red' : undefined}>{state.failedCount} failed</Text>, {refused} refused
    </Text>
  );
}
