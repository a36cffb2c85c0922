// Mail to the outside (docs/gateway.md §4.4, §4.5): the RFC 5322 messages a stick
// hands to the relay's POST /v1/outbound. PGP/MIME (RFC 3156 §4) with the real
// headers protected inside, or a plain text/plain message when the user allowed
// exposure; both carry an Autocrypt header (Autocrypt Level 1 §2.1).
// Pure: no clock, no randomness (the date, message id and boundary come in).

import { formatBodyEntity, formatBodyEntityStream, formatPayload, type MessagePayload, type OutgoingAttachment, type StreamedAttachment } from './message-payload.js';

const CRLF = '\r\n';

/** The outer Subject of an encrypted message: the real one is inside (protected headers). */
export const PROTECTED_SUBJECT_PLACEHOLDER = '...';

function singleLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim();
}

/** RFC 5322 §3.3 date, as src/core/message-payload.ts writes it (UTC). */
export function formatMailDate(isoDate: string): string {
  const date = new Date(isoDate);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a date: ${isoDate}`);
  return date.toUTCString().replace('GMT', '+0000');
}

/** RFC 2047 encoded-word (UTF-8, base64) for a header text that is not printable ASCII. */
export function encodeHeaderText(text: string): string {
  const value = singleLine(text);
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  const words: string[] = [];
  let chunk = '';
  for (const char of value) {
    // An encoded-word is at most 75 characters: 45 bytes of UTF-8 give 60 of base64.
    if (Buffer.byteLength(chunk + char, 'utf8') > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word, 'utf8').toString('base64')}?=`).join(`${CRLF} `);
}

function messageIdHeader(messageId: string): string {
  const bare = singleLine(messageId).replace(/^<|>$/g, '');
  return `Message-ID: <${bare}>`;
}

/**
 * Autocrypt Level 1 §2.1: `Autocrypt: addr=ADDR; prefer-encrypt=mutual; keydata=BASE64`,
 * keydata folded in lines of 76 characters, each continuation line starting with a space.
 * `keydata` is the binary minimal cert (primary key, one user ID, the subkeys, their
 * self-signatures). Returns the whole field without a trailing CRLF.
 */
export function buildAutocryptHeader(options: { address: string; keydata: Uint8Array; preferEncrypt?: 'mutual' }): string {
  if (options.keydata.length === 0) throw new RangeError('Autocrypt keydata is empty');
  const attributes = [`addr=${singleLine(options.address)}`];
  if (options.preferEncrypt === 'mutual') attributes.push('prefer-encrypt=mutual');
  const base64 = Buffer.from(options.keydata).toString('base64');
  const lines = base64.match(/.{1,76}/g) ?? [];
  return `Autocrypt: ${attributes.join('; ')}; keydata=${CRLF} ${lines.join(`${CRLF} `)}`;
}

/**
 * The entity inside the encryption (docs/message-payload.md): text/plain with
 * protected-headers="v1" and From, To, Subject, Date, Message-ID inside. The same
 * bytes src/core/message-payload.ts writes for internal mail.
 */
export function buildInnerMimeEntity(payload: MessagePayload): string {
  return formatPayload(payload);
}

/** A boundary that cannot occur in an armored block or in base64: derived from the message id, no randomness. */
export function boundaryFor(messageId: string): string {
  const token = singleLine(messageId).replace(/[^A-Za-z0-9]/g, '').slice(0, 40);
  return `=_caliop_${token === '' ? 'part' : token}`;
}

interface OuterHeaders {
  readonly from: string;
  readonly to: readonly string[];
  /** ISO 8601. */
  readonly date: string;
  /** Without angle brackets (they are added). */
  readonly messageId: string;
  /** The whole field from buildAutocryptHeader, or null to leave it out. */
  readonly autocryptHeader: string | null;
}

function outerHeaderLines(headers: OuterHeaders, subject: string): string[] {
  if (headers.to.length === 0) throw new RangeError('a message needs at least one To address');
  const lines = [
    `From: ${singleLine(headers.from)}`,
    `To: ${headers.to.map(singleLine).join(', ')}`,
    `Subject: ${encodeHeaderText(subject)}`,
    `Date: ${formatMailDate(headers.date)}`,
    messageIdHeader(headers.messageId),
    'MIME-Version: 1.0',
  ];
  if (headers.autocryptHeader !== null) lines.push(headers.autocryptHeader);
  return lines;
}

/** RFC 3156 §4: the outer header and everything of a PGP/MIME message before its armored part (both builders). */
function pgpMimeHeadLines(options: OuterHeaders, boundary: string): string[] {
  return [
    ...outerHeaderLines(options, PROTECTED_SUBJECT_PLACEHOLDER),
    `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"`,
    '',
    'This is an OpenPGP/MIME encrypted message (RFC 3156).',
    `--${boundary}`,
    'Content-Type: application/pgp-encrypted',
    'Content-Description: PGP/MIME version identification',
    '',
    'Version: 1',
    '',
    `--${boundary}`,
    'Content-Type: application/octet-stream; name="encrypted.asc"',
    'Content-Description: OpenPGP encrypted message',
    'Content-Disposition: inline; filename="encrypted.asc"',
    '',
  ];
}

/**
 * RFC 3156 §4: multipart/encrypted with the `Version: 1` control part and the armored
 * OpenPGP message (`armoredEncryptedPart`: buildInnerMimeEntity's bytes, signed and
 * encrypted). The outer Subject is the placeholder "...".
 */
