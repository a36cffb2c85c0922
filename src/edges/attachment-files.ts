// docs/message-payload.md §5.2: attachments written into the one folder the user
// named, never elsewhere. Names come already sanitised (src/core/attachment-name.ts).
// An existing file (or a symbolic link planted there) is never followed, and never
// replaced without `force`; a file that could not be written whole is removed.
// No hard links: a FAT stick has none.

import { createReadStream } from 'node:fs';
import { lstat, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CaliopError } from '../errors.js';
import { randomBytes } from './random.js';

/** A file to send is read this many bytes at a time… */
const READ_BYTES = 1024 * 1024;
/** …and given out in pieces of this size. */
const PIECE_BYTES = 64 * 1024;

/** Bytes whole, or a stream of chunks (a blob read from the stick, docs/store.md §5.1). */
export type AttachmentSource = Uint8Array | AsyncIterable<Uint8Array>;

async function writeNew(path: string, source: AttachmentSource): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = source instanceof Uint8Array ? [source] : source;
    for await (const bytes of chunks) {
      let written = 0;
      while (written < bytes.length) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Checks that `folder` is an existing folder before anything is written. */
export async function checkFolder(folder: string): Promise<void> {
  const stats = await stat(folder).catch(() => null);
  if (stats === null || !stats.isDirectory()) {
    throw new CaliopError('folder_unwritable', `${folder} is not an existing folder`, { hint: 'create the folder first, or name another one' });
  }
}

/**
 * Writes `source` as `folder/name`; `name` must be one plain file name. Returns the path
 * written. A stream that fails midway (a blob found truncated or altered) leaves no file.
 */
export async function writeAttachmentFile(folder: string, name: string, source: AttachmentSource, force: boolean): Promise<string> {
  if (name !== basename(name) || name === '' || name === '.' || name === '..') throw new RangeError(`not a plain file name: ${name}`);
  const target = join(folder, name);
  // Without force: O_CREAT|O_EXCL on the final name, which fails on any existing name, a link included.
  // With force: a temporary file in the same folder, renamed over the old one (a link is replaced, never followed).
  const path = force ? join(folder, `.caliop-${Buffer.from(randomBytes(6)).toString('hex')}.part`) : target;
  try {
    await writeNew(path, source);
    if (force) await rename(path, target);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') await unlink(path).catch(() => undefined);
    if (cause instanceof CaliopError) throw cause; // the source failed (a damaged blob: vault_tampered), not the folder
    if (code === 'EEXIST' && !force) throw new CaliopError('file_exists', `${target} already exists; nothing was written over it`, { cause });
    throw new CaliopError('folder_unwritable', `could not write ${target}: ${(cause as Error).message}`, { cause });
  }
  return target;
}

/** The names among `names` already taken in `folder` (checked before writing any, so a refusal writes nothing). */
export async function takenNames(folder: string, names: readonly string[]): Promise<string[]> {
  const taken: string[] = [];
  for (const name of names) if ((await lstat(join(folder, name)).catch(() => null)) !== null) taken.push(name);
  return taken;
}

/**
 * A file the user names to send, to be read as a stream (issue 9): its size now, its bytes
 * at each open(); file_unreadable (22) when it is not a readable regular file, or when it
 * cannot be read to its end later.
 */
export async function fileToSend(path: string): Promise<{ size: number; open: () => AsyncIterable<Uint8Array> }> {
  let size: number;
  try {
    const stats = await stat(path);
    if (!stats.isFile()) throw new Error('not a regular file');
    await (await open(path, 'r')).close();
    size = stats.size;
  } catch (cause) {
    throw new CaliopError('file_unreadable', `cannot read ${path}: ${(cause as Error).message}`, { cause, hint: 'check the path of each --attach FILE' });
  }
  return {
    size,
    async *open() {
      try {
        // Read a MiB at a time (one trip to the thread pool, issue 9), given out in 64 KiB pieces:
        // openpgp.js's streams hold a few pieces each (src/service/pgp-stream.ts).
        for await (const read of createReadStream(path, { highWaterMark: READ_BYTES })) {
          const piece = read as Buffer;
          for (let at = 0; at < piece.length; at += PIECE_BYTES) yield piece.subarray(at, at + PIECE_BYTES);
        }
      } catch (cause) {
        throw new CaliopError('file_unreadable', `cannot read ${path}: ${(cause as Error).message}`, { cause, hint: 'check the path of each --attach FILE' });
      }
    },
  };
}
