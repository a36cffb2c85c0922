// What a message holds, read the way docs/message-payload.md §3-§6 says: headers,
// the text to show (a text part preferred, else HTML made readable), the
// attachments, and the OpenPGP signature structures a sender may have put around the
// content (PGP/MIME multipart/signed, RFC 3156 §5; inline-signed and clear-signed,
// RFC 4880 §7). MIME itself is parsed by postal-mime (docs/decisions/mime.md).
// Pure: bytes in, values out; checking the signatures is the service's job.

import { CaliopError } from '../errors.js';
import { MESSAGE_LIMITS, overLimitText } from './message-limits.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import PostalMime, { addressParser, decodeWords, type Address, type Email } from 'postal-mime';
import { headerValue, parseContentType, parseHeaderFields, splitHeaderAndBody, splitMultipart } from '../api/mime-fields.js';
import { htmlToReadableText } from './html-text.js';
import { checkMessageLimits, type StreamedItem, type StreamedScope } from './mime-stream.js';
import { headerFix } from '../api/windows-1252.js';
import { decodeUtf7Words } from './utf7.js';
import { splitAngleMailbox } from './mailbox-fit.js';
// postal-mime's unencoded parts gathered in pieces, not two Blob parts per line (docs/decisions/mime.md).
import './postal-mime-lines.js';
// docs/message-payload.md §4.4-§4.7: postal-mime's text parts decoded by one rule (its getTextContent replaced there).
import { charsetGuessOf, decodeText, flowedOf, undeclaredCharset, unflowText, type CharsetGuess } from './text-charset.js';
import { charsetDetectorLoaded, decodeUndeclaredFields, loadCharsetDetector } from '../api/undeclared-text.js';

/** docs/message-payload.md §5: one attachment as `caliop read --json` lists it, with its bytes. */
export interface AttachmentPart {
  /** 1-based, in the order the parts stand in the message. */
  readonly index: number;
  /** The sender's file name, decoded (RFC 2231/2047); never used as is on disk (see attachment-name.ts). */
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly sha256: string;
  readonly content: Uint8Array;
}

/** docs/message-payload.md §6: a signature structure found around the content. */
export type SignedContent =
  | { readonly kind: 'pgp-mime'; readonly signedBytes: Uint8Array; readonly signature: Uint8Array }
  | {
    readonly kind: 'inline' | 'cleartext';
    /** The block as shown (decoded with the part's charset). */
    readonly armored: string;
    /** docs/message-payload.md §6.6: the block's bytes in its part, when they are not its UTF-8 form: what was signed. */
    readonly octets?: Uint8Array;
    /**
     * docs/message-payload.md §6.6: the charset the signed text is decoded with: the part's
     * declared one, or windows-1252 when the part's was guessed (§4.5); absent when the part
     * declares none or US-ASCII (the signed text is then decoded by §4.5's rule).
     */
    readonly charset?: string;
    /** docs/message-payload.md §6.7: the part is RFC 3676 flowed text (`format=flowed`). */
    readonly flowed?: { readonly delSp: boolean };
  };

export interface MailContent {
  /** Header fields of the top entity, unfolded, encoded-words decoded. */
  readonly from: string | undefined;
  readonly fromAddress: string | undefined;
  readonly fromName: string | undefined;
  readonly to: readonly string[];
  readonly subject: string | undefined;
  readonly date: string | undefined;
  readonly messageId: string | undefined;
  /** The text to show, LF line ends. */
  readonly body: string;
  /** Where `body` came from: a text/plain part, HTML made readable, or nothing readable. */
  readonly bodySource: 'text' | 'html' | 'none';
  /** docs/message-payload.md §4.5: a text part had no charset (or US-ASCII) over bytes that are not UTF-8: shown in this charset, a guess. */
  readonly charsetGuess?: CharsetGuess;
  readonly attachments: readonly AttachmentPart[];
  /** true when the top Content-Type says protected-headers="v1" (docs/message-payload.md §1). */
  readonly protectedHeaders: boolean;
  readonly signed: SignedContent | null;
  /** Autocrypt Level 1 header values (`Autocrypt`, `Autocrypt-Gossip`), as written. */
  readonly autocrypt: readonly string[];
  readonly autocryptGossip: readonly string[];
  /** docs/gateway.md §4.5.1: what the Autocrypt rules read besides those fields. */
  readonly autocryptContext: {
    /** Every address of the `From` field, lowercased. */
    readonly fromAddresses: readonly string[];
    /** The `Reply-To` addresses, lowercased (gossip may name them). */
    readonly replyTo: readonly string[];
    /** RFC 3834 `Auto-Submitted`. */
    readonly autoSubmitted: string | undefined;
    /** The top-level media type, lowercased, without parameters. */
    readonly contentType: string | undefined;
  };
}

