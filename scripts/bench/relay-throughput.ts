// Relay throughput (issues 3 and 14): the real caliop-relay process on loopback
// (--dev-tls, pinned client), N concurrent clients (1, 8, 32), each doing for its
// messages: submit (to itself) -> list -> fetch -> delete, as a stick's send and
// sync would, every write durable. Reports messages/s over the whole cycle, p50/p99
// latency of submit+list+fetch, the relay's CPU per cycle and peak RSS (VmHWM); then
// the same cycle against a bare node:https peer (bare-https-peer.ts: same TLS, JSON
// parse, one insert + commit), and on PostgreSQL with two relay processes.
//
// Bounded: 256 messages per concurrency level; temporary data folder removed.
//
//   npx tsc -p . && node build/scripts/bench/relay-throughput.js

import { ed25519 } from '@noble/curves/ed25519.js';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as openpgp from 'openpgp';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { RelayClient } from '../../src/edges/relay-client.js';
import { startRelayProcess } from '../../src/relay/relay-process.js';

const CONCURRENCY = [1, 8, 32] as const;
const MESSAGES_PER_LEVEL = 256;
const PLAINTEXT_BYTES = 4096;
const DOMAIN = 'bench.test';

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
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

/** User+system CPU seconds of a process so far (/proc/PID/stat fields 14-15, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface BenchUser {
  readonly address: string;
  readonly client: RelayClient;
  readonly armoredMessage: string;
}

async function makeUser(relay: { url: string; pin: string | undefined }, index: number): Promise<BenchUser> {
  const address = `user${index}@${DOMAIN}`;
  const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ email: address }], format: 'object' });
  const deviceSecretKey = ed25519.utils.randomSecretKey();
  const client = new RelayClient({ url: relay.url, pin: relay.pin, deviceSecretKey, domain: DOMAIN });
  const statement = buildEnrolmentStatement({ address, devicePublicKey: ed25519.getPublicKey(deviceSecretKey), domain: DOMAIN });
  const proofSignature = (await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: privateKey, detached: true })) as string;
  await client.enrol({ address, armoredCert: publicKey.armor(), proofSignature });
  const armoredMessage = (await openpgp.encrypt({
    message: await openpgp.createMessage({ text: 'x'.repeat(PLAINTEXT_BYTES) }),
    encryptionKeys: publicKey,
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  })) as string;
  return { address, client, armoredMessage };
}

interface LevelResult {
  readonly total: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly serverCpu: number;
  readonly clientCpu: number;
}

/** `cycle(user)` runs one submit -> list -> fetch (timed) -> delete; `serverPids` are the processes whose CPU is counted. */
async function runLevel<U>(users: readonly U[], concurrency: number, serverPids: readonly (number | undefined)[], cycle: (user: U) => Promise<() => Promise<void>>): Promise<LevelResult> {
  const perClient = Math.ceil(MESSAGES_PER_LEVEL / concurrency);
  const latencies: number[] = [];
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
  latencies.sort((a, b) => a - b);
  return {
    total: perClient * concurrency,
    seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    serverCpu,
    clientCpu: (benchCpuUsage.user + benchCpuUsage.system) / 1e6,
  };
}

function describeLevel(label: string, result: LevelResult): string {
  return (
    `${label}: ${(result.total / result.seconds).toFixed(0).padStart(5)} messages/s, ` +
    `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, server CPU ${((result.serverCpu / result.total) * 1000).toFixed(2)} ms/cycle ` +
    `(${result.total} messages in ${result.seconds.toFixed(2)} s; CPU: server ${result.serverCpu.toFixed(1)} s, clients ${result.clientCpu.toFixed(1)} s)`
  );
}

/** One relay cycle with the real client: submit to oneself, list, fetch (latency stops), then delete. */
async function relayCycle(user: BenchUser): Promise<() => Promise<void>> {
  await user.client.submit({ to: [user.address], armoredMessage: user.armoredMessage });
  const [entry] = (await user.client.list({ limit: 1 })).messages;
  if (entry === undefined) throw new Error('submitted message not listed');
  const fetched = await user.client.fetch(entry.id);
  if (fetched.armoredMessage !== user.armoredMessage) throw new Error('fetched message differs');
  return () => user.client.delete(entry.id);
}

function relayServerSide(stderrLines: readonly string[]): string {
  const byRoute = new Map<string, number[]>();
  for (const line of stderrLines) {
    if (!line.includes('"event":"request"')) continue;
    const entry = JSON.parse(line) as { method: string; route: string; durationMs: number };
    const key = `${entry.method} ${entry.route}`;
    byRoute.set(key, [...(byRoute.get(key) ?? []), entry.durationMs]);
  }
  return [...byRoute]
    .map(([key, values]) => {
      values.sort((x, y) => x - y);
      return `${key} ${percentile(values, 50)}/${percentile(values, 99)}`;
    })
    .join(', ');
}

