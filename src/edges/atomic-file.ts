// Yank-safe replacement of a small file on the stick: write a sibling temporary
// file, fsync it, rename it over the target, fsync the folder. After a yank the
// folder holds the old file or the new one, never a mix (docs/stick-layout.md §1).
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CaliopError } from '../errors.js';
import { randomBytes } from './random.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const folder = dirname(path);
  const temporary = join(folder, `.${basename(path)}.${hex(randomBytes(6))}.tmp`);
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    try {
      const folderHandle = await open(folder, 'r');
      try {
        await folderHandle.sync();
      } finally {
        await folderHandle.close();
      }
    } catch {
      // Some filesystems (FAT on some hosts, Windows) refuse fsync on a folder; the rename stands.
    }
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new CaliopError('stick_write_failed', `could not write ${path}: ${(error as Error).message}`, { cause: error });
  }
}
