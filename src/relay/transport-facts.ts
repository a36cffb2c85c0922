// docs/api.md §8.3: the transport facts, read from the request's own socket.

import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { TransportFacts } from '../api/facts.js';

export function observeTransport(incoming: IncomingMessage | undefined): TransportFacts {
  const socket = incoming?.socket;
  if (socket instanceof TLSSocket) {
    return { protocol: 'https', tlsVersion: socket.getProtocol() ?? null, cipher: socket.getCipher()?.standardName ?? null };
  }
  return { protocol: 'http', tlsVersion: null, cipher: null };
}
