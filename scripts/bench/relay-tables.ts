// Issue 14: the growth of the relay's newer tables, the outbound queue
// (docs/gateway.md §4.7), the remembered submissions (docs/api.md §8.10) and the
// disclosure log (docs/disclosure.md §5), at 100, 1,000 and 10,000 rows, on SQLite and
// on PostgreSQL. The hot operations, each durable: enqueue + claim + finish (what a
// deferral and a queue run cost), a key lookup + a new key (every POST with an
// idempotencyKey), an append to the log (every disclosure). Peer: the same operation
// with 100 rows, in the same run. Target: flat (≤ 1.5 at 10,000: the machine is shared).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openRelayStore } from '../../src/relay/store/open-store.js';
import type { QueuedOutbound, RelayStore } from '../../src/relay/store/relay-store.js';
import { benchPostgres } from './relay-throughput.js';

const SIZES = [100, 1_000, 10_000] as const;
const ROUNDS = 40;
const MESSAGE = new Uint8Array(6 * 1024).fill(65);
const FAR = '2999-01-01T00:00:00.000Z';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function queued(i: number, nextAttemptAt: string): QueuedOutbound {
  return {
    id: `q${i}-${randomBytes(6).toString('hex')}`,
    sender: `s${i % 50}@example.test`,
    recipients: [`r${i}@outside.test`],
    message: MESSAGE,
    exposed: false,
    createdAt: new Date().toISOString(),
    giveUpAt: FAR,
    attempts: 1,
    nextAttemptAt,
    lastError: '451 4.3.2 later',
    requireTls: false,
  };
}

/** Fills the three tables up to n rows, in concurrent batches (group commit shares the fsyncs). */
async function fillTo(store: RelayStore, from: number, n: number): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  for (let start = from; start < n; start += 250) {
    const batch = Array.from({ length: Math.min(250, n - start) }, (_, k) => start + k);
    await Promise.all(batch.map((i) => store.enqueueOutbound(queued(i, FAR))));
    await Promise.all(batch.map((i) => store.rememberSubmission({ sender: `s${i % 50}@example.test`, key: `fill-${i}-${randomBytes(8).toString('hex')}`, requestSha256: '0'.repeat(64), response: '{"id":"x"}', createdAt: now })));
    for (const i of batch) await store.appendDisclosureLog((previous) => JSON.stringify({ seq: (previous?.seq ?? 0) + 1, i, padding: 'x'.repeat(300) }));
  }
}

async function measure(store: RelayStore): Promise<{ queue: number; submission: number; log: number }> {
  const queue: number[] = [];
  const submission: number[] = [];
  const log: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const now = new Date().toISOString();
    let start = performance.now();
    const item = queued(1_000_000 + round, now);
    await store.enqueueOutbound(item);
    const claimed = await store.claimOutbound(new Date(Date.now() + 1000).toISOString(), FAR, 16);
    for (const each of claimed) await store.finishOutbound(each.id, null);
    queue.push(performance.now() - start);

    start = performance.now();
    const key = `hot-${round}-${randomBytes(8).toString('hex')}`;
    await store.submissionByKey('s7@example.test', key);
    await store.rememberSubmission({ sender: 's7@example.test', key, requestSha256: '1'.repeat(64), response: '{"id":"y"}', createdAt: Math.floor(Date.now() / 1000) });
    submission.push(performance.now() - start);

    start = performance.now();
    await store.appendDisclosureLog((previous) => JSON.stringify({ seq: (previous?.seq ?? 0) + 1, hot: round }));
    log.push(performance.now() - start);
  }
  return { queue: median(queue), submission: median(submission), log: median(log) };
}

async function benchOne(label: string, open: () => Promise<RelayStore>): Promise<string[]> {
  const store = await open();
  const lines: string[] = [];
  try {
    let filled = 0;
    const rows: { n: number; queue: number; submission: number; log: number }[] = [];
    for (const n of SIZES) {
      await fillTo(store, filled, n);
      filled = n;
      rows.push({ n, ...(await measure(store)) });
    }
    const base = rows[0]!;
    for (const row of rows) {
      const ratio = (value: number, peer: number) => (value / peer).toFixed(2);
      lines.push(
        `${label} ${String(row.n).padStart(6)} rows: queue enqueue+claim+finish ${row.queue.toFixed(2)} ms (x${ratio(row.queue, base.queue)}), ` +
          `key lookup+new key ${row.submission.toFixed(2)} ms (x${ratio(row.submission, base.submission)}), log append ${row.log.toFixed(2)} ms (x${ratio(row.log, base.log)})`,
      );
    }
  } finally {
    await store.close();
  }
  return lines;
}

export async function benchRelayTables(): Promise<{ name: string; lines: string[] }> {
  const lines = [`medians of ${ROUNDS} rounds, each operation durable; (xN) = against the same operation at 100 rows, same run; load ${(await import('node:os')).loadavg()[0]?.toFixed(1)}`];
  const dir = mkdtempSync(join(tmpdir(), 'caliop-bench-tables-'));
  try {
    lines.push(...(await benchOne('sqlite    ', () => openRelayStore({ kind: 'sqlite', file: join(dir, 'relay.sqlite') }, dir))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pg = await benchPostgres();
  if (typeof pg === 'string') {
    lines.push(`postgresql: skipped: ${pg}`);
  } else {
    try {
      lines.push(...(await benchOne('postgresql', () => openRelayStore({ kind: 'postgres', url: pg.url }, dir))));
    } finally {
      await pg.stop();
    }
  }
  return { name: 'relay tables growth (outbound queue, submissions, disclosure log) at 100/1,000/10,000 rows', lines };
}
