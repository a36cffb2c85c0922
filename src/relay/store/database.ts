// Opens the relay's SQLite database (WAL) and brings its schema up to date.

import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

export type RelayDatabase = Database.Database;

/** Opens (creating if needed) the database at `file`, or in memory for ':memory:'. */
export function openRelayDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): RelayDatabase {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: every commit is fsynced, once; the store groups concurrent writes into one
  // commit (group-commit.ts), so this costs one fsync per group, not per request.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Overwrite deleted ciphertexts instead of leaving them in free pages.
  db.pragma('secure_delete = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  attachNonces(db, file === ':memory:' ? ':memory:' : `${file}-nonces`);
  return db;
}

/** Applies, in order and each in its own transaction, the migrations not applied yet. */
export function migrate(db: RelayDatabase, migrations: readonly Migration[]): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((row) => row.version),
  );
  const newest = Math.max(0, ...applied);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (newest > known) throw new Error(`the database schema (version ${newest}) is newer than this caliop-relay knows (${known})`);
  const ran: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    })();
    ran.push(migration.version);
  }
  return ran;
}

/**
 * Replay nonces live in a second file, attached as `volatile`, with synchronous = OFF:
 * writing one never waits for an fsync, and a commit touching only it fsyncs nothing
 * (docs/decisions/relay-store.md; PostgreSQL keeps them in an UNLOGGED table).
 * A power cut may forget the last moments' nonces of TLS-protected requests.
 * `nonce_log` is appended to in the order written (row ids rising, so a commit writes the
 * last page or two, not a page per nonce); the store checks nonces in memory and reads
 * the log back when it opens (sqlite-store.ts, "Replay nonces on SQLite" in the decision).
 * The indexed table `nonces` of earlier versions is moved into it by the store, then dropped.
 */
export function attachNonces(db: RelayDatabase, file: string): void {
  db.prepare('ATTACH DATABASE ? AS volatile').run(file);
  db.pragma('volatile.journal_mode = WAL');
  db.pragma('volatile.synchronous = OFF');
  db.exec(`CREATE TABLE IF NOT EXISTS volatile.nonce_log (
    seq INTEGER PRIMARY KEY,
    device_public_key BLOB NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;`);
}
