// What the relay runs for each route of the table in src/api/routes.ts (docs/api.md §2):
// its middleware, then the handler that answers. app.ts mounts the routes by walking the
// table, so a route exists on the relay only if the table names it, and the type
// RelayRoutes makes the compiler refuse a table route without handlers.

import type { Context, Handler, MiddlewareHandler } from 'hono';
import type { ApiRouteName } from '../api/routes.js';
import type { RelayEnv } from './relay-env.js';

export type RouteHandlers = readonly [...MiddlewareHandler<RelayEnv>[], Handler<RelayEnv>];

export type RelayRoutes = { readonly [Name in ApiRouteName]: RouteHandlers };

/** The middleware and the handler of one route, in the order they run. */
export function routeOf(...handlers: [...MiddlewareHandler<RelayEnv>[], Handler<RelayEnv>]): RouteHandlers {
  return handlers;
}

/** A `:name` of the route's path: mounted from the table, the router always fills it. */
export function pathParam(c: Context<RelayEnv>, name: string): string {
  const value = c.req.param(name);
  if (value === undefined) throw new Error(`the route has no :${name}`);
  return value;
}
