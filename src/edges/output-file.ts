// The file a pipe command writes with `--output FILE` (docs/cli.md §2.1): the data goes to
// a temporary file beside the target, which is fsynced and renamed over the target only
// once the whole output is known to be good. A failure (a modified message, a full disk,
// Ctrl-C) leaves the target as it was, never half written. Its writeback begins while it is
// written (writeback.ts), so the commit's fsync waits for the last part only.
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CaliopError } from '../errors.js';
import { syncFolder } from './atomic-file.js';
import { randomBytes } from './random.js';
import { Writeback } from './writeback.js';

/** docs/cli.md §2.1: the temporary file's name, in the target's folder: `.NAME.partial-HEX`. */
export function partialPathFor(path: string, random: (length: number) => Uint8Array = randomBytes): string {
  return join(dirname(path), `.${basename(path)}.partial-${Buffer.from(random(8)).toString('hex')}`);
}

export interface OutputFile {
  /** Appends bytes to the temporary file (awaits the write: memory stays one chunk). */
  write(bytes: Uint8Array): Promise<void>;
  /** fsync, rename over the target, fsync the folder: the target now holds the whole output. */
  commit(): Promise<void>;
  /** Removes the temporary file; the target is untouched. Never throws. */
  abort(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

function unwritable(path: string, cause: unknown): CaliopError {
  return new CaliopError('folder_unwritable', `could not write ${path}: ${(cause as Error).message}`, { cause });
}

/**
 * Opens the temporary file for `path`. An existing target is refused (`file_exists`)
 * unless `replace`. `mode` is the new file's permission (0o600 for plaintext).
 */
export async function createOutputFile(path: string, options: { replace: boolean; mode: number }): Promise<OutputFile> {
  if (!options.replace && (await exists(path))) {
    throw new CaliopError('file_exists', `${path} already exists`, { hint: 'choose another name, or pass --force to replace it' });
  }
  const temp = partialPathFor(path);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', options.mode);
  } catch (cause) {
    throw unwritable(path, cause);
  }
  let done = false;
  const writeback = new Writeback(handle);
  const abort = async (): Promise<void> => {
    if (done) return;
    done = true;
    await writeback.quiet();
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
  };
  return {
    async write(bytes) {
      try {
        let written = 0;
        while (written < bytes.length) written += (await handle!.write(bytes, written, bytes.length - written)).bytesWritten;
        writeback.wrote(written);
      } catch (cause) {
        await abort();
        throw unwritable(path, cause);
      }
    },
    async commit() {
      try {
        await writeback.settle();
        await handle!.sync();
        await handle!.close();
        handle = undefined;
        // Checked again: a file that appeared meanwhile is not replaced behind the user's back.
        if (!options.replace && (await exists(path))) {
          throw new CaliopError('file_exists', `${path} already exists`, { hint: 'choose another name, or pass --force to replace it' });
        }
        await rename(temp, path);
        done = true;
        await syncFolder(dirname(path));
      } catch (cause) {
        await abort();
        throw cause instanceof CaliopError ? cause : unwritable(path, cause);
      }
    },
    abort,
  };
}