/** What sync keeps of a message it opens (src/service/mail-open.ts): the header fields, not the body nor the parts. */
export type ArrivalHeaders = Omit<MailContent, 'body' | 'attachments' | 'signed'>;

/** The header fields of a content, without its body and parts (small to hand from a worker thread). */
export function arrivalHeaders(content: MailContent): ArrivalHeaders {
  const { body: _body, attachments: _attachments, signed: _signed, ...headers } = content;
  return headers;
}

const NO_AUTOCRYPT_CONTEXT = { fromAddresses: [], replyTo: [], autoSubmitted: undefined, contentType: undefined } as const;

/** docs/message-payload.md §3: bounds given to the parser (nesting, header bytes, forwarded depth). */
// docs/limits.md §2.3: the header sections are bounded while parsing.
const PARSE_LIMITS = { maxNestingDepth: MESSAGE_LIMITS.maxMimeDepth, maxHeadersSize: MESSAGE_LIMITS.maxHeaderBytes, maxRfc822NestingDepth: 5 } as const;

const latin1 = new TextDecoder('latin1');
/** Forwarded messages inside forwarded messages are read this deep; deeper ones stay attachments. */
const MAX_FORWARD_DEPTH = 3;

function mailbox(address: Address | undefined, fix: (value: string) => string = (value) => value): { text: string; address: string; name: string } | undefined {
  if (address === undefined) return undefined;
  if ('group' in address && address.group) return mailbox(address.group[0], fix);
  const bare = (address.address ?? '').trim();
  const name = fix((address.name ?? '').trim());
  if (bare === '' && name === '') return undefined;
  return { text: name === '' ? bare : `${name} <${bare}>`, address: bare.toLowerCase(), name };
}

function addressList(addresses: readonly Address[] | undefined): string[] {
  const list: string[] = [];
  for (const address of addresses ?? []) {
    if ('group' in address && address.group) list.push(...address.group.map((member) => member.address.toLowerCase()));
    else if (address.address) list.push(address.address.toLowerCase());
  }
  return list;
}

function isoDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

/** Text that does not start with a header field is all body (docs/message-payload.md §3). */
function looksLikeMessage(text: string): boolean {
  return /^[!-9;-~]+:/.test(text) && /\r?\n\r?\n/.test(text);
}

