// The MIME structure of a large message, split as a stream (docs/message-payload.md §3.1,
// docs/decisions/mime-stream.md): boundaries (RFC 2046 §5.1.1), part headers, and the
// base64 (RFC 2045 §6.8) or quoted-printable (RFC 2045 §6.7) content of each attachment
// decoded chunk by chunk into a writer the caller gives. Only the header sections and
// the text parts (text/plain, text/html not marked as attachments), bounded, are kept:
// as a smaller message of the same structure without the attachments, which
// readMailContent (postal-mime) then reads as it reads any message.
// Pure: bytes in, bytes out through the caller's writers; no I/O of its own.

import { CaliopError } from '../errors.js';
import { MESSAGE_LIMITS, overLimitText } from './message-limits.js';
import { headerValue, parseContentType, parseHeaderFields } from '../api/mime-fields.js';

/** One attachment part, as its header section says. */
export interface StreamedPartHead {
  /** The part's header section, exactly as it came (latin1), blank line included. */
  readonly headerText: string;
  /** The media type, lower case, without parameters. */
  readonly type: string;
  /** 1, 2, 3… in the order the attachments were opened (document order). */
  readonly ordinal: number;
}

/** Where the signed bytes of a PGP/MIME signed message go, in canonical form (a set of hashes, in sync). */
export interface SignedDataSink {
  update(canonical: Uint8Array): void;
}

/**
 * One message's attachments as the parts stand (the top message, or a forwarded one): its own
 * attachments in order, a forwarded message read inline in its place (its own list), a
 * forwarded message that is an attachment with what was read inside it.
 */
export interface StreamedScope {
  readonly items: StreamedItem[];
  /** Its top entity is a well-formed PGP/MIME multipart/signed (docs/message-payload.md §6.1). */
  signed: boolean;
  /**
   * docs/message-payload.md §3.2: it holds a `message/delivery-status` or `message/feedback-report`
   * part (outside the messages it forwards): a report, whose forwarded messages are attachments.
   */
  report: boolean;
  /** The message without its attachments (for a forwarded one: to read its subject). */
  kept(): Uint8Array;
}

/**
 * An attachment, or a forwarded message (`forwarded`: what was read inside it, its decoded
 * bytes in a blob of their own). `inline`: a forwarded message not marked as an attachment,
 * read in its place unless the rules of docs/message-payload.md §3.2 make it an attachment.
 */
export type StreamedItem = { readonly ordinal: number; readonly type: string; readonly forwarded?: StreamedScope; readonly inline?: boolean };

/** What the splitter found once the message has ended. */
export interface StreamedSplit {
  /** The message without its attachments, for readMailContent. */
  readonly kept: Uint8Array;
  readonly scope: StreamedScope;
  /** The top entity's PGP/MIME signature (RFC 3156 §5): its armored text, its data hashed through `openSignedData`. */
  readonly pgpMime: { readonly signature: string } | null;
}

