// The station's Ink view, tested by frames (ink-testing-library): waiting,
// several sticks in progress, one failed, the session's summary. States are
// built with the station's own reducer, from the events the pipeline emits.

import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';

import type { CandidateDrive } from '../src/flash/drive-list.js';
import type { FlashResult } from '../src/flash/pipeline.js';
import { initialStationState, reduceStation, type StationEvent, type StationState } from '../src/flash/station-state.js';
import { createDriveWatcher } from '../src/flash/drive-watcher.js';
import { FlashStation } from '../src/flash/station.js';
import { StationApp } from '../src/flash/ui/StationApp.js';
import { StationView } from '../src/flash/ui/StationView.js';

const IMAGE = { path: '/srv/caliop/dist/caliop.img', sizeBytes: 256 * 1024 * 1024, sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03' };

function stick(letter: string, serial: string): CandidateDrive {
  return {
    path: `/dev/sd${letter}`, name: `sd${letter}`, deviceNumber: '8:16', type: 'disk', sizeBytes: 16_008_609_792,
    vendor: 'SanDisk', model: 'Cruzer Blade', serial, removable: true, hotplug: true, readOnly: false, transport: 'usb', mountpoints: [],
  };
}

function result(target: string, serial: string, ok: boolean): FlashResult {
  return {
    target, serial, vendor: 'SanDisk', model: 'Cruzer Blade', sizeBytes: 16_008_609_792, result: ok ? 'ok' : 'failed',
    step: ok ? 'finished' : 'flashing',
    ...(ok ? {} : { error: { code: 'flash_failed' as const, exit: 53, message: `writing ${target} failed after 1048576 bytes: EIO: i/o error, write`, hint: 'try another stick' } }),
    bytesWritten: ok ? IMAGE.sizeBytes : 1048576, writeSeconds: 12.5, verifySeconds: 4.2, sha256: ok ? IMAGE.sha256 : '', imageSha256: IMAGE.sha256,
    ejected: 'ejected', startedAt: '2026-11-26T10:00:00.000Z', finishedAt: '2026-11-26T10:00:17.000Z',
  };
}

function stateAfter(events: StationEvent[]): StationState {
  return events.reduce(reduceStation, initialStationState(IMAGE, true));
}

const PROGRESS = (target: string, step: 'flashing' | 'verifying', fraction: number): StationEvent => ({
  type: 'progress', progress: { target, step, bytesDone: Math.round(IMAGE.sizeBytes * fraction), totalBytes: IMAGE.sizeBytes, bytesPerSecond: 21_400_000 },
});

describe('StationView frames', () => {
  it('waiting: the image, how insertion is detected, and the invitation to plug a stick', () => {
    const { lastFrame } = render(<StationView state={stateAfter([])} />);
    const frame = lastFrame() ?? '';
    expect(frame).toContain('Caliop flashing station');
    expect(frame).toContain('Image /srv/caliop/dist/caliop.img (268.4 MB, SHA-256 5891b5b522d5df08…)');
    expect(frame).toContain('Insertion: usb-detection + lsblk every second');
    expect(frame).toContain('Waiting for sticks… plug one in.');
    expect(frame).toContain('0 written and verified, 0 failed, 0 refused');
  });

  it('several sticks in progress: each with its size, vendor, serial, step, bar and speed', () => {
    const { lastFrame } = render(
      <StationView state={stateAfter([
        { type: 'arrived', drive: stick('b', '4C530001230815117293') },
        { type: 'arrived', drive: stick('c', '4C530001230815117294') },
        PROGRESS('/dev/sdb', 'flashing', 0.5),
        PROGRESS('/dev/sdc', 'verifying', 0.25),
      ])} />,
    );
    const frame = lastFrame() ?? '';
    expect(frame).toContain('/dev/sdb SanDisk Cruzer Blade, 16.0 GB, serial 4C530001230815117293');
    expect(frame).toContain('writing [##########----------]  50% 21.4 MB/s');
    expect(frame).toContain('/dev/sdc SanDisk Cruzer Blade, 16.0 GB, serial 4C530001230815117294');
    expect(frame).toContain('verifying [#####---------------]  25% 21.4 MB/s');
    expect(frame).toContain('Writing… plug in more sticks at any time.');
  });

  it('one failed among others: the failed one says why and to set it aside; the others go on', () => {
    const { lastFrame } = render(
      <StationView state={stateAfter([
        { type: 'arrived', drive: stick('b', 'GOOD') },
        { type: 'arrived', drive: stick('c', 'BAD') },
        PROGRESS('/dev/sdb', 'flashing', 0.75),
        { type: 'result', result: result('/dev/sdc', 'BAD', false) },
      ])} />,
    );
    const frame = lastFrame() ?? '';
    expect(frame).toContain('FAILED: set it aside (writing /dev/sdc failed after 1048576 bytes: EIO: i/o error, write)');
    expect(frame).toContain('writing [###############-----]  75%');
    expect(frame).toContain('0 written and verified, 1 failed, 0 refused');
  });

  it('refused and already-present sticks are shown with the reason, never written', () => {
    const mounted: CandidateDrive = { ...stick('d', 'MOUNTED'), mountpoints: ['/media/v/CALIOP'], refusal: { reason: 'mounted', detail: '/dev/sdd is mounted at /media/v/CALIOP; unmount it first' } };
    const { lastFrame } = render(<StationView state={stateAfter([{ type: 'present', drive: stick('e', 'EARLY') }, { type: 'arrived', drive: mounted }])} />);
    const frame = lastFrame() ?? '';
    expect(frame).toContain('already plugged in at start: not written (re-insert it to flash it)');
    expect(frame).toContain('refused: /dev/sdd is mounted at /media/v/CALIOP; unmount it first');
    expect(frame).toContain('0 written and verified, 0 failed, 1 refused');
  });

  it('summary: when the session ends, the totals, and the removed sticks marked', () => {
    const { lastFrame } = render(
      <StationView state={stateAfter([
        { type: 'arrived', drive: stick('b', 'ONE') },
        { type: 'result', result: result('/dev/sdb', 'ONE', true) },
        { type: 'removed', drive: stick('b', 'ONE') },
        { type: 'arrived', drive: stick('b', 'TWO') },
        { type: 'result', result: result('/dev/sdb', 'TWO', true) },
        { type: 'arrived', drive: stick('c', 'THREE') },
        { type: 'result', result: result('/dev/sdc', 'THREE', false) },
        { type: 'stopped' },
      ])} />,
    );
    const frame = lastFrame() ?? '';
    expect(frame).toContain('Session over: 2 written and verified, 1 failed, 0 refused');
    expect(frame).toContain('serial ONE (removed)');
    expect(frame).toMatch(/serial TWO\n\s+done: you can remove it/);
    expect(frame).not.toContain('Waiting for sticks');
  });
});

describe('StationApp follows a running FlashStation', () => {
  it('shows a refused stick as it arrives, then the summary when the session ends', async () => {
    let listed: CandidateDrive[] = [];
    const watcher = createDriveWatcher({ listDrives: async () => listed, pollMilliseconds: 10, loadUsbMonitor: async () => undefined });
    const station = new FlashStation({ image: IMAGE, watcher });
    const { lastFrame, unmount } = render(<StationApp station={station} />);
    await station.start();
    const until = async (text: string) => {
      // Polls the frame (an event) for up to 2 minutes: 1 s was too little on a starved machine.
      for (let tries = 0; tries < 12_000 && !(lastFrame() ?? '').includes(text); tries++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(lastFrame()).toContain(text);
    };
    await until('Insertion: lsblk every second (usb-detection not available)');
    await until('Waiting for sticks');
    // A read-only card arrives: refused, never written (no block device is touched in this test).
    listed = [{ ...stick('g', 'LOCKED'), readOnly: true, refusal: { reason: 'read_only', detail: '/dev/sdg is read-only (write-protect switch?)' } }];
    await until('refused: /dev/sdg is read-only (write-protect switch?)');
    await station.stop();
    await until('Session over: 0 written and verified, 0 failed, 1 refused');
    unmount();
  });
});
