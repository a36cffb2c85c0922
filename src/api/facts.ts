// Arrival facts (docs/api.md §8.3): what the relay itself observed about how a
// message reached it. The exposure index (issue 4) reads them; new routes (SMTP)
// are added as new members of the union, never by changing an existing one.
// The one definition of the relay facts (docs/architecture.md §Facts defined once):
// the relay writes them, the client parses them, and src/core/exposure.ts takes its
// types from these schemas and checks its input with RelayFactsSchema.

import { z } from 'zod';
import { AddressSchema } from './schemas-common.js';
import { DETECTED_CHARSETS } from './charset-detector.js';

/** docs/api.md §8.3: the connection the message arrived on, as the relay's socket saw it. */
export const TransportFactsSchema = z.object({
  /** `https` when the request came over TLS, `http` for the loopback-only test mode. */
  protocol: z.enum(['https', 'http']),
  /** e.g. `TLSv1.3`, from the TLS socket; null when there was no TLS. */
  tlsVersion: z.string().nullable(),
  /** IANA/OpenSSL standard cipher suite name, e.g. `TLS_AES_256_GCM_SHA384`; null when there was no TLS. */
  cipher: z.string().nullable(),
});
export type TransportFacts = z.infer<typeof TransportFactsSchema>;

/** docs/api.md §8.3: a message submitted by an enrolled device of this relay (POST /v1/messages). */
export const InternalArrivalFactsSchema = z.object({
  route: z.literal('internal'),
  /** When the relay stored it (ISO 8601, UTC, relay's clock). */
  receivedAt: z.iso.datetime(),
  /** The enrolled address whose device signed the submission. */
  submittedBy: AddressSchema,
  transport: TransportFactsSchema,
});
export type InternalArrivalFacts = z.infer<typeof InternalArrivalFactsSchema>;

/** docs/gateway.md §3.7: one TLS session as a server saw it (`version` as Node reports it, e.g. `TLSv1.3`). */
export const TlsFactsSchema = z.object({ version: z.string().nullable(), cipher: z.string().nullable() });
export type TlsFacts = z.infer<typeof TlsFactsSchema>;

/** docs/gateway.md §3.4: one SMTP hop; only `verifiedByRelay: true` hops are facts, the others are claims. */
export const SmtpHopFactsSchema = z.object({
  from: z.string(),
  by: z.string(),
  tls: TlsFactsSchema.nullable(),
  verifiedByRelay: z.boolean(),
});
export type SmtpHopFacts = z.infer<typeof SmtpHopFactsSchema>;

/** RFC 8601 §2.7 results (docs/exposure.md §2.2). */
export const AUTH_RESULTS = ['pass', 'fail', 'softfail', 'neutral', 'none', 'policy', 'temperror', 'permerror'] as const;
export const AuthResultSchema = z.enum(AUTH_RESULTS);
export type AuthResult = z.infer<typeof AuthResultSchema>;

/** docs/gateway.md §3.3: DKIM, SPF and DMARC as the relay's gateway verified them. */
export const AuthFactsSchema = z.object({
  dkim: z.array(z.object({ domain: z.string(), result: AuthResultSchema })),
  spf: z.object({ domain: z.string(), result: AuthResultSchema }),
  dmarc: z.object({ domain: z.string(), result: AuthResultSchema }),
});
export type AuthFacts = z.infer<typeof AuthFactsSchema>;

/** docs/gateway.md §3.8: the outer header fields read as text, which may be written in raw 8-bit bytes. */
export const OUTER_TEXT_FIELDS = ['subject', 'from', 'date', 'messageId', 'autoSubmitted'] as const;
export type OuterTextField = (typeof OUTER_TEXT_FIELDS)[number];

/**
 * docs/gateway.md §3.8: the header fields of the outer message as the gateway received
 * it, kept when the stored message is the sender's ciphertext (which may carry no
 * protected headers). Decoded (RFC 2047), each bounded; claims of the sender that the
 * relay vouches only to have seen, never protected.
 */
export const OuterHeadersSchema = z.object({
  subject: z.string().max(998).nullable(),
  from: z.string().max(998).nullable(),
  to: z.array(z.string().max(320)).max(100),
  date: z.string().max(100).nullable(),
  messageId: z.string().max(998).nullable(),
  /**
   * docs/gateway.md §4.5.1: the `Autocrypt` fields of the outer message (Autocrypt Level 1 puts
   * them there), unfolded, at most 4 of 10 KiB each (larger ones are invalid anyway).
   * Optional: facts recorded before issue 9 have none.
   */
  autocrypt: z.array(z.string().max(10240)).max(4).optional(),
  /** RFC 3834 `Auto-Submitted`, for the same rules (an auto-reply updates no peer state). */
  autoSubmitted: z.string().max(100).nullable().optional(),
  /**
   * docs/gateway.md §3.8, docs/message-payload.md §4.5: the fields written in raw 8-bit bytes
   * that are not UTF-8, read as `charset` (a guess), windows-1252 the only value. Absent when
   * none was (and in facts recorded before 2026-12-01, which read such bytes as Latin-1 and
   * said nothing).
   */
  charsetGuess: z.object({ charset: z.enum(['windows-1252']), fields: z.array(z.enum(OUTER_TEXT_FIELDS)).min(1).max(OUTER_TEXT_FIELDS.length) }).optional(),
  /**
   * The same, when the charset detector named their charset (docs/decisions/mime.md item 6;
   * since 2026-12-02). A member of its own: clients of before then ignore it (zod drops an
   * unknown member) and show the fields as read, without saying it was a guess; `charsetGuess`
   * would have made them refuse the facts. Never both.
   */
  charsetDetected: z.object({ charset: z.enum(DETECTED_CHARSETS), fields: z.array(z.enum(OUTER_TEXT_FIELDS)).min(1).max(OUTER_TEXT_FIELDS.length) }).optional(),
});
export type OuterHeaders = z.infer<typeof OuterHeadersSchema>;

