// The plain file operations the services need (docs/architecture.md: a service does
// its I/O through edges only): whether a path exists, a folder made, a whole file
// read, a folder listed. Writes that must survive a yank go through atomic-file.ts.

import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { open, readdir, type FileHandle } from 'node:fs/promises';

export function pathExists(path: string): boolean {
  return existsSync(path);
}

/** Makes the folder and its parents; nothing if it exists. */
export function ensureFolder(path: string): void {
  mkdirSync(path, { recursive: true });
}

/**
 * A whole file as UTF-8 text when it holds at most maxBytes; undefined when it holds more.
 * Reads at most maxBytes + 1 bytes, whatever the file is (a 4 GiB file, /dev/zero, a pipe
 * that never ends); throws as open and read do (ENOENT, EISDIR).
 */
export async function readTextFileAtMost(path: string, maxBytes: number): Promise<string | undefined> {
  const bytes = await readFileAtMost(path, maxBytes);
  return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** The piece a bounded read asks for at a time: memory grows with what arrives, never with the ceiling. */
const BOUNDED_READ_PIECE = 1024 * 1024;

/**
 * A whole file when it holds at most maxBytes; undefined when it holds more. Reads at most
 * maxBytes + 1 bytes, a MiB at a time, whatever the file is (a 4 GiB file, /dev/zero, a pipe
 * or a process substitution that never ends); throws as open and read do (ENOENT, EISDIR).
 */
export async function readFileAtMost(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  const handle = await open(path, 'r');
  try {
    const pieces: Buffer[] = [];
    let total = 0;
    while (total <= maxBytes) {
      const piece = Buffer.allocUnsafe(Math.min(BOUNDED_READ_PIECE, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(piece, 0, piece.length, null);
      if (bytesRead === 0) break;
      pieces.push(piece.subarray(0, bytesRead));
      total += bytesRead;
    }
    return total > maxBytes ? undefined : new Uint8Array(Buffer.concat(pieces, total));
  } finally {
    await handle.close();
  }
}

/**
 * The same from a file descriptor or a path, synchronously (`caliop sop`'s inputs: a named
 * file, @FD:N). A path is opened as open(2) does: a FIFO waits for its writer (a process
 * substitution has one already).
 */
export function readAtMostSync(source: number | string, maxBytes: number): Uint8Array | undefined {
  const fd = typeof source === 'number' ? source : openSync(source, 'r');
  try {
    const pieces: Buffer[] = [];
    let total = 0;
    while (total <= maxBytes) {
      const piece = Buffer.allocUnsafe(Math.min(BOUNDED_READ_PIECE, maxBytes + 1 - total));
      let bytesRead: number;
      try {
        bytesRead = readSync(fd, piece, 0, piece.length, null);
      } catch (error) {
        // A non-blocking descriptor (a pipe left so by its writer) with nothing yet: wait for it.
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw error;
      }
      if (bytesRead === 0) break;
      pieces.push(piece.subarray(0, bytesRead));
      total += bytesRead;
    }
    return total > maxBytes ? undefined : new Uint8Array(Buffer.concat(pieces, total));
  } finally {
    if (typeof source !== 'number') closeSync(fd);
  }
}

/** A readable stream (stdin) whole when it gives at most maxBytes; undefined as soon as it gives more (the rest is not read). */
export async function readStreamAtMost(stream: Readable, maxBytes: number): Promise<Uint8Array | undefined> {
  const pieces: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const piece = chunk as Buffer;
    total += piece.length;
    if (total > maxBytes) {
      stream.destroy();
      return undefined;
    }
    pieces.push(piece);
  }
  return new Uint8Array(Buffer.concat(pieces, total));
}

/** The names in a folder; throws as readdir does (ENOENT for a missing folder). */
export async function listFolder(path: string): Promise<string[]> {
  return readdir(path);
}

/**
 * A file on a stick someone else may have prepared is any kind of file: a FIFO (open would
 * wait for a writer for ever), a device such as /dev/zero (a whole read never ends: 10 GB of
 * memory in a minute), a folder. docs/stick-layout.md §2.1: only a regular file is read; the
 * rest is refused with this error (code ENOTREGULAR), before a byte is read.
 */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREGULAR';
  constructor(readonly path: string) {
    super(`${path} is not a regular file (a folder, a device or a pipe)`);
  }
}

/**
 * docs/stick-layout.md §2.1: a regular file larger than the ceiling its format sets is refused
 * from its size (fstat, on the handle opened) before a byte is read (code ETOOLARGE).
 */
export class FileTooLargeError extends Error {
  readonly code = 'ETOOLARGE';
  constructor(readonly path: string, readonly size: number, readonly ceiling: number) {
    super(`${path} holds ${size} bytes, over the ceiling of ${ceilingText(ceiling)} its format allows`);
  }
}

/** A ceiling as the docs write it: "128 MiB", "64 KiB", or bytes. */
export function ceilingText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/** Opening flags that never wait: a FIFO opens at once (and is then refused as not regular). */
const NEVER_WAIT = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Opens a regular file for reading, with its size; NotRegularFileError for anything else,
 * FileTooLargeError when maxBytes is given and the file holds more.
 */
export async function openRegularFile(path: string, maxBytes = Number.POSITIVE_INFINITY): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(path, NEVER_WAIT);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new NotRegularFileError(path);
    if (stats.size > maxBytes) throw new FileTooLargeError(path, stats.size, maxBytes);
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * The whole of a regular file, the size it had when opened, and at most maxBytes: a larger
 * one is FileTooLargeError before anything is allocated (docs/stick-layout.md §2.1).
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(path, maxBytes);
  try {
    const bytes = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(bytes, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? bytes : bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** readRegularFile, synchronously, as UTF-8 (a small file read before anything else: config.json). */
export function readRegularTextFileSync(path: string, maxBytes: number): string {
  const descriptor = openSync(path, NEVER_WAIT);
  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) throw new NotRegularFileError(path);
    if (stats.size > maxBytes) throw new FileTooLargeError(path, stats.size, maxBytes);
    const bytes = Buffer.alloc(stats.size);
    let filled = 0;
    while (filled < bytes.length) {
      const read = readSync(descriptor, bytes, filled, bytes.length - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    return bytes.toString('utf8', 0, filled);
  } finally {
    closeSync(descriptor);
  }
}
