// The relay as a Hono app (docs/api.md §2): the route table of src/api/routes.ts,
// one error shape, one request log line per request. No I/O of its own: the
// store, clock, randomness and log sinks come in through RelayDeps.

import { Hono } from 'hono';
import { mountOutbound, mountTlsPolicy, type OutboundDeps } from './gateway/outbound-route.js';
import { handleError, handleNotFound } from './http-error.js';
import { TokenBuckets } from './middleware/rate-limit.js';
import { requestLog } from './middleware/request-log.js';
import type { RelayDeps } from './relay-deps.js';
import type { RelayEnv } from './relay-env.js';
import { mountDevices } from './routes/devices.js';
import { mountDirectory } from './routes/directory.js';
import { mountEnrolment } from './routes/enrolment.js';
import { mountMessages } from './routes/messages.js';
import { mountRelayInfo } from './routes/relay-info.js';

/** `outbound`: the gateway's POST /v1/outbound (docs/gateway.md §4.2); without it the route answers 503. */
export function createRelayApp(deps: RelayDeps, outbound?: OutboundDeps): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  const buckets = new TokenBuckets({ burst: deps.limits.rateBurst, perMinute: deps.limits.ratePerMinute });
  app.use('*', requestLog(deps.logRequest, deps.clock));
  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
  });
  mountRelayInfo(app, deps);
  mountEnrolment(app, deps, buckets);
  mountDirectory(app, deps, buckets);
  mountMessages(app, deps, buckets);
  mountDevices(app, deps, buckets);
  const gateway = outbound ?? { transport: null, encryptedOnly: true, hostname: deps.domain, log: () => {}, dkim: null, queue: null };
  mountOutbound(app, deps, buckets, gateway);
  mountTlsPolicy(app, deps, buckets, gateway);
  app.notFound(handleNotFound);
  app.onError((error, c) => handleError(error, c, deps.logInternalError));
  return app;
}
