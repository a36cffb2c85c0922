// docs/gateway.md §4.3: hands a stick's outbound message to the configured
// smarthost with nodemailer's SMTPConnection, and says what the relay saw of that
// hop (TLS or not, version and cipher when the socket tells them).

import { isIP } from 'node:net';
import { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import './smtp-dot-stuffing.js'; // issue 9/13: DATA's transparency without a JavaScript loop over every byte (docs/gateway.md §4.3.1)
import type { TlsFacts } from '../../api/facts.js';
import { DeliveryError, messageBody, type DeliverOptions, type Delivery, type OutboundMessage, type OutboundTransport } from './outbound-transport.js';

/** implicit: TLS from the first byte (RFC 8314); starttls: STARTTLS required; opportunistic: STARTTLS when offered; none: never (loopback only). */
export type SmarthostTlsMode = 'implicit' | 'starttls' | 'opportunistic' | 'none';

export interface SmarthostConfig {
  readonly host: string;
  readonly port: number;
  readonly tlsMode: SmarthostTlsMode;
  /** PEM certificates to trust besides the system's (a smarthost with a private CA, the tests' sink). */
  readonly ca: string | null;
  /** Our name in EHLO. */
  readonly clientName: string;
  readonly timeoutMs: number;
}

export function tlsOf(connection: SMTPConnection): TlsFacts | null {
  if (!connection.secure) return null;
  // `_socket` is in nodemailer's published typings; after STARTTLS it is the upgraded TLSSocket.
  const socket = connection._socket;
  if (socket instanceof TLSSocket) return { version: socket.getProtocol() ?? null, cipher: socket.getCipher()?.standardName ?? null };
  return { version: null, cipher: null };
}

/** An SMTP error from nodemailer as a DeliveryError: 5xx (and a REQUIRETLS the next hop lacks, RFC 8689 §4.1) are for good. */
export function deliveryErrorOf(error: Error & { responseCode?: number; code?: string; response?: string }): DeliveryError {
  const permanent = (typeof error.responseCode === 'number' && error.responseCode >= 500) || error.code === 'EREQUIRETLS';
  const reply = typeof error.response === 'string' ? error.response : error.code === 'EREQUIRETLS' ? `550 5.7.30 ${error.message}` : null;
  return new DeliveryError(permanent ? 'refused' : 'unreachable', error.message, reply);
}

export function deliverToSmarthost(
  config: SmarthostConfig,
  envelope: { from: string; to: readonly string[] },
  message: OutboundMessage,
  options: DeliverOptions = { requireTls: false },
): Promise<Delivery> {
  const connection = new SMTPConnection({
    host: config.host,
    port: config.port,
    name: config.clientName,
    secure: config.tlsMode === 'implicit',
    requireTLS: config.tlsMode === 'starttls',
    ignoreTLS: config.tlsMode === 'none',
    opportunisticTLS: false,
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    tls: {
      minVersion: 'TLSv1.2',
      ...(config.ca === null ? {} : { ca: config.ca }),
      ...(isIP(config.host) === 0 ? { servername: config.host } : {}),
    },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error & { responseCode?: number; code?: string; response?: string }) => {
      if (settled) return;
      settled = true;
      connection.close();
      reject(deliveryErrorOf(error));
    };
    connection.once('error', fail);
    connection.connect((connectError) => {
      if (connectError) {
        fail(connectError);
        return;
      }
      const peerIp = (connection._socket && connection._socket.remoteAddress) || config.host;
      const tls = tlsOf(connection);
      // RFC 8689 §4.1: a message that requires TLS carries REQUIRETLS; nodemailer refuses it (EREQUIRETLS) when the smarthost does not offer it.
      connection.send({ from: envelope.from, to: [...envelope.to], ...(options.requireTls ? { requireTLSExtensionEnabled: true } : {}) }, messageBody(message), (sendError, info) => {
        if (sendError) {
          fail(sendError);
          return;
        }
        settled = true;
        connection.quit();
        resolve({
          recipients: [...envelope.to],
          peerHost: config.host,
          peerIp,
          tls,
          tlsPolicy: tls === null ? 'absent' : 'opportunistic',
          requireTls: options.requireTls,
          response: info?.response ?? '',
        });
      });
    });
  });
}

/**
 * docs/gateway.md §4.3: every message goes to the smarthost, all recipients at once. What
 * happens after it is unknown, so no recipient domain's TLS is ever guaranteed (§4.8.5).
 */
export function smarthostTransport(config: SmarthostConfig): OutboundTransport {
  return {
    kind: 'smarthost',
    split: (recipients) => [[...recipients]],
    deliver: (envelope, message, options) => deliverToSmarthost(config, envelope, message, options),
    policyOf: async (domain) => ({ domain, policy: 'none', tlsGuaranteed: false, via: 'smarthost' }),
  };
}
