// Issue 14: no action may cost the whole table. The statements that touch the relay
// tables added with the outbound queue (docs/gateway.md §4.7, §4.9, docs/api.md §8.7.1,
// §8.12) each read through an index, on SQLite (EXPLAIN QUERY PLAN) and on PostgreSQL
// (EXPLAIN with sequential scans priced out, so a plan without a usable index still
// shows "Seq Scan"); and the purge of abandoned upload chunks (migration 13,
// chunk_uploads) drops only what was abandoned. The figures: scripts/bench/relay-tables.ts.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openRelayDatabase } from '../../src/relay/store/database.js';
import { MIGRATIONS } from '../../src/relay/store/migrations.js';
import { ABANDONED_CHUNKS_AFTER_S, type QueuedOutbound, type RelayStore } from '../../src/relay/store/relay-store.js';
import { dropDatabase, ensureDatabase, openTestStore, TEST_STORE } from './helpers/test-store.js';

/** The hot statements as the stores run them, with literal arguments (sqlite-store.ts, postgres-store.ts). */
const STATEMENTS: readonly [string, string][] = [
  ['GET /v1/outbound/{id}: queued?', "SELECT * FROM outbound_queue WHERE id = 'a' AND sender = 'b'"],
  ['GET /v1/outbound/{id}: report', "SELECT id, sender, state, at, detail FROM outbound_reports WHERE id = 'a' AND sender = 'b'"],
  ['queue: next due', "SELECT * FROM outbound_queue WHERE next_attempt_at <= '2026' AND claimed_until < '2026' ORDER BY next_attempt_at LIMIT 16"],
  ['queue: one chunk', "SELECT bytes FROM message_chunks WHERE message_id = 'a' AND seq = 0"],
  ['queue: finish (and the trigger)', "DELETE FROM message_chunks WHERE message_id = 'a'"],
  ['report purge', "DELETE FROM outbound_reports WHERE at < '2026'"],
  ['TLS-RPT: counts of a day', "SELECT * FROM tls_rpt_sessions WHERE day = '2026-12-01' ORDER BY policy_domain, result, receiving_mx, receiving_ip"],
  ['TLS-RPT: purge counts', "DELETE FROM tls_rpt_sessions WHERE day < '2026-11-24'"],
  ['TLS-RPT: purge marks', "DELETE FROM tls_rpt_reports WHERE day < '2026-11-24'"],
  ['TLS-RPT: HTTPS reports due (migration 14)', "SELECT * FROM tls_rpt_posts WHERE next_attempt_at <= '2026' ORDER BY next_attempt_at LIMIT 20"],
  ['TLS-RPT: an HTTPS report leased (SQLite claim)', "UPDATE tls_rpt_posts SET next_attempt_at = '2027' WHERE id = 'a'"],
  ['TLS-RPT: an HTTPS report deferred', "UPDATE tls_rpt_posts SET attempts = 2, next_attempt_at = '2027', last_error = 'x' WHERE id = 'a'"],
  ['TLS-RPT: an HTTPS report posted', "DELETE FROM tls_rpt_posts WHERE id = 'a'"],
  ['upload cleanup: its own chunks', "DELETE FROM message_chunks WHERE message_id = 'a' AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = 'a')"],
  [
    'upload cleanup: abandoned uploads',
    'DELETE FROM message_chunks WHERE message_id IN (SELECT id FROM chunk_uploads WHERE created_at < 5) AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = message_chunks.message_id) AND NOT EXISTS (SELECT 1 FROM outbound_queue WHERE outbound_queue.id = message_chunks.message_id)',
  ],
  ['upload cleanup: forget old uploads', 'DELETE FROM chunk_uploads WHERE created_at < 5'],
];

/** PostgreSQL's own forms (postgres-store.ts): the claim of due POSTs in one statement. */
const POSTGRES_STATEMENTS: readonly [string, string][] = [
  [
    'TLS-RPT: HTTPS reports due, claimed (migration 14)',
    `WITH due AS (SELECT id, next_attempt_at FROM tls_rpt_posts WHERE next_attempt_at <= '2026' ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
     UPDATE tls_rpt_posts SET next_attempt_at = '2027' FROM due WHERE tls_rpt_posts.id = due.id
     RETURNING tls_rpt_posts.*, due.next_attempt_at AS due_at`,
  ],
];

/** The tables whose full scan would cost the whole table. */
const TABLES = /\b(outbound_queue|outbound_reports|message_chunks|tls_rpt_sessions|tls_rpt_reports|tls_rpt_posts|chunk_uploads|messages)\b/;

