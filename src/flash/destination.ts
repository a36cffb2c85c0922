// A flashing destination says what it can do before it is asked
// (docs/flashing-station.md §Pipeline): is it a block device, how large, is it
// read-only, is it a loop device. Read from stat(2) and sysfs, never guessed.

import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface DestinationCapabilities {
  readonly path: string;
  readonly isBlockDevice: boolean;
  /** "major:minor", '' when not a block device. */
  readonly deviceNumber: string;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  readonly isLoop: boolean;
  readonly canWrite: boolean;
  readonly canRead: boolean;
}

// Linux kdev_t (include/linux/kdev_t.h, new_decode_dev): major is bits 8-19, minor bits 0-7 and 20-31.
export function deviceNumberOf(rdev: number): string {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
  return `${major}:${minor}`;
}

const LOOP_MAJOR = '7';

export async function inspectDestination(path: string): Promise<DestinationCapabilities> {
  const info = await stat(path);
  if (!info.isBlockDevice()) {
    return { path, isBlockDevice: false, deviceNumber: '', sizeBytes: 0, readOnly: false, isLoop: false, canWrite: false, canRead: false };
  }
  const deviceNumber = deviceNumberOf(info.rdev);
  // sysfs-block(5): "size" counts 512-byte sectors whatever the logical block size; "ro" is 0 or 1.
  const sysfs = `/sys/dev/block/${deviceNumber}`;
  const [sectors, readOnlyFlag] = await Promise.all([readFile(`${sysfs}/size`, 'utf8'), readFile(`${sysfs}/ro`, 'utf8')]);
  const sizeBytes = Number(sectors.trim()) * 512;
  const readOnly = readOnlyFlag.trim() === '1';
  return {
    path,
    isBlockDevice: true,
    deviceNumber,
    sizeBytes,
    readOnly,
    isLoop: deviceNumber.split(':')[0] === LOOP_MAJOR,
    canWrite: !readOnly && sizeBytes > 0,
    canRead: sizeBytes > 0,
  };
}

/**
 * Writes back and drops the kernel's buffer cache of a block device
 * (BLKFLSBUF through blockdev(8)), so the next read comes from the device
 * itself, not from the pages the write left in memory.
 */
export async function dropDeviceCache(path: string): Promise<void> {
  await execFileAsync('blockdev', ['--flushbufs', path]);
}

export type EjectOutcome = 'ejected' | 'not_ejected' | 'skipped';

/**
 * Powers a stick off so the volunteer can pull it: udisksctl power-off, else
 * eject(1). Loop devices are left alone (the station never creates them).
 */
export async function ejectDestination(capabilities: DestinationCapabilities): Promise<EjectOutcome> {
  if (capabilities.isLoop) return 'skipped';
  const attempts: Array<[string, string[]]> = [
    ['udisksctl', ['power-off', '--block-device', capabilities.path, '--no-user-interaction']],
    ['eject', [capabilities.path]],
  ];
  for (const [command, args] of attempts) {
    try {
      await execFileAsync(command, args, { timeout: 15_000 });
      return 'ejected';
    } catch {
      // Not installed or refused: try the next way.
    }
  }
  return 'not_ejected';
}
