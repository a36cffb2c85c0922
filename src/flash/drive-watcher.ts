// Tells the station when a stick arrives or leaves (docs/flashing-station.md
// §Insertion). Two sources behind one interface:
// - usb-detection (optional dependency, native, needs libudev): a USB device
//   arrived; the station then asks lsblk at once, and again for a few seconds,
//   until the block device behind it shows up;
// - polling lsblk every second, always on, so a missing or broken
//   usb-detection never stops the station.
// Tests inject drive lists through `listDrives`: no physical insertion can
// happen on the machines that run the tests.

import { EventEmitter } from 'node:events';

import type { CandidateDrive } from './drive-list.js';

export interface DriveWatcherEvents {
  arrived: [drive: CandidateDrive];
  removed: [drive: CandidateDrive];
  error: [error: unknown];
}

export interface DriveWatcher {
  on<E extends keyof DriveWatcherEvents>(event: E, listener: (...args: DriveWatcherEvents[E]) => void): this;
  off<E extends keyof DriveWatcherEvents>(event: E, listener: (...args: DriveWatcherEvents[E]) => void): this;
  /** Starts watching; resolves to the drives already present (never reported as arrivals). */
  start(): Promise<CandidateDrive[]>;
  stop(): Promise<void>;
  /** True when usb-detection loaded and is monitoring. */
  readonly usesUsbDetection: boolean;
}

/** The part of usb-detection the watcher uses. */
export interface UsbMonitor {
  startMonitoring(): void;
  stopMonitoring(): void;
  on(event: 'add' | 'remove', listener: (device: unknown) => void): void;
}

export interface DriveWatcherOptions {
  /** Lists the drives now (src/flash/lsblk.ts detectDrives). */
  readonly listDrives: () => Promise<CandidateDrive[]>;
  readonly pollMilliseconds?: number;
  /** Loads usb-detection; default: a dynamic import, undefined when it is not installed. Pass `async () => undefined` to disable. */
  readonly loadUsbMonitor?: () => Promise<UsbMonitor | undefined>;
}

/** Loads the optional usb-detection addon; undefined when missing or when its native part fails to load. */
export async function loadUsbDetection(): Promise<UsbMonitor | undefined> {
  try {
    const moduleName = 'usb-detection';
    const loaded = (await import(moduleName)) as { default?: UsbMonitor } & Partial<UsbMonitor>;
    const monitor = loaded.default ?? (loaded as UsbMonitor);
    return typeof monitor.startMonitoring === 'function' ? monitor : undefined;
  } catch {
    return undefined;
  }
}

/** A drive's identity across polls: the same path with another serial or size is another stick. */
export function driveKey(drive: CandidateDrive): string {
  return `${drive.path}|${drive.serial}|${drive.sizeBytes}`;
}

class _PollingDriveWatcher extends EventEmitter implements DriveWatcher {
  private known = new Map<string, CandidateDrive>();
  private timer: NodeJS.Timeout | undefined;
  private burstTimers = new Set<NodeJS.Timeout>();
  private polling: Promise<void> | undefined;
  private monitor: UsbMonitor | undefined;
  private stopped = false;

  constructor(private readonly options: DriveWatcherOptions) {
    super();
  }

  get usesUsbDetection(): boolean {
    return this.monitor !== undefined;
  }

  async start(): Promise<CandidateDrive[]> {
    const present = await this.options.listDrives();
    for (const drive of present) if (drive.sizeBytes > 0) this.known.set(driveKey(drive), drive);
    const interval = this.options.pollMilliseconds ?? 1000;
    this.timer = setInterval(() => void this.poll(), interval);
    this.monitor = await (this.options.loadUsbMonitor ?? loadUsbDetection)().catch(() => undefined);
    if (this.monitor !== undefined) {
      try {
        this.monitor.on('add', () => this.pollBurst());
        this.monitor.on('remove', () => void this.poll());
        this.monitor.startMonitoring();
      } catch (error) {
        this.monitor = undefined;
        this.emit('error', error);
      }
    }
    return [...this.known.values()];
  }

  /** A USB arrival: the block device appears a moment later, so look now and over the next seconds. */
  private pollBurst(): void {
    for (const delay of [0, 250, 750, 1500, 3000]) {
      const timer = setTimeout(() => {
        this.burstTimers.delete(timer);
        void this.poll();
      }, delay);
      this.burstTimers.add(timer);
    }
  }

  private poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    // One lsblk at a time; a poll asked meanwhile joins the running one.
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    let drives: CandidateDrive[];
    try {
      drives = await this.options.listDrives();
    } catch (error) {
      this.emit('error', error);
      return;
    }
    if (this.stopped) return;
    const current = new Map(drives.filter((drive) => drive.sizeBytes > 0).map((drive) => [driveKey(drive), drive] as const));
    for (const [key, drive] of this.known) if (!current.has(key)) this.emit('removed', drive);
    for (const [key, drive] of current) if (!this.known.has(key)) this.emit('arrived', drive);
    this.known = current;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const timer of this.burstTimers) clearTimeout(timer);
    this.burstTimers.clear();
    if (this.monitor !== undefined) {
      try {
        this.monitor.stopMonitoring();
      } catch {
        // Already stopped.
      }
    }
    await this.polling;
  }
}

export function createDriveWatcher(options: DriveWatcherOptions): DriveWatcher {
  return new _PollingDriveWatcher(options);
}