export function buildPgpMimeMessage(
  options: OuterHeaders & { armoredEncryptedPart: string; boundary?: string },
): string {
  const armored = options.armoredEncryptedPart.trim();
  if (!armored.startsWith('-----BEGIN PGP MESSAGE-----') || !armored.endsWith('-----END PGP MESSAGE-----')) {
    throw new RangeError('armoredEncryptedPart must be one ASCII-armored PGP MESSAGE block');
  }
  const boundary = options.boundary ?? boundaryFor(options.messageId);
  const lines = [
    ...pgpMimeHeadLines(options, boundary),
    armored.split(/\r?\n/).join(CRLF),
    '',
    `--${boundary}--`,
    '',
  ];
  return lines.join(CRLF);
}

/**
 * A readable message (only with the user's explicit consent: docs/gateway.md §4.2):
 * text/plain, or multipart/mixed with the attachments (docs/message-payload.md §2.1).
 */
export function buildPlainMessage(options: OuterHeaders & { subject: string; body: string; attachments?: readonly OutgoingAttachment[]; boundary?: string }): string {
  const entity = formatBodyEntity(options.body, options.attachments ?? [], options.boundary);
  const lines = [...outerHeaderLines(options, options.subject), ...entity.headers, ''];
  const body = entity.body;
  return lines.join(CRLF) + CRLF + (body.endsWith(CRLF) ? body : body + CRLF);
}

/**
 * docs/store.md §5.1: buildPgpMimeMessage written as a stream (the same bytes), the armored
 * part read piece by piece (LF or CRLF line ends, as encryptArmoredStream writes it), so a
 * large message to the outside is never held whole. ASCII pieces, in order.
 */
export async function* buildPgpMimeMessageStream(
  options: OuterHeaders & { armoredEncryptedPart: AsyncIterable<Uint8Array>; boundary?: string },
): AsyncGenerator<string | Uint8Array> {
  const boundary = options.boundary ?? boundaryFor(options.messageId);
  yield [
    ...pgpMimeHeadLines(options, boundary),
    '',
  ].join(CRLF);
  // As buildPgpMimeMessage: trimmed, each line end CRLF. Trailing white space is held back until more text follows.
  // Bytes in, bytes out (the armor is ASCII): a 25 MiB file's armor went through a string, two regular expressions and a UTF-8 encoding (issue 9).
  let started = false;
  let pending: Buffer = Buffer.alloc(0);
  let head = '';
  for await (const piece of options.armoredEncryptedPart) {
    let bytes = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (!started) {
      head += bytes.toString('latin1');
      const at = head.search(/\S/);
      if (at < 0) continue;
      const text = head.slice(at);
      started = true;
      if (!text.startsWith('-----BEGIN PGP MESSAGE-----'.slice(0, Math.min(text.length, 27)))) throw new RangeError('armoredEncryptedPart must be one ASCII-armored PGP MESSAGE block');
      bytes = Buffer.from(text, 'latin1');
    }
    let keep = bytes.length;
    while (keep > 0 && isWhiteSpace(bytes[keep - 1]!)) keep -= 1;
    if (keep === 0) {
      pending = Buffer.concat([pending, bytes]);
      continue;
    }
    const out = pending.length === 0 ? bytes.subarray(0, keep) : Buffer.concat([pending, bytes.subarray(0, keep)]);
    pending = Buffer.from(bytes.subarray(keep));
    yield lineEndsCrlf(out);
  }
  if (!started) throw new RangeError('armoredEncryptedPart must be one ASCII-armored PGP MESSAGE block');
  yield [CRLF, `--${boundary}--`, ''].join(CRLF);
}

/** What /\s/ matches among latin1 bytes (tab, LF, VT, FF, CR, space, no-break space). */
function isWhiteSpace(byte: number): boolean {
  return (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0;
}

/** `text.replace(/\r?\n/g, CRLF)` on bytes: a LF without its CR gets one. */
function lineEndsCrlf(bytes: Buffer): Buffer {
  let missing = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) if (at === 0 || bytes[at - 1] !== 0x0d) missing += 1;
  if (missing === 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length + missing);
  let to = 0;
  for (let at = 0; at < bytes.length; at++) {
    const byte = bytes[at]!;
    if (byte === 0x0a && (at === 0 || bytes[at - 1] !== 0x0d)) out[to++] = 0x0d;
    out[to++] = byte;
  }
  return out;
}

/** docs/store.md §5.1: buildPlainMessage written as a stream (the same bytes), the files read as they are encoded. */
export async function* buildPlainMessageStream(options: OuterHeaders & { subject: string; body: string; attachments: readonly StreamedAttachment[]; boundary?: string }): AsyncGenerator<string | Uint8Array> {
  const entity = formatBodyEntityStream(options.body, options.attachments, options.boundary);
  yield [...outerHeaderLines(options, options.subject), ...entity.headers, ''].join(CRLF) + CRLF;
  let endsWithCrlf = false;
  for await (const piece of entity.body) {
    if (piece.length === 0) continue;
    endsWithCrlf = typeof piece === 'string' ? piece.endsWith(CRLF) : piece.length >= 2 && piece[piece.length - 2] === 0x0d && piece[piece.length - 1] === 0x0a;
    yield piece;
  }
  if (!endsWithCrlf) yield CRLF;
}
