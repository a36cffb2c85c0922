// Issue 14: the growth of the relay's tables that hold data besides the mailbox, at 100,
// 1,000 and 10,000 rows, on SQLite and on PostgreSQL: the outbound queue and the chunks
// its messages wait in (docs/gateway.md §4.7, docs/api.md §8.7.1), the remembered
// submissions (§8.10), the disclosure log (docs/disclosure.md §5), the delivery reports
// (docs/api.md §8.12), the TLS-RPT counts (docs/gateway.md §4.9) and the TLS-RPT reports
// waiting to be POSTed again (tls_rpt_posts, migration 14, §4.9.1). Each action the
// relay takes on them, durable as the relay does it; three stores (one per size) are
// measured in turn within each round, so the shared machine's load falls on all alike.
// Peer: the same action with 100 rows, in the same run (1.00). Target: flat, ≤ 1.2 at
// 10,000; the purges and the report job remove or report the same amount at every size,
// so they too must stay flat (they cost what they remove, not the table).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openRelayStore } from '../../src/relay/store/open-store.js';
import { ABANDONED_CHUNKS_AFTER_S, type OutboundReport, type QueuedOutbound, type RelayStore, type TlsReportPost } from '../../src/relay/store/relay-store.js';
import { ensureDkimKey, type DkimKey } from '../../src/relay/gateway/dkim.js';
import type { TlsSession } from '../../src/relay/gateway/tls-rpt.js';
import { sendTlsReports, type TlsReportDeps } from '../../src/relay/tls-report-command.js';
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

/** The chunks of one queued message as the stream upload leaves them (docs/api.md §8.7.1); small, so 10,000 fit the bench's disk. */
const CHUNK = new Uint8Array(4 * 1024).fill(66);
const CHUNKS_PER_ITEM = 2;

async function chunkedQueued(store: RelayStore, i: number, nextAttemptAt: string): Promise<QueuedOutbound> {
  const item = { ...queued(i, nextAttemptAt), message: new Uint8Array(300).fill(68), chunks: CHUNKS_PER_ITEM };
  const createdAt = Math.floor(Date.now() / 1000);
  for (let seq = 0; seq < CHUNKS_PER_ITEM; seq++) await store.putCiphertextChunk(item.id, seq, CHUNK, createdAt);
  return item;
}

function report(id: string, sender: string, at: string): OutboundReport {
  return { id, sender, state: 'delivered', at, detail: JSON.stringify({ server: 'mx.outside.test', tls: 'opportunistic', padding: 'x'.repeat(200) }) };
}

function tlsSession(day: string, i: number): TlsSession {
  return {
    day,
    policyDomain: `d${i % 400}.outside.test`,
    policyType: i % 3 === 0 ? 'no-policy-found' : 'sts',
    policyStrings: i % 3 === 0 ? [] : ['version: STSv1', 'mode: enforce', `mx: mx${i % 400}.outside.test`, 'max_age: 86400'],
    mxHosts: [`mx${i % 400}.outside.test`],
    result: i % 7 === 0 ? 'certificate-not-trusted' : 'success',
    sendingIp: '192.0.2.1',
    receivingMx: `mx${i % 400}.outside.test`,
    receivingIp: `198.51.100.${i % 250}`,
  };
}

/** A report POST of docs/gateway.md §4.9.1 (a 600-byte gzipped report), due at `nextAttemptAt`. */
function tlsPost(id: string, nextAttemptAt: string): TlsReportPost {
  return {
    id,
    reportId: `report-${id}`,
    policyDomain: 'outside.test',
    url: 'https://tlsrpt.outside.test/v1',
    body: new Uint8Array(600).fill(67),
    createdAt: new Date().toISOString(),
    giveUpAt: FAR,
    attempts: 1,
    nextAttemptAt,
    lastError: 'HTTP 503',
  };
}

/** The day of the report marks that carry the filled POSTs: after every day another action reports or purges. */
const POSTS_DAY = '2990-01-01';

