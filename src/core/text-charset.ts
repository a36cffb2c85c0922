// docs/message-payload.md §4.4-§4.7: how the bytes of a text part become the text shown,
// one rule for every place that decodes one: postal-mime's text and HTML parts (both
// receive paths read them through postal-mime, src/core/mail-content.ts) and the signed
// text of §6.6 (src/service/mail-read.ts). postal-mime exports neither its MIME node nor
// its decoders: the node's prototype is taken from a parser's root (as postal-mime-lines.ts
// does) and its `getTextContent` replaced by one that follows this rule. Pure: no I/O.

import PostalMime from 'postal-mime';
import { decodedAsWindows1252, windows1252Text } from '../api/windows-1252.js';
import { decodeUndeclared, detectorWanted, loadCharsetDetector, undeclaredCharset, type CharsetGuess, type DecodedText } from '../api/undeclared-text.js';
import { htmlMetaCharset } from './html-charset.js';
import { decodeUtf7 } from './utf7.js';

export { undeclaredCharset, type CharsetGuess, type DecodedText };

/** RFC 2152 and its registered aliases. */
const UTF7_LABELS = /^(?:utf-?7|csutf7|unicode-1-1-utf-7|csunicode11utf7|x-unicode-2-0-utf-7)$/;

/** What this file reads and replaces of postal-mime's MIME node (postal-mime 4.0.0, mime-node.ts). */
interface TextNode {
  content: ArrayBuffer | Uint8Array | null;
  contentType: { parsed: { value?: string; params: Record<string, string | undefined> } };
  decodeFlowedText(text: string, delSp: boolean): string;
  getTextContent(): string;
  /** Set by the replacement below when the part's charset was guessed. */
  charsetGuess?: CharsetGuess;
}

const mimeNodePrototype = Object.getPrototypeOf((new PostalMime() as unknown as { root: TextNode }).root) as TextNode;
const postalMimeText = mimeNodePrototype.getTextContent;

/**
 * postal-mime's decoding of a declared charset: its label table (WHATWG's labels, then its
 * aliases such as cp932 or x-sjis), windows-1252 for a label it does not know.
 */
function declaredCharset(bytes: Uint8Array, label: string): string {
  const scratch = { content: bytes, contentType: { parsed: { params: { charset: label } } } };
  return postalMimeText.call(scratch as unknown as TextNode);
}

/**
 * docs/message-payload.md §4.4-§4.6: the text of `bytes` (transfer encoding undone) in a part
 * that declares `charset`:
 * - no charset, a US-ASCII label (which 8-bit bytes prove wrong) or unknown-8bit: UTF-8 when the bytes are
 *   UTF-8 (ASCII is), else windows-1252, and that is a guess (`guessed`), as Thunderbird does
 *   with its default charset for the West;
 * - UTF-7 (RFC 2152, which TextDecoder does not know): src/core/utf7.ts;
 * - any other label: as declared (postal-mime's table, windows-1252 for a label it does not
 *   know), windows-1252's 0x80-0x9F as WHATWG's index says on a runtime that gets them wrong.
 */
export function decodeText(bytes: Uint8Array, charset: string | undefined): DecodedText {
  const label = (charset ?? '').trim().toLowerCase();
  // §4.5: the rule the relay follows too for the outer headers it records (docs/gateway.md §3.8).
  if (undeclaredCharset(label)) return decodeUndeclared(bytes);
  if (UTF7_LABELS.test(label)) return { text: decodeUtf7(bytes) };
  const text = declaredCharset(bytes, label);
  return { text: decodedAsWindows1252(label) ? windows1252Text(text) : text };
}

/**
 * decodeText, the charset detector loaded first when the text is undeclared and not UTF-8
 * (docs/decisions/mime.md item 6: loaded only when such text is met).
 */
export async function decodeTextLoadingDetector(bytes: Uint8Array, charset: string | undefined): Promise<DecodedText> {
  if (undeclaredCharset(charset) && detectorWanted(bytes)) await loadCharsetDetector();
  return decodeText(bytes, charset);
}

/** RFC 3676 §4.2-§4.4: flowed text made whole again (postal-mime's own unflowing: soft breaks, space-stuffing, delsp). */
export function unflowText(text: string, delSp: boolean): string {
  return mimeNodePrototype.decodeFlowedText.call(mimeNodePrototype, text, delSp);
}

/** docs/message-payload.md §4.7: whether a part's parameters say RFC 3676 flowed text, and with delsp. */
export function flowedOf(params: Readonly<Record<string, string | undefined>> | undefined): { delSp: boolean } | undefined {
  if (!/^flowed$/i.test((params?.['format'] ?? '').trim())) return undefined;
  return { delSp: /^yes$/i.test((params?.['delsp'] ?? '').trim()) };
}

/**
 * docs/message-payload.md §4.5: the charset a part is decoded with: its MIME charset, but for an
 * HTML part whose MIME charset says nothing of 8-bit bytes (none, US-ASCII, unknown-8bit): the
 * one its `<meta>` declares in its first 1,024 bytes, when it declares one. A MIME charset wins.
 */
function charsetOfPart(type: string | undefined, charset: string | undefined, bytes: Uint8Array): string | undefined {
  if (!undeclaredCharset(charset) || (type ?? '').trim().toLowerCase() !== 'text/html') return charset;
  return htmlMetaCharset(bytes) ?? charset;
}

mimeNodePrototype.getTextContent = function getTextContent(this: TextNode): string {
  if (!this.content) return '';
  const params = this.contentType.parsed.params;
  const bytes = this.content instanceof Uint8Array ? this.content : new Uint8Array(this.content);
  const decoded = decodeText(bytes, charsetOfPart(this.contentType.parsed.value, params['charset'], bytes));
  if (decoded.guessed !== undefined) this.charsetGuess = decoded.guessed;
  const flowed = flowedOf(params);
  return flowed === undefined ? decoded.text : unflowText(decoded.text, flowed.delSp);
};

/** docs/message-payload.md §4.5: the guess made for one of postal-mime's MIME nodes, once its text was read. */
export function charsetGuessOf(node: unknown): CharsetGuess | undefined {
  return (node as Partial<TextNode> | null)?.charsetGuess;
}

/** True once the replacement is in place (imported for its effect by mail-content.ts). */
export const TEXT_DECODED_BY_RULE = mimeNodePrototype.getTextContent !== postalMimeText;
