// The relay's one durable write (docs/architecture.md §Durable writes): the relay is a
// separate program from the stick side (which has src/edges/atomic-file.ts) and writes
// its few small files (the DKIM selector, the disclosure key, a day of logs without IPs)
// at start-up or in its daily retention job, synchronously. A crash at any instant leaves
// the old file or the new one, never an empty or half-written one: a disclosure key lost
// that way would be replaced by a new key, and the signed log would no longer verify.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Writes `data` to `path.tmp`, fsyncs it, renames it over `path`, then fsyncs the folder. */
export function writeFileDurablySync(path: string, data: string | Uint8Array, mode = 0o600): void {
  const temp = `${path}.tmp`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const file = openSync(temp, 'w', mode);
  try {
    for (let written = 0; written < bytes.length; ) written += writeSync(file, bytes, written, bytes.length - written);
    fsyncSync(file);
  } catch (cause) {
    closeSync(file);
    rmSync(temp, { force: true });
    throw cause;
  }
  closeSync(file);
  renameSync(temp, path);
  syncFolderSync(dirname(path));
}

/** fsync of a folder, so that a rename in it survives a crash; a no-op where the system cannot. */
function syncFolderSync(folder: string): void {
  if (process.platform === 'win32') return;
  const handle = openSync(folder, 'r');
  try {
    fsyncSync(handle);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP') throw cause;
  } finally {
    closeSync(handle);
  }
}

/**
 * mkdir -p with mode 0700, one folder at a time: Node's `mkdirSync(path, { recursive: true })`
 * never returns for a path under /proc (it retries ENOENT for ever: an audit's `--data /proc/x`
 * hung the relay), where this throws the first folder's own error.
 */
export function makeFolderSync(path: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let folder = resolve(path); ; folder = dirname(folder)) {
    let exists = true;
    try {
      if (!statSync(folder).isDirectory()) throw Object.assign(new Error(`${folder} is not a folder`), { code: 'ENOTDIR' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      exists = false;
    }
    if (exists) break;
    missing.push(folder);
    if (dirname(folder) === folder) break;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // made meanwhile by another process
    }
  }
}
