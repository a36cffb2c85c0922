// docs/gateway.md §4.3, §4.8.4: the facts of a sent copy, from the SMTP transactions that
// ended in 250; the same whether the route delivered at once (docs/api.md §8.7) or the
// queue did later (§8.12).

import type { SmtpOutboundFacts } from '../../api/facts.js';
import type { Delivery } from './outbound-transport.js';

/** docs/gateway.md §4.3, §4.8.4: the sent copy's facts, one hop and one delivery per SMTP transaction. */
export function outboundFacts(delivered: readonly Delivery[], sentAt: string, hostname: string, via: 'smarthost' | 'mx', exposed: boolean): SmtpOutboundFacts {
  const first = delivered[0] as Delivery;
  return {
    route: 'smtp-outbound',
    sentAt,
    peer: { host: first.peerHost, ip: first.peerIp },
    hops: delivered.map((delivery) => ({ from: hostname, by: delivery.peerHost, tls: delivery.tls, verifiedByRelay: true })),
    relayHeldPlaintext: exposed,
    sentEncrypted: !exposed,
    deliveries: delivered.map((delivery) => ({
      recipients: [...delivery.recipients],
      server: delivery.peerHost,
      via,
      tls: delivery.tls,
      tlsPolicy: delivery.tlsPolicy,
      requireTls: delivery.requireTls,
    })),
  };
}
