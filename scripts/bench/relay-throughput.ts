// Relay throughput (issues 3 and 14): the real caliop-relay process on loopback
// (--dev-tls, pinned client), N concurrent clients, each doing for its messages:
// submit (to itself) -> list -> fetch -> delete, as a stick's send and sync would,
// every write durable. Reports messages/s over the whole cycle, p50/p99 latency of
// submit+list+fetch, the CPU per cycle of the relay and of the clients (this process:
// TLS and Ed25519 signing share the cores with the relay) and peak RSS (VmHWM); then
// the same cycle against a bare node:https peer (bare-https-peer.ts: same TLS, JSON
// parse, one insert + commit), and on PostgreSQL with two relay processes (and the
// CPU of their PostgreSQL backends).
//
// The relay's clients are the real client (src/edges/relay-client.ts) as a sync uses it:
// the mail routes in a session (docs/api.md §4.6), one per client, opened in the warm-up
// and held across the rounds, as a stick holds one for 15 minutes (a round lasts seconds),
// the way the clients' TLS connections are made in the warm-up and kept. What an opening
// costs is measured on its own after the rounds (openingWaves: all 32 clients opening at
// once, the first request of a session timed); `--new-sessions` counts an opening per client
// inside every measured round instead (withNewSessions: about 100 times as many as a real
// stick makes, 6% of the cycles). The same relay and devices are also measured with
// every request signed by Ed25519 ('relay signed'), in the same interleaved rounds, so the
// ratio to the peer is given both ways (docs/decisions/relay-sessions.md).
//
// Steady state (issue 14): after a warm-up, the 32-client figures come from rounds
// that alternate the servers, in the opposite order every other round (relay, peer;
// peer, relay; ...), so that a load change on a shared machine, or a drift through the
// run, hits both alike. The comparison is of medians: the median over rounds of each
// server's CPU per cycle, their ratio, and the median of the per-round ratios.
// Each round of a server begins with 64 cycles not counted (the switch from another server).
// The warm-up is 512 cycles on each server. After 512 the relay's V8 still compiled 87
// functions in the next 2,048 cycles (4-6 % of its CPU), 14 after 3,072 (perf, docs/benchmarks.md
// "Issue 14, relay CPU per cycle … where it goes"); but a run with 3,072 (2026-12-01 19:58 UTC)
// gave the relay no better ratio (2.26-2.32x against 2.22-2.26x with 512, same minute), so
// the default stays 512; `--warmup 3072` measures it again.
// Bounded: WARMUP + ROUNDS x MESSAGES per side, by default 512 + 6 x 512; temporary data removed.
// --compare-main FILE runs a second relay, from another build's main.js (e.g. a copy of
// main's build/), in the same rounds: an A/B of two builds on the same machine state.
// The 'first-wave' part runs issue 14's yardstick in the same rounds: the relay as the issue
// found it (the first wave's last commit, with its own client: relay-first-wave.ts), so that
// "5x today's 143 msg/s" is a ratio measured in one run, not a figure of another day.
// The 'sync-path' part runs the cycle as today's stick makes it (src/service/mail-sync.ts):
// submit, then one GET /v1/mailbox that lists the entries with their ciphertexts (docs/api.md
// §8.8), then one POST /v1/mailbox/ack that deletes them up to the page's cursor (§8.9): three
// requests where the first wave's API needed four (list, fetch, delete). Against the bare peer
// doing the same three (bare-https-peer.ts) and against the first wave's four.
//
//   npm run -s build && node build/scripts/bench/relay-throughput.js
//     [--messages N] [--rounds N] [--warmup N] [--only levels,sqlite,peer,sync-path,first-wave,postgres]
//     [--relay-node-args "--cpu-prof --cpu-prof-dir=DIR"] [--compare-main OTHER/build/src/relay/main.js]
//     [--new-sessions]
// (or CALIOP_BENCH_RELAY_MESSAGES, _ROUNDS, _WARMUP, _ONLY, _NODE_ARGS, _COMPARE_MAIN, _NEW_SESSIONS=1 in `npm run bench`;
// --keep-sessions, the default since 2026-12-02, is still accepted).

import { ed25519 } from '@noble/curves/ed25519.js';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as openpgp from 'openpgp';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { RelayClient } from '../../src/edges/relay-client.js';
import { startRelayProcess } from '../../src/relay/relay-process.js';
import { BENCH_DOMAIN as DOMAIN, PLAINTEXT_BYTES, RELAY_RATE_ARGS as RATE_ARGS } from './relay-workload.js';
import { FIRST_WAVE_COMMIT, prepareFirstWave, startFirstWaveDriver, type FirstWaveDriver } from './relay-first-wave.js';

/** Cycles run on each server before the rounds, not counted (steady state: see the top). */
const WARMUP_MESSAGES = 512;
/** The lower levels, each with its message count (the 32-client level runs in rounds, below). */
const LOWER_LEVELS = [
  { concurrency: 1, messages: 256 },
  { concurrency: 8, messages: 512 },
] as const;
const TOP = 32;
/** Cycles each server runs, not counted, before each of its rounds (2 per client). */
const SETTLE_MESSAGES = 64;
const PARTS = ['levels', 'sqlite', 'peer', 'sync-path', 'first-wave', 'postgres'] as const;
type Part = (typeof PARTS)[number];

