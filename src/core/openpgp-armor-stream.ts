// ASCII armor read chunk by chunk (RFC 9580 §6), for the streamed decryption of
// docs/decisions/streamed-decryption.md: the BEGIN line, the armor headers, the blank
// line, the base64 data (RFC 4648 §4) in lines of at most 76 characters (§6.3), the
// optional CRC24 line and the END line. Pure: bytes in, bytes out; memory is one input
// chunk's worth whatever the input (no line is held past MAX_LINE bytes).
//
// The CRC24 line's form is checked, its value is not: RFC 9580 §6.1 says an
// implementation MUST NOT reject an OpenPGP object whose CRC24 disagrees (openpgp.js 6
// does not compute it either); the message's integrity is the MDC's (§5.13.1), checked
// after decryption whatever the armor said.
import { CaliopError } from '../errors.js';
import { base64Lines, Crc24 } from './base64-lines.js';
import { PacketSplitter } from './openpgp-packet-stream.js';

/** RFC 9580 §6.3: lines of base64 data carry at most 76 characters. */
export const MAX_BASE64_LINE = 76;
/** Any armor line (header lines, trailing whitespace included) is refused past this. */
export const MAX_ARMOR_LINE = 1024;
/** RFC 9580 §6.2: the armor headers together (Version, Comment, Hash, Charset, MessageID). */
const MAX_HEADER_BYTES = 16 * 1024;
/** Base64 text decoded per call in the common case (below V8's large-object size). */
const DECODE_PIECE = 64 * 1024;

const BEGIN = '-----BEGIN PGP MESSAGE-----';
const END = '-----END PGP MESSAGE-----';
const LF = 0x0a;
const CR = 0x0d;
const DATA_LINE = /^[A-Za-z0-9+/]*={0,2}$/;
const CHECKSUM_LINE = /^=[A-Za-z0-9+/]{4}$/;
/** RFC 9580 §6.2: "Key: Value" (the value may be empty once trailing whitespace is removed). */
const HEADER_LINE = /^[!-9;-~]+:( .*)?$/;
const TRAILING_SPACE = /[ \t\r]+$/;

const HINT = 'the armored message was damaged on its way (a mail program or an editor may have re-wrapped or cut it); ask the sender to send it again';

/** Whether the bytes are all blank (space, tab, CR, LF): what may stand around the armor. */
function blank(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== CR && byte !== LF) return false;
  return true;
}

type State = 'begin' | 'headers' | 'data' | 'padded' | 'checksum' | 'end';

/** Removes the armor of one OpenPGP message, a chunk at a time; throws bad_input on anything malformed. */
export class Dearmor {
  private state: State = 'begin';
  /** The start of a line cut by the end of a chunk (at most MAX_ARMOR_LINE bytes). */
  private partial: Uint8Array[] = [];
  private partialBytes = 0;
  private line = 0;
  private headerBytes = 0;
  /** Base64 characters not yet decoded (0 to 3: decoding goes by groups of 4). */
  private carry = '';
  /** The length and line-end size (1 for LF, 2 for CRLF) of the data lines, once a first one is seen. */
  private dataLine = 0;
  private lineEnd = 1;
  private out: Buffer = Buffer.alloc(0);
  private outAt = 0;

  private get ended(): boolean {
    return this.state === 'end';
  }

  private fail(what: string): never {
    throw new CaliopError('bad_input', `the armor of the message is damaged: ${what} (line ${this.line})`, { hint: HINT });
  }

