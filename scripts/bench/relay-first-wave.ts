// Issue 14's yardstick, measured again in the same run: "at least 5x today's 143 messages/s"
// names the relay as the issue found it, the last commit of the first wave (FIRST_WAVE_COMMIT),
// on the machine of that day. This machine's speed drifts from day to day (the bare node:https
// peer of relay-throughput.ts made 1,214 msg/s on 2026-12-01 and 636 on 2026-12-02, quiet both
// times), so a figure of another day is no yardstick: the bench runs that first-wave relay
// itself, in the same interleaved rounds as today's (relay-throughput.ts, side 'first-wave
// relay'), and gives the ratio of the two rates (docs/benchmarks.md).
//
// Two halves in one file:
// - prepareFirstWave(): the first-wave tree, taken from this repository's history with
//   `git archive` into .cache/ (gitignored) and compiled there by this repository's tsc, once;
//   it uses this repository's node_modules (a symbolic link), so nothing is downloaded: the
//   same pinned versions as that day's, but for openpgp, now Proton's fork of the same 6.3
//   line (package.json), which the first-wave relay uses only to check enrolment proofs. The
//   first wave's type errors against today's @types are ignored (tsc still writes the files);
//   the relay it builds must start, or the bench fails.
// - the driver (this file run with --drive DIR): the first-wave relay process and 32 clients
//   of the first wave's own client (src/edges/relay-client.ts of that commit: every request
//   signed, the API of that day), the cycle of relay-throughput.ts (submit to oneself, list,
//   fetch, delete). It answers on stdout, one JSON line per command read on stdin ("N": run N
//   cycles at 32 clients), so the parent measures it as it measures its own sides: the relay
//   process's CPU read from /proc by the parent, the clients' CPU (this process) reported.
//
//   node build/scripts/bench/relay-first-wave.js --drive .cache/first-wave-8b38978 [--clients 32]

import { ed25519 } from '@noble/curves/ed25519.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as openpgp from 'openpgp';
import { BENCH_DOMAIN as DOMAIN, PLAINTEXT_BYTES, RELAY_RATE_ARGS } from './relay-workload.js';

/** The last commit of the first wave (2026-11-26 21:45 UTC), the relay issue 14 measured at 143 msg/s. */
export const FIRST_WAVE_COMMIT = '8b38978';
const FIRST_WAVE_RELAY_MAIN = join('build', 'src', 'relay', 'main.js');

// This file runs as build/scripts/bench/relay-first-wave.js.
const REPO = resolve(import.meta.dirname, '../../..');
const DRIVER = fileURLToPath(import.meta.url);

/**
 * The compiled first-wave tree in .cache/, made on first use; a string says why it cannot be
 * (no git history, e.g. an archive of the repository instead of a clone).
 */
export function prepareFirstWave(repo: string = REPO): string | { dir: string } {
  const dir = join(repo, '.cache', `first-wave-${FIRST_WAVE_COMMIT}`);
  if (existsSync(join(dir, FIRST_WAVE_RELAY_MAIN))) return { dir };
  const known = spawnSync('git', ['-C', repo, 'cat-file', '-e', `${FIRST_WAVE_COMMIT}^{commit}`], { encoding: 'utf8' });
  if (known.status !== 0) return `commit ${FIRST_WAVE_COMMIT} is not in this repository's history (a clone has it)`;
  mkdirSync(join(repo, '.cache'), { recursive: true });
  const work = mkdtempSync(join(repo, '.cache', 'first-wave-'));
  try {
    const archive = spawnSync('bash', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'archive', repo, FIRST_WAVE_COMMIT, work], { encoding: 'utf8' });
    if (archive.status !== 0) return `git archive ${FIRST_WAVE_COMMIT} failed: ${archive.stderr.trim()}`;
    symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
    // Type errors of 2026-11-26's code against today's @types do not stop tsc from writing the files.
    spawnSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(work, 'tsconfig.json')], { encoding: 'utf8' });
    if (!existsSync(join(work, FIRST_WAVE_RELAY_MAIN))) return `tsc wrote no ${FIRST_WAVE_RELAY_MAIN} in the first-wave tree`;
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
    return { dir };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What the driver answers for "N": the cycles run, their submit+list+fetch latencies (ms, sorted), its own CPU. */
export interface FirstWaveRun {
  readonly total: number;
  readonly seconds: number;
  readonly latencies: readonly number[];
  readonly clientCpu: number;
}

/** The driver as a child process: started, its relay ready and its clients enrolled. */
export interface FirstWaveDriver {
  readonly relayPid: number;
  readonly messageBytes: number;
  run(messages: number): Promise<FirstWaveRun>;
  stop(): Promise<void>;
}

