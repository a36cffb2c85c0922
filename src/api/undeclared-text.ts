// docs/message-payload.md §4.5: text whose charset the sender did not declare (no charset, a
// US-ASCII label that 8-bit bytes prove wrong, RFC 1428's unknown-8bit; also a raw 8-bit
// header field, which RFC 6532 allows in UTF-8 only): UTF-8 when the bytes are UTF-8, else
// the charset the detector names when its answer passes the rule of src/api/charset-detector.ts,
// else windows-1252, and either is a guess. One rule for the stick (src/core/text-charset.ts
// `decodeText`, its Subject and From) and the relay (the outer headers it records,
// docs/gateway.md §3.8), which may import the narrow API but not the stick's core
// (docs/architecture.md): hence here. Pure: bytes in, text out.

import { charsetDetectorLoaded, DETECTED_CHARSETS, detectedCharsetOf, loadCharsetDetector } from './charset-detector.js';
import { windows1252Text } from './windows-1252.js';

/** docs/message-payload.md §4.5: the charsets a text may be shown in without the sender saying so. */
export const CHARSET_GUESSES = ['windows-1252', ...DETECTED_CHARSETS] as const;
export type CharsetGuess = (typeof CHARSET_GUESSES)[number];

export interface DecodedText {
  readonly text: string;
  /** Set when the bytes are not UTF-8: the text is shown in this charset, a guess. */
  readonly guessed?: CharsetGuess;
}

/**
 * Labels that say nothing of 8-bit bytes: those that promise 7-bit text (IANA's US-ASCII and
 * its aliases, which 8-bit bytes prove wrong), and RFC 1428's `unknown-8bit` (and `x-unknown`),
 * which say the sender does not know.
 */
const UNDECLARED_LABELS = /^(?:us-ascii|ascii|ansi_x3\.4-1968|ansi_x3\.4-1986|iso646-us|us|csascii|iso-ir-6|iso_646\.irv:1991|cp367|ibm367|unknown-8bit|x-unknown)$/;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const windows1252 = new TextDecoder('windows-1252');

/** docs/message-payload.md §4.5: no charset, a US-ASCII label or unknown-8bit: the bytes decide (UTF-8, else a guess). */
export function undeclaredCharset(charset: string | undefined): boolean {
  const label = (charset ?? '').trim().toLowerCase();
  return label === '' || UNDECLARED_LABELS.test(label);
}

/** The text of `bytes` when they are UTF-8 (ASCII is), else undefined. */
function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * docs/message-payload.md §4.5: bytes in no declared charset, read as UTF-8 when they are
 * UTF-8 (ASCII is; RFC 6532 mail is); else in the charset the detector names, when it is loaded
 * and its answer passes the rule (src/api/charset-detector.ts); else as windows-1252 (the
 * West's default, as Thunderbird's). Both are a guess. windows-1252's 0x80-0x9F as WHATWG's
 * index says whatever the runtime (src/api/windows-1252.ts). Synchronous (postal-mime's
 * `getTextContent` is): a caller that may meet such bytes loads the detector first
 * (`detectorWanted`, then `loadCharsetDetector`).
 */
export function decodeUndeclared(bytes: Uint8Array): DecodedText {
  const utf8 = utf8Text(bytes);
  if (utf8 !== undefined) return { text: utf8 };
  const guessed = guessedCharsetOf(bytes);
  return { text: decodeGuessed(bytes, guessed), guessed };
}

/** §4.5's guess for bytes that are not UTF-8: the detector's charset when it passes the rule, else windows-1252. */
export function guessedCharsetOf(bytes: Uint8Array): CharsetGuess {
  return detectedCharsetOf(bytes) ?? 'windows-1252';
}

/** Bytes decoded in the charset guessed for them (windows-1252's 0x80-0x9F as WHATWG's index says). */
export function decodeGuessed(bytes: Uint8Array, guessed: CharsetGuess): string {
  return guessed === 'windows-1252' ? windows1252Text(windows1252.decode(bytes)) : new TextDecoder(guessed).decode(bytes);
}

/**
 * docs/message-payload.md §4.5, docs/gateway.md §3.8: header fields written in raw 8-bit bytes
 * (`values` as read byte for byte, one character per byte: latin1), of which those that are not
 * UTF-8 (RFC 6532 allows UTF-8 only) are decoded in ONE charset guessed over all of them: one
 * mailer writes one charset, and a From name alone is too short to tell it. `texts[i]` is the
 * text of `values[i]` when it was such a field, else undefined; `guessed` is set when one was.
 */
export function decodeUndeclaredFields(values: readonly (string | undefined)[]): { readonly guessed?: CharsetGuess; readonly texts: readonly (string | undefined)[] } {
  const bytes = values.map((value) => (value === undefined || !/[\x80-\xff]/.test(value) ? undefined : Buffer.from(value, 'latin1')));
  const undeclared = bytes.map((field) => (field === undefined || isUtf8(field) ? undefined : field));
  const all = undeclared.filter((field) => field !== undefined);
  if (all.length === 0) return { texts: values.map(() => undefined) };
  const guessed = guessedCharsetOf(Buffer.concat(all.flatMap((field) => [field, Buffer.from('\n')])));
  return { guessed, texts: undeclared.map((field) => (field === undefined ? undefined : decodeGuessed(field, guessed))) };
}

/** docs/decisions/mime.md item 6: whether reading these header values (latin1) by decodeUndeclaredFields would ask a detector not loaded yet. */
export function detectorWantedForFields(values: readonly (string | undefined)[]): boolean {
  return values.some((value) => value !== undefined && /[\x80-\xff]/.test(value) && detectorWanted(Buffer.from(value, 'latin1')));
}

/** True when `bytes` are UTF-8 (ASCII is). */
export function isUtf8(bytes: Uint8Array): boolean {
  return utf8Text(bytes) !== undefined;
}

/**
 * docs/decisions/mime.md item 6: true when reading `bytes` as undeclared text would ask the
 * detector and it is not loaded yet (8-bit bytes that are not UTF-8); the caller then awaits
 * `loadCharsetDetector()` before decoding. False for UTF-8 and ASCII, so mail that declares
 * its charset or is UTF-8 never loads it.
 */
export function detectorWanted(bytes: Uint8Array): boolean {
  return !charsetDetectorLoaded() && !isUtf8(bytes);
}

export { charsetDetectorLoaded, loadCharsetDetector };
