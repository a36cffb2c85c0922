// Issue 13, "The numbers": sending and syncing, against the named peers in the same run.
//
// - send 1,000 messages one after the other (the service, one unlocked stick, real relay
//   process over HTTPS on loopback): per-message time of the last 100 against the first
//   100 (target: flat, <= 1.2x).
// - sync of those 1,000 messages of 1 KiB, signed, made classic Cv25519 for the peer
//   (classic-backlog.ts; fetch, decrypt, verify, store), by the
//   built CLI (`caliop sync`, a whole process) minus an empty sync (start-up + unlock),
//   against `gpg --decrypt-files` on the same 1,000 ciphertexts, one process, with the
//   recipient's key unprotected and the sender's cert imported (target <= 0.5x).
//
// The relay runs with rate limits raised (the send bench measures the stick, not the
// relay's pacing); test/sync-backlog.test.ts covers a sync under the default limits.
// The sticks use CALIOP_UNSAFE_TEST_KDF (unlock is not what is measured here).
//
//   npx tsc -p . && node build/scripts/bench/mail-throughput.js [N]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { stickAt } from '../../src/edges/stick-locator.js';
import { randomBytes } from '../../src/edges/random.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';
import { startRelayProcess } from '../../src/relay/relay-process.js';
import { makeBacklogClassic } from './classic-backlog.js';
import { sendMessage } from '../../src/service/mail-send.js';
import { StickSession } from '../../src/service/stick-session.js';

// This file runs as build/scripts/bench/mail-throughput.js.
const CLI = resolve(import.meta.dirname, '../../src/cli/main.js');
const DOMAIN = 'bench.test';
const PASSPHRASE = 'a long passphrase only for the benchmark 2026';
const BODY = `${'Un kilo-octet de texte, pour le banc de mesure. '.repeat(22).slice(0, 1023)}\n`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Wall time and peak RSS (KiB, GNU time %M) of one process. */
function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): { ms: number; maxRssKiB: number; stdout: string } {
  const started = performance.now();
  const run = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', command, ...args], { env, cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${command} ${args.slice(0, 6).join(' ')} failed (${run.status}): ${run.stderr.slice(-2000)}`);
  const maxRssKiB = Number(/MAXRSS (\d+)/.exec(run.stderr)?.[1]);
  return { ms, maxRssKiB, stdout: run.stdout };
}

