// Files the user names on a command line or types in the interface (a certificate to
// import, a detached signature, a release certificate) and what the user pipes to stdin:
// read whole through the edges, each within its ceiling (docs/limits.md §5), with one error
// when they cannot be read (file_unreadable) and one when they are larger (input_too_large,
// docs/cli.md §4). The faces call these instead of reading files themselves
// (docs/architecture.md §Packages that do I/O).
import { inputTooLargeText, WHOLE_INPUT_LIMITS } from '../core/input-limits.js';
import { readAtMostSync, readFileAtMost, readStreamAtMost } from '../edges/plain-files.js';
import { CaliopError } from '../errors.js';

/** The bytes of the file at `path`; `what` names it in the error ("the signature file"). */
export async function readUserFile(path: string, what: string, maxBytes: number = WHOLE_INPUT_LIMITS.namedFileBytes): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFileAtMost(path, maxBytes);
  } catch (cause) {
    throw new CaliopError('file_unreadable', `could not read ${what} ${path}`, { cause });
  }
  if (bytes === undefined) throw new CaliopError('input_too_large', inputTooLargeText(`${what} ${path}`, maxBytes));
  return bytes;
}

/**
 * All of stdin, when it holds at most maxBytes; input_too_large as soon as more arrives (the
 * rest is never read). `what` names it ("the message", "the data").
 */
export async function readStdinWhole(maxBytes: number, what: string): Promise<Uint8Array> {
  const bytes = await readStreamAtMost(process.stdin, maxBytes);
  if (bytes === undefined) throw new CaliopError('input_too_large', inputTooLargeText(`${what} on stdin`, maxBytes));
  return bytes;
}

/**
 * A file or an open descriptor, read synchronously (`caliop sop`'s inputs); undefined when it
 * holds more than maxBytes. Throws as open and read do: the caller names the failure.
 */
export function readInputAtMostSync(source: number | string, maxBytes: number): Uint8Array | undefined {
  return readAtMostSync(source, maxBytes);
}
