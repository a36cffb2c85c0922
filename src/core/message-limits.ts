// What a sender controls is bounded while it is decoded (normative: docs/limits.md).
// A message over one of these limits stays sealed in the vault, is listed with its
// reason, and can be deleted; it never takes an inbox down with it.
import { PROTOCOL_LIMITS } from '../api/limits.js';

export const MESSAGE_LIMITS = {
  /** docs/limits.md §2.1: a message as stored (ciphertext, armored); the relay's own ceiling. */
  maxMessageBytes: PROTOCOL_LIMITS.maxMessageBytes,
  /** docs/limits.md §2.2: the plaintext once decrypted and inflated (OpenPGP compression, RFC 4880 §5.6). */
  maxDecompressedBytes: 64 * 1024 * 1024,
  /** docs/limits.md §2.3: the header sections of the message inside, all parts together (postal-mime's maxHeadersSize). */
  maxHeaderBytes: 1024 * 1024,
  /**
   * docs/limits.md §2.4: the decoded attachments and forwarded messages of one message, all
   * stored objects together (a forwarded message is stored whole and its attachments again).
   */
  maxStoredPartBytes: 3 * 64 * 1024 * 1024,
  /**
   * docs/limits.md §2.6: the MIME parts of one message, each part a multipart's delimiter line
   * opens, at every level, forwarded messages included (Dovecot's message parser caps a message at 10,000).
   */
  maxMimeParts: 10_000,
  /**
   * docs/limits.md §2.7: how deep multiparts may nest, the top entity at depth 0 (postal-mime's
   * maxNestingDepth: a part at a depth past it is refused, src/core/mail-content.ts PARSE_LIMITS).
   */
  maxMimeDepth: 50,
} as const;

/** Why a message stays sealed (docs/limits.md §3); stored with the message and shown to the user. */
export type OverLimitReason = 'decompressed-too-large' | 'headers-too-large' | 'message-too-large' | 'too-many-parts' | 'nested-too-deep';

export function overLimitText(reason: OverLimitReason): string {
  switch (reason) {
    case 'decompressed-too-large':
      return `it inflates to more than ${MESSAGE_LIMITS.maxDecompressedBytes / 1024 / 1024} MiB (a compression bomb?)`;
    case 'headers-too-large':
      return `its headers are larger than ${MESSAGE_LIMITS.maxHeaderBytes / 1024 / 1024} MiB`;
    case 'message-too-large':
      return `it is larger than ${MESSAGE_LIMITS.maxMessageBytes / 1024 / 1024} MiB`;
    case 'too-many-parts':
      return `it has more than ${MESSAGE_LIMITS.maxMimeParts} MIME parts`;
    case 'nested-too-deep':
      return `its MIME parts are nested more than ${MESSAGE_LIMITS.maxMimeDepth} levels deep`;
  }
}

export const OVER_LIMIT_REASONS: readonly OverLimitReason[] = ['decompressed-too-large', 'headers-too-large', 'message-too-large', 'too-many-parts', 'nested-too-deep'];

/** The reason a message_over_limit error names (its message quotes overLimitText). */
export function overLimitReasonIn(message: string): OverLimitReason {
  return OVER_LIMIT_REASONS.find((reason) => message.includes(overLimitText(reason))) ?? 'decompressed-too-large';
}
