// GET /v1/relay (docs/api.md §6.1).

import { PROTOCOL_LIMITS, type RelayInfo } from '../../api/schemas.js';
import { RelayHttpError } from '../http-error.js';
import type { RelayDeps } from '../relay-deps.js';
import { routeOf, type RelayRoutes } from '../relay-routes.js';
import type { RelayEnv } from '../relay-env.js';

export function relayInfoRoutes(deps: RelayDeps): Pick<RelayRoutes, 'relayInfo' | 'mtaStsPolicy'> {
  // docs/gateway.md §4.6, RFC 8461 §3.3: text/plain, served whatever the Host (the certificate decides which names reach it).
  const mtaStsPolicy = routeOf((c) => {
    if (!deps.mtaStsPolicy) throw new RelayHttpError(404, 'not_found', 'this relay serves no MTA-STS policy (it has no SMTP gateway)');
    return c.text(deps.mtaStsPolicy, 200, { 'Content-Type': 'text/plain; charset=utf-8' });
  });
  const relayInfo = routeOf((c) => {
    const info: RelayInfo = {
      apiVersion: 1,
      domain: deps.domain,
      inviteRequired: deps.inviteTokenDigests !== null,
      ...(deps.releaseFingerprint ? { releaseFingerprint: deps.releaseFingerprint } : {}),
      limits: {
        maxMessageBytes: deps.limits.maxMessageBytes,
        maxRecipients: deps.limits.maxRecipients,
        maxPageSize: deps.limits.maxPageSize,
        maxBatchBytes: PROTOCOL_LIMITS.maxBatchBytes,
        rateBurst: deps.limits.rateBurst,
        ratePerMinute: deps.limits.ratePerMinute,
      },
      // docs/api.md §4.6.4: announced only by a relay that serves them.
      ...(deps.sessions ? { sessions: { lifetimeSeconds: deps.sessions.lifetimeSeconds } } : {}),
    };
    return c.json(info);
  });
  return { relayInfo, mtaStsPolicy };
}