const today = () => new Date().toISOString().slice(0, 10);
const dayBefore = (day: string, days: number) => new Date(Date.parse(`${day}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);

/**
 * Fills the tables up to n rows each, in concurrent batches (group commit shares the
 * fsyncs): n queued messages (not due, each in CHUNKS_PER_ITEM chunks), n remembered
 * submissions, n disclosure log lines, n delivery reports (of the last 30 days), n
 * TLS-RPT counts (over today and the 7 days kept), n report POSTs waiting for a retry (not due).
 */
async function fillTo(store: RelayStore, from: number, n: number): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  for (let start = from; start < n; start += 250) {
    const batch = Array.from({ length: Math.min(250, n - start) }, (_, k) => start + k);
    await Promise.all(batch.map(async (i) => store.enqueueOutbound(await chunkedQueued(store, i, FAR))));
    await Promise.all(batch.map((i) => store.rememberSubmission({ sender: `s${i % 50}@example.test`, key: `fill-${i}-${randomBytes(8).toString('hex')}`, requestSha256: '0'.repeat(64), response: '{"id":"x"}', createdAt: now })));
    for (const i of batch) await store.appendDisclosureLog((previous) => JSON.stringify({ seq: (previous?.seq ?? 0) + 1, i, padding: 'x'.repeat(300) }));
    // A report is written by the queue's finish of its message (docs/api.md §8.12).
    await Promise.all(
      batch.map(async (i) => {
        const item = queued(2_000_000 + i, FAR);
        await store.enqueueOutbound(item);
        await store.finishOutbound(item.id, null, report(item.id, item.sender, new Date(Date.now() - (i % 29) * 86_400_000).toISOString()));
        reportIds.get(store)!.push({ id: item.id, sender: item.sender });
      }),
    );
    await Promise.all(batch.map((i) => store.recordTlsSession(tlsSession(dayBefore(today(), i % 8), i))));
    // A report's POSTs enter the table with its mark (claimTlsReport), one report per batch here.
    await store.claimTlsReport(POSTS_DAY, `fill${start}.outside.test`, `fill-${start}`, new Date().toISOString(), [], batch.map((i) => tlsPost(`fill-${i}`, FAR)));
  }
}

/** The job's world: a _smtp._tls record for every domain, no network. */
function jobDeps(store: RelayStore, dkim: DkimKey, now: Date): TlsReportDeps {
  return { store, domain: 'example.test', dkim, resolveTxt: async () => [['v=TLSRPTv1; rua=mailto:tlsrpt@reports.outside.test']], ca: null, now, log: () => {} };
}

/** One measured action: `prepare` (not timed) puts what it needs in place, `run` is timed. */
interface Action {
  readonly title: string;
  prepare(store: RelayStore, round: number, dkim: DkimKey): Promise<() => Promise<unknown>>;
}

const ACTIONS: readonly Action[] = [
  {
    title: 'queue enqueue+claim+finish',
    prepare: async (store, round) => async () => {
      await store.enqueueOutbound(queued(1_000_000 + round, new Date().toISOString()));
      const claimed = await store.claimOutbound(new Date(Date.now() + 1000).toISOString(), FAR, 16);
      for (const each of claimed) await store.finishOutbound(each.id, null);
    },
  },
  {
    title: 'idempotency key lookup+new key',
    prepare: async (store, round) => {
      const key = `hot-${round}-${randomBytes(8).toString('hex')}`;
      return async () => {
        await store.submissionByKey('s7@example.test', key);
        await store.rememberSubmission({ sender: 's7@example.test', key, requestSha256: '1'.repeat(64), response: '{"id":"y"}', createdAt: Math.floor(Date.now() / 1000) });
      };
    },
  },
  {
    title: 'disclosure log append',
    prepare: async (store, round) => () => store.appendDisclosureLog((previous) => JSON.stringify({ seq: (previous?.seq ?? 0) + 1, hot: round })),
  },
  {
    // docs/api.md §8.12: the route asks the queue, then the reports (outbound-route.ts).
    title: 'GET /v1/outbound/{id}: report by id',
    prepare: async (store, round) => {
      const ids = reportIds.get(store)!;
      const asked = ids[(round * 7919) % ids.length]!;
      return async () => {
        if ((await store.queuedOutboundById(asked.sender, asked.id)) !== undefined) throw new Error('a finished message is still queued');
        if ((await store.outboundReport(asked.sender, asked.id)) === undefined) throw new Error('a report is missing');
      };
    },
  },
  {
    title: 'queue run: next due + its chunks + finish',
    prepare: async (store, round) => {
      await store.enqueueOutbound(await chunkedQueued(store, 3_000_000 + round, new Date().toISOString()));
      return async () => {
        const claimed = await store.claimOutbound(new Date(Date.now() + 1000).toISOString(), FAR, 16);
        if (claimed.length !== 1) throw new Error(`${claimed.length} due instead of 1`);
        for (const each of claimed) {
          for await (const chunk of store.uploadChunks(each.id, each.chunks ?? 0)) void chunk;
          await store.finishOutbound(each.id, null, report(each.id, each.sender, new Date().toISOString()));
        }
      };
    },
  },
  {
    // docs/api.md §8.7.1: a streamed send, delivered at once, drops its upload's chunks and any abandoned an hour ago.
    title: 'upload cleanup after a streamed send',
    prepare: async (store, round) => {
      const upload = `up-${round}-${randomBytes(6).toString('hex')}`;
      for (let seq = 0; seq < CHUNKS_PER_ITEM; seq++) await store.putCiphertextChunk(upload, seq, CHUNK, Math.floor(Date.now() / 1000));
      return () => store.discardCiphertextChunks(upload, Math.floor(Date.now() / 1000) - ABANDONED_CHUNKS_AFTER_S);
    },
  },
  {
    title: 'TLS-RPT: record a session',
    prepare: async (store, round) => () => store.recordTlsSession({ ...tlsSession(today(), 5_000_000 + round), receivingIp: `203.0.113.${round % 250}`, policyDomain: `hot${round}.outside.test` }),
  },
  {
    // One day with 5 domains and 20 counts, in a year before the filled days, so the job's own
    // purge (7 days before the day) finds only earlier rounds' days: at most 20 counts.
    title: 'TLS-RPT daily job (5 domains, 20 counts)',
    prepare: async (store, round, dkim) => {
      const jobDay = new Date(Date.UTC(2000, 0, 1) + round * 86_400_000).toISOString().slice(0, 10);
      await Promise.all(Array.from({ length: 20 }, (_, k) => store.recordTlsSession({ ...tlsSession(jobDay, k), policyDomain: `job${k % 5}.outside.test` })));
      return async () => {
        const sent = await sendTlsReports(jobDeps(store, dkim, new Date()), jobDay, false);
        if (sent.length !== 5) throw new Error(`${sent.length} reports instead of 5`);
        // The mails it queued are no part of the tables measured.
        for (const each of await store.queuedOutboundOf('tlsrpt-noreply@example.test')) await store.finishOutbound(each.id, null);
      };
    },
  },
  {
    // The job each hour after the day was reported: nothing left to send.
    title: 'TLS-RPT hourly job, day already reported',
    prepare: async (store, round, dkim) => {
      const jobDay = new Date(Date.UTC(2000, 0, 1) + round * 86_400_000).toISOString().slice(0, 10);
      return async () => {
        if ((await sendTlsReports(jobDeps(store, dkim, new Date()), jobDay, false)).length !== 0) throw new Error('reported twice');
      };
    },
  },
  {
    // docs/gateway.md §4.9.1: the relay's poll when no POST is due (the usual case).
    title: 'TLS-RPT POSTs: find due, none due',
    prepare: async (store) => async () => {
      const claimed = await store.claimTlsPosts(new Date().toISOString(), new Date(Date.now() + 600_000).toISOString(), 20);
      if (claimed.length !== 0) throw new Error(`${claimed.length} POSTs due instead of none`);
    },
  },
  {
    // One POST due among the n waiting: found, claimed (leased), then posted and gone.
    title: 'TLS-RPT POSTs: find due + claim one + finish',
    prepare: async (store, round) => {
      const id = `hot-${round}-${randomBytes(6).toString('hex')}`;
      await store.claimTlsReport(POSTS_DAY, `hot${round}-${id}.outside.test`, id, new Date().toISOString(), [], [tlsPost(id, new Date(Date.now() - 1000).toISOString())]);
      return async () => {
        const claimed = await store.claimTlsPosts(new Date().toISOString(), new Date(Date.now() + 600_000).toISOString(), 20);
        if (claimed.length !== 1 || claimed[0]!.id !== id) throw new Error(`${claimed.length} POSTs due instead of 1`);
        await store.finishTlsPost(id);
      };
    },
  },
  {
    // docs/disclosure.md §1: 20 reports past their 30 days, among the n kept.
    title: 'report purge (20 reports past 30 days)',
    prepare: async (store, round) => {
      const old = new Date(Date.UTC(1990, 0, 1) + round * 86_400_000);
      await Promise.all(
        Array.from({ length: 20 }, async (_, k) => {
          const item = queued(6_000_000 + round * 100 + k, FAR);
          await store.enqueueOutbound(item);
          await store.finishOutbound(item.id, null, report(item.id, item.sender, old.toISOString()));
        }),
      );
      return async () => {
        const purged = await store.purgeOutboundReports(new Date(old.getTime() + 1000).toISOString());
        if (purged !== 20) throw new Error(`${purged} purged instead of 20`);
      };
    },
  },
  {
    title: 'TLS-RPT purge (20 counts past 7 days)',
    prepare: async (store, round) => {
      const oldDay = new Date(Date.UTC(1980, 0, 1) + round * 86_400_000).toISOString().slice(0, 10);
      await Promise.all(Array.from({ length: 20 }, (_, k) => store.recordTlsSession(tlsSession(oldDay, k))));
      return () => store.purgeTlsSessions(dayBefore(oldDay, -1));
    },
  },
];

/** The delivery reports filled in each store, to look up. */
const reportIds = new Map<RelayStore, { id: string; sender: string }[]>();

/**
 * Every action on the three stores (100, 1,000, 10,000 rows) one after the other, the
 * order turning each round, so that the load of the shared machine falls on all three
 * alike; medians of ROUNDS rounds.
 */
async function measure(stores: readonly RelayStore[], dkim: DkimKey): Promise<{ wall: number[][]; cpu: number[][] }> {
  const times = ACTIONS.map(() => stores.map(() => [] as number[]));
  const cpu = ACTIONS.map(() => stores.map(() => [] as number[]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [a, action] of ACTIONS.entries()) {
      for (let k = 0; k < stores.length; k++) {
        const index = (k + round) % stores.length;
        const run = await action.prepare(stores[index]!, round, dkim);
        const startCpu = process.cpuUsage();
        const start = performance.now();
        await run();
        times[a]![index]!.push(performance.now() - start);
        const used = process.cpuUsage(startCpu);
        cpu[a]![index]!.push((used.user + used.system) / 1000);
      }
    }
  }
  return { wall: times.map((perStore) => perStore.map(median)), cpu: cpu.map((perStore) => perStore.map(median)) };
}

async function benchOne(label: string, open: (n: number) => Promise<RelayStore>, dkim: DkimKey): Promise<string[]> {
  const stores: RelayStore[] = [];
  const lines: string[] = [];
  try {
    for (const n of SIZES) {
      const store = await open(n);
      stores.push(store);
      reportIds.set(store, []);
      await fillTo(store, 0, n);
    }
    const { wall, cpu } = await measure(stores, dkim);
    const cells = (ms: number[]) => SIZES.map((n, k) => `${n.toLocaleString('en')}: ${ms[k]!.toFixed(2)} ms (${(ms[k]! / ms[0]!).toFixed(2)})`).join('  ');
    for (const [a, action] of ACTIONS.entries()) {
      // SQLite works in this process: its CPU time is the store's whole cost, without the fsync waits the load stretches.
      lines.push(`${label} ${action.title.padEnd(44)} wall ${cells(wall[a]!)}${label.trim() === 'sqlite' ? ` | CPU ${cells(cpu[a]!)}` : ''}`);
    }
  } finally {
    for (const store of stores) await store.close();
  }
  return lines;
}

export async function benchRelayTables(): Promise<{ name: string; lines: string[] }> {
  const lines = [
    `medians of ${ROUNDS} rounds (wall; for SQLite also the bench process's CPU), each operation durable, the three tables measured in turn in each round; (N) = against the same operation at 100 rows (1.00); target ≤ 1.2 at 10,000 (the purges and the report job remove/report the same amount whatever the table holds); load ${(await import('node:os')).loadavg()[0]?.toFixed(1)}`,
  ];
  const stores = (process.env.CALIOP_BENCH_STORES ?? 'sqlite,postgres').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'caliop-bench-tables-'));
  try {
    const dkim = ensureDkimKey(dir, new Date());
    if (stores.includes('sqlite')) lines.push(...(await benchOne('sqlite    ', (n) => openRelayStore({ kind: 'sqlite', file: join(dir, `relay-${n}.sqlite`) }, dir), dkim)));
    const pg = stores.includes('postgres') ? await benchPostgres() : 'not asked (CALIOP_BENCH_STORES)';
    if (typeof pg === 'string') {
      lines.push(`postgresql: skipped: ${pg}`);
    } else {
      // One database per size, made beside the bench's own and dropped with it.
      const { default: pgModule } = await import('pg');
      const admin = new pgModule.Client({ connectionString: pg.url });
      await admin.connect();
      const base = new URL(pg.url);
      const made: string[] = [];
      try {
        lines.push(
          ...(await benchOne(
            'postgresql',
            async (n) => {
              const name = `${base.pathname.slice(1)}_${n}`;
              await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
              await admin.query(`CREATE DATABASE ${name}`);
              made.push(name);
              const url = new URL(pg.url);
              url.pathname = `/${name}`;
              return openRelayStore({ kind: 'postgres', url: url.toString() }, dir);
            },
            dkim,
          )),
        );
      } finally {
        for (const name of made) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
        await pg.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'relay tables growth (queue and its chunks, submissions, disclosure log, delivery reports, TLS-RPT counts) at 100/1,000/10,000 rows', lines };
}