  /** The binary bytes of `chunk` (a view valid until the next call). */
  push(chunk: Uint8Array): Uint8Array {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // One output buffer used again (the view given out is valid until the next call): a
    // fresh one per MiB cost more in page faults than the decoding.
    const room = Math.ceil(((bytes.length + this.partialBytes + this.carry.length) * 3) / 4) + 3;
    if (this.out.length < room) this.out = Buffer.allocUnsafe(room);
    this.outAt = 0;
    let at = 0;
    if (this.state === 'end') {
      if (!blank(bytes)) this.fail('text after the END line');
      return this.out.subarray(0, 0);
    }
    if (this.partialBytes > 0) {
      const newline = bytes.indexOf(LF);
      if (newline < 0) {
        this.keepPartial(bytes);
        return this.out.subarray(0, 0);
      }
      this.keepPartial(bytes.subarray(0, newline));
      const whole = Buffer.concat(this.partial, this.partialBytes);
      this.partial = [];
      this.partialBytes = 0;
      this.onLine(whole);
      at = newline + 1;
    }
    while (at < bytes.length) {
      if (this.ended) {
        if (!blank(bytes.subarray(at))) this.fail('text after the END line');
        break;
      }
      if (this.state === 'data' && this.dataLine > 0 && this.carry.length === 0) {
        at = this.regularLines(bytes, at);
        if (at >= bytes.length) break;
      }
      const newline = bytes.indexOf(LF, at);
      if (newline < 0) {
        this.keepPartial(bytes.subarray(at));
        break;
      }
      if (newline - at > MAX_ARMOR_LINE) {
        this.line++;
        this.fail(`a line longer than ${MAX_ARMOR_LINE} bytes`);
      }
      this.onLine(bytes.subarray(at, newline));
      at = newline + 1;
    }
    return this.out.subarray(0, this.outAt);
  }

  /** The input ended: the last bytes, or bad_input when the armor is not whole. */
  finish(): Uint8Array {
    if (this.out.length < this.partialBytes + 3) this.out = Buffer.allocUnsafe(this.partialBytes + 3);
    this.outAt = 0;
    if (this.partialBytes > 0) {
      const whole = Buffer.concat(this.partial, this.partialBytes);
      this.partial = [];
      this.partialBytes = 0;
      if (this.state === 'end' || !blank(whole)) this.onLine(whole);
    }
    if (this.state !== 'end') {
      if (this.state === 'begin') throw new CaliopError('bad_input', 'the input has no "-----BEGIN PGP MESSAGE-----" line', { hint: HINT });
      this.fail(`the message ends before its "${END}" line (cut off)`);
    }
    return this.out.subarray(0, this.outAt);
  }

  private keepPartial(bytes: Uint8Array): void {
    this.partialBytes += bytes.length;
    if (this.partialBytes > MAX_ARMOR_LINE) {
      this.line++;
      this.fail(`a line longer than ${MAX_ARMOR_LINE} bytes`);
    }
    this.partial.push(new Uint8Array(bytes));
  }

  /**
   * The common case, decoded without looking at each line: data lines all of the length
   * of the first one (a multiple of 4), each followed by the same line end. Node's
   * decoder skips what is not base64 (and stops at '='): a decoded length short of
   * 3/4 of the characters means a line was not pure base64, and those lines are then read
   * one by one (which names the fault); so are lines holding '=', '-' or '_'.
   */
  private regularLines(bytes: Buffer, at: number): number {
    const length = this.dataLine;
    const step = length + this.lineEnd;
    let end = at;
    if (this.lineEnd === 1) {
      while (end + step <= bytes.length && bytes[end + length] === LF) end += step;
    } else {
      while (end + step <= bytes.length && bytes[end + length + 1] === LF && bytes[end + length] === CR) end += step;
    }
    if (end === at) return at;
    const lines = (end - at) / step;
    const run = bytes.subarray(at, end);
    if (run.indexOf(0x3d) < 0 && run.indexOf(0x2d) < 0 && run.indexOf(0x5f) < 0) {
      // Decoded a few KiB at a time: a string past V8's regular object size (128 KiB) is
      // given fresh pages of its own each time, and their page faults cost more than the decoding.
      const perPiece = Math.max(1, Math.floor(DECODE_PIECE / step)) * step;
      let written = 0;
      for (let piece = at; piece < end; piece += perPiece) {
        written += this.out.write(bytes.toString('latin1', piece, Math.min(end, piece + perPiece)), this.outAt + written, 'base64');
      }
      if (written === (lines * length * 3) / 4) {
        this.outAt += written;
        this.line += lines;
        return end;
      }
    }
    // bytes[end - 1] is a line end: the real lines of the run (a "line" of the run's length
    // may hold several short ones: the last data line, the checksum, the END line).
    for (let line = at; line < end; ) {
      const newline = bytes.indexOf(LF, line);
      this.onLine(bytes.subarray(line, newline));
      line = newline + 1;
    }
    return end;
  }