export interface RelayBenchSettings {
  /** Messages per round at 32 clients, per side. */
  readonly messages: number;
  readonly rounds: number;
  /** Messages at 32 clients before the first round, per server (not counted). */
  readonly warmup: number;
  readonly parts: ReadonlySet<Part>;
  /** Node flags for the relay processes (e.g. --cpu-prof). */
  readonly relayNodeArgs: readonly string[];
  /** Another build's relay main.js, run as a second SQLite relay in the same rounds; undefined: none. */
  readonly compareMain: string | undefined;
  /** Session clients open a new session in each measured round, instead of keeping the one of the warm-up (as a sync holds one 15 minutes). */
  readonly newSessions: boolean;
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new Error(`${name}: expected a whole number, got ${value}`);
  return number;
}

export function relayBenchSettings(
  values: { messages?: string; rounds?: string; warmup?: string; only?: string; relayNodeArgs?: string; compareMain?: string; newSessions?: boolean } = {},
): RelayBenchSettings {
  const env = process.env;
  const only = (values.only ?? env.CALIOP_BENCH_RELAY_ONLY ?? '').split(',').filter((word) => word !== '');
  for (const word of only) if (!(PARTS as readonly string[]).includes(word)) throw new Error(`--only: ${word} is not one of ${PARTS.join(', ')}`);
  return {
    messages: positive(values.messages ?? env.CALIOP_BENCH_RELAY_MESSAGES, 512, '--messages'),
    rounds: Math.max(1, positive(values.rounds ?? env.CALIOP_BENCH_RELAY_ROUNDS, 6, '--rounds')),
    warmup: positive(values.warmup ?? env.CALIOP_BENCH_RELAY_WARMUP, WARMUP_MESSAGES, '--warmup'),
    parts: new Set(only.length === 0 ? PARTS : (only as Part[])),
    relayNodeArgs: (values.relayNodeArgs ?? env.CALIOP_BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter((word) => word !== ''),
    compareMain: (values.compareMain ?? env.CALIOP_BENCH_RELAY_COMPARE_MAIN) || undefined,
    newSessions: values.newSessions ?? env.CALIOP_BENCH_RELAY_NEW_SESSIONS === '1',
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The middle value; of an even count, the mean of the two middle ones. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function peakRssMiB(pid: number | undefined): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/^VmHWM:\s+([0-9]+) kB/m.exec(status)?.[1]);
    return `${(kib / 1024).toFixed(1)} MiB`;
  } catch {
    return 'unknown (no /proc)';
  }
}

/** User+system CPU seconds of a process so far (/proc/PID/stat fields 14-15, in clock ticks of 1/100 s); 0 once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function loadNow(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

interface BenchUser {
  readonly address: string;
  /** The real client as a sync uses it: the mail routes in a session (docs/api.md §4.6.4), opened lazily. */
  readonly client: RelayClient;
  /** The same device signing every request with Ed25519 (§4.1-§4.3), as before sessions. */
  readonly signedClient: RelayClient;
  readonly armoredMessage: string;
}

/** A user's OpenPGP key and message, made once, enrolled at each relay of the run (enrolAt). */
interface BenchIdentity {
  readonly address: string;
  readonly privateKey: openpgp.PrivateKey;
  readonly publicKey: openpgp.PublicKey;
  readonly armoredMessage: string;
}

async function makeIdentity(index: number): Promise<BenchIdentity> {
  const address = `user${index}@${DOMAIN}`;
  const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ email: address }], format: 'object' });
  const armoredMessage = (await openpgp.encrypt({
    message: await openpgp.createMessage({ text: 'x'.repeat(PLAINTEXT_BYTES) }),
    encryptionKeys: publicKey,
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  })) as string;
  return { address, privateKey, publicKey, armoredMessage };
}

async function makeUser(relay: { url: string; pin: string | undefined }, index: number): Promise<BenchUser> {
  return enrolAt(relay, await makeIdentity(index));
}

/** A new device of `identity` enrolled at `relay`. */
async function enrolAt(relay: { url: string; pin: string | undefined }, identity: BenchIdentity): Promise<BenchUser> {
  const { address, privateKey, publicKey, armoredMessage } = identity;
  const deviceSecretKey = ed25519.utils.randomSecretKey();
  const signedClient = new RelayClient({ url: relay.url, pin: relay.pin, deviceSecretKey, domain: DOMAIN });
  const statement = buildEnrolmentStatement({ address, devicePublicKey: ed25519.getPublicKey(deviceSecretKey), domain: DOMAIN });
  const proofSignature = (await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: privateKey, detached: true })) as string;
  await signedClient.enrol({ address, armoredCert: publicKey.armor(), proofSignature });
  const client = new RelayClient({ url: relay.url, pin: relay.pin, deviceSecretKey, domain: DOMAIN, sessions: true });
  return { address, client, signedClient, armoredMessage };
}

