// Writing a file so that a yank never leaves it half written (docs/vault-format.md §7):
// a temporary file beside it, fsynced, renamed over it, the folder fsynced; and the
// leftovers of an interrupted write removed.
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CaliopError } from '../errors.js';
import { randomBytes } from './random.js';

const TEMP_MARKER = '.partial-';

function tempPathFor(path: string): string {
  // §7 step 1: in the same folder as the vault (the stick), never in TMPDIR.
  return join(dirname(path), `${basename(path)}${TEMP_MARKER}${Buffer.from(randomBytes(16)).toString('hex')}`);
}

function isTempFileOf(path: string, name: string): boolean {
  const prefix = basename(path) + TEMP_MARKER;
  return name.startsWith(prefix) && /^[0-9a-f]+$/.test(name.slice(prefix.length));
}

/** §7: leftovers of an interrupted write are removed (best effort; a read-only stick keeps them, harmlessly). */
export async function removeLeftoverTempFiles(path: string): Promise<string[]> {
  const folder = dirname(path);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isTempFileOf(path, name)) continue;
    try {
      await unlink(join(folder, name));
      removed.push(name);
    } catch {
      // ignored: a leftover is never read, it only takes space
    }
  }
  return removed;
}

export async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
  } catch (cause) {
    // Windows cannot open a folder; the rename is as durable as that system makes it.
    if (process.platform === 'win32') return;
    throw cause;
  }
  try {
    await handle.sync();
  } catch (cause) {
    // Some file systems do not support fsync on a folder: nothing more we can do.
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw cause;
  } finally {
    await handle.close();
  }
}

/**
 * docs/vault-format.md §7: write bytes to a new file in the same folder, fsync it,
 * rename it over the target, fsync the folder. At every instant the path names either
 * the old complete file or the new complete file. The one atomic write of the stick
 * side (the vault, the store's index and journal, exported key files).
 */
export async function writeFileAtomically(path: string, bytes: Uint8Array, mode = 0o600): Promise<void> {
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
        written += bytesWritten;
      }
      await handle.sync(); // §7 step 2
    } finally {
      await handle.close();
    }
    await renameOver(temp, path); // §7 step 3
    await syncFolder(dirname(path)); // §7 step 4
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    throw new CaliopError('stick_write_failed', `writing ${path} failed: ${(cause as Error).message}`, { cause });
  }
}

/**
 * rename(2), replacing the target. On Windows the replace fails for a moment
 * while another program (an antivirus, an indexer) holds the old vault open:
 * retry briefly before giving up.
 */
async function renameOver(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const transient = process.platform === 'win32' && (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY');
      if (!transient || attempt >= 20) throw cause;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
