// Verifies the request signature (docs/api.md §4.3) and finds the device's account.
// Needs middleware/read-body.ts before it (the body digest is signed).

import type { MiddlewareHandler } from 'hono';
import { deviceFingerprint, TIMESTAMP_WINDOW_SECONDS, verifyRequestSignature } from '../../api/request-signing.js';
import { opensslEd25519Verify } from '../ed25519-verify.js';
import { RelayHttpError } from '../http-error.js';
import type { RelayEnv } from '../relay-env.js';
import type { RelayStore } from '../store/relay-store.js';

export interface DeviceAuthOptions {
  readonly store: RelayStore;
  readonly domain: string;
  readonly clock: () => Date;
  /** false only on the enrolment route, where the device is new. */
  readonly requireEnrolled: boolean;
}

export function deviceAuth(options: DeviceAuthOptions): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const now = options.clock();
    // docs/api.md §4.2: the request target as sent (the raw one when node gives it to us).
    const url = new URL(c.req.url);
    const pathWithQuery = c.env?.incoming?.url ?? url.pathname + url.search;
    const check = verifyRequestSignature(
      { method: c.req.method, pathWithQuery, body: c.get('body'), domain: options.domain },
      (name) => c.req.header(name),
      now,
      opensslEd25519Verify,
    );
    if (!check.ok) {
      const code = check.reason === 'malformed' ? 'malformed_signature' : check.reason;
      throw new RelayHttpError(401, code, check.detail);
    }
    const account = await options.store.accountByDevice(check.devicePublicKey);
    if (options.requireEnrolled && account === undefined) {
      throw new RelayHttpError(401, 'unknown_device', 'this device key is not enrolled with this relay');
    }
    // docs/api.md §4.3 step 6: a nonce is accepted once while its timestamp is in the window.
    const fresh = await options.store.rememberNonce(
      check.devicePublicKey,
      check.nonce,
      check.timestamp + TIMESTAMP_WINDOW_SECONDS,
      Math.floor(now.getTime() / 1000),
    );
    if (!fresh) throw new RelayHttpError(401, 'replayed_nonce', 'this Caliop-Nonce was already used; sign each request with a new nonce');
    c.set('device', { publicKey: check.devicePublicKey, fingerprint: deviceFingerprint(check.devicePublicKey), account });
    await next();
  };
}
