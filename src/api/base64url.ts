// Base64url without padding (RFC 4648 §5), the encoding of every binary value in
// the narrow API's headers and JSON (docs/api.md §2).

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** The 6-bit value of a base64url character (one the BASE64URL test accepted). */
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26-51
  if (code >= 65) return code === 95 ? 63 : code - 65; // A-Z: 0-25, '_': 63
  return code === 45 ? 62 : code + 4; // '-': 62, 0-9: 52-61
}

/** Decodes strict base64url (no padding, no other characters); returns null when it is not. */
export function fromBase64url(text: string): Uint8Array | null {
  const rest = text.length % 4;
  if (rest === 1 || !BASE64URL.test(text)) return null;
  // Reject non-canonical encodings (trailing bits set), so one value has one spelling: the
  // last character of 2 (or 3) in a group carries 4 (or 2) bits that encode nothing. Read
  // from the character, not by encoding the bytes again (two per signed request, issue 14).
  if (rest !== 0 && (sextet(text.charCodeAt(text.length - 1)) & (rest === 2 ? 0x0f : 0x03)) !== 0) return null;
  return new Uint8Array(Buffer.from(text, 'base64url'));
}
