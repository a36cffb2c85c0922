// Inflating for openpgp.js's streams (RFC 9580 §5.6, Compressed Data; issue 13).
//
// openpgp.js inflates ZIP and ZLIB packets through the global `DecompressionStream`. Node's
// own, measured on 128 MiB that gpg compressed: under Node 20 it does not hold back (peak
// RSS grew with the message: 233 MiB for 128 MiB, 119 MiB for 32 MiB); under Node 26 it
// holds back but took 24 s where this one takes 6.3 s. This one is node:zlib behind a
// TransformStream: a chunk is written to zlib only when the reader has room (the
// TransformStream's backpressure), so memory stays one input chunk's worth of output.
import { createGunzip, createInflate, createInflateRaw, type Inflate } from 'node:zlib';

const INFLATERS: Readonly<Record<string, () => Inflate>> = {
  deflate: createInflate,
  'deflate-raw': createInflateRaw,
  gzip: createGunzip as () => Inflate,
};

export class InflateStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;

  constructor(format: string) {
    const make = INFLATERS[format];
    // A TypeError is what the standard throws for an unknown format (openpgp.js then falls back).
    if (!make) throw new TypeError(`unsupported compression format ${format}`);
    const inflater = make();
    let output!: TransformStreamDefaultController<Uint8Array>;
    // node:zlib ends its output as soon as the compressed stream ends, even with input left
    // after it (sq's ZIP packets carry a few bytes more): what follows is ignored, as the
    // standard DecompressionStream of Node does; waiting for an 'end' already past hung
    // `caliop decrypt` of sq's default messages, and sync with them.
    let ended = false;
    const whenEnded: (() => void)[] = [];
    inflater.on('data', (chunk: Buffer) => output.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    inflater.on('error', (error) => output.error(error));
    inflater.on('end', () => {
      ended = true;
      for (const wake of whenEnded.splice(0)) wake();
    });
    const pair = new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        output = controller;
      },
      transform(chunk) {
        if (ended) return;
        return new Promise((resolve, reject) => {
          whenEnded.push(resolve);
          inflater.write(chunk, (error) => (error ? reject(error) : resolve()));
        });
      },
      flush() {
        if (ended) return;
        return new Promise((resolve, reject) => {
          whenEnded.push(resolve);
          inflater.once('error', reject);
          inflater.end();
        });
      },
    });
    this.readable = pair.readable;
    this.writable = pair.writable;
  }
}

/** Makes openpgp.js inflate through InflateStream (it reads the global at each message). */
export function installInflateStream(): void {
  (globalThis as { DecompressionStream?: unknown }).DecompressionStream = InflateStream;
}