/** The bare node:https peer (bare-https-peer.ts) with the relay's certificate, and 32 keep-alive clients. */
async function benchBarePeer(dataDir: string, armoredMessage: string, concurrency: number): Promise<LevelResult> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'bare-https-peer.js');
  const child = spawn(process.execPath, [script, join(dataDir, 'dev-tls-cert.pem'), join(dataDir, 'dev-tls-key.pem'), join(dataDir, 'peer.sqlite')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
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
    const result = await runLevel(owners, concurrency, [child.pid], async (owner) => {
      await call(owner, 'POST', '/v1/messages', submitBody(owner));
      const { messages } = JSON.parse(await call(owner, 'GET', '/v1/messages')) as { messages: { id: string }[] };
      const id = messages[0]?.id;
      if (id === undefined) throw new Error('bare peer lost a message');
      const fetched = JSON.parse(await call(owner, 'GET', `/v1/messages/${id}`)) as { armoredMessage: string };
      if (fetched.armoredMessage !== armoredMessage) throw new Error('bare peer returned another message');
      return async () => void (await call(owner, 'DELETE', `/v1/messages/${id}`));
    });
    agent.destroy();
    return result;
  } finally {
    child.kill('SIGTERM');
  }
}

/** A PostgreSQL database for the bench: CALIOP_BENCH_POSTGRES or CALIOP_TEST_POSTGRES (an admin URL), else a server of our own via .ci/postgres. */
export async function benchPostgres(): Promise<{ url: string; stop: () => Promise<void> } | string> {
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
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    stop: async () => {
      const again = new pg.Client({ connectionString: adminUrl });
      await again.connect();
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
      await stopServer();
    },
  };
}

const RATE_ARGS = ['--rate-burst', '1000000', '--rate-per-minute', '1000000000'];

export async function benchRelayThroughput(): Promise<{ name: string; lines: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'caliop-relay-bench-'));
  const relay = await startRelayProcess({ dataDir, domain: DOMAIN, extraArgs: RATE_ARGS });
  const users: BenchUser[] = [];
  const lines: string[] = [];
  const top = Math.max(...CONCURRENCY);
  try {
    for (let i = 0; i < top; i++) users.push(await makeUser(relay, i));
    const size = Buffer.byteLength(users[0]!.armoredMessage);
    lines.push(`real caliop-relay on 127.0.0.1 (HTTPS, pinned, keep-alive), ${size}-byte armored messages, ${MESSAGES_PER_LEVEL} per level, every write durable`);
    lines.push('cycle = submit -> list -> fetch -> delete; latency = submit+list+fetch; server CPU = relay process(es) user+system');
    let relay32: LevelResult | undefined;
    for (const concurrency of CONCURRENCY) {
      const result = await runLevel(users, concurrency, [relay.child.pid], relayCycle);
      if (concurrency === top) relay32 = result;
      lines.push(describeLevel(`SQLite, ${String(concurrency).padStart(2)} clients`, result));
    }
    lines.push(`  relay-side p50/p99 ms per route: ${relayServerSide(relay.stderrLines)}`);
    lines.push(`  relay peak RSS (VmHWM): ${peakRssMiB(relay.child.pid)}`);

    const peer = await benchBarePeer(dataDir, users[0]!.armoredMessage, top);
    lines.push(describeLevel(`bare node:https peer, ${top} clients`, peer));
    if (relay32 !== undefined) {
      const ratio = relay32.serverCpu / relay32.total / (peer.serverCpu / peer.total);
      lines.push(`  relay CPU per cycle / peer CPU per cycle: ${ratio.toFixed(2)}x (target <= 2x)`);
    }

    const database = await benchPostgres();
    if (typeof database === 'string') lines.push(`PostgreSQL, two relay processes: skipped: ${database}`);
    else {
      const folders = [mkdtempSync(join(tmpdir(), 'caliop-relay-bench-pg-')), mkdtempSync(join(tmpdir(), 'caliop-relay-bench-pg-'))];
      const relays = await Promise.all(folders.map((folder) => startRelayProcess({ dataDir: folder, domain: DOMAIN, extraArgs: [...RATE_ARGS, '--store', database.url] })));
      const pgUsers: BenchUser[] = [];
      try {
        // User i talks to relay i % 2; all of them share one database.
        for (let i = 0; i < top; i++) pgUsers.push(await makeUser(relays[i % 2]!, i));
        const result = await runLevel(pgUsers, top, relays.map((r) => r.child.pid), relayCycle);
        lines.push(describeLevel(`PostgreSQL, two relay processes, ${top} clients`, result));
      } finally {
        for (const user of pgUsers) user.client.close();
        for (const started of relays) await started.stop();
        for (const folder of folders) rmSync(folder, { recursive: true, force: true });
        await database.stop();
      }
    }
    lines.push(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (clients, relays and PostgreSQL share the cores)`);
    return { name: 'relay throughput', lines };
  } catch (error) {
    const relayEvents = relay.stderrLines.filter((line) => !line.includes('"event":"request"')).slice(-5);
    throw new Error(`relay bench failed: ${(error as Error).message}; relay said: ${relayEvents.join(' | ')}`, { cause: error });
  } finally {
    for (const user of users) user.client.close();
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchRelayThroughput();
  process.stdout.write(`${result.name}\n${result.lines.map((line) => `  ${line}`).join('\n')}\n`);
}