interface LevelResult {
  readonly total: number;
  readonly seconds: number;
  /** submit+list+fetch latencies, sorted, in ms. */
  readonly latencies: readonly number[];
  /** CPU seconds of the server processes (relays, or the peer). */
  readonly serverCpu: number;
  /** CPU seconds of this process: the clients (TLS, JSON, and for the relay Ed25519 signing). */
  readonly clientCpu: number;
  /** CPU seconds of other processes working for the servers (PostgreSQL backends), when known. */
  readonly databaseCpu: number;
  readonly load: string;
}

/**
 * `cycle(user)` runs one submit -> list -> fetch (timed) -> delete; `serverPids` are the
 * processes whose CPU is counted; `databasePids` those of a database server, if any.
 */
async function runLevel<U>(
  users: readonly U[],
  concurrency: number,
  messages: number,
  serverPids: readonly (number | undefined)[],
  cycle: (user: U) => Promise<() => Promise<void>>,
  databasePids: () => Promise<readonly number[]> = async () => [],
): Promise<LevelResult> {
  const perClient = Math.ceil(messages / concurrency);
  const latencies: number[] = [];
  const databaseBefore = new Map((await databasePids()).map((pid) => [pid, cpuSeconds(pid)]));
  const started = performance.now();
  const serverCpuBefore = serverPids.map(cpuSeconds);
  const benchCpuBefore = process.cpuUsage();
  await Promise.all(
    users.slice(0, concurrency).map(async (user) => {
      for (let i = 0; i < perClient; i++) {
        const t0 = performance.now();
        const remove = await cycle(user);
        latencies.push(performance.now() - t0);
        await remove();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const serverCpu = serverPids.map(cpuSeconds).reduce((sum, value, index) => sum + value - (serverCpuBefore[index] as number), 0);
  const benchCpuUsage = process.cpuUsage(benchCpuBefore);
  let databaseCpu = 0;
  for (const pid of await databasePids()) databaseCpu += cpuSeconds(pid) - (databaseBefore.get(pid) ?? 0);
  latencies.sort((a, b) => a - b);
  return {
    total: perClient * concurrency,
    seconds,
    latencies,
    serverCpu,
    clientCpu: (benchCpuUsage.user + benchCpuUsage.system) / 1e6,
    databaseCpu,
    load: loadNow(),
  };
}

/** Several rounds as one: latencies merged, times and CPU added. */
function combined(results: readonly LevelResult[]): LevelResult {
  return {
    total: results.reduce((sum, r) => sum + r.total, 0),
    seconds: results.reduce((sum, r) => sum + r.seconds, 0),
    latencies: results.flatMap((r) => r.latencies).sort((a, b) => a - b),
    serverCpu: results.reduce((sum, r) => sum + r.serverCpu, 0),
    clientCpu: results.reduce((sum, r) => sum + r.clientCpu, 0),
    databaseCpu: results.reduce((sum, r) => sum + r.databaseCpu, 0),
    load: results.map((r) => r.load.split(' ')[0]).join('/'),
  };
}

const perCycleMs = (cpu: number, result: LevelResult) => (cpu / result.total) * 1000;

function describeLevel(label: string, result: LevelResult): string {
  const database = result.databaseCpu > 0 ? `, PostgreSQL backends ${perCycleMs(result.databaseCpu, result).toFixed(2)}` : '';
  return (
    `${label}: ${(result.total / result.seconds).toFixed(0).padStart(5)} messages/s, ` +
    `p50 ${percentile(result.latencies, 50).toFixed(1)} ms, p99 ${percentile(result.latencies, 99).toFixed(1)} ms, ` +
    `CPU ms/cycle: server ${perCycleMs(result.serverCpu, result).toFixed(2)}, clients ${perCycleMs(result.clientCpu, result).toFixed(2)}${database} ` +
    `(${result.total} messages in ${result.seconds.toFixed(2)} s; load ${result.load})`
  );
}

/** What the cores could give if the CPU per cycle were the only limit: all cores busy with servers, database and clients. */
function cpuCeiling(result: LevelResult): string {
  const perCycle = (result.serverCpu + result.clientCpu + result.databaseCpu) / result.total;
  return `${(cpus().length / perCycle).toFixed(0)} messages/s`;
}

/** One relay cycle with the real client: submit to oneself, list, fetch (latency stops), then delete. */
async function cycleWith(user: BenchUser, client: RelayClient): Promise<() => Promise<void>> {
  await client.submit({ to: [user.address], armoredMessage: user.armoredMessage });
  const [entry] = (await client.list({ limit: 1 })).messages;
  if (entry === undefined) throw new Error('submitted message not listed');
  const fetched = await client.fetch(entry.id);
  if (fetched.armoredMessage !== user.armoredMessage) throw new Error('fetched message differs');
  return () => client.delete(entry.id);
}

/** The cycle as the real client makes it: in a session (one per client, opened at its first request). */
const relayCycle = (user: BenchUser) => cycleWith(user, user.client);

/**
 * The cycle as a stick's send and sync make it today (src/service/mail-sync.ts), in a session:
 * submit to oneself, one mailbox page with the ciphertext inline (docs/api.md §8.8; latency
 * stops), then one acknowledgement up to the page's cursor (§8.9), which deletes it.
 */
async function syncPathCycle(user: BenchUser): Promise<() => Promise<void>> {
  const { client } = user;
  await client.submit({ to: [user.address], armoredMessage: user.armoredMessage });
  const page = await client.mailboxPage();
  if (page.messages.length !== 1 || page.through === null) throw new Error(`mailbox page of ${page.messages.length} entries, one expected`);
  if (page.messages[0]!.armoredMessage !== user.armoredMessage) throw new Error('mailbox page carried another message');
  const through = page.through;
  return async () => {
    const { deleted } = await client.ackMailbox(through);
    if (deleted !== 1) throw new Error(`acknowledgement deleted ${deleted} entries, one expected`);
  };
}
/** The cycle with every request signed by Ed25519 (the relay before sessions, and any client that does not ask for one). */
const signedCycle = (user: BenchUser) => cycleWith(user, user.signedClient);

/**
 * A measured run of session clients that counts their openings (docs/api.md §4.6.1) inside it: the
 * sessions of the run before are closed first (not counted), so each of the `concurrency` clients
 * opens one in the run, as a sync does once per 15 minutes. Conservative: a round is seconds, not minutes.
 */
async function withNewSessions<T>(users: readonly BenchUser[], run: () => Promise<T>): Promise<T> {
  await Promise.all(users.map((user) => user.client.endSession()));
  return run();
}

/** Waves of session openings measured after the rounds. */
const OPENING_WAVES = 4;

/**
 * What a session opening costs (docs/api.md §4.6.1), the rounds keeping theirs: in each of
 * OPENING_WAVES waves every client ends its session (not counted) and then makes one request,
 * a list, which opens a new one first; the same request in the session just opened is the
 * comparison. All clients at once: the worst case (a stick opens one per 15 minutes).
 */
async function openingWaves(users: readonly BenchUser[], relayPid: number | undefined): Promise<string[]> {
  const opening: number[] = [];
  const held: number[] = [];
  let openingCpu = 0;
  let heldCpu = 0;
  const wave = async (into: number[]): Promise<number> => {
    const before = cpuSeconds(relayPid);
    await Promise.all(
      users.map(async (user) => {
        const t0 = performance.now();
        await user.client.list({ limit: 1 });
        into.push(performance.now() - t0);
      }),
    );
    return cpuSeconds(relayPid) - before;
  };
  for (let index = 0; index < OPENING_WAVES; index++) {
    await Promise.all(users.map((user) => user.client.endSession()));
    openingCpu += await wave(opening);
    heldCpu += await wave(held);
  }
  opening.sort((a, b) => a - b);
  held.sort((a, b) => a - b);
  const count = OPENING_WAVES * users.length;
  return [
    `session openings, ${users.length} clients at once, ${OPENING_WAVES} waves (${count}): first request of a session (POST /v1/session, then GET /v1/messages) p50 ${percentile(opening, 50).toFixed(1)} ms, p99 ${percentile(opening, 99).toFixed(1)} ms, relay CPU ${((openingCpu / count) * 1000).toFixed(2)} ms each; ` +
      `the same request in the session just opened p50 ${percentile(held, 50).toFixed(1)} ms, p99 ${percentile(held, 99).toFixed(1)} ms, relay CPU ${((heldCpu / count) * 1000).toFixed(2)} ms (a stick opens one per 15 minutes)`,
  ];
}

function relayServerSide(stderrLines: readonly string[]): string {
  const byRoute = new Map<string, number[]>();
  for (const line of stderrLines) {
    if (!line.includes('"event":"request"')) continue;
    const entry = JSON.parse(line) as { method: string; route: string; durationMs: number };
    const key = `${entry.method} ${entry.route}`;
    let values = byRoute.get(key);
    if (values === undefined) byRoute.set(key, (values = []));
    values.push(entry.durationMs);
  }
  return [...byRoute]
    .map(([key, values]) => {
      values.sort((x, y) => x - y);
      return `${key} ${percentile(values, 50)}/${percentile(values, 99)}`;
    })
    .join(', ');
}

/** The bare node:https peer (bare-https-peer.ts) with the relay's certificate, and its keep-alive clients. */
async function startBarePeer(dataDir: string, armoredMessage: string, concurrency: number) {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'bare-https-peer.js');
  const child = spawn(process.execPath, [script, join(dataDir, 'dev-tls-cert.pem'), join(dataDir, 'dev-tls-key.pem'), join(dataDir, 'peer.sqlite')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolvePort, rejectPort) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolvePort(Number(line.split(' ')[1])));
    child.once('exit', (code) => rejectPort(new Error(`bare peer exited with ${code}`)));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false });
  const call = (owner: string, method: string, path: string, body?: string) =>
    new Promise<string>((resolveCall, rejectCall) => {
      const request = httpsRequest({ host: '127.0.0.1', port, method, path, agent, headers: { 'x-owner': owner, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body ?? '') } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolveCall(Buffer.concat(chunks).toString('utf8')));
      });
      request.on('error', rejectCall);
      request.end(body);
    });
  const owners = Array.from({ length: concurrency }, (_, index) => `user${index}@${DOMAIN}`);
  const submitBody = (owner: string) => JSON.stringify({ to: [owner], armoredMessage });
  const cycle = async (owner: string) => {
    await call(owner, 'POST', '/v1/messages', submitBody(owner));
    const { messages } = JSON.parse(await call(owner, 'GET', '/v1/messages')) as { messages: { id: string }[] };
    const id = messages[0]?.id;
    if (id === undefined) throw new Error('bare peer lost a message');
    const fetched = JSON.parse(await call(owner, 'GET', `/v1/messages/${id}`)) as { armoredMessage: string };
    if (fetched.armoredMessage !== armoredMessage) throw new Error('bare peer returned another message');
    return async () => void (await call(owner, 'DELETE', `/v1/messages/${id}`));
  };
  /** The stick's sync path (docs/api.md §8.8-§8.9): submit, one mailbox page with the body, one acknowledgement. */
  const syncCycle = async (owner: string) => {
    await call(owner, 'POST', '/v1/messages', submitBody(owner));
    const page = JSON.parse(await call(owner, 'GET', '/v1/mailbox')) as { messages: { armoredMessage: string }[]; through: string | null };
    if (page.messages.length !== 1 || page.through === null) throw new Error('bare peer lost a message');
    if (page.messages[0]!.armoredMessage !== armoredMessage) throw new Error('bare peer returned another message');
    const body = JSON.stringify({ through: page.through });
    return async () => void (await call(owner, 'POST', '/v1/mailbox/ack', body));
  };
  return {
    run: (messages: number) => runLevel(owners, concurrency, messages, [child.pid], cycle),
    runSyncPath: (messages: number) => runLevel(owners, concurrency, messages, [child.pid], syncCycle),
    pid: child.pid,
    stop: () => {
      agent.destroy();
      child.kill('SIGTERM');
    },
  };
}

