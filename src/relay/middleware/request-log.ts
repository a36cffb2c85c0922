// One structured JSON log line per request (docs/api.md §4.5, docs/decisions/relay.md):
// method, route pattern, status, duration and the device fingerprint prefix. Never
// the path's parameters, a body, a header value, a signature or a message.

import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { RelayEnv } from '../relay-env.js';

export interface RequestLogLine {
  readonly time: string;
  readonly event: 'request';
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly durationMs: number;
  readonly device: string | null;
}

export function requestLog(write: (line: RequestLogLine) => void, clock: () => Date): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      write({
        time: clock().toISOString(),
        event: 'request',
        method: c.req.method,
        route: routePath(c, -1),
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        device: c.var.device?.fingerprint ?? null,
      });
    }
  };
}