export async function benchMailThroughput(count = 1000): Promise<{ name: string; lines: string[] }> {
  const work = mkdtempSync(join(tmpdir(), 'caliop-bench-mail-'));
  const relayData = join(work, 'relay');
  mkdirSync(relayData);
  const relay = await startRelayProcess({ dataDir: relayData, domain: DOMAIN, extraArgs: ['--rate-burst', '1000000', '--rate-per-minute', '1000000'], readyTimeoutMs: 90_000 });
  const env = { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1', BENCH_PASSPHRASE: PASSPHRASE };
  const cli = (stick: string, args: readonly string[]) => {
    const run = spawnSync(process.execPath, [CLI, '--stick', stick, '--batch', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', ...args], { env, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`caliop ${args.join(' ')} failed: ${run.stderr}`);
    return run.stdout;
  };
  const load = [loadavg()[0]!];
  try {
    const sticks = { ana: join(work, 'ana'), bob: join(work, 'bob') };
    for (const [name, stick] of Object.entries(sticks)) {
      mkdirSync(stick);
      cli(stick, ['init', '--name', name, '--email', `${name}@${DOMAIN}`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!]);
    }

    // 1. send, one after the other, in one unlocked session (what the interface does).
    process.env.CALIOP_UNSAFE_TEST_KDF = '1';
    const session = await StickSession.unlock(stickAt(sticks.ana, '--stick'), PASSPHRASE);
    const sendMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const report = await sendMessage(session, { to: [`bob@${DOMAIN}`], subject: `bench ${i}`, body: BODY, now: new Date(), random: randomBytes, allowExposed: false });
      sendMs.push(performance.now() - started);
      if (report.queued) throw new Error(`message ${i} was queued, not sent`);
    }
    load.push(loadavg()[0]!);
    const window = Math.max(1, Math.floor(count / 10));
    const first = mean(sendMs.slice(0, window));
    const last = mean(sendMs.slice(-window));

    // 2. the same ciphertexts for gpg, straight from the relay's database, before bob's sync takes them,
    // made classic first: gpg 2.2 reads no post-quantum message (classic-backlog.ts).
    process.env.CALIOP_UNSAFE_TEST_KDF = '1';
    const bobSession = await StickSession.unlock(stickAt(sticks.bob, '--stick'), PASSPHRASE);
    const bobIdentity = await bobSession.identity();
    await makeBacklogClassic(join(relayData, 'relay.sqlite'), `bob@${DOMAIN}`, bobIdentity.privateKey, await session.identity());
    const store = await SqliteRelayStore.open(join(relayData, 'relay.sqlite'));
    const waiting = (await store.mailboxPage(`bob@${DOMAIN}`, 0, count, Number.MAX_SAFE_INTEGER)).entries;
    await store.close();
    if (waiting.length !== count) throw new Error(`${waiting.length} messages wait for bob, not ${count}`);
    const files = join(work, 'ciphertexts');
    mkdirSync(files);
    const names = waiting.map((message, index) => {
      const name = `m${String(index).padStart(4, '0')}.asc`;
      writeFileSync(join(files, name), message.armoredMessage!);
      return name;
    });
    const gnupgHome = join(work, 'gnupg');
    mkdirSync(gnupgHome, { mode: 0o700 });
    const gpgArgs = ['--homedir', gnupgHome, '--batch', '--yes', '--quiet'];
    const bobKey = bobIdentity.privateKey.armor(); // unprotected, as the issue asks of the peer
    execFileSync('gpg', [...gpgArgs, '--import'], { input: bobKey, stdio: ['pipe', 'ignore', 'ignore'] });
    execFileSync('gpg', [...gpgArgs, '--import'], { input: cli(sticks.ana, ['key', 'export']), stdio: ['pipe', 'ignore', 'ignore'] });

    // 3. interleaved: gpg, full sync, empty sync (the full one can only run once).
    const gpgRun = timed('gpg', [...gpgArgs, '--trust-model', 'always', '--decrypt-files', ...names], process.env, files);
    const fullSync = timed(process.execPath, [CLI, '--stick', sticks.bob, '--batch', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', '--json', 'sync'], env);
    const received = (JSON.parse(fullSync.stdout) as { received: number }).received;
    if (received !== count) throw new Error(`sync received ${received}, not ${count}`);
    const empties = [0, 1, 2].map(() => timed(process.execPath, [CLI, '--stick', sticks.bob, '--batch', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', '--json', 'sync'], env).ms);
    const gpgAgain = timed('gpg', [...gpgArgs, '--trust-model', 'always', '--decrypt-files', ...names], process.env, files);
    load.push(loadavg()[0]!);
    const gpgMs = Math.min(gpgRun.ms, gpgAgain.ms);
    const emptyMs = median(empties);
    const syncNet = fullSync.ms - emptyMs;
    const plain = readFileSync(join(files, 'm0000'), 'utf8');
    if (!plain.includes('Un kilo-octet')) throw new Error('gpg did not decrypt the first message');
    return {
      name: `send and sync (${count} messages of ${BODY.length} bytes, real relay over HTTPS on loopback, rate limits raised)`,
      lines: [
        `send, one after the other: first ${window} ${first.toFixed(1)} ms/message, last ${window} ${last.toFixed(1)} ms/message, ratio ${(last / first).toFixed(2)}x (target <= 1.2x); median ${median(sendMs).toFixed(1)} ms`,
        `gpg --decrypt-files, ${count} files, one process, unprotected key (best of 2): ${gpgMs.toFixed(0)} ms, peak RSS ${(gpgRun.maxRssKiB / 1024).toFixed(0)} MiB`,
        `caliop sync of ${count}: ${fullSync.ms.toFixed(0)} ms, empty sync (start-up + unlock, median of 3) ${emptyMs.toFixed(0)} ms, net ${syncNet.toFixed(0)} ms (${((count / syncNet) * 1000).toFixed(0)} messages/s), peak RSS ${(fullSync.maxRssKiB / 1024).toFixed(0)} MiB`,
        `sync net / gpg: ${(syncNet / gpgMs).toFixed(2)}x (target <= 0.5x)`,
        `load average during the run: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`,
      ],
    };
  } finally {
    await relay.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchMailThroughput(Number(process.argv[2] ?? 1000));
  console.log(result.name);
  for (const line of result.lines) console.log('  ' + line);
}
