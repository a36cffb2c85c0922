// The relay as a Hono app (docs/api.md §2): the route table of src/api/routes.ts,
// one error shape, one request log line per request. No I/O of its own: the
// store, clock, randomness and log sinks come in through RelayDeps.

import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hotRoutesListener } from './hot-routes.js';
import { API_ROUTES, type ApiRouteName } from '../api/routes.js';
import { outboundRoutes, type OutboundDeps } from './gateway/outbound-route.js';
import { handleError, handleNotFound } from './http-error.js';
import { TokenBuckets } from './middleware/rate-limit.js';
import { requestLog } from './middleware/request-log.js';
import type { RelayDeps } from './relay-deps.js';
import type { RelayEnv } from './relay-env.js';
import type { RelayRoutes } from './relay-routes.js';
import { devicesRoutes } from './routes/devices.js';
import { directoryRoutes } from './routes/directory.js';
import { enrolmentRoutes } from './routes/enrolment.js';
import { messagesRoutes } from './routes/messages.js';
import { relayInfoRoutes } from './routes/relay-info.js';
import { sessionsRoutes } from './routes/sessions.js';

/** The per-device rate-limit buckets (docs/api.md §5.3), one set per process. */
function relayBuckets(deps: RelayDeps): TokenBuckets {
  return new TokenBuckets({ burst: deps.limits.rateBurst, perMinute: deps.limits.ratePerMinute });
}

/**
 * The relay as node:http serves it: the hot routes of send and sync straight on node's
 * request and response (hot-routes.ts), every other request through the Hono app; one set
 * of rate-limit buckets for both.
 */
export function createRelayListener(
  deps: RelayDeps,
  outbound: OutboundDeps | undefined,
  options: { readonly hostname?: string } = {},
): (request: IncomingMessage, response: ServerResponse) => void {
  const buckets = relayBuckets(deps);
  const app = createRelayApp(deps, outbound, buckets);
  return hotRoutesListener(deps, buckets, getRequestListener(app.fetch, options.hostname === undefined ? {} : { hostname: options.hostname }));
}

/** `outbound`: the gateway's POST /v1/outbound (docs/gateway.md §4.2); without it the route answers 503. */
export function createRelayApp(deps: RelayDeps, outbound?: OutboundDeps, buckets: TokenBuckets = relayBuckets(deps)): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  app.use('*', requestLog(deps.logRequest, deps.clock));
  app.use('*', async (c, next) => {
    // Set before the answer is made, so every answer (errors included) is built with them;
    // set after, each would copy the finished answer into a new one (a tenth of the relay's CPU).
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    await next();
  });
  const routes: RelayRoutes = {
    ...relayInfoRoutes(deps),
    ...enrolmentRoutes(deps, buckets),
    ...directoryRoutes(deps, buckets),
    ...messagesRoutes(deps, buckets),
    ...devicesRoutes(deps, buckets),
    ...sessionsRoutes(deps, buckets),
    ...outboundRoutes(deps, buckets, outbound ?? { transport: null, encryptedOnly: true, hostname: deps.domain, log: () => {}, dkim: null, queue: null }),
  };
  // The table is the routing: each of its routes, with its method and path, and nothing else.
  for (const name of Object.keys(API_ROUTES) as ApiRouteName[]) {
    const { method, path } = API_ROUTES[name];
    app.on(method, [path], ...routes[name]);
  }
  app.notFound(handleNotFound);
  app.onError((error, c) => handleError(error, c, deps.logInternalError));
  return app;
}
