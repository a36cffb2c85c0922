// BZip2 for openpgp.js's streams (RFC 9580 §5.6, Compressed Data, algorithm 3;
// docs/decisions/streamed-decryption.md). openpgp.js decodes BZip2 itself (its bundled
// unbzip2-stream, module-private): a block that fails to decode raises its failure at once and
// stops reading its input, so openpgp.js's packet reader, writing the rest of the packet into
// it, waits forever and the MDC is never read. A damaged, cut BZip2 message read in 64 KiB
// pieces never settled: `caliop decrypt` exited silently, sync waited forever (found by
// scripts/fuzz, docs/fuzzing.md). As src/edges/inflate-stream.ts does for ZIP and ZLIB, the
// failure is raised here at the end of the input: until then the input left is read and
// dropped, so the MDC is checked first and says what happened. Streaming and backpressure are
// kept: the input is read only when the decoder asks for it, until the decoder failed.
import * as openpgp from 'openpgp';

/** The config key that hands a packet's BZip2 output to the PacketList.fromBinary below. */
const HELD = Symbol('caliop bzip2 held failure');

interface Decompressing {
  algorithm: number;
  compressed: unknown;
}
type Decompress = (this: Decompressing, config?: object) => Promise<void>;
type FromBinary = (this: unknown, bytes: unknown, allowedPackets: unknown, config?: object, ...rest: unknown[]) => Promise<unknown>;

/** One packet's compressed input, read for the decoder, then to its end once the decoder failed. */
class HeldFailure {
  readonly input: ReadableStream<Uint8Array>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private inputEnded = false;
  private inputFailure: unknown;
  /** Taken once: by the fromBinary of this packet, not by one nested in it. */
  claimed = false;

  constructor(source: ReadableStream<Uint8Array>) {
    this.reader = source.getReader();
    this.input = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const next = await this.read();
          if (next === undefined) controller.close();
          else controller.enqueue(next);
        },
        cancel: (reason) => this.reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  /** The next piece of input, undefined at its end; rethrows (and keeps) the input's failure. */
  private async read(): Promise<Uint8Array | undefined> {
    if (this.inputEnded) {
      if (this.inputFailure !== undefined) throw this.inputFailure;
      return undefined;
    }
    try {
      const { value, done } = await this.reader.read();
      if (!done) return value;
      this.inputEnded = true;
      return undefined;
    } catch (error) {
      this.inputEnded = true;
      this.inputFailure = error ?? new Error('the compressed data failed');
      throw this.inputFailure;
    }
  }

  /** The decoder's output, whose failure waits for the end of the input (read and dropped). */
  output(decompressed: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = decompressed.getReader();
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (failure) {
            try {
              while ((await this.read()) !== undefined);
            } catch {
              // the input's own failure (the MDC, a cut message) is what is raised
            }
            controller.error(this.inputFailure ?? failure);
            return;
          }
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: async (reason) => {
          // openpgp.js's bzip2 cancels with a method a reader lacks: its failure is not ours.
          await reader.cancel(reason).catch(() => undefined);
          await this.reader.cancel(reason).catch(() => undefined);
        },
      },
      { highWaterMark: 0 },
    );
  }
}

let installed = false;

/** Makes openpgp.js's BZip2 raise a decoding failure at the end of the packet's input. */
export function installBzip2Stream(): void {
  if (installed) return;
  installed = true;
  const prototype = openpgp.CompressedDataPacket.prototype as unknown as { decompress: Decompress };
  const decompress = prototype.decompress;
  prototype.decompress = function (this: Decompressing, config: object = openpgp.config) {
    if (this.algorithm !== openpgp.enums.compression.bzip2 || !(this.compressed instanceof ReadableStream)) return decompress.call(this, config);
    const held = new HeldFailure(this.compressed as ReadableStream<Uint8Array>);
    this.compressed = held.input;
    // openpgp.js hands the decoder's output, with this config, to PacketList.fromBinary.
    return decompress.call(this, { ...config, [HELD]: held });
  };
  const packetList = openpgp.PacketList as unknown as { fromBinary: FromBinary };
  const fromBinary = packetList.fromBinary;
  packetList.fromBinary = function (bytes, allowedPackets, config, ...rest) {
    const held = (config as { [HELD]?: HeldFailure } | undefined)?.[HELD];
    if (held === undefined || held.claimed || !(bytes instanceof ReadableStream)) return fromBinary.call(this, bytes, allowedPackets, config, ...rest);
    held.claimed = true;
    return fromBinary.call(this, held.output(bytes as ReadableStream<Uint8Array>), allowedPackets, config, ...rest);
  };
}