/** docs/gateway.md §3.7: a message the relay's SMTP gateway accepted from an outside server. */
export const SmtpInboundArrivalFactsSchema = z.object({
  route: z.literal('smtp-inbound'),
  receivedAt: z.iso.datetime(),
  /** host: the name the peer claimed in EHLO; ip: the address of the socket (verified). */
  peer: z.object({ host: z.string(), ip: z.string() }),
  /** Oldest first: the hops claimed in Received headers, then the relay's own (verifiedByRelay: true). */
  hops: z.array(SmtpHopFactsSchema),
  auth: AuthFactsSchema,
  /** The relay saw the message readable; the stored message is then the relay's seal around the original RFC 5322 bytes. */
  relayHeldPlaintext: z.boolean(),
  /** It arrived as PGP/MIME or inline PGP (docs/gateway.md §3.5): the stored message is the sender's ciphertext, as is. */
  arrivedEncrypted: z.boolean(),
  /** docs/gateway.md §3.8: present when arrivedEncrypted (the outer headers would otherwise be lost). */
  outerHeaders: OuterHeadersSchema.optional(),
});
export type SmtpInboundArrivalFacts = z.infer<typeof SmtpInboundArrivalFactsSchema>;

/**
 * docs/gateway.md §4.8.4: what made one outbound hop's TLS what it was. `dane` (RFC 7672)
 * and `mta-sts` (RFC 8461, mode enforce): a policy of the recipient domain required TLS
 * with an authenticated certificate, and the relay would not have delivered otherwise;
 * `opportunistic`: TLS because the server offered it, nothing would have stopped a
 * cleartext delivery; `absent`: no TLS.
 */
export const TLS_POLICIES = ['dane', 'mta-sts', 'opportunistic', 'absent'] as const;
export const TlsPolicySchema = z.enum(TLS_POLICIES);
export type TlsPolicy = z.infer<typeof TlsPolicySchema>;

/** docs/gateway.md §4.8.4: one SMTP transaction of an outbound message (one per recipient domain with MX delivery). */
export const OutboundDeliveryFactsSchema = z.object({
  recipients: z.array(AddressSchema),
  /** The server that took it: the recipient domain's MX host, or the smarthost. */
  server: z.string(),
  /** `mx`: the recipient domain's own server; `smarthost`: the relay's smarthost (what happens after is unknown). */
  via: z.enum(['mx', 'smarthost']),
  tls: TlsFactsSchema.nullable(),
  tlsPolicy: TlsPolicySchema,
  /** RFC 8689: MAIL FROM carried REQUIRETLS. */
  requireTls: z.boolean(),
});
export type OutboundDeliveryFacts = z.infer<typeof OutboundDeliveryFactsSchema>;

/** docs/gateway.md §4.3: what the relay saw when it handed a stick's message to the smarthost or the recipients' MX (the sender's sent copy). */
export const SmtpOutboundFactsSchema = z.object({
  route: z.literal('smtp-outbound'),
  sentAt: z.iso.datetime(),
  peer: z.object({ host: z.string(), ip: z.string() }),
  hops: z.array(SmtpHopFactsSchema),
  relayHeldPlaintext: z.boolean(),
  sentEncrypted: z.boolean(),
  /** docs/gateway.md §4.8.4 (issue 14): one per SMTP transaction; absent from facts written before it. */
  deliveries: z.array(OutboundDeliveryFactsSchema).optional(),
});
export type SmtpOutboundFacts = z.infer<typeof SmtpOutboundFactsSchema>;

/** docs/api.md §8.3: one member per route. */
export const ArrivalFactsSchema = z.discriminatedUnion('route', [InternalArrivalFactsSchema, SmtpInboundArrivalFactsSchema]);
export type ArrivalFacts = z.infer<typeof ArrivalFactsSchema>;

/** docs/exposure.md §2.2: the relay's facts about a stored message, received (§2.2.1, §2.2.2) or sent outside (§2.2.3). */
export const RelayFactsSchema = z.discriminatedUnion('route', [InternalArrivalFactsSchema, SmtpInboundArrivalFactsSchema, SmtpOutboundFactsSchema]);
export type RelayFacts = z.infer<typeof RelayFactsSchema>;
