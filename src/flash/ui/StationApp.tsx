// The live station: the view bound to a running FlashStation.

import type { FlashStation } from '../station.js';
import { StationView } from './StationView.js';
import { useStation } from './use-station.js';

export function StationApp({ station }: { station: FlashStation }) {
  return <StationView state={useStation(station)} />;
}
