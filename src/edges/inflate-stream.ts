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
    // A damaged deflate stream (docs/decisions/streamed-decryption.md): raised at the end of
    // the input, as Node's own DecompressionStream does, not when node:zlib finds it. Raised
    // at once, it reached openpgp.js's packet reader before the MDC was read, and its pipe
    // waited forever: `caliop decrypt` and sync hung on a ZIP message with one byte of its
    // encrypted data changed (test/pgp-stream-fast.test.ts). Until the end, the input left
    // is read and dropped, so the MDC is checked and says what happened.
    let failure: Error | undefined;
    // The write or end in flight: node:zlib destroys itself on a failure without calling it back.
    let inFlight: (() => void) | undefined;
    const settle = () => {
      const wake = inFlight;
      inFlight = undefined;
      wake?.();
    };
    const untilSettled = (start: (done: (error?: Error | null) => void) => void) =>
      new Promise<void>((resolve, reject) => {
        inFlight = resolve;
        start((error) => (error ? reject(error) : settle()));
      });
    inflater.on('data', (chunk: Buffer) => output.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    inflater.on('error', (error) => {
      failure ??= error;
      settle();
    });
    inflater.on('end', () => {
      ended = true;
      settle();
    });
    const pair = new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        output = controller;
      },
      transform(chunk) {
        if (ended || failure) return;
        return untilSettled((done) => inflater.write(chunk, done));
      },
      async flush() {
        if (!ended && !failure) await untilSettled(() => inflater.end());
        if (failure) throw failure;
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

/** What PieceInflater throws when the compressed stream is damaged or stops short. */
export class InflateError extends Error {}

/** Output pieces of node:zlib for PieceInflater (fewer trips to libuv's thread pool). */
const PIECE_CHUNK_BYTES = 256 * 1024;
/** Inflated bytes node:zlib may run ahead of the reader (it pauses past them). */
const PIECE_AHEAD_BYTES = 2 * PIECE_CHUNK_BYTES;

/**
 * ZIP (raw deflate) or ZLIB (RFC 9580 §5.6) inflated for the node:crypto decryption path
 * (docs/decisions/streamed-decryption.md): the caller feeds the packet's body one piece at a
 * time and takes the output one chunk at a time as it comes out of node:zlib, which works on
 * libuv's thread pool and stops PIECE_AHEAD_BYTES ahead of the reader. So memory does not
 * grow with what a piece inflates to (a compression bomb's MiB inflating to a GiB is read
 * a quarter MiB at a time, and the reader may stop at any point). Bytes after the end of
 * the compressed stream (sq writes a few) are ignored, as openpgp.js does; a stream that
 * stops before its end throws at `finish`.
 */
export class PieceInflater {
  private readonly zlib: Inflate;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private paused = false;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(format: 'deflate' | 'deflate-raw') {
    this.zlib = (format === 'deflate' ? createInflate : createInflateRaw)({ chunkSize: PIECE_CHUNK_BYTES });
    this.zlib.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
      if (this.queued >= PIECE_AHEAD_BYTES && !this.paused) {
        this.paused = true;
        this.zlib.pause();
      }
      this.poke();
    });
    this.zlib.on('end', () => {
      this.ended = true;
      this.poke();
    });
    this.zlib.on('error', (error: Error) => {
      this.failure ??= error;
      this.poke();
    });
  }

  /** The output of one more piece of compressed input. */
  async *inflate(piece: Uint8Array): AsyncGenerator<Uint8Array> {
    if (this.ended || piece.length === 0) return;
    let written = false;
    this.zlib.write(piece, () => {
      written = true;
      this.poke();
    });
    yield* this.output(() => written || this.ended);
  }

  /** The output left once the input ended; throws when the compressed stream stopped short. */
  async *finish(): AsyncGenerator<Uint8Array> {
    if (!this.ended) this.zlib.end();
    yield* this.output(() => this.ended);
  }

  /** Stops inflating (the message was left, or failed). */
  close(): void {
    this.zlib.destroy();
  }

  private async *output(done: () => boolean): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.queued -= chunk.length;
        if (this.paused && this.queued < PIECE_AHEAD_BYTES) {
          this.paused = false;
          this.zlib.resume();
        }
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        continue;
      }
      if (this.failure) throw new InflateError(`the compressed data is damaged: ${this.failure.message}`);
      if (done()) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
