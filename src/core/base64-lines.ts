// Base64 (RFC 4648 §4) written in lines, straight into bytes: MIME's 76-character lines
// joined by CRLF (RFC 2045 §6.8, docs/message-payload.md §2.1) and ASCII armor's lines
// ended by LF (RFC 9580 §6.3, as openpgp.js writes them: 60 characters). One pass over
// the data, no string: a 25 MiB attachment was encoded through a regular expression's
// match into 460,000 strings, then re-encoded to UTF-8 (issue 9, node --cpu-prof of
// `caliop send --attach`); then through node's encoder into one string a piece. Also the CRC24 of the armor's checksum line
// (RFC 9580 §6.1). Pure: bytes in, bytes out.

const ALPHABET = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (char) => char.charCodeAt(0));
const PAD = 0x3d;
/** The two characters of each 12-bit value: the first in the low byte, the second in the high one. */
const PAIRS = Uint16Array.from({ length: 4096 }, (_, value) => ALPHABET[value >>> 6]! | (ALPHABET[value & 63]! << 8));

export interface Base64LineOptions {
  /** Characters per line (a multiple of 4). */
  readonly lineChars: number;
  /** The line end: '\r\n' or '\n'. */
  readonly eol: '\r\n' | '\n';
  /** A line end before the first line (lines joined across calls). */
  readonly leading?: boolean;
  /** A line end after the last line. */
  readonly trailing?: boolean;
}

/**
 * `bytes` as base64 lines of `lineChars` characters (the last one shorter, padded with '='
 * when `bytes` does not fill it), joined by `eol`: the bytes of
 * `(leading ? eol : '') + lines.join(eol) + (trailing ? eol : '')`. Empty input gives only
 * the line ends asked for.
 */
export function base64Lines(bytes: Uint8Array, options: Base64LineOptions): Buffer {
  const { lineChars, eol } = options;
  if (lineChars <= 0 || lineChars % 4 !== 0) throw new RangeError('lineChars must be a positive multiple of 4');
  const eolLength = eol.length;
  const characters = Math.ceil(bytes.length / 3) * 4;
  const lines = Math.ceil(characters / lineChars);
  const ends = Math.max(0, lines - 1) + (options.leading ? 1 : 0) + (options.trailing ? 1 : 0);
  const out = Buffer.allocUnsafe(characters + ends * eolLength);
  let at = 0;
  const lineEnd = () => {
    if (eolLength === 2) out[at++] = 0x0d;
    out[at++] = 0x0a;
  };
  if (options.leading) lineEnd();
  const lineBytes = (lineChars / 4) * 3;
  const whole = bytes.length - (bytes.length % 3);
  // The whole groups, 12 bits at a time through a table of character pairs, line by line
  // (issue 9/13, internal send: node's encoder made a string of the whole piece, written
  // back as latin1 and moved line by line; 7.2 ms a MiB warm, this 1.4, the same bytes).
  const groupsPerLine = lineChars / 4;
  const groups = whole / 3;
  let i = 0;
  for (let group = 0; group < groups; ) {
    if (group > 0) lineEnd();
    for (const stop = Math.min(group + groupsPerLine, groups); group < stop; group++) {
      const value = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      i += 3;
      const high = PAIRS[value >>> 12]!;
      const low = PAIRS[value & 0xfff]!;
      out[at] = high;
      out[at + 1] = high >>> 8;
      out[at + 2] = low;
      out[at + 3] = low >>> 8;
      at += 4;
    }
  }
  const rest = bytes.length - whole;
  if (rest > 0) {
    if (whole > 0 && whole % lineBytes === 0) lineEnd();
    const value = (bytes[whole]! << 16) | (rest === 2 ? bytes[whole + 1]! << 8 : 0);
    out[at] = ALPHABET[value >>> 18]!;
    out[at + 1] = ALPHABET[(value >>> 12) & 63]!;
    out[at + 2] = rest === 2 ? ALPHABET[(value >>> 6) & 63]! : PAD;
    out[at + 3] = PAD;
    at += 4;
  }
  if (options.trailing) lineEnd();
  return out;
}

/**
 * RFC 9580 §6.1: CRC24, generator 0x864CFB, initialised with 0xB704CE; kept shifted into the
 * top 24 bits of 32 (generator 0x864CFB00), so that eight bytes go through at once, one table
 * each (slicing by 8): issue 9/13, the armor's checksum of a 25 MiB send byte at a time was
 * 3.0 ms a MiB, this 0.7 (warm, same process). TABLES[0] is the byte-at-a-time table.
 */
const CRC24_TABLES = (() => {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  const first = tables[0]!;
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x864cfb00 : crc << 1;
    first[byte] = crc;
  }
  for (let t = 1; t < 8; t++) for (let byte = 0; byte < 256; byte++) tables[t]![byte] = (tables[t - 1]![byte]! << 8) ^ first[tables[t - 1]![byte]! >>> 24]!;
  return tables;
})();

/** The armor's checksum (RFC 9580 §6.1), fed as the data goes by. */
export class Crc24 {
  /** The CRC in the top 24 bits. */
  #crc = 0xb704ce << 8;

  update(bytes: Uint8Array): void {
    const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC24_TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
    let crc = this.#crc;
    let i = 0;
    for (const whole = bytes.length - (bytes.length & 7); i < whole; i += 8) {
      const high = crc ^ ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!);
      crc = t7[high >>> 24]! ^ t6[(high >>> 16) & 0xff]! ^ t5[(high >>> 8) & 0xff]! ^ t4[high & 0xff]! ^ t3[bytes[i + 4]!]! ^ t2[bytes[i + 5]!]! ^ t1[bytes[i + 6]!]! ^ t0[bytes[i + 7]!]!;
    }
    for (; i < bytes.length; i++) crc = (crc << 8) ^ t0[((crc >>> 24) ^ bytes[i]!) & 0xff]!;
    this.#crc = crc;
  }

  /** The three bytes of the checksum, most significant first. */
  digest(): Uint8Array {
    const crc = this.#crc >>> 8;
    return Uint8Array.of((crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff);
  }
}
