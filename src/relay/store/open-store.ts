// Opens the relay's store from `--store` / CALIOP_RELAY_STORE (docs/api.md §10):
// a postgres:// or postgresql:// URL selects PostgreSQL; otherwise SQLite in the data folder.

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