describe('the relay tables are read through indexes (issue 14)', () => {
  it.skipIf(TEST_STORE !== 'sqlite')('SQLite: EXPLAIN QUERY PLAN of each hot statement scans no table', () => {
    const db = openRelayDatabase(':memory:');
    try {
      for (const [name, sql] of STATEMENTS) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail);
        const scans = plan.filter((detail) => /^SCAN /.test(detail) && TABLES.test(detail));
        expect(scans, `${name}: ${plan.join(' | ')}`).toEqual([]);
      }
    } finally {
      db.close();
    }
  });

  it.skipIf(TEST_STORE !== 'postgres')('PostgreSQL: EXPLAIN of each hot statement has no sequential scan', async () => {
    const name = `caliop_test_${randomBytes(8).toString('hex')}`;
    const url = await ensureDatabase(name);
    const { PostgresRelayStore } = await import('../../src/relay/store/postgres-store.js');
    await (await PostgresRelayStore.open(url, { poolSize: 1 })).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('SET enable_seqscan = off');
      for (const [label, sql] of [...STATEMENTS, ...POSTGRES_STATEMENTS]) {
        const plan = ((await client.query(`EXPLAIN ${sql}`)).rows as { 'QUERY PLAN': string }[]).map((row) => row['QUERY PLAN']);
        const scans = plan.filter((line) => /Seq Scan on /.test(line) && TABLES.test(line));
        expect(scans, `${label}: ${plan.join(' | ')}`).toEqual([]);
      }
    } finally {
      await client.end();
      await dropDatabase(name);
    }
  });

  it('SQLite: no statement of the store binds a bare LIMIT or OFFSET (planned again at every run)', () => {
    // docs/decisions/relay-store.md "SQLite housekeeping": `LIMIT ?` is planned by the value
    // bound, and SQLite prepares such a statement again whenever it is bound (every run under
    // better-sqlite3): the list route's read cost 20 us instead of 7. The store writes BOUND_LIMIT.
    const source = readFileSync(new URL('../../src/relay/store/sqlite-store.ts', import.meta.url), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    expect(source.match(/\b(?:LIMIT|OFFSET)\s+\?/gi) ?? []).toEqual([]);
    expect(source).toContain("'LIMIT CAST(? AS INTEGER)'");
  });

  it.skipIf(TEST_STORE !== 'sqlite')('SQLite migration 13 lists only the chunks no message or queued item holds', () => {
    const db = openRelayDatabase(':memory:', MIGRATIONS.filter((m) => m.version < 13));
    try {
      const chunk = db.prepare('INSERT INTO message_chunks (message_id, seq, bytes, created_at) VALUES (?, ?, ?, ?)');
      for (const [id, at] of [['stored', 10], ['queued', 20], ['abandoned', 30], ['abandoned', 40]] as const) chunk.run(id, at === 40 ? 1 : 0, Buffer.alloc(8), at);
      db.prepare("INSERT INTO messages (id, sender, recipients, size, facts, armored_message, chunks) VALUES ('stored', 'a@x', '[]', 8, '{}', '', 1)").run();
      db.prepare("INSERT INTO outbound_queue (id, sender, recipients, message, exposed, created_at, give_up_at, attempts, next_attempt_at, last_error, chunks) VALUES ('queued', 'a@x', '[]', x'', 0, '', '', 0, '', '', 1)").run();
      expect(migrate(db, MIGRATIONS.filter((m) => m.version <= 13))).toEqual([13]);
      expect(db.prepare('SELECT id, created_at FROM chunk_uploads').all()).toEqual([{ id: 'abandoned', created_at: 30 }]);
    } finally {
      db.close();
    }
  });
});

describe('the purge of abandoned upload chunks (docs/api.md §8.2.1, §8.7.1)', () => {
  let store: RelayStore & { dispose(): Promise<void> };
  beforeAll(async () => {
    store = await openTestStore();
  });
  afterAll(async () => {
    await store?.dispose();
  });

  const chunks = async (id: string, count: number) => {
    const found: number[] = [];
    try {
      for await (const chunk of store.uploadChunks(id, count)) found.push(chunk.length);
    } catch {
      // a chunk is missing
    }
    return found.length;
  };

  it('drops an upload abandoned an hour ago, and nothing a stored message, a queued item or an upload under way holds', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = now - ABANDONED_CHUNKS_AFTER_S - 60;
    const put = async (id: string, at: number) => {
      await store.putCiphertextChunk(id, 0, new Uint8Array(5000).fill(1), at);
      await store.putCiphertextChunk(id, 1, new Uint8Array(10).fill(2), at);
    };
    await put('abandoned-upload', old);
    await put('upload-under-way', now);
    await put('stored-message', old);
    await store.storeMessage({ id: 'stored-message', sender: 'a@example.test', recipients: [], size: 5010, facts: { route: 'internal', receivedAt: new Date().toISOString() } as never, armoredMessage: '', entryIds: [], chunks: 2 });
    // docs/api.md §8.7.1: a deferred streamed message waits in a copy of its upload's chunks.
    await put('outbound-upload', old);
    await store.copyChunks('outbound-upload', 'queued-item', old);
    const item: QueuedOutbound = {
      id: 'queued-item', sender: 'a@example.test', recipients: ['b@outside.test'], message: new Uint8Array(3), exposed: false, createdAt: new Date().toISOString(),
      giveUpAt: '2999-01-01T00:00:00.000Z', attempts: 1, nextAttemptAt: '2999-01-01T00:00:00.000Z', lastError: '451', requireTls: false, chunks: 2,
    };
    await store.enqueueOutbound(item);

    // The outbound upload was delivered (or queued): its own chunks go, and the abandoned ones.
    await store.discardCiphertextChunks('outbound-upload', now - ABANDONED_CHUNKS_AFTER_S);
    expect(await chunks('outbound-upload', 2)).toBe(0);
    expect(await chunks('abandoned-upload', 2)).toBe(0);
    expect(await chunks('upload-under-way', 2)).toBe(2);
    expect(await chunks('stored-message', 2)).toBe(2);
    expect(await chunks('queued-item', 2)).toBe(2);

    // An hour later the upload under way was abandoned too; the held ones stay, every time.
    await store.discardCiphertextChunks('nothing', now + 1);
    expect(await chunks('upload-under-way', 2)).toBe(0);
    expect(await chunks('stored-message', 2)).toBe(2);
    expect(await chunks('queued-item', 2)).toBe(2);
  });
});
