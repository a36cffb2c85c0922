// docs/gateway.md §4.3 and §4.8: the two ways the relay hands mail to other services,
// behind one interface the outbound route and the queue use: a smarthost, or the
// recipient domain's MX straight (with MTA-STS, DANE and REQUIRETLS).

import type { Readable } from 'node:stream';
import type { TlsFacts, TlsPolicy } from '../../api/facts.js';
import type { DomainTlsPolicyResponse } from '../../api/tls-policy.js';

/** One SMTP transaction that ended in 250. */
export interface Delivery {
  readonly recipients: readonly string[];
  /** The server we handed it to: the smarthost, or the recipient domain's MX host. */
  readonly peerHost: string;
  readonly peerIp: string;
  readonly tls: TlsFacts | null;
  /** docs/gateway.md §4.8.4: what guaranteed (or not) the TLS of this hop. */
  readonly tlsPolicy: TlsPolicy;
  /** RFC 8689: MAIL FROM carried REQUIRETLS. */
  readonly requireTls: boolean;
  readonly response: string;
}

/** Why a delivery failed: refused for good (5xx, or a policy that can never be met), or not now. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    readonly kind: 'refused' | 'unreachable',
    message: string,
    /** The server's reply (`550 5.1.1 …`) when it answered; null otherwise. */
    readonly smtpReply: string | null = null,
  ) {
    super(message);
  }
}

export interface DeliverOptions {
  /** docs/api.md §8.7 `requireTlsFor`: TLS guaranteed by policy, or no delivery (and REQUIRETLS passed when offered). */
  readonly requireTls: boolean;
}

/**
 * docs/api.md §8.7.1: a message given whole, or one streamed from the store, opened afresh
 * for each SMTP transaction (MX hosts one after another), so the relay never holds it whole.
 */
export type OutboundMessage = Buffer | { readonly size: number | null; open(): Readable };

/** What nodemailer's send takes: the bytes, or a fresh stream of them. */
export function messageBody(message: OutboundMessage): Buffer | Readable {
  return Buffer.isBuffer(message) ? message : message.open();
}

export function messageSize(message: OutboundMessage): number | null {
  return Buffer.isBuffer(message) ? message.length : message.size;
}

export interface OutboundTransport {
  readonly kind: 'smarthost' | 'mx';
  /** Recipients that go in one SMTP transaction: all of them (smarthost), or those of one domain (MX). */
  split(recipients: readonly string[]): string[][];
  deliver(envelope: { readonly from: string; readonly to: readonly string[] }, message: OutboundMessage, options: DeliverOptions): Promise<Delivery>;
  /** docs/api.md §8.11: what the relay knows of a domain's TLS policy before a send. */
  policyOf(domain: string): Promise<DomainTlsPolicyResponse>;
}
