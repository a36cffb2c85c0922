// docs/api.md §5.3: the protocol's hard ceilings, apart from the schemas (src/api/schemas.ts
// re-exports them) so that what only needs the numbers (src/core/message-limits.ts: every
// `inbox` and `read`) does not build the zod schemas of the whole API at load (issue 16).

/** docs/api.md §5.3: hard protocol ceilings; a relay's configured limits are at most these. */
export const PROTOCOL_LIMITS = {
  maxMessageBytes: 64 * 1024 * 1024,
  maxRecipients: 100,
  maxPageSize: 1000,
  maxCertBytes: 256 * 1024,
  maxProofSignatureBytes: 16 * 1024,
  maxInviteTokenLength: 200,
  /** §8.8: the ciphertext bytes of one mailbox page (a page holds at least one message, whatever its size). */
  maxBatchBytes: 16 * 1024 * 1024,
  /**
   * §8.8: a mailbox page carries a ciphertext inline up to this many bytes; a larger one is
   * listed by its size only and fetched as a stream (§8.5.1), never as one JSON string.
   */
  inlineCiphertextBytes: 1024 * 1024,
} as const;
