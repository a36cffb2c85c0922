// docs/message-payload.md §4.5: text whose charset the sender did not declare (no charset, a
// US-ASCII label that 8-bit bytes prove wrong, RFC 1428's unknown-8bit; also a raw 8-bit
// header field, which RFC 6532 allows in UTF-8 only): UTF-8 when the bytes are UTF-8, else
// windows-1252, and that is a guess. One rule for the stick (src/core/text-charset.ts
// `decodeText`, its Subject and From) and the relay (the outer headers it records,
// docs/gateway.md §3.8), which may import the narrow API but not the stick's core
// (docs/architecture.md): hence here. Pure: bytes in, text out.

import { windows1252Text } from './windows-1252.js';

/** docs/message-payload.md §4.5: the charsets a text may be shown in without the sender saying so. */
export const CHARSET_GUESSES = ['windows-1252'] as const;
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

/**
 * docs/message-payload.md §4.5: bytes in no declared charset, read as UTF-8 when they are
 * UTF-8 (ASCII is; RFC 6532 mail is), else as windows-1252 (the West's default, as
 * Thunderbird's), which is then a guess; windows-1252's 0x80-0x9F as WHATWG's index says
 * whatever the runtime (src/api/windows-1252.ts).
 */
export function decodeUndeclared(bytes: Uint8Array): DecodedText {
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch {
    return { text: windows1252Text(windows1252.decode(bytes)), guessed: 'windows-1252' };
  }
}
