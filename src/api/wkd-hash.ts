// Web Key Directory hash (draft-koch-openpgp-webkey-service §3.1; docs/api.md §7.2):
// the z-base-32 encoding of the SHA-1 digest of the lower-cased local part.

import { sha1 } from '@noble/hashes/legacy.js';

/** z-base-32 alphabet (RFC 6189 §5.1.6, as used by the WKD draft). */
const ZBASE32_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function zBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ZBASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ZBASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** WKD draft §3.1: "the local-part is mapped to lowercase … hashed using SHA-1 … encoded using z-base-32". */
export function wkdHash(localPart: string): string {
  return zBase32(sha1(new TextEncoder().encode(localPart.toLowerCase())));
}
