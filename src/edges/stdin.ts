// Standard input as bytes for `caliop decrypt` (docs/cli.md §2.1). A file redirected with
// `<` is read a MiB at a time: process.stdin reads 64 KiB, which for 100 MiB is 1,600
// round trips through libuv's thread pool (issue 13, docs/decisions/streamed-decryption.md).
// A pipe or a terminal is read through process.stdin as before.
import { fstatSync, read } from 'node:fs';

const FILE_READ_BYTES = 1024 * 1024;

/**
 * Standard input's bytes. A regular file is read into one buffer used again: each piece is
 * a view valid until the next is asked for (a fresh MiB per read cost more in page faults
 * than reading it: issue 13, 100 MiB); a consumer that keeps a piece copies it.
 */
export function stdinBytes(): AsyncIterable<Uint8Array> {
  let regularFile = false;
  try {
    regularFile = fstatSync(0).isFile();
  } catch {
    regularFile = false;
  }
  if (!regularFile) return process.stdin;
  return fileBytes(0);
}

async function* fileBytes(fd: number): AsyncGenerator<Uint8Array> {
  const buffer = Buffer.allocUnsafe(FILE_READ_BYTES);
  for (;;) {
    const length = await new Promise<number>((resolve, reject) => read(fd, buffer, 0, buffer.length, null, (error, bytes) => (error ? reject(error) : resolve(bytes))));
    if (length === 0) return;
    yield buffer.subarray(0, length);
  }
}
