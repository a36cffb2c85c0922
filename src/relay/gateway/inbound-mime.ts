// Reading mail that arrived from outside (docs/gateway.md §3.4, §3.5, §3.8): whether
// the message arrived OpenPGP-encrypted (PGP/MIME, RFC 3156 §4, or inline PGP) with its
// ciphertext, the hops claimed in Received headers, and the outer headers kept. The
// header fields themselves are read by src/api/mime-fields.ts, as the stick reads them.
// Pure: strings in, values out. Only the shapes we need are read; anything else is
// "not encrypted" or "a claim we cannot read", never guessed.

import { addressParser, decodeWords } from 'postal-mime';
import { headerFix } from '../../api/windows-1252.js';
import { decodeUndeclaredFields, detectorWantedForFields, loadCharsetDetector } from '../../api/undeclared-text.js';
import type { OuterHeaders, OuterTextField, SmtpHopFacts, TlsFacts } from '../../api/facts.js';
import { headerValue, parseContentType, parseHeaderFields, splitHeaderAndBody, splitMultipart, type HeaderField } from '../../api/mime-fields.js';

const ARMORED_MESSAGE = /^-----BEGIN PGP MESSAGE-----\r?\n[\s\S]*?\r?\n-----END PGP MESSAGE-----$/;

/**
 * RFC 3156 §4: the control part's `Version: 1`, one line at a time (as the outbound reader,
 * src/relay/gateway/outbound-stream.ts): over the whole body with the m flag, /^\s*Version…/
 * tried every line start and let \s* run over every blank line after it, the square of a
 * sender's run of empty lines (docs/fuzzing.md).
 */
const VERSION_LINE = /^\s*Version:\s*1\s*$/;

export interface ArrivedCiphertext {
  readonly kind: 'pgp-mime' | 'inline';
  /** The ASCII-armored OpenPGP message as it stood in the message, trimmed, with LF line ends and a final LF (as gpg writes it). */
  readonly armoredMessage: string;
}

function transferEncodingIsIdentity(fields: readonly HeaderField[]): boolean {
  const encoding = (headerValue(fields, 'Content-Transfer-Encoding') ?? '7bit').trim().toLowerCase();
  return encoding === '7bit' || encoding === '8bit' || encoding === 'binary';
}

function normaliseArmor(text: string): string | null {
  const trimmed = text.trim();
  if (!ARMORED_MESSAGE.test(trimmed)) return null;
  return `${trimmed.split(/\r?\n/).join('\n')}\n`;
}

/**
 * docs/gateway.md §3.5: the ciphertext when the top-level entity is PGP/MIME
 * (multipart/encrypted; protocol="application/pgp-encrypted", two parts, `Version: 1`,
 * one armored message) or inline PGP (a text/plain body that is exactly one armored
 * message); null for anything else, multipart/signed included. The caller still checks
 * that the armored block really is an encrypted OpenPGP message.
 */
export function findArrivedCiphertext(rawMessage: string): ArrivedCiphertext | null {
  const { headerText, body } = splitHeaderAndBody(rawMessage);
  const fields = parseHeaderFields(headerText);
  const contentType = parseContentType(headerValue(fields, 'Content-Type'));
  if (contentType.type === 'multipart/encrypted') {
    const boundary = contentType.params['boundary'];
    if (contentType.params['protocol']?.toLowerCase() !== 'application/pgp-encrypted' || boundary === undefined) return null;
    const parts = splitMultipart(body, boundary);
    if (parts === null || parts.length !== 2) return null;
    const [control, data] = parts.map((part) => {
      const split = splitHeaderAndBody(part);
      const partFields = parseHeaderFields(split.headerText);
      return { fields: partFields, type: parseContentType(headerValue(partFields, 'Content-Type')).type, body: split.body };
    }) as [{ fields: HeaderField[]; type: string; body: string }, { fields: HeaderField[]; type: string; body: string }];
    if (control.type !== 'application/pgp-encrypted' || !control.body.split(/\r?\n/).some((line) => VERSION_LINE.test(line))) return null;
    if (data.type !== 'application/octet-stream' || !transferEncodingIsIdentity(data.fields)) return null;
    const armoredMessage = normaliseArmor(data.body);
    return armoredMessage === null ? null : { kind: 'pgp-mime', armoredMessage };
  }
  if (contentType.type === 'text/plain' && transferEncodingIsIdentity(fields)) {
    const armoredMessage = normaliseArmor(body);
    return armoredMessage === null ? null : { kind: 'inline', armoredMessage };
  }
  return null;
}

