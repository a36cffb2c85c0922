// UTF-7 (RFC 2152) decoding, for text parts that declare `charset=utf-7`
// (docs/message-payload.md §4.6): WHATWG's TextDecoder has no UTF-7. Pure, linear in the
// input: each byte is looked at once and gives at most one UTF-16 code unit.

/** RFC 2152 §"Definitions": the modified base64 alphabet (RFC 2045's, without "="). */
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE = new Int8Array(256).fill(-1);
for (let index = 0; index < BASE64.length; index += 1) VALUE[BASE64.charCodeAt(index)] = index;

const PLUS = 0x2b;
const MINUS = 0x2d;
const REPLACEMENT = 0xfffd;
// The code units are read back by the UTF-16 decoder in the platform's byte order (a lone
// surrogate becomes U+FFFD there).
const utf16 = new TextDecoder(new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 'utf-16le' : 'utf-16be');

/**
 * RFC 2152 "Rule 2" and "Rule 3": "+" starts a run of modified base64 holding UTF-16 code
 * units, 16 bits each, which ends at the first character outside the alphabet; a "-" that
 * ends it is absorbed, any other character is itself; "+-" is "+". Any other byte below
 * 0x80 is itself (Rule 1 and the optionally direct characters; a decoder reads them all).
 * What a sender may get wrong is shown, never refused: a byte of 0x80 or more (UTF-7 is
 * 7-bit) is U+FFFD, so is a code unit cut by the end of its run, and so is a surrogate
 * that is not half of a pair (the UTF-16 decoder's rule); a "+" before no base64 is "+".
 */
export function decodeUtf7(bytes: Uint8Array): string {
  const units = new Uint16Array(bytes.length);
  let length = 0;
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index]!;
    index += 1;
    if (byte !== PLUS) {
      units[length++] = byte < 0x80 ? byte : REPLACEMENT;
      continue;
    }
    if (bytes[index] === MINUS) {
      units[length++] = PLUS; // "+-" is "+"
      index += 1;
      continue;
    }
    const start = index;
    let bits = 0;
    let count = 0;
    while (index < bytes.length && VALUE[bytes[index]!]! >= 0) {
      bits = ((bits << 6) | VALUE[bytes[index]!]!) & 0x3fffff; // at most 16 + 6 bits are ever needed
      count += 6;
      index += 1;
      if (count >= 16) {
        count -= 16;
        units[length++] = (bits >>> count) & 0xffff;
      }
    }
    // A "+" before no base64 at all (RFC 2152 calls it ill-formed): a plus someone typed.
    if (index === start) units[length++] = PLUS;
    // RFC 2152: the bits left over must be fewer than 6 and zero; more than that is a cut unit.
    else if (count >= 6 || (bits & ((1 << count) - 1)) !== 0) units[length++] = REPLACEMENT;
    if (bytes[index] === MINUS) index += 1; // the "-" that ends a run is absorbed
  }
  return utf16.decode(units.subarray(0, length));
}

const UTF7_WORD = /=\?utf-7(?:\*[A-Za-z-]+)?\?([bq])\?([^?\s]*)\?=/gi;

/**
 * RFC 2047 encoded-words in charset UTF-7 decoded (postal-mime, through TextDecoder, has no
 * UTF-7 and leaves their bytes as they are); the whitespace between two adjacent encoded-words
 * is dropped (RFC 2047 §6.2). Other encoded-words are left for the caller's decoder.
 */
export function decodeUtf7Words(value: string): string {
  const decoded = value.replace(UTF7_WORD, (_word, encoding: string, text: string) => {
    const bytes =
      encoding.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))), 'latin1');
    return `\u0000${decodeUtf7(bytes)}\u0000`;
  });
  // A marker on each side of a decoded word: the space between two of them goes, then the markers.
  return decoded.replace(/\u0000\s+\u0000/g, '').replace(/\u0000/g, '');
}
