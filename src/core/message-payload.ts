// The plaintext inside every Caliop message (docs/message-payload.md): an RFC 5322
// message whose headers travel inside the encryption ("protected headers",
// draft-autocrypt-lamps-protected-headers), so the relay never sees the subject.

import { base64Lines as encodeBase64Lines } from './base64-lines.js';

export interface MessagePayload {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** RFC 3339 / ISO 8601 date the sender stamped. */
  readonly date: string;
  readonly messageId: string;
  readonly body: string;
  /** docs/message-payload.md §2.1: files sent with the text; the payload is then multipart/mixed. */
  readonly attachments?: readonly OutgoingAttachment[];
  /** The multipart boundary (random, chosen by the caller: this file draws no randomness). */
  readonly boundary?: string;
}

/** One file sent with a message. */
export interface OutgoingAttachment {
  readonly name: string;
  /** A media type; application/octet-stream when unknown. */
  readonly type: string;
  readonly content: Uint8Array;
}

const CRLF = '\r\n' as const;

function headerValue(value: string): string {
  // RFC 5322 §2.2: header fields are single lines here; no CR/LF may be injected.
  return value.replace(/[\r\n]+/g, ' ').trim();
}

/** RFC 2231 §4 + RFC 2183: a filename parameter; ASCII names plain and quoted, others as filename*=utf-8''… */
function filenameParameter(name: string): string {
  const clean = headerValue(name).replace(/[\u0000-\u001f\u007f]/g, '') || 'attachment';
  if (/^[\x20-\x7e]*$/.test(clean)) return `filename="${clean.replace(/["\\]/g, '\\$&')}"`;
  const encoded = [...new TextEncoder().encode(clean)].map((byte) => (/[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  return `filename*=utf-8''${encoded}`;
}

function base64Lines(content: Uint8Array): string {
  return encodeBase64Lines(content, { lineChars: 76, eol: CRLF }).toString('latin1');
}

/**
 * docs/message-payload.md §2.1: the MIME entity of a message body: text/plain alone, or
 * multipart/mixed with the text first and each file in base64 (RFC 2045 §6.8) with
 * its name (RFC 2183, RFC 2231). `contentTypeExtra` is added to the top Content-Type
 * (`; protected-headers="v1"` inside the encryption). Returns the entity's own header
 * lines and its body, CRLF line ends.
 */
export function formatBodyEntity(
  text: string,
  attachments: readonly OutgoingAttachment[],
  boundary: string | undefined,
  contentTypeExtra = '',
): { headers: string[]; body: string } {
  const textBody = text.replace(/\r?\n/g, CRLF);
  if (attachments.length === 0) {
    return { headers: [`Content-Type: text/plain; charset=utf-8${contentTypeExtra}`, 'Content-Transfer-Encoding: 8bit'], body: textBody };
  }
  if (boundary === undefined || !/^[A-Za-z0-9'()+_,./:=?-]{1,69}$/.test(boundary)) throw new RangeError('a message with attachments needs an RFC 2046 boundary');
  const parts = [
    ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', textBody.endsWith(CRLF) ? textBody.slice(0, -2) : textBody].join(CRLF),
    ...attachments.map((attachment) => `${attachmentHeaders(attachment)}${CRLF}${base64Lines(attachment.content)}`),
  ];
  return {
    headers: [`Content-Type: multipart/mixed; boundary="${boundary}"${contentTypeExtra}`],
    body: `${parts.map((part) => `--${boundary}${CRLF}${part}${CRLF}`).join('')}--${boundary}--${CRLF}`,
  };
}

/** docs/message-payload.md §2.1: one file streamed (its bytes come as the payload is written; `size` as announced). */
export interface StreamedAttachment {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  /** The file's bytes, read afresh at each call (each recipient group encrypts its own copy). */
  readonly open: () => AsyncIterable<Uint8Array>;
}

function attachmentHeaders(attachment: { readonly name: string; readonly type: string }): string {
  return [
    `Content-Type: ${/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(attachment.type) ? attachment.type.toLowerCase() : 'application/octet-stream'}`,
    `Content-Disposition: attachment; ${filenameParameter(attachment.name)}`,
    'Content-Transfer-Encoding: base64',
    '',
  ].join(CRLF);
}

/** RFC 2045 §6.8 as a stream: lines of 76 characters (57 bytes) joined by CRLF, as base64Lines, one line group at a time (ASCII bytes). */
async function* base64LineStream(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const LINE_BYTES = 57;
  let carry: Uint8Array = new Uint8Array(0);
  let first = true;
  for await (const piece of source) {
    const bytes = carry.length === 0 ? piece : Buffer.concat([carry, piece]);
    const whole = bytes.length - (bytes.length % LINE_BYTES);
    if (whole > 0) {
      yield encodeBase64Lines(bytes.subarray(0, whole), { lineChars: 76, eol: CRLF, leading: !first });
      first = false;
    }
    carry = Uint8Array.from(bytes.subarray(whole));
  }
  if (carry.length > 0) yield encodeBase64Lines(carry, { lineChars: 76, eol: CRLF, leading: !first });
}

/**
 * docs/message-payload.md §2.1: the same bytes as formatPayload, written as a stream: the
 * files are read as they are encoded, so a large attachment is never held whole (issue 9).
 * UTF-8 text pieces and the files' base64 as ASCII bytes, in order.
 */
export async function* formatPayloadStream(payload: Omit<MessagePayload, 'attachments'> & { readonly attachments: readonly StreamedAttachment[] }): AsyncGenerator<string | Uint8Array> {
  if (payload.attachments.length === 0) {
    yield formatPayload({ ...payload, attachments: [] });
    return;
  }
  const boundary = payload.boundary;
  // The top headers as formatPayload makes them (formatBodyEntity checks the boundary).
  const entity = formatBodyEntity(payload.body, [{ name: 'x', type: 'x/x', content: new Uint8Array(0) }], boundary, '; protected-headers="v1"');
  const headers = [...entity.headers, ...protectedHeaderLines(payload)];
  const textBody = payload.body.replace(/\r?\n/g, CRLF);
  const textPart = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', textBody.endsWith(CRLF) ? textBody.slice(0, -2) : textBody].join(CRLF);
  yield headers.join(CRLF) + CRLF + CRLF + `--${boundary}${CRLF}${textPart}${CRLF}`;
  for (const attachment of payload.attachments) {
    yield `--${boundary}${CRLF}${attachmentHeaders(attachment)}${CRLF}`;
    yield* base64LineStream(attachment.open());
    yield CRLF;
  }
  yield `--${boundary}--${CRLF}`;
}

/**
 * docs/message-payload.md §2.1: formatBodyEntity's multipart body written as a stream (the
 * same bytes; the headers are formatBodyEntity's), the files read as they are encoded.
 * Used for a readable message to the outside with files (docs/store.md §5.1).
 */
export function formatBodyEntityStream(
  text: string,
  attachments: readonly StreamedAttachment[],
  boundary: string | undefined,
): { headers: string[]; body: AsyncGenerator<string | Uint8Array> } {
  const entity = formatBodyEntity(text, attachments.length === 0 ? [] : [{ name: 'x', type: 'x/x', content: new Uint8Array(0) }], boundary);
  if (attachments.length === 0) {
    const whole = entity.body;
    return { headers: entity.headers, body: (async function* () { yield whole; })() };
  }
  const textBody = text.replace(/\r?\n/g, CRLF);
  const textPart = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', textBody.endsWith(CRLF) ? textBody.slice(0, -2) : textBody].join(CRLF);
  async function* body(): AsyncGenerator<string | Uint8Array> {
    yield `--${boundary}${CRLF}${textPart}${CRLF}`;
    for (const attachment of attachments) {
      yield `--${boundary}${CRLF}${attachmentHeaders(attachment)}${CRLF}`;
      yield* base64LineStream(attachment.open());
      yield CRLF;
    }
    yield `--${boundary}--${CRLF}`;
  }
  return { headers: entity.headers, body: body() };
}

/** docs/message-payload.md §2: the protected headers, after the body entity's own. */
function protectedHeaderLines(payload: Pick<MessagePayload, 'from' | 'to' | 'subject' | 'date' | 'messageId'>): string[] {
  return [
    `From: ${headerValue(payload.from)}`,
    `To: ${payload.to.map(headerValue).join(', ')}`,
    `Subject: ${headerValue(payload.subject)}`,
    `Date: ${new Date(payload.date).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${headerValue(payload.messageId)}>`,
  ];
}

/** docs/message-payload.md §2. */
export function formatPayload(payload: MessagePayload): string {
  const entity = formatBodyEntity(payload.body, payload.attachments ?? [], payload.boundary, '; protected-headers="v1"');
  const headers = [...entity.headers, ...protectedHeaderLines(payload)];
  return headers.join(CRLF) + CRLF + CRLF + entity.body;
}

export interface ParsedPayload {
  readonly headers: ReadonlyMap<string, string>;
  readonly from: string | undefined;
  readonly to: readonly string[];
  readonly subject: string | undefined;
  readonly date: string | undefined;
  readonly messageId: string | undefined;
  readonly body: string;
  /** true when the Content-Type says protected-headers="v1". */
  readonly protectedHeaders: boolean;
}

function decodeBytes(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset.toLowerCase(), { fatal: false }).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes); // an unknown charset label: UTF-8 is the best guess
  }
}

function quotedPrintableBytes(text: string, underscoreIsSpace: boolean): Uint8Array {
  const source = (underscoreIsSpace ? text.replace(/_/g, ' ') : text).replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let index = 0; index < source.length; index += 1) {
    const hex = source.slice(index + 1, index + 3);
    if (source[index] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(...new TextEncoder().encode(source[index]!));
    }
  }
  return Uint8Array.from(bytes);
}

/** RFC 2047 §4: encoded-words in a header value (adjacent ones joined without the space between). */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (_, charset: string, encoding: string, text: string) =>
      decodeBytes(encoding.toUpperCase() === 'B' ? Uint8Array.from(Buffer.from(text, 'base64')) : quotedPrintableBytes(text, true), charset.replace(/\*.*$/, '')),
    );
}

