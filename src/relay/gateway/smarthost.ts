// docs/gateway.md §4.3: hands a stick's outbound message to the configured
// smarthost with nodemailer's SMTPConnection, and says what the relay saw of that
// hop (TLS or not, version and cipher when the socket tells them).

import { isIP } from 'node:net';
import { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { TlsFacts } from '../../api/facts.js';

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

export interface SmarthostDelivery {
  readonly peerIp: string;
  readonly tls: TlsFacts | null;
  readonly response: string;
}

/** Why a delivery failed: the smarthost said no for good (5xx), or not now / not at all reachable. */
export class SmarthostError extends Error {
  override readonly name = 'SmarthostError';
  constructor(
    readonly kind: 'refused' | 'unreachable',
    message: string,
    /** The smarthost's reply (`550 5.1.1 …`) when it answered; null when it could not be reached. */
    readonly smtpReply: string | null = null,
  ) {
    super(message);
  }
}

function tlsOf(connection: SMTPConnection): TlsFacts | null {
  if (!connection.secure) return null;
  // `_socket` is in nodemailer's published typings; after STARTTLS it is the upgraded TLSSocket.
  const socket = connection._socket;
  if (socket instanceof TLSSocket) return { version: socket.getProtocol() ?? null, cipher: socket.getCipher()?.standardName ?? null };
  return { version: null, cipher: null };
}

export function deliverToSmarthost(
  config: SmarthostConfig,
  envelope: { from: string; to: readonly string[] },
  message: Buffer,
): Promise<SmarthostDelivery> {
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
      const permanent = typeof error.responseCode === 'number' && error.responseCode >= 500;
      reject(new SmarthostError(permanent ? 'refused' : 'unreachable', error.message, typeof error.response === 'string' ? error.response : null));
    };
    connection.once('error', fail);
    connection.connect((connectError) => {
      if (connectError) {
        fail(connectError);
        return;
      }
      const peerIp = (connection._socket && connection._socket.remoteAddress) || config.host;
      const tls = tlsOf(connection);
      connection.send({ from: envelope.from, to: [...envelope.to] }, message, (sendError, info) => {
        if (sendError) {
          fail(sendError);
          return;
        }
        settled = true;
        connection.quit();
        resolve({ peerIp, tls, response: info?.response ?? '' });
      });
    });
  });
}
