// The Hono environment of the relay app: what the middlewares put in the context.

import type { IncomingMessage } from 'node:http';
import type { Account, Device } from './store/relay-store.js';

export interface SignedDevice {
  readonly publicKey: Uint8Array;
  /** docs/api.md §4.5: short hex fingerprint, the only device identifier in logs. */
  readonly fingerprint: string;
  /** The account this device is enrolled for; undefined on the enrolment route for a new device. */
  readonly account: Account | undefined;
  /** The device's own record (name, mailbox cursor: docs/api.md §6.4); undefined when not enrolled. */
  readonly enrolment: Device | undefined;
  /** docs/api.md §4.6: the session the request came in; absent for a signed request. */
  readonly sessionId?: string;
}

export interface RelayEnv {
  /** Set by @hono/node-server; absent when the app is called in-process (app.request). */
  Bindings: { incoming?: IncomingMessage } | undefined;
  Variables: {
    /** The request body exactly as received (middleware/read-body.ts). */
    body: Uint8Array;
    /** docs/api.md §8.2.1: the SHA-256 a streamed body declared (Content-Digest); the body itself is the route's to read. */
    bodyDigest: Uint8Array | undefined;
    /** The verified signer (middleware/device-auth.ts). */
    device: SignedDevice;
  };
}
