// The drive watcher (docs/flashing-station.md §Insertion). A physical USB
// insertion cannot happen on the test machine: arrivals are injected through
// the drive lister (what lsblk would list) and through a stand-in for the
// usb-detection monitor. The real usb-detection is loaded to prove it builds
// and starts here.

import { EventEmitter } from 'node:events';

import { describe, expect, it } from 'vitest';

import type { CandidateDrive } from '../src/flash/drive-list.js';
import { createDriveWatcher, loadUsbDetection, type UsbMonitor } from '../src/flash/drive-watcher.js';

function stick(path: string, serial: string, sizeBytes = 16_000_000_000): CandidateDrive {
  return {
    path, name: path.slice(5), deviceNumber: '8:16', type: 'disk', sizeBytes, vendor: 'SanDisk', model: 'Cruzer Blade', serial,
    removable: true, hotplug: true, readOnly: false, transport: 'usb', mountpoints: [],
  };
}

function nextEvent(watcher: ReturnType<typeof createDriveWatcher>, event: 'arrived' | 'removed'): Promise<CandidateDrive> {
  return new Promise((resolve) => {
    const listener = (drive: CandidateDrive) => {
      watcher.off(event, listener);
      resolve(drive);
    };
    watcher.on(event, listener);
  });
}

describe('polling lsblk (always on)', () => {
  it('reports drives present at start once, then arrivals and removals as the list changes', async () => {
    let listed = [stick('/dev/sdb', 'A')];
    const watcher = createDriveWatcher({ listDrives: async () => listed, pollMilliseconds: 10, loadUsbMonitor: async () => undefined });
    const arrivals: string[] = [];
    watcher.on('arrived', (drive) => arrivals.push(drive.serial));
    expect((await watcher.start()).map((drive) => drive.serial)).toEqual(['A']);
    expect(watcher.usesUsbDetection).toBe(false);

    const arrived = nextEvent(watcher, 'arrived');
    listed = [stick('/dev/sdb', 'A'), stick('/dev/sdc', 'B')];
    expect((await arrived).serial).toBe('B');

    // The same path with another serial is another stick: one removal, one arrival.
    const removed = nextEvent(watcher, 'removed');
    const replaced = nextEvent(watcher, 'arrived');
    listed = [stick('/dev/sdb', 'A'), stick('/dev/sdc', 'C')];
    expect((await removed).serial).toBe('B');
    expect((await replaced).serial).toBe('C');
    await watcher.stop();
    expect(arrivals).toEqual(['B', 'C']);
  });

  it('ignores card readers without a card (size 0) until a card is in', async () => {
    let listed = [stick('/dev/sdd', 'READER', 0)];
    const watcher = createDriveWatcher({ listDrives: async () => listed, pollMilliseconds: 10, loadUsbMonitor: async () => undefined });
    expect(await watcher.start()).toEqual([]);
    const arrived = nextEvent(watcher, 'arrived');
    listed = [stick('/dev/sdd', 'READER', 31_914_983_424)];
    expect((await arrived).sizeBytes).toBe(31_914_983_424);
    await watcher.stop();
  });

  it('reports a failing lsblk as an error event and keeps polling', async () => {
    let fail = false;
    let listed: CandidateDrive[] = [];
    const watcher = createDriveWatcher({
      listDrives: async () => {
        if (fail) throw new Error('lsblk: exploded');
        return listed;
      },
      pollMilliseconds: 10,
      loadUsbMonitor: async () => undefined,
    });
    await watcher.start();
    const error = new Promise<unknown>((resolve) => watcher.on('error', resolve));
    fail = true;
    expect(String(await error)).toContain('lsblk: exploded');
    const arrived = nextEvent(watcher, 'arrived');
    listed = [stick('/dev/sde', 'AFTER')];
    fail = false;
    expect((await arrived).serial).toBe('AFTER');
    await watcher.stop();
  });
});

describe('usb-detection (optional)', () => {
  it('an "add" from the USB monitor makes the watcher look at lsblk at once, without waiting for the next poll', async () => {
    const monitor = new EventEmitter() as EventEmitter & UsbMonitor;
    let monitoring = false;
    monitor.startMonitoring = () => { monitoring = true; };
    monitor.stopMonitoring = () => { monitoring = false; };
    let listed: CandidateDrive[] = [];
    let lsblkRuns = 0;
    const watcher = createDriveWatcher({
      listDrives: async () => { lsblkRuns += 1; return listed; },
      pollMilliseconds: 60_000, // the poll would come far too late: only the USB event can explain an arrival
      loadUsbMonitor: async () => monitor,
    });
    await watcher.start();
    expect(watcher.usesUsbDetection).toBe(true);
    expect(monitoring).toBe(true);
    const arrived = nextEvent(watcher, 'arrived');
    listed = [stick('/dev/sdb', 'USB-EVENT')];
    monitor.emit('add', { vendorId: 0x0781, productId: 0x5567, serialNumber: 'USB-EVENT', deviceName: 'Cruzer Blade' });
    expect((await arrived).serial).toBe('USB-EVENT');
    expect(lsblkRuns).toBeGreaterThanOrEqual(2);
    await watcher.stop();
    expect(monitoring).toBe(false);
  });

  it('the real usb-detection addon loads and monitors on this machine (no stick can be plugged in here)', async () => {
    const monitor = await loadUsbDetection();
    expect(monitor, 'usb-detection is an optional dependency; it was installed and built with libudev-dev').toBeDefined();
    const watcher = createDriveWatcher({ listDrives: async () => [], pollMilliseconds: 50 });
    await watcher.start();
    expect(watcher.usesUsbDetection).toBe(true);
    await watcher.stop();
  });

  it('falls back to polling alone when usb-detection cannot be loaded', async () => {
    let listed: CandidateDrive[] = [];
    const watcher = createDriveWatcher({ listDrives: async () => listed, pollMilliseconds: 10, loadUsbMonitor: async () => { throw new Error('no libudev'); } });
    await watcher.start();
    const arrived = nextEvent(watcher, 'arrived');
    listed = [stick('/dev/sdb', 'POLLED')];
    expect((await arrived).serial).toBe('POLLED');
    expect(watcher.usesUsbDetection).toBe(false);
    await watcher.stop();
  });
});
