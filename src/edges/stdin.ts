// Standard input as bytes for `caliop decrypt` (docs/cli.md §2.1). A file redirected with
// `<` is read a MiB at a time: process.stdin reads 64 KiB, which for 100 MiB is 1,600
// round trips through libuv's thread pool (issue 13, docs/decisions/streamed-decryption.md).
// A pipe or a terminal is read through process.stdin as before.
import { createReadStream, fstatSync } from 'node:fs';

const FILE_READ_BYTES = 1024 * 1024;

export function stdinBytes(): AsyncIterable<Uint8Array> {
  let regularFile = false;
  try {
    regularFile = fstatSync(0).isFile();
  } catch {
    regularFile = false;
  }
  if (!regularFile) return process.stdin;
  return createReadStream('', { fd: 0, highWaterMark: FILE_READ_BYTES, autoClose: false });
}
