// Files the user names on a command line or types in the interface (a certificate to
// import, a detached signature, a release certificate): read whole through the edges,
// with one error when they cannot be read (file_unreadable, docs/cli.md §6). The faces
// call this instead of reading files themselves (docs/architecture.md §Packages that do I/O).
import { readFileBytes } from '../edges/plain-files.js';
import { CaliopError } from '../errors.js';

/** The bytes of the file at `path`; `what` names it in the error ("the signature file"). */
export async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFileBytes(path));
  } catch (cause) {
    throw new CaliopError('file_unreadable', `could not read ${what} ${path}`, { cause });
  }
}
