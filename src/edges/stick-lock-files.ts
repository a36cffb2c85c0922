// The stick lock's files and this computer's facts (docs/store.md §10). Every operation
// here is one FAT gives through every driver (the kernel's vfat, fusefat, Windows, macOS):
// a new file created exclusively and written in one go, a listing, an unlink. No rename,
// no hard link, no rewrite of an existing file.
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { STICK_LOCK_NAME, type HostFacts } from '../core/stick-lock.js';
import { randomBytes } from './random.js';

/** docs/store.md §10: at most this much of a lock file is ever read. */
const READ_AT_MOST = 4096;

/** A new lock name: `caliop.lock-<16 hex>`. */
export function newLockName(): string {
  return `caliop.lock-${Buffer.from(randomBytes(8)).toString('hex')}`;
}

/** Creates `folder/name` exclusively and writes `bytes` in the one write (docs/store.md §10 step 1). */
export function createLockFile(folder: string, name: string, bytes: Uint8Array): void {
  const path = join(folder, name);
  const fd = openSync(path, 'wx');
  let written = false;
  try {
    writeSync(fd, bytes);
    written = true;
    try {
      fsyncSync(fd);
    } catch {
      // a file system without fsync: the record is still in the file for every process of this computer
    }
  } finally {
    closeSync(fd);
    // A full stick: the file exists, empty; left, it would hold the stick until judged stale.
    if (!written) removeLockFile(folder, name);
  }
}

/** The lock files of the folder (names of the pattern that are regular files). */
export function listLockFiles(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  return names.filter((name) => {
    if (!STICK_LOCK_NAME.test(name)) return false;
    try {
      return lstatSync(join(folder, name)).isFile();
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Up to 4 KiB of a lock file, or undefined when it is gone. */
export function readLockFile(folder: string, name: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(join(folder, name), 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = new Uint8Array(READ_AT_MOST);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, READ_AT_MOST - length, null);
      if (read === 0) break;
      length += read;
      if (length === READ_AT_MOST) break;
    }
    return buffer.subarray(0, length);
  } catch {
    return new Uint8Array(0);
  } finally {
    closeSync(fd);
  }
}

/** Removes a lock file; true when it was there and is gone. Never throws (a read-only stick keeps its litter). */
export function removeLockFile(folder: string, name: string): boolean {
  try {
    unlinkSync(join(folder, name));
    return true;
  } catch {
    return false;
  }
}

/** Makes the folder when missing (`init`, `recover` on an empty stick); true when this call made it. */
export function ensureLockFolder(folder: string): boolean {
  try {
    lstatSync(folder);
    return false;
  } catch {
    mkdirSync(folder, { recursive: true });
    return true;
  }
}

/** Removes the folder if it is empty (what ensureLockFolder made, when nothing else was written). */
export function removeFolderIfEmpty(folder: string): void {
  try {
    rmdirSync(folder);
  } catch {
    // not empty, or gone: kept as it is
  }
}

function readSmallFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Linux: field 22 of /proc/PID/stat, the start time in clock ticks since boot. */
function processStart(pid: number): string | undefined {
  const stat = readSmallFile(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The second field, the command name, is in parentheses and may hold spaces or ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19]; // field 22 overall; `fields` begins at field 3
  return start !== undefined && /^[0-9]{1,20}$/.test(start) ? start : undefined;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // runs, under another user
  }
}

let bootId: string | undefined | null = null;

/** This computer's facts for judging a lock (docs/store.md §10). */
export function hostFacts(): HostFacts {
  if (bootId === null) {
    const text = readSmallFile('/proc/sys/kernel/random/boot_id')?.trim();
    bootId = text !== undefined && /^[0-9a-f-]{1,64}$/.test(text) ? text : undefined;
  }
  return { host: hostname(), bootId, processRuns, processStart };
}