interface BenchDatabase {
  readonly url: string;
  /** The PostgreSQL backends serving the bench database now (their CPU is the database's share). */
  backendPids(): Promise<number[]>;
  stop(): Promise<void>;
}

/** A PostgreSQL database for the bench: CALIOP_BENCH_POSTGRES or CALIOP_TEST_POSTGRES (an admin URL), else a server of our own via .ci/postgres. */
export async function benchPostgres(): Promise<BenchDatabase | string> {
  const { default: pg } = await import('pg');
  let adminUrl = process.env.CALIOP_BENCH_POSTGRES || process.env.CALIOP_TEST_POSTGRES || '';
  let stopServer = async () => {};
  if (adminUrl === '') {
    const helper = resolve(dirname(fileURLToPath(import.meta.url)), '../../../.ci/postgres');
    const folder = mkdtempSync(join(tmpdir(), 'caliop-bench-pg-'));
    const port = String(56000 + (process.pid % 1000));
    const started = spawnSync(helper, ['start', folder, port], { encoding: 'utf8' });
    if (started.status !== 0) return `no PostgreSQL server (set CALIOP_BENCH_POSTGRES; .ci/postgres said: ${started.stderr.trim()})`;
    adminUrl = started.stdout.trim();
    stopServer = async () => void spawnSync(helper, ['stop', folder]);
  }
  const name = `caliop_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    backendPids: async () => ((await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name])).rows as { pid: number }[]).map((row) => row.pid),
    stop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      await stopServer();
    },
  };
}


/** One server of the 32-client rounds: the relay, the --compare-main relay, or the bare peer. */
interface RoundSide {
  readonly label: string;
  readonly run: (messages: number) => Promise<LevelResult>;
  readonly rounds: LevelResult[];
  /** Extra lines after its summary (relay-side latencies, peak RSS). */
  readonly describe: () => string[];
  /** The label of the bare peer's side doing the same requests, whose CPU per cycle this side's is compared with. */
  readonly peer?: string;
  /** The label in the summary. */
  readonly title: string;
  /** Its rate is compared with the first wave's (issue 14: at least 5x). */
  readonly againstFirstWave?: boolean;
}

const cycleMs = (result: LevelResult) => perCycleMs(result.serverCpu, result);

/** "A/B: median x.xx of rounds ..., medians' ratio y.yy" for the rounds of two sides (CPU per cycle). */
function compareRounds(a: RoundSide, b: RoundSide): string {
  const ratios = a.rounds.map((ours, index) => cycleMs(ours) / cycleMs(b.rounds[index]!));
  const mediansRatio = median(a.rounds.map(cycleMs)) / median(b.rounds.map(cycleMs));
  const overall = perCycleMs(combined(a.rounds).serverCpu, combined(a.rounds)) / perCycleMs(combined(b.rounds).serverCpu, combined(b.rounds));
  return (
    `${a.label} CPU per cycle / ${b.label} CPU per cycle: median of rounds ${median(ratios).toFixed(2)}x (${ratios.map((r) => r.toFixed(2)).join(', ')}), ` +
    `ratio of the medians ${median(a.rounds.map(cycleMs)).toFixed(2)} / ${median(b.rounds.map(cycleMs)).toFixed(2)} ms = ${mediansRatio.toFixed(2)}x, all rounds together ${overall.toFixed(2)}x`
  );
}

/** "A/B messages/s: median of rounds x.xx (…), rates of all rounds together y.yy" (throughput, not CPU). */
function compareRates(a: RoundSide, b: RoundSide): string {
  const rate = (result: LevelResult) => result.total / result.seconds;
  const ratios = a.rounds.map((ours, index) => rate(ours) / rate(b.rounds[index]!));
  return (
    `${a.label} messages/s / ${b.label} messages/s: median of rounds ${median(ratios).toFixed(2)}x (${ratios.map((r) => r.toFixed(2)).join(', ')}), ` +
    `all rounds together ${(rate(combined(a.rounds)) / rate(combined(b.rounds))).toFixed(2)}x (${rate(combined(a.rounds)).toFixed(0)} against ${rate(combined(b.rounds)).toFixed(0)})`
  );
}

export async function benchRelayThroughput(settings: RelayBenchSettings = relayBenchSettings()): Promise<{ name: string; lines: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'caliop-relay-bench-'));
  const compareDir = settings.compareMain === undefined ? undefined : mkdtempSync(join(tmpdir(), 'caliop-relay-bench-b-'));
  const relay = await startRelayProcess({ dataDir, domain: DOMAIN, extraArgs: RATE_ARGS, nodeArgs: settings.relayNodeArgs });
  const other =
    compareDir === undefined
      ? undefined
      : await startRelayProcess({ dataDir: compareDir, domain: DOMAIN, extraArgs: RATE_ARGS, nodeArgs: settings.relayNodeArgs, mainFile: resolve(settings.compareMain!) });
  const users: BenchUser[] = [];
  const otherUsers: BenchUser[] = [];
  const lines: string[] = [];
  const { parts } = settings;
  const loadAtStart = loadNow();
  try {
    for (let i = 0; i < TOP; i++) {
      const identity = await makeIdentity(i);
      users.push(await enrolAt(relay, identity));
      if (other !== undefined) otherUsers.push(await enrolAt(other, identity));
    }
    const size = Buffer.byteLength(users[0]!.armoredMessage);
    lines.push(`real caliop-relay on 127.0.0.1 (HTTPS, pinned, keep-alive), ${size}-byte armored messages, every write durable; load average at start ${loadAtStart}`);
    lines.push('cycle = submit -> list -> fetch -> delete; latency = submit+list+fetch; CPU = user+system of the server process(es) and of the clients (this process)');
    if (parts.has('sync-path')) lines.push("sync path = submit -> GET /v1/mailbox (the entry with its ciphertext) -> POST /v1/mailbox/ack, as the stick syncs; latency = submit+page");
    if (parts.has('levels')) {
      for (const level of LOWER_LEVELS) {
        lines.push(describeLevel(`SQLite, ${String(level.concurrency).padStart(2)} clients`, await runLevel(users, level.concurrency, level.messages, [relay.child.pid], relayCycle)));
      }
    }
    const peer = parts.has('peer') || parts.has('sync-path') ? await startBarePeer(dataDir, users[0]!.armoredMessage, TOP) : null;
    let firstWave: FirstWaveDriver | undefined;
    try {
      if (parts.has('first-wave')) {
        const prepared = prepareFirstWave();
        if (typeof prepared === 'string') lines.push(`first-wave relay (issue 14's yardstick): skipped: ${prepared}`);
        else firstWave = await startFirstWaveDriver(prepared.dir, TOP);
      }
      const sides: RoundSide[] = [];
      const firstLine = relay.stderrLines.length;
      const relayExtras = (started: typeof relay, label: string, rounds: LevelResult[]) => () => [
        `  ${label}-side p50/p99 ms per route (these rounds): ${relayServerSide(started.stderrLines.slice(firstLine))}`,
        `  ${label} peak RSS (VmHWM): ${peakRssMiB(started.child.pid)}; CPU-bound ceiling of ${label} + clients on ${cpus().length} cores: ${cpuCeiling(combined(rounds))}`,
      ];
      if (parts.has('sqlite')) {
        const rounds: LevelResult[] = [];
        sides.push({
          label: 'relay',
          title: 'SQLite, clients in sessions',
          peer: 'peer',
          againstFirstWave: true,
          run: (n) => {
            const measured = () => runLevel(users, TOP, n, [relay.child.pid], relayCycle);
            return settings.newSessions ? withNewSessions(users.slice(0, TOP), measured) : measured();
          },
          rounds,
          describe: relayExtras(relay, 'relay', rounds),
        });
        // docs/decisions/relay-sessions.md: the same relay and devices, every request signed, in the same rounds.
        const signedRounds: LevelResult[] = [];
        sides.push({ label: 'relay signed', title: 'SQLite, every request signed', peer: 'peer', againstFirstWave: true, run: (n) => runLevel(users, TOP, n, [relay.child.pid], signedCycle), rounds: signedRounds, describe: () => [] });
      }
      if (parts.has('sync-path')) {
        const rounds: LevelResult[] = [];
        sides.push({
          label: 'relay sync path',
          title: "SQLite, the stick's sync path (submit, mailbox page, ack), in sessions",
          peer: 'peer sync path',
          againstFirstWave: true,
          run: (n) => runLevel(users, TOP, n, [relay.child.pid], syncPathCycle),
          rounds,
          describe: relayExtras(relay, 'relay sync path', rounds),
        });
      }
      if (other !== undefined) {
        const rounds: LevelResult[] = [];
        // The compared relay runs the cycle of the part measured: the stick's sync path when asked for without the list/fetch/delete cycle.
        const syncPathOnly = parts.has('sync-path') && !parts.has('sqlite');
        sides.push({
          label: 'compared relay',
          title: syncPathOnly ? "SQLite, compared relay, the stick's sync path" : 'SQLite, compared relay',
          peer: syncPathOnly ? 'peer sync path' : 'peer',
          run: (n) => runLevel(otherUsers, TOP, n, [other.child.pid], syncPathOnly ? syncPathCycle : relayCycle),
          rounds,
          describe: relayExtras(other, 'compared relay', rounds),
        });
      }
      if (peer !== null && parts.has('peer')) {
        const rounds: LevelResult[] = [];
        sides.push({
          label: 'peer',
          title: 'bare node:https peer',
          run: (n) => peer.run(n),
          rounds,
          describe: () => [`  peer peak RSS (VmHWM): ${peakRssMiB(peer.pid)}; CPU-bound ceiling of peer + clients on ${cpus().length} cores: ${cpuCeiling(combined(rounds))} (no relay can beat the peer's own rate)`],
        });
      }
      if (peer !== null && parts.has('sync-path')) {
        const rounds: LevelResult[] = [];
        sides.push({
          label: 'peer sync path',
          title: "bare node:https peer, the stick's sync path (submit, mailbox page, ack)",
          run: (n) => peer.runSyncPath(n),
          rounds,
          describe: () => [`  CPU-bound ceiling of peer + clients, sync path, on ${cpus().length} cores: ${cpuCeiling(combined(rounds))}`],
        });
      }
      if (firstWave !== undefined) {
        const driver = firstWave;
        const rounds: LevelResult[] = [];
        sides.push({
          label: 'first-wave relay',
          title: `SQLite, the first-wave relay (${FIRST_WAVE_COMMIT})`,
          peer: 'peer',
          run: async (n) => {
            const before = cpuSeconds(driver.relayPid);
            const run = await driver.run(n);
            return { ...run, serverCpu: cpuSeconds(driver.relayPid) - before, databaseCpu: 0, load: loadNow() };
          },
          rounds,
          describe: () => [
            `  the relay of ${FIRST_WAVE_COMMIT} (the first wave's last commit) with its own client (every request signed), ${driver.messageBytes}-byte armored messages; peak RSS (VmHWM): ${peakRssMiB(driver.relayPid)}`,
          ],
        });
      }
      if (settings.warmup > 0) {
        for (const side of sides) await side.run(settings.warmup);
        lines.push(`warm-up: ${settings.warmup} messages at ${TOP} clients on each server, not counted; then before each round ${SETTLE_MESSAGES}, not counted`);
        lines.push(
          settings.newSessions
            ? `session clients open a new session in each measured round (--new-sessions: ${TOP} openings counted per round)`
            : 'session clients keep the session opened in the warm-up across the rounds (a stick holds one 15 minutes; openings measured on their own below)',
        );
      }
      // Interleaved, the order reversed every other round (A, B; B, A; ...): a change of load
      // on the machine, or a drift through the run, hits every server alike.
      for (let round = 1; round <= settings.rounds; round++) {
        const order = round % 2 === 1 ? sides : [...sides].reverse();
        for (const side of order) {
          // Not counted: a server's first cycles after another's ran cost it more (caches); the
          // same server running twice in a row (B, A | A, B) measured 20-40% less in its second run.
          await side.run(SETTLE_MESSAGES);
          side.rounds.push(await side.run(settings.messages));
        }
        const rate = (r: LevelResult) => `${(r.total / r.seconds).toFixed(0)} msg/s, ${cycleMs(r).toFixed(2)} ms/cycle`;
        const ratio = sides
          .map((side) => [side, sides.find((candidate) => candidate.label === side.peer)] as const)
          .filter(([side, peerSide]) => side.label.startsWith('relay') && peerSide !== undefined)
          .map(([side, peerSide]) => `, ${side.label}/${peerSide!.label} CPU ${(cycleMs(side.rounds.at(-1)!) / cycleMs(peerSide!.rounds.at(-1)!)).toFixed(2)}x`)
          .join('');
        lines.push(`  round ${round} (${order.map((side) => side.label).join(', ')}): ${sides.map((side) => `${side.label} ${rate(side.rounds.at(-1)!)}`).join('; ')}${ratio} (load ${loadNow()})`);
      }
      for (const side of sides) {
        lines.push(describeLevel(`${side.title}, ${TOP} clients, ${settings.rounds} rounds`, combined(side.rounds)));
        lines.push(`  CPU ms/cycle per round: ${side.rounds.map((r) => cycleMs(r).toFixed(2)).join(', ')}; median ${median(side.rounds.map(cycleMs)).toFixed(2)}`);
        lines.push(...side.describe());
      }
      for (const side of sides) {
        const peerSide = sides.find((candidate) => candidate.label === side.peer);
        if (peerSide !== undefined) lines.push(`  ${compareRounds(side, peerSide)} (${side.label === 'first-wave relay' ? 'as issue 14 found it' : 'target <= 2x'})`);
      }
      const firstWaveSide = sides.find((side) => side.label === 'first-wave relay');
      if (firstWaveSide !== undefined) {
        for (const side of sides.filter((candidate) => candidate.againstFirstWave === true)) lines.push(`  ${compareRates(side, firstWaveSide)} (issue 14: at least 5x)`);
      }
      const [sessionSide, signedSide] = [sides.find((side) => side.label === 'relay'), sides.find((side) => side.label === 'relay signed')];
      if (sessionSide !== undefined && signedSide !== undefined) lines.push(`  ${compareRounds(sessionSide, signedSide)} (sessions against signatures, same relay)`);
      if (sessionSide !== undefined) lines.push(...(await openingWaves(users.slice(0, TOP), relay.child.pid)));
    } finally {
      peer?.stop();
      await firstWave?.stop();
    }

    if (parts.has('postgres')) lines.push(...(await benchTwoProcessesOnPostgres(settings)));
    lines.push(`machine: ${cpus().length} cores, load average at the end ${loadNow()} (clients, relays and PostgreSQL share the cores)`);
    return { name: 'relay throughput', lines };
  } catch (error) {
    const relayEvents = relay.stderrLines.filter((line) => !line.includes('"event":"request"')).slice(-5);
    throw new Error(`relay bench failed: ${(error as Error).message}; relay said: ${relayEvents.join(' | ')}`, { cause: error });
  } finally {
    for (const user of [...users, ...otherUsers]) {
      user.client.close();
      user.signedClient.close();
    }
    await relay.stop();
    await other?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (compareDir !== undefined) rmSync(compareDir, { recursive: true, force: true });
  }
}

