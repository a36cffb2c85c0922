// src/edges/inflate-stream.ts: openpgp.js's DecompressionStream for ZIP and ZLIB packets
// (RFC 9580 §5.6). sq's ZIP packets carry bytes after the end of the deflate stream;
// node:zlib then ends its output early, and the stream must end with it (it hung:
// `caliop decrypt` of sq's default output never returned).
import { deflateRawSync, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InflateError, InflateStream, PieceInflater } from '../src/edges/inflate-stream.js';

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
  const writing = (async () => {
    for (const piece of pieces) await writer.write(piece);
    await writer.close();
  })();
  await Promise.all([writing, reading]);
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

  it('a damaged stream: every write is taken (none hangs) and the failure comes at the end of the input', async () => {
    const raw = deflateRawSync(data);
    const damaged = Buffer.from(raw);
    damaged[20] = damaged[20]! ^ 0xff;
    const pieces = [damaged.subarray(0, 40), damaged.subarray(40), Buffer.from('the rest of the input')];
    // As openpgp.js reads it: the MDC after the compressed data is reached only if each write is taken.
    const stream = new InflateStream('deflate-raw');
    const writer = stream.writable.getWriter();
    const reading = stream.readable.getReader().read();
    reading.catch(() => undefined);
    const writes = await Promise.allSettled(pieces.map((piece) => writer.write(piece)));
    expect(writes.map((write) => write.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    await expect(writer.close()).rejects.toThrow(/invalid|incorrect|unexpected/);
    await expect(reading).rejects.toThrow(/invalid|incorrect|unexpected/);
    // The same for ZLIB, and a stream that stops short.
    await expect(inflate('deflate', [deflateSync(data).subarray(0, 30)])).rejects.toThrow(/unexpected end/);
  }, 20_000);
});

describe('PieceInflater (the node:crypto decryption path)', () => {
  async function inflatePieces(format: 'deflate' | 'deflate-raw', pieces: Uint8Array[]): Promise<{ data: Buffer; largest: number }> {
    const inflater = new PieceInflater(format);
    const out: Uint8Array[] = [];
    for (const piece of pieces) for await (const chunk of inflater.inflate(piece)) out.push(new Uint8Array(chunk));
    for await (const chunk of inflater.finish()) out.push(new Uint8Array(chunk));
    return { data: Buffer.concat(out), largest: Math.max(0, ...out.map((chunk) => chunk.length)) };
  }
  const data = Buffer.alloc(3_000_000, 'caliop inflate ');

  it('inflates ZIP and ZLIB in any pieces, its output a bounded piece at a time', async () => {
    const raw = deflateRawSync(data);
    const inPieces: Uint8Array[] = [];
    for (let at = 0; at < raw.length; at += 7) inPieces.push(raw.subarray(at, at + 7));
    expect((await inflatePieces('deflate-raw', inPieces)).data.equals(data)).toBe(true);
    // 3 MB from one piece of a few KiB: given out in pieces of node:zlib's chunk, not whole.
    const zlib = await inflatePieces('deflate', [deflateSync(data)]);
    expect(zlib.data.equals(data)).toBe(true);
    expect(zlib.largest).toBeLessThanOrEqual(256 * 1024);
  });

  it('bytes after the end (sq) are ignored; a stream that stops short or is not deflate throws', async () => {
    const raw = deflateRawSync(data);
    expect((await inflatePieces('deflate-raw', [Buffer.concat([raw, Buffer.from([3, 0, 1, 2])])])).data.equals(data)).toBe(true);
    expect((await inflatePieces('deflate-raw', [raw, Buffer.from([3, 0])])).data.equals(data)).toBe(true);
    await expect(inflatePieces('deflate-raw', [raw.subarray(0, raw.length - 3)])).rejects.toThrow(InflateError);
    await expect(inflatePieces('deflate', [raw])).rejects.toThrow(/the compressed data is damaged/);
  });
});
