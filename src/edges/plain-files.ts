// The plain file operations the services need (docs/architecture.md: a service does
// its I/O through edges only): whether a path exists, a folder made, a whole file
// read, a folder listed. Writes that must survive a yank go through atomic-file.ts.

import { existsSync, mkdirSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';

export function pathExists(path: string): boolean {
  return existsSync(path);
}

/** Makes the folder and its parents; nothing if it exists. */
export function ensureFolder(path: string): void {
  mkdirSync(path, { recursive: true });
}

export async function readFileBytes(path: string): Promise<Buffer> {
  return readFile(path);
}

/**
 * A whole file as UTF-8 text when it holds at most maxBytes; undefined when it holds more.
 * Reads at most maxBytes + 1 bytes, whatever the file is (a 4 GiB file, /dev/zero, a pipe
 * that never ends); throws as open and read do (ENOENT, EISDIR).
 */
export async function readTextFileAtMost(path: string, maxBytes: number): Promise<string | undefined> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled > maxBytes ? undefined : buffer.toString('utf8', 0, filled);
  } finally {
    await handle.close();
  }
}

/** The names in a folder; throws as readdir does (ENOENT for a missing folder). */
export async function listFolder(path: string): Promise<string[]> {
  return readdir(path);
}