/** RFC 2045 §6: a single-part text body in quoted-printable or base64, in its charset. */
function decodeBody(body: string, headers: ReadonlyMap<string, string>): string {
  const encoding = (headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  const charset = /charset\s*=\s*"?([^";\s]+)"?/i.exec(headers.get('content-type') ?? '')?.[1] ?? 'utf-8';
  if (encoding === 'quoted-printable') return decodeBytes(quotedPrintableBytes(body, false), charset);
  if (encoding === 'base64') return decodeBytes(Uint8Array.from(Buffer.from(body.replace(/\s+/g, ''), 'base64')), charset);
  return body;
}

/** docs/message-payload.md §3: parses what formatPayload writes, and plain RFC 5322 text. */
export function parsePayload(text: string): ParsedPayload {
  const normalised = text.replace(/\r\n/g, '\n');
  const split = normalised.indexOf('\n\n');
  const looksLikeHeaders = split > 0 && /^[A-Za-z0-9-]+:/.test(normalised);
  const headerText = looksLikeHeaders ? normalised.slice(0, split) : '';
  const body = looksLikeHeaders ? normalised.slice(split + 2) : normalised;
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of headerText.split('\n')) {
    if (/^[ \t]/.test(line) && last !== undefined) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`); // RFC 5322 §2.2.3 unfolding
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
  }
  for (const [name, value] of headers) if (value.includes('=?')) headers.set(name, decodeEncodedWords(value));
  const date = headers.get('date');
  const parsedDate = date === undefined ? undefined : new Date(date);
  return {
    headers,
    from: headers.get('from'),
    to: (headers.get('to') ?? '').split(',').map((part) => part.trim()).filter(Boolean),
    subject: headers.get('subject'),
    date: parsedDate && !Number.isNaN(parsedDate.getTime()) ? parsedDate.toISOString() : undefined,
    messageId: headers.get('message-id')?.replace(/^<|>$/g, ''),
    body: decodeBody(body, headers),
    protectedHeaders: /protected-headers\s*=\s*"?v1"?/i.test(headers.get('content-type') ?? ''),
  };
}

/** Extracts the bare address from "Name <addr>" or "addr". */
export function bareAddress(mailbox: string): string {
  const angle = /<([^>]+)>/.exec(mailbox);
  return (angle ? angle[1]! : mailbox).trim().toLowerCase();
}