// ---- §3.4 Received headers --------------------------------------------------

/** RFC 3848 and RFC 6531 `with` protocols that say the hop used TLS. */
const TLS_PROTOCOLS = new Set(['esmtps', 'esmtpsa', 'utf8smtps', 'utf8smtpsa', 'lmtps', 'lmtpsa']);

function stripComments(text: string): { bare: string; comments: string } {
  let bare = '';
  let comments = '';
  let depth = 0;
  for (const char of text) {
    if (char === '(') {
      depth += 1;
      comments += ' ';
    } else if (char === ')' && depth > 0) {
      depth -= 1;
      comments += ' ';
    } else if (depth > 0) {
      comments += char;
    } else {
      bare += char;
    }
  }
  return { bare, comments };
}

function tlsVersionFromComment(comments: string): string | null {
  // `using TLSv1.3 with cipher` (Postfix), `version=TLS1_2` (Microsoft), `version=TLSv1.3` (Sendmail), `(TLS1.3)` (Exim).
  const match = /(?:^|[\s=(])(TLSv?1(?:[._][0-3])?)(?=[\s,;)]|$)/i.exec(comments);
  return match ? normaliseTlsVersion(match[1] as string) : null;
}

function normaliseTlsVersion(text: string): string {
  const match = /^TLSv?1(?:[._]([0-3]))?$/i.exec(text);
  if (!match) return text;
  return match[1] === undefined ? 'TLSv1' : `TLSv1.${match[1]}`;
}

function cipherFromComment(comments: string, bare: string): string | null {
  const match = /\bcipher[= ]\s*([A-Za-z0-9_-]+)/i.exec(comments) ?? /(?:^|\s)tls\s+([A-Z0-9_-]{8,})/.exec(bare);
  return match ? (match[1] as string) : null;
}

/** One Received field's claim, or null when it cannot be read (no `by` clause). */
export function readReceivedClaim(value: string): SmtpHopFacts | null {
  const clauses = value.includes(';') ? value.slice(0, value.lastIndexOf(';')) : value;
  const { bare, comments } = stripComments(clauses);
  const by = /(?:^|\s)by\s+([^\s;]+)/i.exec(bare)?.[1];
  if (by === undefined) return null;
  const from = /(?:^|\s)from\s+([^\s;]+)/i.exec(bare)?.[1] ?? '';
  const protocol = /(?:^|\s)with\s+([^\s;]+)/i.exec(bare)?.[1]?.toLowerCase();
  const version = tlsVersionFromComment(comments);
  let tls: TlsFacts | null = null;
  if (version !== null || (protocol !== undefined && TLS_PROTOCOLS.has(protocol))) {
    tls = { version, cipher: cipherFromComment(comments, bare) };
  }
  return { from, by, tls, verifiedByRelay: false };
}

/** docs/gateway.md §3.4: the hops claimed by the Received fields, oldest first; unreadable ones skipped. */
export function receivedClaims(fields: readonly HeaderField[]): SmtpHopFacts[] {
  const claims: SmtpHopFacts[] = [];
  for (const field of fields) {
    if (field.name.toLowerCase() !== 'received') continue;
    const claim = readReceivedClaim(field.value);
    if (claim !== null) claims.push(claim);
  }
  return claims.reverse();
}

/**
 * The message without the header fields `drop` selects (given the unfolded field),
 * every other byte kept as it was. `rawMessage` is read byte for byte (latin1), so
 * 8-bit content survives the round trip.
 */
export function removeHeaderFields(rawMessage: string, drop: (field: HeaderField) => boolean): string {
  const match = /\r?\n\r?\n/.exec(rawMessage);
  const headerEnd = match === null ? rawMessage.length : match.index;
  const headerText = rawMessage.slice(0, headerEnd);
  const lines = headerText.split(/(?<=\n)/);
  const kept: string[] = [];
  let group: string[] = [];
  const flush = () => {
    if (group.length === 0) return;
    const [field] = parseHeaderFields(group.join(''));
    if (field === undefined || !drop(field)) kept.push(...group);
    group = [];
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line) && group.length > 0) group.push(line);
    else {
      flush();
      group.push(line);
    }
  }
  flush();
  return kept.join('') + rawMessage.slice(headerEnd);
}

