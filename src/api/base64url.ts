// Base64url without padding (RFC 4648 §5), the encoding of every binary value in
// the narrow API's headers and JSON (docs/api.md §2).

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Decodes strict base64url (no padding, no other characters); returns null when it is not. */
export function fromBase64url(text: string): Uint8Array | null {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return null;
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  // Reject non-canonical encodings (trailing bits set), so one value has one spelling.
  return toBase64url(bytes) === text ? bytes : null;
}