async function benchTwoProcessesOnPostgres(settings: RelayBenchSettings): Promise<string[]> {
  const database = await benchPostgres();
  if (typeof database === 'string') return [`PostgreSQL, two relay processes: skipped: ${database}`];
  const folders = [mkdtempSync(join(tmpdir(), 'caliop-relay-bench-pg-')), mkdtempSync(join(tmpdir(), 'caliop-relay-bench-pg-'))];
  // docs/gateway.md §4.6: the processes of one store sign with one DKIM key (the first's).
  const dkimFile = join(folders[0]!, 'dkim-shared.pem');
  writeFileSync(dkimFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  const dkimArgs = ['--dkim-key', dkimFile, '--dkim-selector', 'shared'];
  const relays = await Promise.all(
    folders.map((folder) => startRelayProcess({ dataDir: folder, domain: DOMAIN, extraArgs: [...RATE_ARGS, '--store', database.url, ...dkimArgs], nodeArgs: settings.relayNodeArgs })),
  );
  const pgUsers: BenchUser[] = [];
  try {
    // User i talks to relay i % 2; all of them share one database.
    for (let i = 0; i < TOP; i++) pgUsers.push(await makeUser(relays[i % 2]!, i));
    const pids = relays.map((r) => r.child.pid);
    if (settings.warmup > 0) await runLevel(pgUsers, TOP, settings.warmup, [], relayCycle);
    const rounds: LevelResult[] = [];
    for (let round = 1; round <= settings.rounds; round++) rounds.push(await runLevel(pgUsers, TOP, settings.messages, pids, relayCycle, () => database.backendPids()));
    const all = combined(rounds);
    return [
      describeLevel(`PostgreSQL, two relay processes, ${TOP} clients, ${settings.rounds} rounds`, all),
      `  per round: ${rounds.map((r) => `${(r.total / r.seconds).toFixed(0)} msg/s`).join(', ')}; CPU-bound ceiling of relays + backends + clients on ${cpus().length} cores: ${cpuCeiling(all)}`,
    ];
  } finally {
    for (const user of pgUsers) {
      user.client.close();
      user.signedClient.close();
    }
    for (const started of relays) await started.stop();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    await database.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      'relay-node-args': { type: 'string' },
      'compare-main': { type: 'string' },
      'keep-sessions': { type: 'boolean' },
      'new-sessions': { type: 'boolean' },
    },
  });
  const result = await benchRelayThroughput(
    relayBenchSettings({ ...values, relayNodeArgs: values['relay-node-args'], compareMain: values['compare-main'], newSessions: values['new-sessions'] }),
  );
  process.stdout.write(`${result.name}\n${result.lines.map((line) => `  ${line}`).join('\n')}\n`);
}