export function lf(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** docs/message-payload.md §6.2-§6.3: the armor lines that open and close an inline block of each kind. */
const INLINE_ARMOR = {
  cleartext: { begin: '-----BEGIN PGP SIGNED MESSAGE-----', end: '-----END PGP SIGNATURE-----' },
  inline: { begin: '-----BEGIN PGP MESSAGE-----', end: '-----END PGP MESSAGE-----' },
} as const;

/**
 * The first block of `kind` in `text`: from its first begin line (followed by a line end)
 * to the first end line after it, as /BEGIN\r?\n[\s\S]*?END/ finds it, but in one pass: the
 * expression looked for the end again from each begin line (a text of 8,000 begin lines and
 * no end: 0.46 s; 1 MiB of them, ~30,000, 21 s of CPU at each reading).
 */
function firstInlineBlock(text: string, kind: keyof typeof INLINE_ARMOR): { index: number; block: string } | null {
  const { begin, end } = INLINE_ARMOR[kind];
  for (let at = text.indexOf(begin); at !== -1; at = text.indexOf(begin, at + 1)) {
    const after = at + begin.length;
    const lineEnd = text.startsWith('\r\n', after) ? after + 2 : text.startsWith('\n', after) ? after + 1 : -1;
    if (lineEnd === -1) continue;
    const close = text.indexOf(end, lineEnd);
    return close === -1 ? null : { index: at, block: text.slice(at, close + end.length) };
  }
  return null;
}

type InlineBlock = Extract<SignedContent, { kind: 'cleartext' | 'inline' }>;

function signedBlock(text: string): InlineBlock | null {
  const cleartext = firstInlineBlock(text, 'cleartext');
  if (cleartext) return { kind: 'cleartext', armored: cleartext.block };
  const message = firstInlineBlock(text, 'inline');
  if (message) return { kind: 'inline', armored: message.block };
  return null;
}

/**
 * docs/message-payload.md §6.2: an inline-signed or clear-signed block in the shown text
 * (`body`, line ends LF). §6.5: when the same block stands in the text as decoded (`text`),
 * that one, its CRs kept: GnuPG's reading of clear-signed text needs them. The block shown
 * is lf() of it either way.
 */
function inlineSigned(body: string, text: string): InlineBlock | null {
  const shown = signedBlock(body);
  if (shown === null) return null;
  const decoded = signedBlock(text);
  return decoded !== null && decoded.kind === shown.kind && lf(decoded.armored) === shown.armored ? decoded : shown;
}

/** docs/message-payload.md §6.8: the lines set around a signed text that does not stand alone in the body. */
export const SIGNED_TEXT_MARKS = { begins: '[signed text begins]', ends: '[signed text ends]' } as const;

/**
 * docs/message-payload.md §6.8: the body shown once an inline-signed or clear-signed block (`armored`,
 * as the body holds it, LF line ends) is replaced by the text its signature covers (`signedText`).
 * `partial` when the body holds anything but blanks outside the block (text before or after it, a
 * second block, a forwarded message below): the signature does not cover that text, so the signed
 * text is set between SIGNED_TEXT_MARKS and the message is not signed as a whole. A block not found
 * in the body (it cannot be shown as signed) is partial, the body kept as it is.
 */
export function withSignedText(body: string, armored: string, signedText: string): { body: string; partial: boolean } {
  const at = body.indexOf(armored);
  if (at === -1) return { body, partial: true };
  const before = body.slice(0, at);
  const after = body.slice(at + armored.length);
  const text = signedText.replace(/\n$/, '');
  if (before.trim() === '' && after.trim() === '') return { body: `${before}${text}${after}`, partial: false };
  const opening = before === '' || before.endsWith('\n') ? before : `${before}\n`;
  const closing = after === '' || after.startsWith('\n') ? after : `\n${after}`;
  return { body: `${opening}${SIGNED_TEXT_MARKS.begins}\n${text}\n${SIGNED_TEXT_MARKS.ends}${closing}`, partial: true };
}

/** docs/message-payload.md §6.6, docs/store.md §5.2: an inline block as the arrival record keeps it (bytes as base64). */
export interface StoredInlineBlock {
  readonly kind: InlineBlock['kind'];
  readonly armored: string;
  readonly octets?: string | undefined;
  readonly charset?: string | undefined;
  readonly flowed?: { readonly delSp: boolean } | undefined;
}

export function storedInlineBlock(block: InlineBlock): StoredInlineBlock {
  return {
    kind: block.kind,
    armored: block.armored,
    ...(block.octets !== undefined ? { octets: Buffer.from(block.octets.buffer, block.octets.byteOffset, block.octets.byteLength).toString('base64') } : {}),
    ...(block.charset !== undefined ? { charset: block.charset } : {}),
    ...(block.flowed !== undefined ? { flowed: { delSp: block.flowed.delSp } } : {}),
  };
}

export function loadedInlineBlock(stored: StoredInlineBlock): InlineBlock {
  return {
    kind: stored.kind,
    armored: stored.armored,
    ...(stored.octets !== undefined ? { octets: new Uint8Array(Buffer.from(stored.octets, 'base64')) } : {}),
    ...(stored.charset !== undefined ? { charset: stored.charset } : {}),
    ...(stored.flowed !== undefined ? { flowed: { delSp: stored.flowed.delSp } } : {}),
  };
}

/** The leaves of postal-mime's tree this file reads for §6.6. */
interface TextLeaf {
  readonly childNodes?: readonly TextLeaf[];
  readonly content?: unknown;
  readonly contentType?: { readonly parsed?: { readonly value?: string; readonly params?: Record<string, string> } };
}

/**
 * docs/message-payload.md §6.6-§6.7: the bytes of the text part that holds `block` (the first
 * text/plain part with a block of its kind, decoded as postal-mime decoded it), and how the
 * part's text was read: its charset (as declared, or the guess of §4.5) and whether it is
 * flowed (RFC 3676, unflowed for display). The block as shown must be what those bytes give
 * read that way, else nothing is kept: the block stays as it was.
 */
function inlineSignedOctets(block: InlineBlock | null, root: TextLeaf | undefined): InlineBlock | null {
  return block === null ? null : withOctets(block, root);
}

function withOctets(block: InlineBlock, root: TextLeaf | undefined): InlineBlock {
  const leaves: TextLeaf[] = [];
  const walk = (node: TextLeaf, depth: number) => {
    if (depth > PARSE_LIMITS.maxNestingDepth) return;
    if ((node.childNodes ?? []).length === 0) leaves.push(node);
    for (const child of node.childNodes ?? []) walk(child, depth + 1);
  };
  if (root !== undefined) walk(root, 0);
  for (const leaf of leaves) {
    const type = (leaf.contentType?.parsed?.value ?? 'text/plain').toLowerCase();
    if (type !== 'text/plain' || !(leaf.content instanceof ArrayBuffer || leaf.content instanceof Uint8Array)) continue;
    const content = leaf.content instanceof Uint8Array ? leaf.content : new Uint8Array(leaf.content);
    const match = firstInlineBlock(latin1.decode(content), block.kind); // one character per byte: the index is the byte offset
    if (match === null) continue;
    const octets = content.slice(match.index, match.index + match.block.length);
    const declared = (leaf.contentType?.parsed?.params?.['charset'] ?? '').trim().toLowerCase();
    // §4.5: the block is read as its part was: a guess made over the whole part holds for it too.
    const charset = charsetGuessOf(leaf) ?? (undeclaredCharset(declared) ? undefined : declared);
    const flowed = flowedOf(leaf.contentType?.parsed?.params);
    const decoded = decodeText(octets, charset).text;
    if (lf(flowed === undefined ? decoded : unflowText(decoded, flowed.delSp)) !== lf(block.armored)) return block;
    const utf8 = new TextEncoder().encode(block.armored);
    const same = utf8.length === octets.length && utf8.every((byte, index) => byte === octets[index]);
    return { ...block, ...(same ? {} : { octets }), ...(charset === undefined ? {} : { charset }), ...(flowed === undefined ? {} : { flowed }) };
  }
  return block;
}

/**
 * docs/message-payload.md §4.5: the Subject and From fields written with 8-bit bytes that are
 * not UTF-8 (RFC 6532 allows UTF-8 only; old mailers write their own charset there,
 * undeclared): postal-mime read them as UTF-8, with U+FFFD. Read again from the message's
 * bytes by §4.5's rule, both in one charset guessed over both (src/api/undeclared-text.ts
 * `decodeUndeclaredFields`, as the relay reads the outer ones), encoded-words beside them
 * decoded as usual; a field that is not such is undefined.
 */
function guessedSubjectAndFrom(raw: string): { subject?: string; from?: string; guessed?: CharsetGuess } {
  const fields = parseHeaderFields(splitHeaderAndBody(raw).headerText);
  const { guessed, texts } = decodeUndeclaredFields([headerValue(fields, 'Subject'), headerValue(fields, 'From')]);
  const [subject, from] = texts.map((text) => (text === undefined ? undefined : decodeWords(text)));
  return { ...(subject === undefined ? {} : { subject }), ...(from === undefined ? {} : { from }), ...(guessed === undefined ? {} : { guessed }) };
}

/**
 * RFC 3156 §5: the first part of a multipart/signed entity exactly as it stands
 * (lines joined by CRLF, the CRLF before the boundary not included) and its
 * detached signature; null when the entity is not a well-formed PGP/MIME signature.
 */
function pgpMimeSigned(raw: string): { signedText: string; signature: string } | null {
  const { headerText, body } = splitHeaderAndBody(raw);
  const type = parseContentType(headerValue(parseHeaderFields(headerText), 'Content-Type'));
  if (type.type !== 'multipart/signed' || type.params['protocol']?.toLowerCase() !== 'application/pgp-signature') return null;
  const boundary = type.params['boundary'];
  if (boundary === undefined) return null;
  const parts = splitMultipart(body, boundary);
  if (parts === null || parts.length !== 2) return null;
  const signature = splitHeaderAndBody(parts[1]!).body;
  if (!/-----BEGIN PGP SIGNATURE-----/.test(signature)) return null;
  return { signedText: parts[0]!, signature };
}

function attachmentBytes(content: ArrayBuffer | Uint8Array | string): Uint8Array {
  if (typeof content === 'string') return new TextEncoder().encode(content);
  return content instanceof Uint8Array ? content : new Uint8Array(content);
}

/** The parts of postal-mime's tree this file reads (postal-mime 4.0.0, pinned: docs/decisions/mime.md). */
interface ParsedNode {
  readonly childNodes?: readonly ParsedNode[];
  readonly content?: unknown;
  readonly contentTransferEncoding?: { readonly encoding?: string };
  /** An inline forwarded message, parsed by a parser of its own (whose tree is not kept). */
  readonly subMessage?: Email;
}

/**
 * docs/message-payload.md §5.1, measured: postal-mime 4.0.0 keeps the line break that
 * precedes a boundary as a final LF of a quoted-printable, 7bit, 8bit or binary part,
 * where RFC 2046 §5.1.1 says it belongs to the delimiter. Saved attachments would then
 * differ from the sender's file by one byte. The decoded buffers of those parts are
 * found by identity in the parser's tree, and that one LF is removed. The attachments of
 * a forwarded message read inline come from a parser whose tree postal-mime does not keep:
 * that message is parsed again the same way (its depth included) to find their encodings,
 * matched by their place in its list (§3.2: the streamed path never kept that LF).
 * The same walk finds the text parts whose charset was guessed (§4.5), there too.
 */
async function lineEndEncodedContents(root: ParsedNode | undefined, inlineDepth: number, guesses: Set<CharsetGuess>): Promise<Set<unknown>> {
  const found = new Set<unknown>();
  const inline: ParsedNode[] = [];
  const walk = (node: ParsedNode, depth: number) => {
    if (depth > PARSE_LIMITS.maxNestingDepth) return;
    const guess = charsetGuessOf(node);
    if (guess !== undefined) guesses.add(guess);
    if (node.subMessage !== undefined) inline.push(node);
    const encoding = (node.contentTransferEncoding?.encoding ?? '').toLowerCase();
    if (node.content !== null && node.content !== undefined && encoding !== 'base64') found.add(node.content);
    for (const child of node.childNodes ?? []) walk(child, depth + 1);
  };
  if (root !== undefined) walk(root, 0);
  for (const node of inline) {
    const again = new PostalMime({ ...PARSE_LIMITS, attachmentEncoding: 'arraybuffer' });
    (again as unknown as { rfc822NestingDepth: number }).rfc822NestingDepth = inlineDepth + 1;
    const email = await again.parse((node.content ?? new ArrayBuffer(0)) as ArrayBuffer);
    const inner = await lineEndEncodedContents((again as unknown as { root?: ParsedNode }).root, inlineDepth + 1, guesses);
    node.subMessage!.attachments.forEach((attachment, index) => {
      if (inner.has(email.attachments[index]?.content)) found.add(attachment.content);
    });
  }
  return found;
}

function withoutDelimiterLineEnd(content: Uint8Array): Uint8Array {
  return content.length > 0 && content[content.length - 1] === 0x0a ? content.subarray(0, content.length - 1) : content;
}

function attachmentsOf(email: Email, skipSignature: boolean, lineEndEncoded: Set<unknown>, fix: (value: string) => string): AttachmentPart[] {
  const parts: AttachmentPart[] = [];
  for (const attachment of email.attachments) {
    const type = (attachment.mimeType ?? 'application/octet-stream').toLowerCase();
    if (skipSignature && type === 'application/pgp-signature') continue;
    const decoded = attachmentBytes(attachment.content);
    const content = lineEndEncoded.has(attachment.content) ? withoutDelimiterLineEnd(decoded) : decoded;
    parts.push({
      index: parts.length + 1,
      name: fix(attachment.filename ?? ''),
      type,
      size: content.length,
      sha256: bytesToHex(sha256(content)),
      content,
    });
  }
  return parts;
}

/**
 * docs/message-payload.md §3-§6: reads a whole RFC 5322 message or MIME entity. §4.5: when a
 * text was guessed before the charset detector was loaded (postal-mime decodes synchronously),
 * the detector is loaded and the message read again: only mail with undeclared 8-bit text that
 * is not UTF-8 pays for it (docs/decisions/mime.md item 6), and only once per process.
 */
export async function readMailContent(bytes: Uint8Array, depth = 0): Promise<MailContent> {
  const detectorWasLoaded = charsetDetectorLoaded();
  const content = await readMailContentOnce(bytes, depth);
  if (content.charsetGuess === undefined || detectorWasLoaded) return content;
  await loadCharsetDetector();
  return readMailContentOnce(bytes, depth);
}

async function readMailContentOnce(bytes: Uint8Array, depth: number): Promise<MailContent> {
  const raw = latin1.decode(bytes);
  if (!looksLikeMessage(raw)) {
    // docs/message-payload.md §3, §4.5: no header, so no charset: the bytes decide.
    const { text, guessed } = decodeText(bytes, undefined);
    const body = lf(text);
    return {
      from: undefined, fromAddress: undefined, fromName: undefined, to: [], subject: undefined, date: undefined, messageId: undefined,
      body, bodySource: body.trim() === '' ? 'none' : 'text', ...(guessed !== undefined ? { charsetGuess: guessed } : {}), attachments: [], protectedHeaders: false,
      // §6.6: the block's bytes as they are, the text being the message's only part.
      signed: inlineSignedOctets(inlineSigned(body, text), { content: bytes, contentType: { parsed: { value: 'text/plain', params: {} } }, ...(guessed !== undefined ? { charsetGuess: guessed } : {}) } as TextLeaf),
      autocrypt: [], autocryptGossip: [], autocryptContext: NO_AUTOCRYPT_CONTEXT,
    };
  }
  // docs/limits.md §2.6: counted as the streamed splitter counts them (sync), before postal-mime
  // spends tens of microseconds on each part; a forwarded message (depth > 0) was counted with its parent.
  if (depth === 0) await checkMessageLimits(bytes);
  const parser = new PostalMime({ ...PARSE_LIMITS, attachmentEncoding: 'arraybuffer' });
  let email: Awaited<ReturnType<typeof parser.parse>>;
  try {
    email = await parser.parse(bytes);
  } catch (error) {
    if (/Maximum header size/.test((error as Error).message)) {
      throw new CaliopError('message_over_limit', `this message stays sealed: ${overLimitText('headers-too-large')}`, { cause: error });
    }
    // docs/limits.md §2.7: counted first by checkMessageLimits (depth 0); a forwarded message read here again is bounded the same way.
    if (/Maximum MIME nesting depth/.test((error as Error).message)) {
      throw new CaliopError('message_over_limit', `this message stays sealed: ${overLimitText('nested-too-deep')}`, { cause: error });
    }
    throw error;
  }
  // docs/message-payload.md §4.4-§4.5: each text part was decoded by src/core/text-charset.ts (a guess marked on its node).
  const guesses = new Set<CharsetGuess>();
  const lineEndEncoded = await lineEndEncodedContents((parser as unknown as { root?: ParsedNode }).root, 0, guesses);
  const signedParts = pgpMimeSigned(raw);
  let text = email.text;
  let bodySource: MailContent['bodySource'] = 'text';
  if (text === undefined || text.trim() === '') {
    if (email.html !== undefined && email.html.trim() !== '') {
      text = htmlToReadableText(email.html);
      bodySource = 'html';
    } else {
      text = '';
      bodySource = 'none';
    }
  }
  let body = lf(text);
  // docs/message-payload.md §4.4: every header section of the message (its parts' too) is in `raw`.
  const fixHeader = headerFix(raw);
  const attachments = attachmentsOf(email, signedParts !== null, lineEndEncoded, fixHeader);
  // docs/message-payload.md §4.3: a message forwarded as an attachment is shown below the text, and its own attachments are listed after it.
  if (depth < MAX_FORWARD_DEPTH) {
    for (const attachment of [...attachments]) {
      if (attachment.type !== 'message/rfc822') continue;
      const forwarded = await readMailContent(attachment.content, depth + 1);
      if (forwarded.charsetGuess !== undefined) guesses.add(forwarded.charsetGuess);
      const header = ['---------- Forwarded message ----------', `From: ${forwarded.from ?? ''}`, `Date: ${forwarded.date ?? ''}`, `Subject: ${forwarded.subject ?? ''}`];
      // One line end before the header; trimmed from the end in one pass (/\n*$/ cost the square of a run of empty lines the sender writes, docs/fuzzing.md).
      let end = body.length;
      while (end > 0 && body.charCodeAt(end - 1) === 0x0a) end -= 1;
      body = `${body.slice(0, end)}\n\n${header.join('\n')}\n\n${forwarded.body}`;
      if (attachment.name === '') attachments[attachment.index - 1] = { ...attachment, name: `${forwarded.subject ?? 'forwarded message'}.eml` };
      for (const inner of forwarded.attachments) attachments.push({ ...inner, index: attachments.length + 1 });
    }
  }
  // §4.5: a Subject or From written in 8-bit bytes that are not UTF-8 (postal-mime gave U+FFFD).
  let subject = email.subject === undefined ? undefined : fixHeader(email.subject);
  // §4.6: a Subject in UTF-7 encoded-words (TextDecoder has none).
  const rawSubject = email.headers.find((header) => header.key === 'subject')?.value;
  if (rawSubject !== undefined && /=\?utf-7/i.test(rawSubject)) subject = fixHeader(decodeWords(decodeUtf7Words(rawSubject)).replace(/\s+/g, ' ').trim());
  let fromAddress = email.from;
  const subjectBroken = subject?.includes('\ufffd') ?? false;
  const fromBroken = (fromAddress?.name ?? '').includes('\ufffd');
  const again = subjectBroken || fromBroken ? guessedSubjectAndFrom(raw) : {};
  if (subjectBroken && again.subject !== undefined && again.guessed !== undefined) {
    subject = fixHeader(again.subject).replace(/\s+/g, ' ').trim();
    guesses.add(again.guessed);
  }
  const fromAgain = fromBroken && again.from !== undefined ? addressParser(again.from)[0] : undefined;
  if (fromAgain !== undefined && again.guessed !== undefined) {
    fromAddress = fromAgain;
    guesses.add(again.guessed);
  }
  const from = mailbox(fromAddress, fixHeader);
  const topType = email.headers.find((header) => header.key === 'content-type')?.value ?? '';
  const headerValues = (key: string) => email.headers.filter((header) => header.key === key).map((header) => header.value.replace(/\s+/g, ' ').trim());
  return {
    from: from?.text,
    fromAddress: from?.address,
    fromName: from?.name,
    to: [...addressList(email.to), ...addressList(email.cc)],
    subject,
    date: isoDate(email.date),
    messageId: email.messageId?.replace(/^<|>$/g, ''),
    body,
    bodySource,
    ...(guesses.size > 0 ? { charsetGuess: [...guesses][0]! } : {}),
    attachments,
    protectedHeaders: /protected-headers\s*=\s*"?v1"?/i.test(topType),
    signed: signedParts
      ? { kind: 'pgp-mime', signedBytes: Uint8Array.from(signedParts.signedText, (char) => char.charCodeAt(0) & 0xff), signature: new TextEncoder().encode(signedParts.signature) }
      : bodySource === 'text' ? inlineSignedOctets(inlineSigned(body, text), (parser as unknown as { root?: TextLeaf }).root) : null,
    autocrypt: headerValues('autocrypt'),
    autocryptGossip: headerValues('autocrypt-gossip'),
    autocryptContext: {
      fromAddresses: headerValues('from').flatMap((value) => addressList(addressParser(value, { flatten: true }))),
      replyTo: addressList(email.replyTo),
      autoSubmitted: headerValues('auto-submitted')[0],
      contentType: topType === '' ? undefined : topType.split(';', 1)[0]!.trim().toLowerCase(),
    },
  };
}

/**
 * docs/exposure.md §4.1.1: a mailbox as shown. A display name that looks like an
 * address (`"bob@caliop.test" <mallory@evil.test>`) is shown after the real address,
 * `mallory@evil.test ("bob@caliop.test")`, so the claim never reads as the sender.
 */
export function displayMailbox(mailbox: string): string {
  const match = splitAngleMailbox(mailbox);
  if (!match || match.address === '') return mailbox;
  const { name, address } = match;
  if (!name.includes('@') || name.toLowerCase() === address.toLowerCase()) return mailbox;
  return `${address} ("${name}")`;
}

/**
 * docs/message-payload.md §3.1: the file name an attachment's header section gives
 * (RFC 2231/2047 decoded by postal-mime, as for every other attachment), for a part that
 * the streamed splitter (src/core/mime-stream.ts) sends to a blob without parsing its body.
 */
export async function attachmentNameIn(headerText: string): Promise<string> {
  const head = headerText.replace(/(\r?\n)*$/, '');
  // The header section's bytes as they came (latin1 is byte for byte): an 8-bit name is UTF-8
  // (RFC 6532) as in the whole message; handed over as a string, postal-mime encoded it twice.
  const bytes = Buffer.from(`${head}\r\n\r\nx`, 'latin1');
  const email = await new PostalMime({ ...PARSE_LIMITS, attachmentEncoding: 'arraybuffer' }).parse(bytes).catch(() => undefined);
  return headerFix(head)(email?.attachments[0]?.filename ?? '');
}

/** One attachment of a message split as a stream, as readMailContent would list it (docs/message-payload.md §3.1). */
export interface StreamedListing {
  /** The attachment's place in the order the splitter opened them. */
  readonly ordinal: number;
  /** A forwarded message shown below the text: its subject, for its name when it has none (§5.1). */
  readonly forwardedSubject?: string;
}

/** postal-mime's bound on forwarded messages read inline, one inside the other (PARSE_LIMITS). */
const MAX_INLINE_FORWARD_DEPTH = PARSE_LIMITS.maxRfc822NestingDepth;

/**
 * docs/message-payload.md §3.2, postal-mime's order: the parts as they stand, a forwarded
 * message read inline in its place, unless it is in a report or past the inline depth: then
 * it is an attachment (its own blob), as postal-mime lists it.
 */
function streamedInOrder(scope: StreamedScope, inlineDepth: number, top: boolean): StreamedItem[] {
  const found: StreamedItem[] = [];
  for (const item of scope.items) {
    if (item.forwarded !== undefined && item.inline === true && !scope.report && inlineDepth < MAX_INLINE_FORWARD_DEPTH) {
      found.push(...streamedInOrder(item.forwarded, inlineDepth + 1, false));
    } else found.push(item);
  }
  // §5.1: the signature part of a PGP/MIME signed message is not an attachment (as attachmentsOf).
  return top && scope.signed ? found.filter((item) => item.type !== 'application/pgp-signature') : found;
}

/**
 * docs/message-payload.md §3.1-§3.2, §4.3, §5.1: the attachments of a message split as a
 * stream (src/core/mime-stream.ts), in the order readMailContent lists those of the whole
 * message: its own, then each forwarded attachment's own after them, 3 deep.
 */
export async function listStreamedAttachments(scope: StreamedScope, depth = 0): Promise<StreamedListing[]> {
  const own = streamedInOrder(scope, 0, true);
  const listed: StreamedListing[] = own.map(({ ordinal }) => ({ ordinal }));
  if (depth >= MAX_FORWARD_DEPTH) return listed;
  for (const [position, item] of own.entries()) {
    if (item.forwarded === undefined || item.type !== 'message/rfc822') continue;
    const forwarded = await readMailContent(item.forwarded.kept(), depth + 1);
    listed[position] = { ordinal: item.ordinal, forwardedSubject: forwarded.subject ?? 'forwarded message' };
    listed.push(...(await listStreamedAttachments(item.forwarded, depth + 1)));
  }
  return listed;
}
