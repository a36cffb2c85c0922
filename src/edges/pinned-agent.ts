// The relay client's TLS connections, pinned (docs/api.md §9): an http.Agent that hands a
// request its socket only once the relay's public key matched the stick's pin, so
// nothing is ever written to an unpinned peer. Kept apart from the client's requests.
import http from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { spkiPin } from '../api/spki-pin.js';

/** The relay presented another key than the one the stick pins. */
export class PinMismatch extends Error {
  override readonly name = 'PinMismatch';
}

/**
 * An http.Agent whose connections are TLS connections checked against the pin
 * (docs/api.md §9): the socket is handed to the request only after the pin
 * matched on 'secureConnect', so nothing is written to an unpinned peer. Kept-alive
 * sockets were all checked when they were made.
 */
export class PinnedAgent extends http.Agent {
  readonly #pin: string;
  readonly #handshakeTimeoutMs: number;

  constructor(pin: string, handshakeTimeoutMs: number) {
    super({ keepAlive: true, maxSockets: 16 });
    this.#pin = pin;
    this.#handshakeTimeoutMs = handshakeTimeoutMs;
  }

  override createConnection(options: http.ClientRequestArgs, callback?: (error: Error | null, socket: Duplex) => void): Duplex {
    const host = options.host ?? 'localhost';
    const socket = tls.connect({
      host,
      port: Number(options.port),
      // The pin replaces CA validation; it is checked below before anything is sent.
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      ...(isIP(host) === 0 ? { servername: host } : {}),
    });
    let settled = false;
    let handshakeTimer: NodeJS.Timeout | undefined;
    const fail = (error: Error) => {
      clearTimeout(handshakeTimer);
      if (settled) return;
      settled = true;
      socket.destroy();
      callback?.(error, socket);
    };
    // The request has no socket yet, so its own timeout cannot end a stalled handshake.
    handshakeTimer = setTimeout(
      () => fail(Object.assign(new Error('TLS handshake timed out'), { code: 'ETIMEDOUT' })),
      this.#handshakeTimeoutMs,
    );
    socket.once('error', fail);
    socket.once('close', () => fail(Object.assign(new Error('connection closed during the TLS handshake'), { code: 'ECONNRESET' })));
    socket.once('secureConnect', () => {
      clearTimeout(handshakeTimer);
      socket.removeListener('error', fail);
      if (settled) return;
      const certificate = socket.getPeerX509Certificate();
      const actual = certificate ? spkiPin(new Uint8Array(certificate.publicKey.export({ type: 'spki', format: 'der' }))) : null;
      if (actual !== this.#pin) {
        fail(new PinMismatch(`the relay presented ${actual ?? 'no certificate'}, the stick pins ${this.#pin}`));
        return;
      }
      settled = true;
      callback?.(null, socket);
    });
    // Returning nothing tells http.Agent to wait for the callback (node:_http_agent createSocket).
    return undefined as unknown as Duplex;
  }
}
