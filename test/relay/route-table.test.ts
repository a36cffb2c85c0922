// docs/api.md §2: the route table of src/api/routes.ts is the routing. The relay app's
// own route list (Hono's app.routes) must be exactly the table: no route the table does
// not name, none of its routes missing, each with the table's method.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { API_ROUTES } from '../../src/api/routes.js';
import { createRelayApp } from '../../src/relay/app.js';
import { DEFAULT_LIMITS } from '../../src/relay/relay-deps.js';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
import { openTestStore } from './helpers/test-store.js';

let store: RelayStore & { dispose?: () => Promise<void> };
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store.dispose?.();
});

function newApp() {
  return createRelayApp({
    store,
    domain: 'example.test',
    limits: DEFAULT_LIMITS,
    inviteTokenDigests: null,
    clock: () => new Date(),
    randomId: () => 'id',
    logRequest: () => {},
    logInternalError: () => {},
  });
}

/** "METHOD path" of every route mounted, middleware for all methods ('*') left out. */
function mounted(app: ReturnType<typeof newApp>): string[] {
  return [...new Set(app.routes.filter((route) => route.method !== 'ALL').map((route) => `${route.method} ${route.path}`))].sort();
}

const table = Object.values(API_ROUTES).map((route) => `${route.method} ${route.path}`).sort();

it('the relay mounts exactly the routes of the route table, with their methods', () => {
  expect(mounted(newApp())).toEqual(table);
});

it('a route mounted beside the table, or with another method, is caught', () => {
  const extra = newApp();
  extra.get('/v1/unlisted', (c) => c.text('no'));
  expect(mounted(extra)).not.toEqual(table);
  const wrongMethod = newApp();
  wrongMethod.put(API_ROUTES.submit.path, (c) => c.text('no'));
  expect(mounted(wrongMethod)).not.toEqual(table);
});
