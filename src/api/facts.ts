// Arrival facts (docs/api.md §8.3): what the relay itself observed about how a
// message reached it. The exposure index (issue 4) reads them; new routes (SMTP)
// are added as new members of the union, never by changing an existing one.

import { z } from 'zod';
import { AddressSchema } from './schemas-common.js';

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

/** docs/api.md §8.3: one member per route; issue 4 adds `smtp-inbound`. */
export const ArrivalFactsSchema = z.discriminatedUnion('route', [InternalArrivalFactsSchema]);
export type ArrivalFacts = z.infer<typeof ArrivalFactsSchema>;
