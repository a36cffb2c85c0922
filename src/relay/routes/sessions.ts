// Relay sessions (docs/api.md §4.6): opening one by a signed request, closing it from
// inside it. The key agreement and the per-process keys are session-keys.ts's; the store
// keeps the public facts (docs/decisions/relay-sessions.md).

import { MAX_SESSIONS_PER_DEVICE } from '../../api/relay-session.js';
import { OpenSessionRequestSchema, type OpenSessionResponse } from '../../api/schemas.js';
import { RelayHttpError } from '../http-error.js';
import { parseJsonBody } from '../json-body.js';
import { authFor, deviceAuth } from '../middleware/device-auth.js';
import { rateLimit, type TokenBuckets } from '../middleware/rate-limit.js';
import { readBody } from '../middleware/read-body.js';
import type { MiddlewareHandler } from 'hono';
import type { RelayDeps } from '../relay-deps.js';
import type { RelayEnv } from '../relay-env.js';
import { routeOf, type RelayRoutes } from '../relay-routes.js';

const SMALL_BODY_BYTES = 1024;

/** A relay without sessions answers as for any unknown route (docs/api.md §4.6.4: it does not announce them). */
const noSessions = () => new RelayHttpError(404, 'not_found', 'no such route');

export function sessionsRoutes(deps: RelayDeps, buckets: TokenBuckets): Pick<RelayRoutes, 'openSession' | 'closeSession'> {
  const sessions = deps.sessions ?? null;
  const whenServed: MiddlewareHandler<RelayEnv> = async (_c, next) => {
    if (sessions === null) throw noSessions();
    await next();
  };

  // docs/api.md §4.6.1: signed by the device key (never in a session); the share is in the signed body.
  const openSession = routeOf(whenServed, readBody(SMALL_BODY_BYTES), deviceAuth(authFor(deps, 'openSession')), rateLimit(buckets, deps.clock), async (c) => {
    const { clientShare } = parseJsonBody(c.get('body'), OpenSessionRequestSchema);
    const nowSeconds = Math.floor(deps.clock().getTime() / 1000);
    const opened = (sessions as NonNullable<typeof sessions>).open(c.get('device').publicKey, clientShare, nowSeconds);
    if (opened === undefined) throw new RelayHttpError(400, 'invalid_request', 'clientShare is not a usable X25519 public key (RFC 7748 §6.1)');
    await deps.store.openSession(opened.record, MAX_SESSIONS_PER_DEVICE);
    const body: OpenSessionResponse = { session: opened.record.id, relayShare: opened.relayShare, expiresAt: new Date(opened.record.expiresAt * 1000).toISOString() };
    return c.json(body, 201);
  });

  // docs/api.md §4.6.4: sent in the session, closes it (in every process from the commit on).
  const closeSession = routeOf(whenServed, readBody(SMALL_BODY_BYTES), deviceAuth(authFor(deps, 'closeSession')), rateLimit(buckets, deps.clock), async (c) => {
    const device = c.get('device');
    if (device.sessionId === undefined) throw new RelayHttpError(400, 'invalid_request', 'DELETE /v1/session is sent in the session it closes');
    await deps.store.closeSession(device.sessionId, device.publicKey, Math.floor(deps.clock().getTime() / 1000));
    return c.body(null, 204);
  });
  return { openSession, closeSession };
}
