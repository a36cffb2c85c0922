// Follows a FlashStation's state in a React component.

import { useEffect, useState } from 'react';

import type { FlashStation } from '../station.js';
import type { StationState } from '../station-state.js';

export function useStation(station: FlashStation): StationState {
  const [state, setState] = useState(station.getState());
  useEffect(() => {
    const onChange = (next: StationState) => setState(next);
    station.on('change', onChange);
    setState(station.getState());
    return () => {
      station.off('change', onChange);
    };
  }, [station]);
  return state;
}
