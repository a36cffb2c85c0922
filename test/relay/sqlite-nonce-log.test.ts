// docs/decisions/relay-store.md "Replay nonces on SQLite": the SQLite store checks nonces in
// memory and appends each to the nonce log before its request is answered. The attacks: a
// request replayed after the relay was killed (no clean close: nothing flushed at exit), and
// after an upgrade from the indexed `nonces` table of earlier versions.

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';

const folders: string[] = [];
const stores: SqliteRelayStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function databaseFile(): string {
  const folder = mkdtempSync(join(tmpdir(), 'caliop-nonce-log-'));
  folders.push(folder);
  return join(folder, 'relay.sqlite');
}

function open(file: string): SqliteRelayStore {
  const store = SqliteRelayStore.open(file);
  stores.push(store);
  return store;
}

const now = Math.floor(Date.now() / 1000);
const key = (n: number) => new Uint8Array(32).fill(n);

it('replay_after_kill: a nonce answered fresh is a replay for the store opened after, the first never closed', async () => {
  const file = databaseFile();
  const killed = open(file);
  expect(await Promise.all([killed.rememberNonce(key(1), 'nonce-before-kill-1', now + 300, now), killed.rememberNonce(key(2), 'nonce-before-kill-2', now + 300, now)])).toEqual([true, true]);
  // A second store on the file while the first is still open and never closed: what a
  // restart after SIGKILL finds (the first one's memory is gone, its file writes are not).
  const restarted = open(file);
  expect(await restarted.rememberNonce(key(1), 'nonce-before-kill-1', now + 300, now)).toBe(false);
  expect(await restarted.rememberNonce(key(2), 'nonce-before-kill-2', now + 300, now)).toBe(false);
  // Another device's same nonce, and a new nonce: fresh.
  expect(await restarted.rememberNonce(key(3), 'nonce-before-kill-1', now + 300, now)).toBe(true);
  expect(await restarted.rememberNonce(key(1), 'nonce-after-restart', now + 300, now)).toBe(true);
});

it('replay_after_upgrade: nonces of the indexed table of earlier versions are still refused, expired ones dropped', async () => {
  const file = databaseFile();
  // The nonce file as earlier versions left it.
  const earlier = new Database(`${file}-nonces`);
  earlier.pragma('journal_mode = WAL');
  earlier.exec(`CREATE TABLE nonces (device_public_key BLOB NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (device_public_key, nonce)) STRICT, WITHOUT ROWID;
    CREATE INDEX nonces_expiry ON nonces (expires_at);`);
  earlier.prepare('INSERT INTO nonces VALUES (?, ?, ?)').run(key(1), 'nonce-of-before-1', now + 200);
  earlier.prepare('INSERT INTO nonces VALUES (?, ?, ?)').run(key(1), 'nonce-long-gone-1', now - 10);
  earlier.close();
  const store = open(file);
  expect(await store.rememberNonce(key(1), 'nonce-of-before-1', now + 300, now)).toBe(false);
  const nonceFile = new Database(`${file}-nonces`, { readonly: true });
  const tables = nonceFile.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  const logged = nonceFile.prepare('SELECT nonce FROM nonce_log ORDER BY seq').all() as { nonce: string }[];
  nonceFile.close();
  expect(tables.map((table) => table.name)).toEqual(['nonce_log']);
  expect(logged.map((row) => row.nonce)).toEqual(['nonce-of-before-1']);
});

it('nonce_log_purge: expired nonces leave the memory and, once surely expired, the log; a live one stays a replay', async () => {
  const file = databaseFile();
  const store = open(file);
  expect(await store.rememberNonce(key(1), 'nonce-short-lived', now + 10, now)).toBe(true);
  expect(await store.rememberNonce(key(1), 'nonce-long-lived-', now + 2000, now)).toBe(true);
  // A minute later (a purge), then past the longest possible life of a nonce (two windows).
  expect(await store.rememberNonce(key(2), 'nonce-later-one-1', now + 360, now + 60)).toBe(true);
  expect(await store.rememberNonce(key(2), 'nonce-later-two-1', now + 1000, now + 720)).toBe(true);
  const count = () => {
    const nonceFile = new Database(`${file}-nonces`, { readonly: true });
    const rows = nonceFile.prepare('SELECT nonce FROM nonce_log ORDER BY seq').all() as { nonce: string }[];
    nonceFile.close();
    return rows.map((row) => row.nonce);
  };
  // The first two were written more than 600 s before the last purge: the expired one left the log.
  expect(count()).toEqual(['nonce-long-lived-', 'nonce-later-one-1', 'nonce-later-two-1']);
  expect(await store.rememberNonce(key(1), 'nonce-long-lived-', now + 2000, now + 720)).toBe(false);
});