  private onLine(raw: Uint8Array): void {
    this.line++;
    if (raw.length > MAX_ARMOR_LINE) this.fail(`a line longer than ${MAX_ARMOR_LINE} bytes`);
    const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1').replace(TRAILING_SPACE, '');
    switch (this.state) {
      case 'begin': {
        const begin = text.trimStart();
        if (begin === '') return;
        if (begin !== BEGIN) {
          const type = /^-----BEGIN PGP (.{1,60})-----$/.exec(begin)?.[1];
          throw new CaliopError('bad_input', type === undefined ? 'the input is not an OpenPGP message' : `the input is not an OpenPGP message but armored "PGP ${type}"`, { hint: HINT });
        }
        this.state = 'headers';
        return;
      }
      case 'headers':
        if (text === '') {
          this.state = 'data';
          return;
        }
        this.headerBytes += raw.length;
        if (this.headerBytes > MAX_HEADER_BYTES) this.fail(`armor headers longer than ${MAX_HEADER_BYTES} bytes`);
        // RFC 9580 §6.2: a blank line MUST follow the headers; base64 here means it is missing.
        if (!HEADER_LINE.test(text)) this.fail('an armor header that is not "Key: Value" (or the blank line after the headers is missing)');
        return;
      case 'checksum':
        if (text === END) return this.end();
        if (text === '') return;
        return this.fail(`"${END}" expected after the checksum`);
      case 'end':
        if (text === '') return;
        return this.fail('text after the END line');
      default:
        return this.dataLineRead(text, raw);
    }
  }

  private dataLineRead(text: string, raw: Uint8Array): void {
    if (text === '') return;
    if (text === END) return this.end();
    if (text.startsWith('-')) this.fail(`"${END}" expected`);
    if (CHECKSUM_LINE.test(text)) {
      // RFC 9580 §6.1: its value is not checked (see the top of this file).
      this.flushCarry();
      this.state = 'checksum';
      return;
    }
    if (this.state === 'padded') this.fail('base64 data after its padding');
    if (text.length > MAX_BASE64_LINE) this.fail(`a base64 line longer than ${MAX_BASE64_LINE} characters (RFC 9580 §6.3)`);
    if (!DATA_LINE.test(text)) this.fail('a character outside the base64 alphabet');
    if (this.dataLine === 0 && this.carry.length === 0 && text.length % 4 === 0 && !text.includes('=')) {
      const ending = raw.length - text.length;
      if (ending === 0 || (ending === 1 && raw[raw.length - 1] === CR)) {
        this.dataLine = text.length;
        this.lineEnd = ending + 1;
      }
    }
    const group = this.carry + text;
    const padding = group.length - group.replace(/=+$/, '').length;
    if (padding > 0) {
      if (group.length % 4 !== 0) this.fail('base64 padding in the middle of a group');
      this.state = 'padded';
    }
    const whole = group.length - (group.length % 4);
    this.carry = group.slice(whole);
    if (whole === 0) return;
    const written = this.out.write(group.slice(0, whole), this.outAt, 'base64');
    if (written !== (whole / 4) * 3 - padding) this.fail('base64 padding in the middle of the data');
    this.outAt += written;
  }

