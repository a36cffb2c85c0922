// docs/api.md §2: the route table of src/api/routes.ts is the routing. The relay app's
// own route list (Hono's app.routes) must be exactly the table: no route the table does
// not name, none of its routes missing, each with the table's method.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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

/** The rows of docs/api.md §2's table: `name METHOD path`, the path in the table's `:param` form, without the query. */
function documentedRoutes(text: string): string[] {
  const section = text.slice(text.indexOf('## 2. Transport and route table'), text.indexOf('## 3.'));
  return [...section.matchAll(/^\| (\w+) \| `([A-Z]+) ([^`?]+)[^`]*`/gm)].map(([, name, method, path]) => `${name} ${method} ${path!.replace(/\{(\w+)\}/g, ':$1')}`).sort();
}

it('docs/api.md §2 lists exactly the routes of the table, by name, method and path', () => {
  const documented = documentedRoutes(readFileSync(resolve(import.meta.dirname, '../../docs/api.md'), 'utf8'));
  expect(documented).toEqual(Object.entries(API_ROUTES).map(([name, route]) => `${name} ${route.method} ${route.path}`).sort());
  // The check can fail: a row left out of the docs is seen.
  expect(documentedRoutes('## 2. Transport and route table\n| relayInfo | `GET /v1/relay` | none |\n## 3.')).not.toEqual(documented);
});
