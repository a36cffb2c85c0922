// The flashing station's state as a pure reducer: drive and pipeline events
// in, what the volunteer sees out. The Ink view and the --json log both read it.

import type { CandidateDrive, Refusal } from './drive-list.js';
import type { FlashError, FlashProgress, FlashResult, FlashStep } from './pipeline.js';

export type StickStatus =
  | 'present' // plugged in before the station started: never written
  | 'refused'
  | FlashStep;

export interface StickState {
  readonly path: string;
  readonly vendor: string;
  readonly model: string;
  readonly serial: string;
  readonly sizeBytes: number;
  readonly status: StickStatus;
  readonly bytesDone: number;
  readonly totalBytes: number;
  readonly bytesPerSecond: number;
  readonly removed: boolean;
  readonly refusal?: Refusal;
  readonly error?: FlashError;
}

export interface StationState {
  readonly imagePath: string;
  readonly imageSizeBytes: number;
  readonly imageSha256: string;
  readonly usesUsbDetection: boolean;
  readonly stopped: boolean;
  /** Newest stick last. */
  readonly sticks: readonly StickState[];
  readonly okCount: number;
  readonly failedCount: number;
}

export type StationEvent =
  | { readonly type: 'present'; readonly drive: CandidateDrive }
  | { readonly type: 'arrived'; readonly drive: CandidateDrive }
  | { readonly type: 'removed'; readonly drive: CandidateDrive }
  | { readonly type: 'progress'; readonly progress: FlashProgress }
  | { readonly type: 'result'; readonly result: FlashResult }
  | { readonly type: 'started'; readonly usesUsbDetection: boolean }
  | { readonly type: 'stopped' };

export function initialStationState(image: { path: string; sizeBytes: number; sha256: string }, usesUsbDetection: boolean): StationState {
  return {
    imagePath: image.path,
    imageSizeBytes: image.sizeBytes,
    imageSha256: image.sha256,
    usesUsbDetection,
    stopped: false,
    sticks: [],
    okCount: 0,
    failedCount: 0,
  };
}

function _stickFrom(drive: CandidateDrive, status: StickStatus, totalBytes: number): StickState {
  return {
    path: drive.path,
    vendor: drive.vendor,
    model: drive.model,
    serial: drive.serial,
    sizeBytes: drive.sizeBytes,
    status,
    bytesDone: 0,
    totalBytes,
    bytesPerSecond: 0,
    removed: false,
    ...(drive.refusal === undefined ? {} : { refusal: drive.refusal }),
  };
}

/** The row of the newest stick at `path` that is not removed, if any. */
function _updateLive(state: StationState, path: string, update: (stick: StickState) => StickState): StationState {
  let index = -1;
  state.sticks.forEach((stick, position) => {
    if (stick.path === path && !stick.removed) index = position;
  });
  if (index < 0) return state;
  const sticks = state.sticks.slice();
  sticks[index] = update(sticks[index] as StickState);
  return { ...state, sticks };
}

/** Whether the station should start writing a stick that just arrived. */
export function isBusy(state: StationState, path: string): boolean {
  return state.sticks.some((stick) => stick.path === path && !stick.removed && ['checking', 'flashing', 'verifying', 'ejecting'].includes(stick.status));
}

export function reduceStation(state: StationState, event: StationEvent): StationState {
  switch (event.type) {
    case 'present':
      return { ...state, sticks: [...state.sticks, _stickFrom(event.drive, 'present', state.imageSizeBytes)] };
    case 'arrived':
      return {
        ...state,
        sticks: [...state.sticks, _stickFrom(event.drive, event.drive.refusal === undefined ? 'checking' : 'refused', state.imageSizeBytes)],
      };
    case 'removed':
      return _updateLive(state, event.drive.path, (stick) => ({ ...stick, removed: true }));
    case 'progress':
      return _updateLive(state, event.progress.target, (stick) => ({
        ...stick,
        status: event.progress.step,
        bytesDone: event.progress.bytesDone,
        totalBytes: event.progress.totalBytes,
        bytesPerSecond: event.progress.bytesPerSecond,
      }));
    case 'result': {
      const { result } = event;
      const next = _updateLive(state, result.target, (stick) => ({
        ...stick,
        status: result.result === 'ok' ? 'finished' : 'failed',
        ...(result.error === undefined ? {} : { error: result.error }),
      }));
      return result.result === 'ok' ? { ...next, okCount: next.okCount + 1 } : { ...next, failedCount: next.failedCount + 1 };
    }
    case 'started':
      return { ...state, usesUsbDetection: event.usesUsbDetection };
    case 'stopped':
      return { ...state, stopped: true };
  }
}
