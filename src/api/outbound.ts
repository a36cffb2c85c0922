// docs/api.md §8.7 and docs/gateway.md §4.2: POST /v1/outbound, a stick's message
// to outside addresses, handed by the relay to its smarthost.

import { z } from 'zod';
import { SmtpOutboundFactsSchema } from './facts.js';
import { AddressSchema, IdempotencyKeySchema, MessageIdSchema } from './schemas-common.js';

/** base64url without padding of the complete RFC 5322 message; the ceiling is PROTOCOL_LIMITS.maxMessageBytes, encoded. */
const MAX_ENCODED_MESSAGE = Math.ceil((64 * 1024 * 1024 * 4) / 3);

export const OutboundRequestSchema = z.strictObject({
  /** Envelope recipients: outside addresses only (addresses of this relay use POST /v1/messages). */
  to: z.array(AddressSchema).min(1).max(100),
  /** The complete RFC 5322 message the stick built, base64url (no padding). */
  message: z
    .string()
    .min(1)
    .max(MAX_ENCODED_MESSAGE)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url without padding'),
  /** true only when the user allowed a readable message; false requires PGP/MIME or inline PGP encryption. */
  exposed: z.boolean(),
  /** docs/api.md §8.10: the same key on a retry is answered again, never handed over twice. */
  idempotencyKey: IdempotencyKeySchema.optional(),
  /**
   * docs/api.md §8.7, docs/gateway.md §4.8.3: recipients (a subset of `to`) whose copy may
   * leave only over TLS a policy guarantees (DANE or MTA-STS enforce), REQUIRETLS passed
   * when the next hop offers it (RFC 8689); else deferred and, in the end, bounced.
   */
  requireTlsFor: z.array(AddressSchema).max(100).optional(),
});
export type OutboundRequest = z.infer<typeof OutboundRequestSchema>;

/**
 * docs/api.md §8.7.1: the envelope of a streamed outbound message, from the query (strict):
 * `to` and `requireTlsFor` once per address, `exposed=true|false`, `idempotencyKey`.
 */
export const OutboundStreamQuerySchema = OutboundRequestSchema.omit({ message: true, exposed: true }).extend({
  exposed: z.enum(['true', 'false']).transform((value) => value === 'true'),
});
export type OutboundStreamQuery = z.infer<typeof OutboundStreamQuerySchema>;

/** docs/api.md §8.7.1: the media type of a streamed outbound body (the RFC 5322 message itself). */
export const STREAMED_OUTBOUND_TYPE = 'message/rfc822';

export const OutboundResponseSchema = z.object({
  /** The relay's id for this hand-over (it stores nothing of the message). */
  id: MessageIdSchema,
  /** What the relay saw of the hop(s) to the smarthost or the recipients' MX: the facts of the sender's sent copy. */
  facts: SmtpOutboundFactsSchema,
  /** The smarthost's final reply, e.g. `250 2.0.0 Ok: queued as ...`. */
  smarthostResponse: z.string(),
});
export type OutboundResponse = z.infer<typeof OutboundResponseSchema>;

/**
 * docs/api.md §8.7, docs/gateway.md §4.7: answered 202 when the smarthost deferred the
 * message (4xx, no connection, timeout): the relay keeps it and tries again; if it
 * fails for good, a bounce arrives in the sender's mailbox.
 */
export const OutboundQueuedResponseSchema = z.object({
  id: MessageIdSchema,
  queued: z.object({
    /** The smarthost's reply or the network error, bounded. */
    reason: z.string().max(500),
    nextAttemptAt: z.iso.datetime(),
    /** After this the message is bounced back to the sender. */
    giveUpAt: z.iso.datetime(),
  }),
  /** docs/gateway.md §4.8: with MX delivery, the recipient domains already delivered when another was deferred. */
  delivered: SmtpOutboundFactsSchema.optional(),
  /** docs/api.md §8.7, §8.12: every queued transaction's id (`id` is the first); absent from relays before issue 14. */
  queuedIds: z.array(MessageIdSchema).max(100).optional(),
});
export type OutboundQueuedResponse = z.infer<typeof OutboundQueuedResponseSchema>;

/** What POST /v1/outbound answers on success: delivered (200) or queued (202). */
export const OutboundAnswerSchema = z.union([OutboundResponseSchema, OutboundQueuedResponseSchema]);
export type OutboundAnswer = z.infer<typeof OutboundAnswerSchema>;

/** docs/api.md §8.12: how long the relay keeps a queued message's delivery report. */
export const OUTBOUND_REPORT_RETENTION_S = 30 * 24 * 3600;

/** docs/api.md §8.12: GET /v1/outbound/{id}, what became of a queued message. */
export const OutboundStatusResponseSchema = z.discriminatedUnion('state', [
  z.object({
    id: MessageIdSchema,
    state: z.literal('queued'),
    queued: z.object({ reason: z.string().max(500), nextAttemptAt: z.iso.datetime(), giveUpAt: z.iso.datetime(), attempts: z.number().int().nonnegative() }),
  }),
  z.object({ id: MessageIdSchema, state: z.literal('delivered'), at: z.iso.datetime(), facts: SmtpOutboundFactsSchema }),
  z.object({ id: MessageIdSchema, state: z.literal('bounced'), at: z.iso.datetime(), reason: z.string().max(500) }),
]);
export type OutboundStatusResponse = z.infer<typeof OutboundStatusResponseSchema>;