/** Where an attachment's decoded bytes go (a blob on the stick, in sync). */
export interface AttachmentWriter {
  write(decoded: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

export interface MimeSplitOptions {
  /** Opens the writer of the next attachment, in the order the parts stand. */
  readonly openAttachment: (head: StreamedPartHead) => Promise<AttachmentWriter>;
  /** The text parts kept in memory, raw bytes in all; a text part that would pass it becomes an attachment. */
  readonly maxTextBytes?: number;
  /** Called once when the top entity is PGP/MIME signed: where its first part goes, canonical, as it streams. */
  readonly openSignedData?: () => SignedDataSink;
}

/** docs/message-payload.md §3.1: text parts kept whole up to this many bytes in all. */
export const MAX_STREAMED_TEXT_BYTES = 1024 * 1024;
/** docs/limits.md §2.7: as readMailContent, multiparts nested this deep at most (the top at 0); a deeper one seals the message. */
const MAX_DEPTH = MESSAGE_LIMITS.maxMimeDepth;
/** A delimiter line's transport padding longer than this is not padding (RFC 2046 §5.1.1). */
const MAX_DELIMITER_LINE = 998;
/**
 * docs/message-payload.md §3.2: how deep the splitter reads inside forwarded messages, inline or
 * attached: as deep as the whole-message path can (3 attached levels, each with up to 5 inline
 * ones above it and 5 inside the last); which of them count is decided once the message has
 * ended (src/core/mail-content.ts listStreamedAttachments).
 */
const FORWARD_READ_DEPTH = 3 * 6 + 5;
/** The signature part of a PGP/MIME signed message is kept up to this size (an armored signature is far smaller). */
const MAX_SIGNATURE_PART = 64 * 1024;

const CRLF = Buffer.from('\r\n');

/**
 * docs/limits.md §2.4: each forwarded message is stored whole beside what it holds, so a
 * message nested deep stores its contents once per level; the sum is bounded.
 */
function countStored(budget: Budget, bytes: number): void {
  budget.storedBytes += bytes;
  if (budget.storedBytes > MESSAGE_LIMITS.maxStoredPartBytes) throw overLimit('decompressed-too-large');
}

function overLimit(reason: 'headers-too-large' | 'decompressed-too-large' | 'too-many-parts' | 'nested-too-deep'): CaliopError {
  return new CaliopError('message_over_limit', `this message stays sealed: ${overLimitText(reason)}`);
}

interface Budget {
  headerBytes: number;
  textBytes: number;
  /** docs/limits.md §2.4: decoded bytes given to the attachment writers, forwarded messages included. */
  storedBytes: number;
  /** docs/limits.md §2.6: the parts opened by a delimiter line so far, forwarded messages included. */
  parts: number;
  opened: number;
  readonly maxTextBytes: number;
  readonly openAttachment: MimeSplitOptions['openAttachment'];
  readonly openSignedData: MimeSplitOptions['openSignedData'];
}

/** Where an entity stands: the list its attachments join, how deep in forwarded messages, and whether it is a message's top. */
interface Place {
  readonly scope: StreamedScope;
  readonly forwardDepth: number;
  /** 'top': the message's own top entity (its signature is hashed); 'forwarded': a forwarded message's. */
  readonly root?: 'top' | 'forwarded';
}

function newScope(): StreamedScope {
  return { items: [], signed: false, report: false, kept: () => new Uint8Array(0) };
}

/** docs/message-payload.md §3.2: the parts that make a message a report (RFC 3464 §2.1, RFC 5965 §2), as postal-mime finds them. */
const REPORT_PART_TYPES = new Set(['message/delivery-status', 'message/feedback-report']);

/** RFC 3156 §5: line ends in canonical form, CRLF; a LF not preceded by CR gets one (as splitMultipart joins lines). */
class Canonical {
  #lastCr = false;
  constructor(private readonly sink: SignedDataSink) {}

  update(bytes: Buffer): void {
    // One update per chunk (a LF-only message has a bare LF every line): the CRs added in a copy.
    const pieces: Buffer[] = [];
    let from = 0;
    for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) {
      const before = at > 0 ? bytes[at - 1] === 0x0d : this.#lastCr;
      if (before) continue;
      pieces.push(bytes.subarray(from, at), CRLF);
      from = at + 1;
    }
    if (pieces.length === 0) this.sink.update(bytes);
    else {
      pieces.push(bytes.subarray(from));
      this.sink.update(Buffer.concat(pieces));
    }
    if (bytes.byteLength > 0) this.#lastCr = bytes[bytes.byteLength - 1] === 0x0d;
  }
}

/** What every part handler does: takes raw bytes, ends, then says what it keeps of itself. */
interface PartSink {
  write(raw: Buffer): Promise<void>;
  end(): Promise<void>;
  /** The part as the smaller message keeps it (header section and body), or null when it left as an attachment. */
  kept(): Buffer[] | null;
}

// ---- content transfer decoding, as streams ----------------------------------

interface Decoder {
  decode(raw: Buffer): Buffer;
  flush(): Buffer;
}

/** What postal-mime keeps of base64 content: the alphabet and '=' (RFC 2045 §6.8: the rest is ignored). */
const NOT_BASE64 = /[^A-Za-z0-9+/=]/g;
const LF = 0x0a;
const CR = 0x0d;
/** Below this, a chunk goes the character-by-character way (the fast path's bookkeeping would cost more). */
const FAST_BASE64_MIN = 256;

function inBase64Alphabet(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2b || byte === 0x2f;
}

/** A base64 unit that ends (at '=' or at the end of the content): 2 or 3 characters left are 1 or 2 bytes, 1 is nothing. */
function decodeUnit(unit: string): Buffer {
  const length = unit.length % 4 === 1 ? unit.length - 1 : unit.length;
  return Buffer.from(length === unit.length ? unit : unit.slice(0, length), 'base64');
}

/**
 * docs/message-payload.md §3.1: base64 as postal-mime decodes the whole message (RFC 2045
 * §6.8): characters outside the alphabet are ignored, a run of '=' ends a unit (the
 * characters before it decoded as a whole: 2 or 3 left are 1 or 2 bytes, 1 is dropped),
 * and the content decoded four characters at a time, whatever its line lengths; at most 3
 * characters are held between chunks, so a line of any length costs no memory.
 *
 * The common case costs no JavaScript per character (decoding was a regular expression's
 * replace over every chunk, about 0.46 s per 10 MiB, issue 9): a chunk without '=', '-'
 * or '_' (which node's decoder reads as base64url) whose only other bytes are line ends is
 * decoded by node's decoder in one call, up to its last whole group of four; node skips
 * what is not base64, so a decoded length short of 3/4 of the characters counted means the
 * chunk held something else, and it is then decoded the careful way (as
 * openpgp-armor-stream.ts checks its lines).
 */
function base64Decoder(): Decoder {
  /** Base64 characters after the last whole group of four (0 to 3). */
  let carry = '';
  const careful = (raw: Buffer): Buffer => {
    const units = (carry + raw.toString('latin1').replace(NOT_BASE64, '')).split(/=+/);
    const last = units.pop()!;
    const whole = last.length - (last.length % 4);
    carry = last.slice(whole);
    const tail = Buffer.from(whole === last.length ? last : last.slice(0, whole), 'base64');
    return units.length === 0 ? tail : Buffer.concat([...units.map(decodeUnit), tail]);
  };
  const fast = (raw: Buffer): Buffer | null => {
    if (raw.length < FAST_BASE64_MIN || raw.indexOf(0x3d) !== -1 || raw.indexOf(0x2d) !== -1 || raw.indexOf(0x5f) !== -1) return null;
    // Line ends, counted: a LF, the CR before it, a CR at the very end (its LF comes next).
    let lineEnds = raw[raw.length - 1] === CR ? 1 : 0;
    for (let at = raw.indexOf(LF); at !== -1; at = raw.indexOf(LF, at + 1)) lineEnds += at > 0 && raw[at - 1] === CR ? 2 : 1;
    const characters = carry.length + raw.length - lineEnds;
    // The last group's first characters wait for the next chunk: where they start.
    let keep = characters % 4;
    let cut = raw.length;
    while (keep > 0 && cut > 0) {
      cut -= 1;
      const byte = raw[cut]!;
      if (byte === LF || byte === CR) continue;
      if (!inBase64Alphabet(byte)) return null;
      keep -= 1;
    }
    if (keep > 0) return null;
    // The group the carry began, completed from the chunk's first characters, is decoded on
    // its own: joining the carry to the chunk's text made a string V8 then copied whole.
    const expected = ((characters - (characters % 4)) / 4) * 3;
    const decoded = Buffer.allocUnsafe(expected);
    let written = 0;
    let start = 0;
    if (carry.length > 0) {
      let group = carry;
      while (group.length < 4 && start < cut) {
        const byte = raw[start++]!;
        if (byte === LF || byte === CR) continue;
        if (!inBase64Alphabet(byte)) return null;
        group += String.fromCharCode(byte);
      }
      if (group.length < 4) return null;
      written = decoded.write(group, 0, 'base64');
    }
    written += decoded.write(raw.toString('latin1', start, cut), written, 'base64');
    if (written !== expected) return null;
    carry = raw.toString('latin1', cut).replace(/[\r\n]/g, '');
    return decoded;
  };
  return {
    decode(raw) {
      return fast(raw) ?? careful(raw);
    },
    flush() {
      const rest = carry;
      carry = '';
      return decodeUnit(rest);
    },
  };
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/** RFC 2045 §6.7: `=XX` escapes and soft line breaks (`=` at a line end), line by line; CRLF becomes LF. */
function quotedPrintableDecoder(): Decoder {
  let carry = '';
  const decodeText = (text: string): Buffer => {
    const out = Buffer.allocUnsafe(text.length);
    let length = 0;
    for (let i = 0; i < text.length; i += 1) {
      const char = text.charCodeAt(i);
      if (char === 0x3d) {
        const next = text.slice(i + 1, i + 3);
        if (next.startsWith('\r\n')) { i += 2; continue; }
        if (next.startsWith('\n')) { i += 1; continue; }
        if (HEX.test(next)) { out[length++] = parseInt(next, 16); i += 2; continue; }
      }
      // A hard line break is one LF, as postal-mime decodes it (the whole-message path).
      if (char === 0x0d && text.charCodeAt(i + 1) === 0x0a) continue;
      out[length++] = char;
    }
    return out.subarray(0, length);
  };
  return {
    decode(raw) {
      const text = carry + raw.toString('latin1');
      // An escape or a soft break may be cut by the chunk's end: keep the last line for later.
      let safe = text.lastIndexOf('\n') + 1;
      if (safe === 0) {
        // A long line: all of it but an escape or a CR that the next chunk completes.
        const escape = text.lastIndexOf('=');
        safe = escape !== -1 && escape >= text.length - 2 ? escape : text.endsWith('\r') ? text.length - 1 : text.length;
      }
      carry = text.slice(safe);
      return decodeText(text.slice(0, safe));
    },
    flush() {
      const rest = carry;
      carry = '';
      return decodeText(rest);
    },
  };
}

/**
 * 7bit, 8bit, binary: the bytes as they are, but for line ends: postal-mime (the whole-message
 * path) reads such a part line by line, the CRs that end a line dropped, each line ended by LF
 * (the last one's then removed by readMailContent). The same here: CRs before a LF go, and so
 * do CRs at the very end; CRs held at a chunk's end wait for what follows them.
 */
function lineEndDecoder(): Decoder {
  /** CRs at the end of what came so far: dropped if a LF follows them, else given as they were. */
  let held = 0;
  return {
    decode(raw) {
      let end = raw.byteLength;
      while (end > 0 && raw[end - 1] === CR) end -= 1;
      if (end === 0) {
        // Counted, never joined to the next chunk: a body of CRs alone cost time in the square of its length (64 MiB: minutes).
        held += raw.byteLength;
        return Buffer.alloc(0);
      }
      let first = 0;
      while (raw[first] === CR) first += 1;
      const before = held > 0 && raw[first] !== LF ? Buffer.alloc(held, CR) : undefined;
      held = raw.byteLength - end;
      const decoded = Buffer.from(raw.toString('latin1', 0, end).replace(/\r+\n/g, '\n'), 'latin1');
      return before === undefined ? decoded : Buffer.concat([before, decoded]);
    },
    flush() {
      held = 0;
      return Buffer.alloc(0);
    },
  };
}

function decoderFor(encoding: string): Decoder {
  if (encoding === 'base64') return base64Decoder();
  if (encoding === 'quoted-printable') return quotedPrintableDecoder();
  return lineEndDecoder();
}

// ---- one entity: its header section, then a leaf or a multipart body --------------

/** The end of a header section: the first empty line (or an empty section). */
function headerEnd(buffer: Buffer): number {
  if (buffer[0] === 0x0a) return 1;
  if (buffer[0] === 0x0d && buffer[1] === 0x0a) return 2;
  const lf = buffer.indexOf('\n\n');
  const crlf = buffer.indexOf('\r\n\r\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return crlf + 4;
  return lf === -1 ? -1 : lf + 2;
}

class Entity implements PartSink {
  #head: Buffer[] = [];
  #headBytes = 0;
  #body: PartSink | undefined;
  #headerText = '';

  constructor(
    private readonly budget: Budget,
    private readonly depth: number,
    private readonly place: Place,
    /** The top entity of a message that does not start with a header field is all body. */
    private readonly headless = false,
  ) {}

  async write(raw: Buffer): Promise<void> {
    if (this.#body) return this.#body.write(raw);
    if (this.headless) {
      this.#body = new Leaf(this.budget, this.place, '', 'text/plain', '', 'inline');
      return this.#body.write(raw);
    }
    this.#head.push(raw);
    this.#headBytes += raw.byteLength;
    const joined = Buffer.concat(this.#head);
    const end = headerEnd(joined);
    if (end === -1) {
      this.#head = [joined];
      if (this.budget.headerBytes + this.#headBytes > MESSAGE_LIMITS.maxHeaderBytes) throw overLimit('headers-too-large');
      return;
    }
    this.#head = [];
    this.budget.headerBytes += end;
    if (this.budget.headerBytes > MESSAGE_LIMITS.maxHeaderBytes) throw overLimit('headers-too-large');
    this.#headerText = joined.subarray(0, end).toString('latin1');
    this.#body = this.#bodyFor(this.#headerText);
    if (end < joined.byteLength) await this.#body.write(joined.subarray(end));
  }

  #bodyFor(headerText: string): PartSink {
    const fields = parseHeaderFields(headerText.replace(/\r?\n\r?\n$/, '').replace(/\r?\n$/, ''));
    const type = parseContentType(headerValue(fields, 'Content-Type'));
    const mediaType = type.type === '' ? 'text/plain' : type.type.toLowerCase();
    const boundary = type.params['boundary'];
    if (mediaType.startsWith('multipart/') && boundary !== undefined && boundary !== '') {
      // docs/limits.md §2.7: its parts would stand past the depth postal-mime reads (it throws there): sealed, on both receive paths.
      if (this.depth >= MAX_DEPTH) throw overLimit('nested-too-deep');
      // docs/message-payload.md §6.1: a message's top multipart/signed, its signature checked (only the top's is hashed).
      const signed = this.place.root !== undefined && mediaType === 'multipart/signed' && type.params['protocol']?.toLowerCase() === 'application/pgp-signature';
      const place = { scope: this.place.scope, forwardDepth: this.place.forwardDepth };
      return new Multipart(this.budget, boundary, this.depth, place, signed ? { scope: this.place.scope, hash: this.place.root === 'top' } : undefined);
    }
    const encoding = (headerValue(fields, 'Content-Transfer-Encoding') ?? '').trim().toLowerCase();
    const disposition = (headerValue(fields, 'Content-Disposition') ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (mediaType === 'message/rfc822' && this.place.forwardDepth < FORWARD_READ_DEPTH && this.depth < MAX_DEPTH) {
      return new Forwarded(this.budget, this.depth, this.place, headerText, encoding, disposition);
    }
    return new Leaf(this.budget, this.place, headerText, mediaType, encoding, disposition);
  }

  async end(): Promise<void> {
    if (!this.#body) {
      // A part with no empty line: all header (postal-mime reads it so too).
      const joined = Buffer.concat(this.#head);
      this.#headerText = joined.toString('latin1');
      this.budget.headerBytes += joined.byteLength;
      this.#body = this.#bodyFor(this.#headerText);
    }
    await this.#body.end();
  }

  /** The PGP/MIME signature of this entity when it is a well-formed top multipart/signed. */
  signature(): string | null {
    return this.#body instanceof Multipart ? this.#body.signature : null;
  }

  kept(): Buffer[] | null {
    const body = this.#body?.kept() ?? null;
    // A message whose top entity is itself an attachment keeps its header fields (subject, From, Date).
    if (body === null) return this.place.root !== undefined && this.#headerText !== '' ? [Buffer.from(this.#headerText, 'latin1')] : null;
    return this.#body instanceof Multipart ? [Buffer.from(this.#headerText, 'latin1'), ...body] : body;
  }
}

/**
 * docs/message-payload.md §3.1: a forwarded message (message/rfc822), read inside as a
 * message of its own: its text kept, its attachments to their blobs. Marked as an attachment,
 * it is also decoded whole into a blob of its own (it is listed, §5.1).
 */
class Forwarded implements PartSink {
  readonly #inner: Entity;
  readonly #scope = newScope();
  readonly #decoder: Decoder;
  readonly #writer: Promise<AttachmentWriter>;

  constructor(
    private readonly budget: Budget,
    depth: number,
    place: Place,
    private readonly headerText: string,
    private readonly encoding: string,
    disposition: string,
  ) {
    this.#inner = new Entity(budget, depth + 1, { scope: this.#scope, forwardDepth: place.forwardDepth + 1, root: 'forwarded' });
    this.#scope.kept = () => Buffer.concat(this.#inner.kept() ?? []);
    this.#decoder = decoderFor(encoding);
    // Opened now: its place in the list is where it stands, before what it holds. An inline one
    // is decoded into a blob too: whether it is listed (in a report, or past the inline depth)
    // is known only at the end (docs/message-payload.md §3.2); unlisted, the blob is discarded.
    const ordinal = (budget.opened += 1);
    // postal-mime: a message/rfc822 part is inline when its disposition is inline or absent.
    const inline = disposition === '' || disposition === 'inline';
    place.scope.items.push({ ordinal, type: 'message/rfc822', forwarded: this.#scope, inline });
    this.#writer = budget.openAttachment({ headerText, type: 'message/rfc822', ordinal });
    this.#writer.catch(() => undefined); // awaited by write and end; a failure is theirs to report
  }

  async write(raw: Buffer): Promise<void> {
    const decoded = this.#decoder.decode(raw);
    await this.#decoded(decoded);
  }

  async #decoded(decoded: Buffer): Promise<void> {
    if (decoded.byteLength === 0) return;
    countStored(this.budget, decoded.byteLength);
    await (await this.#writer).write(decoded);
    await this.#inner.write(decoded);
  }

  async end(): Promise<void> {
    await this.#decoded(this.#decoder.flush());
    await this.#inner.end();
    await (await this.#writer).end();
  }

  kept(): Buffer[] {
    // Kept decoded: its transfer encoding no longer applies.
    const head = ['base64', 'quoted-printable'].includes(this.encoding)
      ? this.headerText.replace(/^Content-Transfer-Encoding:[^\n]*\n(?:[ \t][^\n]*\n)*/gim, '')
      : this.headerText;
    return [Buffer.from(head, 'latin1'), ...(this.#inner.kept() ?? [])];
  }
}

/** A part that is not a multipart: text kept (bounded), or an attachment decoded into its writer. */
class Leaf implements PartSink {
  #raw: Buffer[] = [];
  #writer: AttachmentWriter | undefined;
  #decoder: Decoder | undefined;

  constructor(
    private readonly budget: Budget,
    private readonly place: Place,
    private readonly headerText: string,
    private readonly type: string,
    private readonly encoding: string,
    disposition: string,
  ) {
    // docs/message-payload.md §3.1: the parts postal-mime shows as text; every other one is an attachment.
    this.#isText = disposition !== 'attachment' && (type === 'text/plain' || type === 'text/html');
    // §3.2: a report part makes its message a report; its header section stays in the kept
    // message (the body goes to its blob), so that readMailContent reads that message as one.
    this.#reportPart = REPORT_PART_TYPES.has(type);
    if (this.#reportPart) place.scope.report = true;
  }

  readonly #reportPart: boolean;

  #isText: boolean;

  async write(raw: Buffer): Promise<void> {
    if (this.#isText && this.budget.textBytes + raw.byteLength <= this.budget.maxTextBytes) {
      this.budget.textBytes += raw.byteLength;
      this.#raw.push(raw);
      return;
    }
    if (this.#isText) {
      // Over the bound: this text leaves as an attachment, what was kept goes first.
      this.#isText = false;
      for (const part of this.#raw) this.budget.textBytes -= part.byteLength;
      const held = Buffer.concat(this.#raw);
      this.#raw = [];
      await this.#attachment(held);
    }
    await this.#attachment(raw);
  }

  async #attachment(raw: Buffer): Promise<void> {
    if (!this.#writer) {
      const ordinal = (this.budget.opened += 1);
      this.place.scope.items.push({ ordinal, type: this.type });
      this.#writer = await this.budget.openAttachment({ headerText: this.headerText, type: this.type, ordinal });
      this.#decoder = decoderFor(this.encoding);
    }
    const decoded = this.#decoder!.decode(raw);
    if (decoded.byteLength > 0) {
      countStored(this.budget, decoded.byteLength);
      await this.#writer.write(decoded);
    }
  }

  async end(): Promise<void> {
    if (this.#isText) return;
    if (!this.#writer) await this.#attachment(Buffer.alloc(0));
    const rest = this.#decoder!.flush();
    if (rest.byteLength > 0) {
      countStored(this.budget, rest.byteLength);
      await this.#writer!.write(rest);
    }
    await this.#writer!.end();
  }

  kept(): Buffer[] | null {
    if (this.#reportPart) return [Buffer.from(this.headerText, 'latin1')];
    return this.#isText ? [Buffer.from(this.headerText, 'latin1'), ...this.#raw] : null;
  }
}

/** RFC 2046 §5.1.1: a multipart body cut at its delimiters; the CRLF before one belongs to it. */
class Multipart implements PartSink {
  readonly #delimiter: Buffer;
  /** A virtual line end first, so a delimiter on the body's first line is found as any other. */
  #pending: Buffer = Buffer.from('\n');
  #state: 'preamble' | 'part' | 'epilogue' = 'preamble';
  #part: Entity | undefined;
  readonly #parts: Entity[] = [];
  /** docs/message-payload.md §6.1: the signed first part's canonical hash, the second part's raw bytes. */
  #signedData: Canonical | undefined;
  #signaturePart: Buffer[] = [];
  #signaturePartBytes = 0;
  /** The PGP/MIME signature found at the end (RFC 3156 §5), or null. */
  signature: string | null = null;

  constructor(
    private readonly budget: Budget,
    private readonly boundary: string,
    private readonly depth: number,
    private readonly place: Place,
    private readonly signed?: { readonly scope: StreamedScope; readonly hash: boolean },
  ) {
    this.#delimiter = Buffer.from(`\n--${boundary}`, 'latin1');
  }

  async write(raw: Buffer): Promise<void> {
    // RFC 2046 §5.1.1: what follows the close delimiter is the epilogue, ignored as postal-mime
    // ignores it (a `--boundary` line in a later chunk opened a part the whole message has not).
    if (this.#state === 'epilogue') return;
    this.#pending = this.#pending.byteLength === 0 ? raw : Buffer.concat([this.#pending, raw]);
    await this.#scan(false);
  }

  async #scan(last: boolean): Promise<void> {
    let from = 0;
    for (;;) {
      const at = this.#pending.indexOf(this.#delimiter, from);
      if (at === -1) {
        // Nothing found: all but a possible beginning of a delimiter (and its CR) is content.
        const keep = last ? 0 : this.#delimiter.byteLength + 1;
        const safe = Math.max(0, this.#pending.byteLength - keep);
        await this.#content(this.#pending.subarray(0, safe));
        this.#pending = this.#pending.subarray(safe);
        return;
      }
      const after = at + this.#delimiter.byteLength;
      const lineEnd = this.#pending.indexOf('\n', after);
      const closing = this.#pending[after] === 0x2d && this.#pending[after + 1] === 0x2d;
      if (lineEnd === -1 && !closing && !last) {
        if (this.#pending.byteLength - after > MAX_DELIMITER_LINE) {
          from = at + 1; // not a delimiter line: content
          continue;
        }
        // The delimiter line is not whole yet: wait for more, keeping it (and the CR before it).
        const keepFrom = at > 0 && this.#pending[at - 1] === 0x0d ? at - 1 : at;
        await this.#content(this.#pending.subarray(0, keepFrom));
        this.#pending = this.#pending.subarray(keepFrom);
        return;
      }
      const rest = this.#pending.subarray(after, lineEnd === -1 ? this.#pending.byteLength : lineEnd).toString('latin1');
      if (!closing && !/^[ \t]*\r?$/.test(rest)) {
        from = at + 1; // `--boundaryX`: content that starts like a delimiter
        continue;
      }
      const contentEnd = at > 0 && this.#pending[at - 1] === 0x0d ? at - 1 : at;
      await this.#content(this.#pending.subarray(0, contentEnd));
      await this.#closePart();
      if (closing) {
        this.#state = 'epilogue';
        this.#pending = Buffer.alloc(0);
        return;
      }
      // docs/limits.md §2.6: each part costs a parser objects and time whatever its size (an empty one is 10 bytes).
      this.budget.parts += 1;
      if (this.budget.parts > MESSAGE_LIMITS.maxMimeParts) throw overLimit('too-many-parts');
      this.#state = 'part';
      this.#part = new Entity(this.budget, this.depth + 1, this.place);
      if (this.signed?.hash === true && this.#parts.length === 0) {
        const sink = this.budget.openSignedData?.();
        if (sink !== undefined) this.#signedData = new Canonical(sink);
      }
      this.#parts.push(this.#part);
      // The next delimiter needs its line end: the part starts right after this one's, kept in
      // place (skipped as content). Joining a '\n' before the rest copied the whole chunk once per
      // part: quadratic in the parts of a chunk (a 1 MiB message of 100,000 empty parts, 2.5 s).
      this.#pending = lineEnd === -1 ? Buffer.from('\n') : this.#pending.subarray(lineEnd);
      from = 0;
      this.#skipVirtual = true;
    }
  }

  /** After a delimiter line, the virtual line end put back before the part is not content. */
  #skipVirtual = false;

  async #content(bytes: Buffer): Promise<void> {
    let content = bytes;
    if (this.#skipVirtual && content.byteLength > 0) {
      content = content.subarray(1);
      this.#skipVirtual = false;
    }
    if (this.#state === 'part' && content.byteLength > 0) {
      if (this.signed !== undefined) this.#signedBytes(content);
      await this.#part!.write(content);
    }
  }

  /** The first part to its hashes as it stands (never held); the second kept, bounded. */
  #signedBytes(content: Buffer): void {
    if (this.#parts.length === 1) this.#signedData?.update(content);
    else if (this.#parts.length === 2) {
      this.#signaturePartBytes += content.byteLength;
      if (this.#signaturePartBytes <= MAX_SIGNATURE_PART) this.#signaturePart.push(Buffer.from(content));
    }
  }

  async #closePart(): Promise<void> {
    this.#skipVirtual = false;
    if (this.#state === 'part') await this.#part!.end();
    this.#part = undefined;
  }

  async end(): Promise<void> {
    if (this.#state !== 'epilogue') {
      await this.#scan(true);
      if (this.#state === 'part') await this.#closePart();
      this.#state = 'epilogue';
    }
    if (this.signed === undefined) return;
    // RFC 3156 §5, as §6.1 reads the whole message: exactly two parts, the second an armored signature.
    const raw = Buffer.concat(this.#signaturePart).toString('latin1');
    const blank = /\r?\n\r?\n/.exec(raw);
    const body = blank === null ? '' : raw.slice(blank.index + blank[0].length);
    if (this.#parts.length === 2 && this.#signaturePartBytes <= MAX_SIGNATURE_PART && body.includes('-----BEGIN PGP SIGNATURE-----')) {
      this.signature = body;
      this.signed.scope.signed = true;
    }
    this.#signaturePart = [];
  }

  kept(): Buffer[] {
    const out: Buffer[] = [];
    for (const part of this.#parts) {
      const kept = part.kept();
      if (kept === null) continue;
      out.push(Buffer.from(`--${this.boundary}\r\n`, 'latin1'), ...kept, CRLF);
    }
    out.push(Buffer.from(`--${this.boundary}--\r\n`, 'latin1'));
    return out;
  }
}

/**
 * Splits one message as it is decrypted: `write` each chunk in order, then `end`. The
 * attachments have gone to their writers as they came; `end` returns the message without
 * them (header sections and text parts, at most `maxTextBytes` of text), for readMailContent.
 * A message whose plaintext passes MESSAGE_LIMITS.maxDecompressedBytes, or whose header
 * sections pass maxHeaderBytes, throws message_over_limit (docs/limits.md §2).
 */
export class MimeStreamSplitter {
  readonly #budget: Budget;
  readonly #scope = newScope();
  #top: Entity | undefined;
  #first: Buffer[] = [];
  #total = 0;

  constructor(options: MimeSplitOptions) {
    this.#budget = {
      headerBytes: 0,
      textBytes: 0,
      storedBytes: 0,
      parts: 0,
      opened: 0,
      maxTextBytes: options.maxTextBytes ?? MAX_STREAMED_TEXT_BYTES,
      openAttachment: options.openAttachment,
      openSignedData: options.openSignedData,
    };
  }

  #entity(headless: boolean): Entity {
    return new Entity(this.#budget, 0, { scope: this.#scope, forwardDepth: 0, root: 'top' }, headless);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#total += chunk.byteLength;
    if (this.#total > MESSAGE_LIMITS.maxDecompressedBytes) throw overLimit('decompressed-too-large');
    const raw = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#top === undefined) {
      // docs/message-payload.md §3: text that does not start with a header field is all body.
      this.#first.push(raw);
      const head = Buffer.concat(this.#first);
      const line = head.indexOf('\n');
      if (line === -1 && head.byteLength < 1000) return;
      this.#first = [];
      this.#top = this.#entity(!/^[!-9;-~]+:/.test(head.subarray(0, Math.max(0, line)).toString('latin1')));
      return this.#top.write(head);
    }
    return this.#top.write(raw);
  }

  /** The message without its attachments, to be read by readMailContent. */
  async end(): Promise<Uint8Array> {
    return (await this.finish()).kept;
  }

  /** The message without its attachments, where each attachment stands, and the top's PGP/MIME signature. */
  async finish(): Promise<StreamedSplit> {
    if (this.#top === undefined) {
      const head = Buffer.concat(this.#first);
      this.#top = this.#entity(!/^[!-9;-~]+:/.test(head.toString('latin1')));
      if (head.byteLength > 0) await this.#top.write(head);
    }
    await this.#top.end();
    const top = this.#top;
    this.#scope.kept = () => Buffer.concat(top.kept() ?? []);
    const signature = top.signature();
    return { kept: this.#scope.kept(), scope: this.#scope, pgpMime: signature === null ? null : { signature } };
  }
}

const CHECK_PIECE = 64 * 1024;
const DISCARD: AttachmentWriter = { write: async () => undefined, end: async () => undefined };

/**
 * docs/limits.md §2: the limits the splitter enforces in sync (§2.2-§2.5), checked the same way
 * on a whole message, so that both receive paths seal the same messages for the same reason.
 * Throws message_over_limit; the attachments are decoded into nothing.
 */
export async function checkMessageLimits(bytes: Uint8Array): Promise<void> {
  const splitter = new MimeStreamSplitter({ openAttachment: async () => DISCARD });
  // In sync's pieces: one write of the whole message would have it copied whole at each level.
  for (let at = 0; at < bytes.byteLength; at += CHECK_PIECE) await splitter.write(bytes.subarray(at, at + CHECK_PIECE));
  await splitter.finish();
}
