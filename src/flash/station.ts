// The flashing station's use case (docs/flashing-station.md §At an event):
// waits for sticks, writes the image to each one as it arrives (several at
// once), verifies, ejects and logs it. It never prints: the Ink view and the
// --json face subscribe to its events.

import { EventEmitter } from 'node:events';

import { isShownByStation, type CandidateDrive } from './drive-list.js';
import type { DriveWatcher } from './drive-watcher.js';
import { appendFlashLog, appendFlashLogLine, refusedLogLine } from './flash-log.js';
import { flashTarget, type FlashImage, type FlashOptions, type FlashProgress, type FlashResult } from './pipeline.js';
import { identityOf } from './target-identity.js';
import { initialStationState, isBusy, reduceStation, type StationEvent, type StationState } from './station-state.js';

export interface FlashStationOptions {
  readonly image: FlashImage;
  readonly watcher: DriveWatcher;
  /** Appends one JSON line per stick; undefined: no log file. */
  readonly logPath?: string;
  readonly flashOptions?: Omit<FlashOptions, 'onProgress' | 'onResult'>;
}

export interface FlashStationEvents {
  change: [state: StationState, event: StationEvent];
  result: [result: FlashResult];
  error: [error: unknown];
}

export class FlashStation extends EventEmitter<FlashStationEvents> {
  private state: StationState;
  private readonly running = new Set<Promise<unknown>>();
  /** Serials of the drives present when the station started: never written, even unplugged and plugged again. */
  private readonly presentAtStart = new Set<string>();

  constructor(private readonly options: FlashStationOptions) {
    super();
    this.state = initialStationState(options.image, false);
  }

  getState(): StationState {
    return this.state;
  }

  private dispatch(event: StationEvent): void {
    this.state = reduceStation(this.state, event);
    this.emit('change', this.state, event);
  }

  /** Starts watching. Drives plugged in before this are shown as 'present' and never written. */
  async start(): Promise<void> {
    const { watcher } = this.options;
    watcher.on('arrived', (drive) => this.onArrived(drive));
    watcher.on('removed', (drive) => {
      if (isShownByStation(drive)) this.dispatch({ type: 'removed', drive });
    });
    watcher.on('error', (error) => this.emit('error', error));
    const present = await watcher.start();
    for (const drive of present) if (drive.serial !== '') this.presentAtStart.add(drive.serial);
    this.dispatch({ type: 'started', usesUsbDetection: watcher.usesUsbDetection });
    for (const drive of present) if (isShownByStation(drive)) this.dispatch({ type: 'present', drive });
  }

  private onArrived(arrived: CandidateDrive): void {
    if (!isShownByStation(arrived)) return; // system drives and loop devices are never offered
    if (isBusy(this.state, arrived.path)) return;
    // docs/flashing-station.md §Station policy: never a drive that was present when the station started.
    const drive: CandidateDrive =
      arrived.refusal === undefined && this.presentAtStart.has(arrived.serial)
        ? { ...arrived, refusal: { reason: 'present_at_start', detail: `${arrived.path} (serial ${arrived.serial}) was plugged in when the station started; it is never written` } }
        : arrived;
    this.dispatch({ type: 'arrived', drive });
    if (drive.refusal !== undefined) {
      if (this.options.logPath !== undefined) {
        const job = appendFlashLogLine(this.options.logPath, refusedLogLine(this.options.image, drive, new Date()))
          .catch((error: unknown) => void this.emit('error', error))
          .finally(() => this.running.delete(job));
        this.running.add(job);
      }
      return;
    }
    const job = this.flash(drive).finally(() => this.running.delete(job));
    this.running.add(job);
  }

  private async flash(drive: CandidateDrive): Promise<void> {
    // The identity seen at arrival is what the pipeline proves again before writing (flashOptions.reprove).
    const result = await flashTarget(this.options.image, { ...drive, identity: identityOf(drive, []) }, {
      ...this.options.flashOptions,
      onProgress: (progress: FlashProgress) => this.dispatch({ type: 'progress', progress }),
    });
    if (this.options.logPath !== undefined) {
      await appendFlashLog(this.options.logPath, this.options.image, result).catch((error: unknown) => this.emit('error', error));
    }
    this.dispatch({ type: 'result', result });
    this.emit('result', result);
  }

  /** Resolves when every stick being written is done. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Stops watching, waits for the sticks being written, and returns the final state. */
  async stop(): Promise<StationState> {
    await this.options.watcher.stop();
    await this.idle();
    this.dispatch({ type: 'stopped' });
    return this.state;
  }
}
