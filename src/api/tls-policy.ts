// docs/api.md §8.11: GET /v1/tls-policy/{domain}, what the relay knows, before a send, of
// the TLS that a recipient domain's published policy guarantees (docs/gateway.md §4.8.5).
// The stick's pre-send index reads `tlsGuaranteed` (docs/exposure.md §2.3).

import { z } from 'zod';

export const DomainTlsPolicyResponseSchema = z.object({
  domain: z.string().min(1).max(253),
  /**
   * `dane`: the MX RRset and at least one MX host's TLSA records are DNSSEC-validated
   * (RFC 7672); `mta-sts`: an MTA-STS policy in mode enforce whose mx patterns match at
   * least one MX host (RFC 8461); `none`: neither, or the relay hands mail to a smarthost
   * (it cannot know what happens after it).
   */
  policy: z.enum(['dane', 'mta-sts', 'none']),
  /** true only for `dane` and `mta-sts`: sent with `requireTlsFor`, the message reaches that domain's server over authenticated TLS or not at all. */
  tlsGuaranteed: z.boolean(),
  /** How the relay delivers: straight to the domain's MX, or through its smarthost. */
  via: z.enum(['mx', 'smarthost']),
});
export type DomainTlsPolicyResponse = z.infer<typeof DomainTlsPolicyResponseSchema>;