// ---- §3.8 Outer headers of mail that arrived encrypted ------------------------

/** docs/gateway.md §3.8: the outer text fields, by their header names. */
const OUTER_TEXT_NAMES: Readonly<Record<OuterTextField, string>> = { subject: 'Subject', from: 'From', date: 'Date', messageId: 'Message-ID', autoSubmitted: 'Auto-Submitted' };
const OUTER_TEXT_FIELD_LIST = Object.keys(OUTER_TEXT_NAMES) as OuterTextField[];

/**
 * docs/gateway.md §3.8: outerHeadersOf, the charset detector loaded first when an outer text
 * field holds raw 8-bit bytes that are not UTF-8 (docs/decisions/mime.md item 6: the relay
 * loads it only for such mail).
 */
export async function readOuterHeaders(fields: readonly HeaderField[]): Promise<OuterHeaders> {
  if (detectorWantedForFields(OUTER_TEXT_FIELD_LIST.map((field) => headerValue(fields, OUTER_TEXT_NAMES[field])))) await loadCharsetDetector();
  return outerHeadersOf(fields);
}

/**
 * docs/gateway.md §3.8: Subject, From, To (and Cc), Date and Message-ID of the outer message,
 * decoded and bounded. The fields in raw 8-bit bytes that are not UTF-8 are read by the stick's
 * rule for undeclared text (docs/message-payload.md §4.5), in one charset guessed over all of
 * them (`decodeUndeclaredFields`): windows-1252 is recorded as `charsetGuess`, a charset the
 * detector named as `charsetDetected`.
 */
export function outerHeadersOf(fields: readonly HeaderField[]): OuterHeaders {
  const undeclared = decodeUndeclaredFields(OUTER_TEXT_FIELD_LIST.map((field) => headerValue(fields, OUTER_TEXT_NAMES[field])));
  const guessedText = new Map(OUTER_TEXT_FIELD_LIST.flatMap((field, index) => (undeclared.texts[index] === undefined ? [] : [[field, undeclared.texts[index]!] as const])));
  const text = (name: string, field: OuterTextField, max: number): string | null => {
    const value = headerValue(fields, name);
    if (value === undefined) return null;
    // RFC 6532: a header read byte for byte (latin1) is UTF-8 when its bytes are; raw 8-bit bytes that
    // are not were read in the charset guessed for them (docs/message-payload.md §4.5).
    const raw = guessedText.get(field) ?? (/[\x80-\xff]/.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value);
    // eslint-disable-next-line no-control-regex
    // docs/message-payload.md §4.4: a windows-1252 encoded-word decoded by a broken runtime, corrected.
    return headerFix(value)(decodeWords(raw)).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, max);
  };
  const to: string[] = [];
  for (const name of ['To', 'Cc']) {
    const value = headerValue(fields, name);
    if (value === undefined) continue;
    for (const address of addressParser(value, { flatten: true })) {
      if ('address' in address && address.address && address.address.length <= 320 && to.length < 100) to.push(address.address.toLowerCase());
    }
  }
  // docs/gateway.md §4.5.1: Autocrypt Level 1 treats a field over 10 KiB as invalid; such fields are not kept.
  const autocrypt = fields
    .filter((field) => field.name.toLowerCase() === 'autocrypt')
    .map((field) => field.value.replace(/\s+/g, ' ').trim())
    .filter((value) => value.length <= 10240)
    .slice(0, 4);
  const headers = {
    subject: text('Subject', 'subject', 998),
    from: text('From', 'from', 998),
    to,
    date: text('Date', 'date', 100),
    messageId: text('Message-ID', 'messageId', 998)?.replace(/^<|>$/g, '') ?? null,
    autocrypt,
    autoSubmitted: text('Auto-Submitted', 'autoSubmitted', 100),
  };
  // §3.8: said only when a field was guessed (a client that knows nothing of it reads as before);
  // a detected charset in a member of its own, which clients of before 2026-12-02 ignore (their
  // `charsetGuess` takes windows-1252 only).
  const guess = undeclared.guessed;
  if (guess === undefined) return headers;
  const guessed = [...guessedText.keys()];
  return guess === 'windows-1252' ? { ...headers, charsetGuess: { charset: guess, fields: guessed } } : { ...headers, charsetDetected: { charset: guess, fields: guessed } };
}
