// Exact byte comparison for large buffers. vitest's toEqual walks a Buffer or Uint8Array one
// element at a time through its generic deep equality: measured 14.8 s of CPU for two 2.6 MB
// buffers (test/store.test.ts, 2026-12-01), which at load 20+ on two shared cores passed the
// 120 s test budget. Buffer.equals compares the same bytes with memcmp.
import { expect } from 'vitest';

function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Fails unless both hold exactly the same bytes; the message names both lengths and the first differing offset. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  const a = view(actual);
  const b = view(expected);
  if (a.equals(b)) return;
  const shorter = Math.min(a.length, b.length);
  let at = 0;
  while (at < shorter && a[at] === b[at]) at++;
  const around = (x: Buffer) => x.subarray(Math.max(0, at - 8), at + 8).toString('hex');
  expect.fail(`${what} differ: ${a.length} bytes, expected ${b.length}; first difference at offset ${at} (got ${around(a)}, expected ${around(b)} from offset ${Math.max(0, at - 8)})`);
}
