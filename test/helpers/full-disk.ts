// Filling a small file system to its last byte, as a stick or a relay disk that ran out
// of space would be. Used by test/hostile/full-disk.test.ts (the relay's data folder)
// and test/hostile/full-stick.test.ts (the stick).
import { closeSync, openSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes still free for the caller (root included: the file systems made for these tests reserve nothing for root). */
export function freeBytes(folder: string): number {
  const stats = statfsSync(folder);
  return Number(stats.bavail) * Number(stats.bsize);
}

/** Appends to `folder/name` until the file system refuses a single byte more. */
export function fillToTheBrim(folder: string, name = 'filler'): void {
  const fd = openSync(join(folder, name), 'a');
  try {
    for (const chunk of [1024 * 1024, 64 * 1024, 4096, 1]) {
      const bytes = Buffer.alloc(chunk, 0x5a);
      for (;;) {
        try {
          writeSync(fd, bytes);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}
