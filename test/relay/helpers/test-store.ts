// Which relay store the tests run against (issue 14). vitest.config.ts runs the relay
// API and gateway suites twice when CALIOP_TEST_POSTGRES names a PostgreSQL server
// (.ci/postgres starts one): once on SQLite, once with CALIOP_TEST_STORE=postgres.
// Each relay gets its own database, named after its data folder, dropped at dispose.

import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { RelayStore } from '../../../src/relay/store/relay-store.js';
import { SqliteRelayStore } from '../../../src/relay/store/sqlite-store.js';

/** Admin URL of the test server, e.g. postgres://postgres@127.0.0.1:55432/postgres. */
export const POSTGRES_URL = process.env.CALIOP_TEST_POSTGRES || undefined;
if (POSTGRES_URL === undefined && process.env.CALIOP_TEST_POSTGRES_REQUIRED === '1') {
  throw new Error('CALIOP_TEST_POSTGRES_REQUIRED=1 but CALIOP_TEST_POSTGRES is not set (.ci/postgres start prints it)');
}
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.CALIOP_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
if (TEST_STORE === 'postgres' && POSTGRES_URL === undefined) throw new Error('CALIOP_TEST_STORE=postgres needs CALIOP_TEST_POSTGRES');

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_URL as string);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates database `name` unless it exists; returns its URL. */
export async function ensureDatabase(name: string): Promise<string> {
  await admin(async (client) => {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  });
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** The database of a relay's data folder (so a restart on the same folder finds its data). */
export function databaseNameFor(dataDir: string): string {
  return `caliop_test_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
}

/** A fresh empty store of the kind under test; dispose() closes it and drops its database. */
export async function openTestStore(kind: 'sqlite' | 'postgres' = TEST_STORE): Promise<RelayStore & { dispose(): Promise<void> }> {
  if (kind === 'sqlite') {
    const store = SqliteRelayStore.open(':memory:');
    let closed = false;
    const close = store.close.bind(store);
    return Object.assign(store, {
      close: async () => {
        closed = true;
        await close();
      },
      dispose: async () => {
        if (!closed) await close();
      },
    });
  }
  const { PostgresRelayStore } = await import('../../../src/relay/store/postgres-store.js');
  const name = `caliop_test_${randomBytes(8).toString('hex')}`;
  const store = await PostgresRelayStore.open(await ensureDatabase(name), { poolSize: 4 });
  let closed = false;
  const close = store.close.bind(store);
  return Object.assign(store, {
    close: async () => {
      closed = true;
      await close();
    },
    dispose: async () => {
      if (!closed) await close();
      await dropDatabase(name);
    },
  });
}
