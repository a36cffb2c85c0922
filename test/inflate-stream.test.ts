// src/edges/inflate-stream.ts: openpgp.js's DecompressionStream for ZIP and ZLIB packets
// (RFC 9580 §5.6). sq's ZIP packets carry bytes after the end of the deflate stream;
// node:zlib then ends its output early, and the stream must end with it (it hung:
// `caliop decrypt` of sq's default output never returned).
import { deflateRawSync, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InflateStream } from '../src/edges/inflate-stream.js';

async function inflate(format: string, pieces: Uint8Array[]): Promise<Buffer> {
  const stream = new InflateStream(format);
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const out: Uint8Array[] = [];
  const reading = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out.push(value);
    }
  })();
  for (const piece of pieces) await writer.write(piece);
  await writer.close();
  await reading;
  return Buffer.concat(out);
}

describe('InflateStream', () => {
  const data = Buffer.alloc(300_000, 'caliop inflate ');
  it('inflates ZIP (deflate-raw) and ZLIB (deflate), in pieces', async () => {
    const raw = deflateRawSync(data);
    expect((await inflate('deflate-raw', [raw.subarray(0, 10), raw.subarray(10)])).equals(data)).toBe(true);
    expect((await inflate('deflate', [deflateSync(data)])).equals(data)).toBe(true);
  });

  it('bytes after the end of the compressed stream (as sq writes them) are ignored, and the stream ends', async () => {
    const raw = Buffer.concat([deflateRawSync(data), Buffer.from([3, 0, 1, 2, 3])]);
    expect((await inflate('deflate-raw', [raw])).equals(data)).toBe(true);
    // ... also when they come in a later piece, after the output ended.
    expect((await inflate('deflate-raw', [deflateRawSync(data), Buffer.from([3, 0])])).equals(data)).toBe(true);
  });
});
