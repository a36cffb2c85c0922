// docs/limits.md §2.5: what an attachment the user sees becomes on the wire. The relay's
// limit (`--max-message-bytes`, docs/api.md §5.3) counts armored ciphertext bytes; a
// user thinks in the size of the file. Pure arithmetic, shared by the relay (its default)
// and the stick (what it tells the user).

const MIB = 1024 * 1024;

/** docs/limits.md §2.5: the attachment a relay takes by default (what the user sees). */
export const DEFAULT_ATTACHMENT_BYTES = 25 * MIB;

/** Room for the text, the headers, the signature and the session keys of up to 100 recipients. */
const ENVELOPE_BYTES = MIB;

/**
 * The armored ciphertext of a message carrying `attachmentBytes` of files: MIME base64
 * (RFC 2045 §6.8: 4/3, lines of 76 characters + CRLF), encrypted without compression
 * (RFC 9580: a few bytes per packet), then ASCII armor (RFC 9580 §6.2: 4/3, lines of 60
 * characters + LF as openpgp.js writes them), plus ENVELOPE_BYTES.
 */
export function armoredCiphertextBytesFor(attachmentBytes: number): number {
  const mime = Math.ceil(attachmentBytes / 3) * 4 * (78 / 76);
  const armored = Math.ceil(mime / 3) * 4 * (61 / 60);
  return Math.ceil(armored) + ENVELOPE_BYTES;
}

/** The largest attachment (whole KiB) whose message fits `maxMessageBytes` of armored ciphertext. */
export function attachmentBytesWithin(maxMessageBytes: number): number {
  let low = 0;
  let high = maxMessageBytes;
  while (low < high) {
    const middle = Math.ceil((low + high + 1) / 2 / 1024) * 1024;
    if (middle > high) break;
    if (armoredCiphertextBytesFor(middle) <= maxMessageBytes) low = middle;
    else high = middle - 1024;
  }
  return low;
}

/** docs/api.md §5.3: the relay's default message limit, whole MiB: a DEFAULT_ATTACHMENT_BYTES file fits. */
export const DEFAULT_MAX_MESSAGE_BYTES = Math.ceil(armoredCiphertextBytesFor(DEFAULT_ATTACHMENT_BYTES) / MIB) * MIB;
