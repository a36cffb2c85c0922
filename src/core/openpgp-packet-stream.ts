// OpenPGP packet framing read chunk by chunk (RFC 9580 §4.2): the headers of both formats,
// definite, indeterminate (legacy format) and partial body lengths. Pure: bytes in, events
// out, for the streamed decryption of docs/decisions/streamed-decryption.md.

export type PacketEvent =
  | { readonly kind: 'start'; readonly tag: number }
  /** A view into the pushed chunk: copy it to keep it past the call. */
  | { readonly kind: 'body'; readonly bytes: Uint8Array }
  | { readonly kind: 'end' };

/** What a malformed packet sequence throws (the message is damaged). */
export class PacketFramingError extends Error {}

/**
 * The length in `bytes` (the length octets of an OpenPGP-format header, RFC 9580 §4.2.1):
 * `undefined` while more octets are needed.
 */
function newFormatLength(bytes: readonly number[]): { length: number; partial: boolean } | undefined {
  const first = bytes[0];
  if (first === undefined) return undefined;
  if (first < 192) return { length: first, partial: false };
  if (first < 224) return bytes.length < 2 ? undefined : { length: ((first - 192) << 8) + bytes[1]! + 192, partial: false };
  if (first < 255) return { length: 1 << (first & 0x1f), partial: true };
  if (bytes.length < 5) return undefined;
  return { length: bytes[1]! * 0x1000000 + (bytes[2]! << 16) + (bytes[3]! << 8) + bytes[4]!, partial: false };
}

/** Splits a byte stream into packets; `emit` is called synchronously from push and finish. */
export class PacketSplitter {
  private state: 'header' | 'length' | 'body' = 'header';
  private pending: number[] = [];
  private remaining = 0;
  private partial = false;
  private indeterminate = false;
  private newFormat = false;
  private packets = 0;

  constructor(private readonly emit: (event: PacketEvent) => void) {}

  /** Packets started so far. */
  get started(): number {
    return this.packets;
  }

  push(bytes: Uint8Array): void {
    let index = 0;
    while (index < bytes.length) {
      if (this.state === 'body') {
        if (this.indeterminate) {
          this.emit({ kind: 'body', bytes: bytes.subarray(index) });
          return;
        }
        const take = Math.min(this.remaining, bytes.length - index);
        this.emit({ kind: 'body', bytes: bytes.subarray(index, index + take) });
        index += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endOfPart();
        continue;
      }
      this.pending.push(bytes[index++]!);
      if (this.state === 'header') this.readHeader();
      else this.readPartLength();
    }
  }

  /** The input ended: throws when it ended inside a packet. */
  finish(): void {
    if (this.state === 'body' && this.indeterminate) {
      this.state = 'header';
      this.indeterminate = false;
      this.emit({ kind: 'end' });
      return;
    }
    if (this.state !== 'header' || this.pending.length > 0) throw new PacketFramingError('the message ends inside a packet (truncated)');
  }

  private readHeader(): void {
    const tagByte = this.pending[0]!;
    if ((tagByte & 0x80) === 0) throw new PacketFramingError('not an OpenPGP packet header');
    this.newFormat = (tagByte & 0x40) !== 0;
    let length: number;
    if (this.newFormat) {
      const parsed = newFormatLength(this.pending.slice(1));
      if (parsed === undefined) return;
      this.begin(tagByte & 0x3f);
      length = parsed.length;
      this.partial = parsed.partial;
    } else {
      const type = tagByte & 3;
      const octets = type === 3 ? 0 : 1 << type;
      if (this.pending.length < 1 + octets) return;
      length = 0;
      for (let at = 1; at <= octets; at++) length = length * 256 + this.pending[at]!;
      this.begin((tagByte >> 2) & 0x0f);
      if (type === 3) {
        this.indeterminate = true;
        this.state = 'body';
        return;
      }
      this.partial = false;
    }
    this.pending = [];
    this.startPart(length);
  }

  private readPartLength(): void {
    const parsed = newFormatLength(this.pending);
    if (parsed === undefined) return;
    this.pending = [];
    this.partial = parsed.partial;
    this.startPart(parsed.length);
  }

  private begin(tag: number): void {
    this.packets++;
    this.pending = [];
    this.emit({ kind: 'start', tag });
  }

  private startPart(length: number): void {
    this.remaining = length;
    this.state = 'body';
    if (length === 0) this.endOfPart();
  }

  private endOfPart(): void {
    if (this.partial) {
      this.state = 'length';
      return;
    }
    this.state = 'header';
    this.emit({ kind: 'end' });
  }
}
