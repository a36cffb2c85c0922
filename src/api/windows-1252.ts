// docs/message-payload.md §4.4: Node's TextDecoder('windows-1252') (the decoder of the labels
// windows-1252, iso-8859-1, latin1, us-ascii… in WHATWG's table) decodes 0x80-0x9F as the C1
// controls U+0080-U+009F on Node 20.18.3+ and 22.13.0+ (nodejs/node#60888; measured on 20.20.2).
// Text such a decoder gave is corrected here, only when the runtime is found broken.
// Pure: strings in, strings out.

/** WHATWG's index-windows-1252 for the bytes 0x80-0x9F (the rest is ISO-8859-1). */
const WINDOWS_1252_C1 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
/** docs/message-payload.md §4.4: measured on Node 20.20.2, TextDecoder('windows-1252') decodes 0x80-0x9F as U+0080-U+009F (nodejs/node#60888). */
export const TEXT_DECODER_CP1252_BROKEN = new TextDecoder('windows-1252').decode(Uint8Array.of(0x80)) !== '€';

/**
 * docs/message-payload.md §4.4: text a windows-1252 decoder (the labels windows-1252,
 * iso-8859-1, latin1, us-ascii… in WHATWG's table) gave, with the C1 characters a broken
 * runtime leaves (a right one never gives them, but for 0x81, 0x8D, 0x8F, 0x90, 0x9D which
 * stay as they are) mapped as the standard says. Nothing to do on a right runtime.
 */
export function windows1252Text(text: string): string {
  if (!TEXT_DECODER_CP1252_BROKEN) return text;
  return text.replace(/[\u0080-\u009f]/g, (char) => WINDOWS_1252_C1[char.charCodeAt(0) - 0x80]!);
}

/** RFC 2047 encoded-words' and RFC 2231 parameters' charsets in a header text. */
const WORD_CHARSETS = /=\?([^?*\s]{1,40})(?:\*[^?]*)?\?[bq]\?|\*=([^'"\s;]{1,40})'/gi;

export function decodedAsWindows1252(label: string): boolean {
  try {
    return new TextDecoder(label.trim().toLowerCase()).encoding === 'windows-1252';
  } catch {
    return true; // postal-mime's fallback for a label TextDecoder does not know
  }
}

/**
 * docs/message-payload.md §4.4: header values (subject, names, file names) decoded from
 * encoded-words or RFC 2231 parameters, corrected as windows1252Text says when one of the
 * charsets in `headerText` is decoded as windows-1252 by a broken runtime.
 */
export function headerFix(headerText: string): (value: string) => string {
  if (!TEXT_DECODER_CP1252_BROKEN) return (value) => value;
  for (const match of headerText.matchAll(WORD_CHARSETS)) {
    if (decodedAsWindows1252(match[1] ?? match[2] ?? '')) return windows1252Text;
  }
  return (value) => value;
}