export async function startFirstWaveDriver(dir: string, clients: number): Promise<FirstWaveDriver> {
  const child = spawn(process.execPath, [DRIVER, '--drive', dir, '--clients', String(clients)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const answers = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const next = async (): Promise<Record<string, unknown>> => {
    const answer = await answers.next();
    if (answer.done === true) throw new Error(`the first-wave driver stopped: ${stderr.trim()}`);
    return JSON.parse(answer.value) as Record<string, unknown>;
  };
  const ready = await next();
  return {
    relayPid: ready.relayPid as number,
    messageBytes: ready.messageBytes as number,
    async run(messages) {
      child.stdin!.write(`${messages}\n`);
      return (await next()) as unknown as FirstWaveRun;
    },
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}

// --- the driver -------------------------------------------------------------------------


/** The first wave's client, as its src/edges/relay-client.ts declared it (only what the cycle uses). */
interface FirstWaveClient {
  enrol(request: { address: string; armoredCert: string; proofSignature: string }): Promise<unknown>;
  submit(request: { to: string[]; armoredMessage: string }): Promise<unknown>;
  list(options: { limit?: number }): Promise<{ messages: { id: string }[] }>;
  fetch(id: string): Promise<{ armoredMessage: string }>;
  delete(id: string): Promise<void>;
  close(): void;
}

async function drive(dir: string, clients: number): Promise<void> {
  const load = (path: string) => import(pathToFileURL(join(dir, 'build', path)).href);
  const { startRelayProcess } = await load('src/relay/relay-process.js');
  const { RelayClient } = await load('src/edges/relay-client.js');
  const { buildEnrolmentStatement } = await load('src/api/enrolment-statement.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'caliop-relay-bench-first-wave-'));
  const relay = await startRelayProcess({ dataDir, domain: DOMAIN, extraArgs: RELAY_RATE_ARGS });
  const users: { address: string; client: FirstWaveClient; armoredMessage: string }[] = [];
  try {
    for (let index = 0; index < clients; index++) {
      const address = `user${index}@${DOMAIN}`;
      const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ email: address }], format: 'object' });
      const deviceSecretKey = ed25519.utils.randomSecretKey();
      const client = new RelayClient({ url: relay.url, pin: relay.pin, deviceSecretKey, domain: DOMAIN }) as FirstWaveClient;
      const statement = buildEnrolmentStatement({ address, devicePublicKey: ed25519.getPublicKey(deviceSecretKey), domain: DOMAIN });
      const proofSignature = (await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: privateKey, detached: true })) as string;
      await client.enrol({ address, armoredCert: publicKey.armor(), proofSignature });
      const armoredMessage = (await openpgp.encrypt({
        message: await openpgp.createMessage({ text: 'x'.repeat(PLAINTEXT_BYTES) }),
        encryptionKeys: publicKey,
        config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
      })) as string;
      users.push({ address, client, armoredMessage });
    }
    process.stdout.write(`${JSON.stringify({ relayPid: relay.child.pid, messageBytes: Buffer.byteLength(users[0]!.armoredMessage) })}\n`);
    for await (const line of createInterface({ input: process.stdin })) {
      const messages = Number(line);
      const perClient = Math.ceil(messages / clients);
      const latencies: number[] = [];
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await Promise.all(
        users.map(async (user) => {
          for (let i = 0; i < perClient; i++) {
            const t0 = performance.now();
            await user.client.submit({ to: [user.address], armoredMessage: user.armoredMessage });
            const [entry] = (await user.client.list({ limit: 1 })).messages;
            if (entry === undefined) throw new Error('submitted message not listed');
            const fetched = await user.client.fetch(entry.id);
            if (fetched.armoredMessage !== user.armoredMessage) throw new Error('fetched message differs');
            latencies.push(performance.now() - t0);
            await user.client.delete(entry.id);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      latencies.sort((a, b) => a - b);
      const answer: FirstWaveRun = { total: perClient * clients, seconds, latencies, clientCpu: (cpu.user + cpu.system) / 1e6 };
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    }
  } finally {
    for (const user of users) user.client.close();
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === DRIVER) {
  const { values } = parseArgs({ options: { drive: { type: 'string' }, clients: { type: 'string' }, prepare: { type: 'boolean' } } });
  if (values.prepare === true) {
    const prepared = prepareFirstWave();
    process.stdout.write(`${typeof prepared === 'string' ? `cannot: ${prepared}` : prepared.dir}\n`);
  } else {
    if (values.drive === undefined) throw new Error('usage: relay-first-wave.js --prepare | --drive DIR [--clients N]');
    await drive(resolve(values.drive), Number(values.clients ?? 32));
  }
}