  /** The data ended without padding: 2 or 3 characters left are 1 or 2 bytes (RFC 4648 §4); 1 is not base64. */
  private flushCarry(): void {
    if (this.carry.length === 0) return;
    if (this.carry.length === 1) this.fail('the base64 data ends in the middle of a byte');
    const written = this.out.write(this.carry, this.outAt, 'base64');
    if (written !== this.carry.length - 1) this.fail('a character outside the base64 alphabet');
    this.outAt += written;
    this.carry = '';
  }

  private end(): void {
    this.flushCarry();
    this.state = 'end';
  }
}

/**
 * The binary message inside an armored one, chunk by chunk; bad_input when the armor is
 * damaged. Each piece is a view valid until the next is asked for (copy it to keep it).
 */
export async function* dearmored(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const armor = new Dearmor();
  for await (const chunk of source) {
    const bytes = armor.push(chunk);
    if (bytes.length > 0) yield bytes;
  }
  const last = armor.finish();
  if (last.length > 0) yield last;
}

/** As openpgp.js writes armor: 60 base64 characters (45 bytes) a line, LF line ends. */
const ARMOR_LINE_BYTES = 45;

/**
 * An OpenPGP message (binary, chunk by chunk) armored as openpgp.js 6 armors it, byte for
 * byte: `-----BEGIN PGP MESSAGE-----`, no armor header, a blank line, base64 lines of 60
 * characters ended by LF, the CRC24 line (RFC 9580 §6.1) unless the message ends in a
 * version 2 SEIPD packet (§6.1: it MUST NOT then), and the END line. openpgp.js's own
 * armoring cost most of a large send (a string per line, copies of every chunk: issue 9,
 * node --cpu-prof); this writes each chunk's lines in one pass (src/core/base64-lines.ts).
 */
export class ArmorWriter {
  #carry: Uint8Array = new Uint8Array(0);
  #crc = new Crc24();
  #begun = false;
  /** The last top-level packet: its tag, and the first byte of its body (a SEIPD's version). */
  #lastTag = -1;
  #lastVersion = -1;
  #awaitVersion = false;
  readonly #packets = new PacketSplitter((event) => {
    if (event.kind === 'start') {
      this.#lastTag = event.tag;
      this.#lastVersion = -1;
      this.#awaitVersion = true;
    } else if (event.kind === 'body' && this.#awaitVersion && event.bytes.length > 0) {
      this.#lastVersion = event.bytes[0]!;
      this.#awaitVersion = false;
    }
  });

  /** The armored bytes for `chunk` (whole lines only; the rest waits). */
  push(chunk: Uint8Array): Uint8Array {
    this.#packets.push(chunk);
    this.#crc.update(chunk);
    const head = this.#begun ? '' : `${BEGIN}\n\n`;
    this.#begun = true;
    const bytes = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    const whole = bytes.length - (bytes.length % ARMOR_LINE_BYTES);
    this.#carry = bytes.slice(whole);
    const lines = whole === 0 ? Buffer.alloc(0) : base64Lines(bytes.subarray(0, whole), { lineChars: 60, eol: '\n', trailing: true });
    return head === '' ? lines : Buffer.concat([Buffer.from(head, 'latin1'), lines]);
  }

  /** The last line, the checksum line and the END line. */
  finish(): Uint8Array {
    this.#packets.finish();
    const head = this.#begun ? '' : `${BEGIN}\n\n`;
    const last = this.#carry.length === 0 ? '' : base64Lines(this.#carry, { lineChars: 60, eol: '\n', trailing: true }).toString('latin1');
    // openpgp.js (Message.armor): no CRC24 after a v2 SEIPD packet, RFC 9580 §6.1.
    const checksum = this.#lastTag === 18 && this.#lastVersion === 2 ? '' : `=${Buffer.from(this.#crc.digest()).toString('base64')}\n`;
    return Buffer.from(`${head}${last}${checksum}${END}\n`, 'latin1');
  }
}
