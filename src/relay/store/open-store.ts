// Opens the relay's store from `--store` / CALIOP_RELAY_STORE (docs/api.md §10):
// a postgres:// or postgresql:// URL selects PostgreSQL; otherwise SQLite in the data folder.

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RelayStore } from './relay-store.js';
import { SqliteRelayStore } from './sqlite-store.js';

/** null: the default, relay.sqlite in the data folder. */
export type StoreLocation = { readonly kind: 'sqlite'; readonly file: string | null } | { readonly kind: 'postgres'; readonly url: string };

export function parseStoreLocation(text: string): StoreLocation | null {
  if (/^postgres(ql)?:\/\//i.test(text)) return { kind: 'postgres', url: text };
  const sqlite = /^sqlite:(.+)$/i.exec(text);
  if (sqlite) return { kind: 'sqlite', file: sqlite[1] as string };
  return null;
}

/** A URL as it may be logged: without its password. */
export function redactedStoreLocation(location: StoreLocation, dataDir: string): string {
  if (location.kind === 'sqlite') return `sqlite:${location.file ?? join(dataDir, 'relay.sqlite')}`;
  try {
    const url = new URL(location.url);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** `deleteReserveBytes`: SQLite only, the space kept for deletions on a full disk (delete-reserve.ts). */
export async function openRelayStore(location: StoreLocation, dataDir: string, options: { deleteReserveBytes?: number } = {}): Promise<RelayStore> {
  if (location.kind === 'sqlite') return SqliteRelayStore.open(location.file ?? join(dataDir, 'relay.sqlite'), options);
  // Loaded only for PostgreSQL: a SQLite relay needs nothing more.
  const { PostgresRelayStore } = await import('./postgres-store.js');
  return PostgresRelayStore.open(location.url);
}

/** Why openExistingRelayStore refused: what is missing, and what to do. */
export class StoreMissing extends Error {
  override readonly name = 'StoreMissing';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/**
 * For the operator's commands (disclosure, disclosure-log, key-reset): the data folder and
 * the store must already be the relay's; nothing is created (docs/disclosure.md §4). SQLite:
 * the database file exists; PostgreSQL: the schema is there (its schema_migrations table).
 */
export async function openExistingRelayStore(location: StoreLocation, dataDir: string): Promise<RelayStore> {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new StoreMissing(`the data folder ${dataDir} does not exist`, "give --data the relay's data folder (the one its --data names)");
  }
  if (location.kind === 'sqlite') {
    const file = location.file ?? join(dataDir, 'relay.sqlite');
    if (!existsSync(file)) {
      throw new StoreMissing(
        `no relay store: ${file} does not exist`,
        location.file === null
          ? 'pass --store postgres://… on a relay that uses PostgreSQL (or set CALIOP_RELAY_STORE), or --store sqlite:FILE for another SQLite file'
          : 'give --store the file the relay itself uses',
      );
    }
    return SqliteRelayStore.open(file);
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: location.url });
  try {
    await client.connect();
    const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found");
    if (rows[0]?.found == null) {
      throw new StoreMissing(`no relay store in ${redactedStoreLocation(location, dataDir)}: the database has no relay schema`, 'give --store the database the relay itself uses (its --store or CALIOP_RELAY_STORE)');
    }
  } finally {
    await client.end().catch(() => {});
  }
  return openRelayStore(location, dataDir);
}
