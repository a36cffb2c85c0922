// A reusable sync backlog for profiling `caliop sync` (issue 13): makes once a relay
// data folder holding N messages of 1 KiB for bob and bob's stick, in FOLDER/seed;
// then each `run` copies the seed, starts the relay on the same port and times one
// whole `caliop sync` process (optionally under --cpu-prof). Not part of `npm run bench`
// (mail-throughput.ts is); a tool to measure one change many times against one backlog.
//
//   node build/scripts/bench/sync-fixture.js make FOLDER [N]
//   node build/scripts/bench/sync-fixture.js run FOLDER [--cpu-prof DIR] [--gpg] [--exe dist/caliop-linux-x64]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stickAt } from '../../src/edges/stick-locator.js';
import { randomBytes } from '../../src/edges/random.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';
import { startRelayProcess } from '../../src/relay/relay-process.js';
import { makeBacklogClassic } from './classic-backlog.js';
import { sendMessage } from '../../src/service/mail-send.js';
import { StickSession } from '../../src/service/stick-session.js';

const CLI = resolve(import.meta.dirname, '../../src/cli/main.js');
const DOMAIN = 'bench.test';
const PASSPHRASE = 'a long passphrase only for the benchmark 2026';
const BODY = `${'Un kilo-octet de texte, pour le banc de mesure. '.repeat(22).slice(0, 1023)}\n`;
const PORT = 20000 + Math.floor(Math.random() * 20000);
const env = { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1', BENCH_PASSPHRASE: PASSPHRASE };

function cli(stick: string, args: readonly string[], extraNode: readonly string[] = []): { ms: number; stdout: string; rss: number; cpu: number } {
  const started = performance.now();
  const program = EXE === undefined ? [process.execPath, ...extraNode, CLI] : [EXE];
  const run = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S', ...program, '--stick', stick, '--batch', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`caliop ${args.join(' ')} failed: ${run.stderr}`);
  for (const line of run.stderr.split('\n')) if (line.startsWith('PHASES')) console.log(line);
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(run.stderr);
  return { ms, stdout: run.stdout, rss: Number(/MAXRSS (\d+)/.exec(run.stderr)?.[1]) / 1024, cpu: Number(cpu?.[1]) + Number(cpu?.[2]) };
}

/** CPU seconds (user + system) of the gpg-agent serving `home`, read from /proc before it is stopped. */
function agentCpuSeconds(home: string): number {
  const tick = 100; // USER_HZ on Linux
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!command[0]?.endsWith('gpg-agent') || !command.includes(home)) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      return (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // gone meanwhile
    }
  }
  return Number.NaN;
}

const [command, folder, ...rest] = process.argv.slice(2);
/** `run … --exe PATH`: time a built single executable (npm run build:exe) instead of build/src/cli/main.js. */
const EXE = rest.includes('--exe') ? resolve(rest[rest.indexOf('--exe') + 1]!) : undefined;
if (!folder) throw new Error('usage: make|run FOLDER');
const seed = join(folder, 'seed');
if (command === 'make') {
  const count = Number(rest[0] ?? 1000);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(seed, 'relay'), { recursive: true });
  const port = PORT;
  let stopped = false;
  const relay = await startRelayProcess({ dataDir: join(seed, 'relay'), domain: DOMAIN, port, extraArgs: ['--rate-burst', '1000000', '--rate-per-minute', '1000000'], readyTimeoutMs: 90_000 });
  try {
    for (const name of ['ana', 'bob']) {
      mkdirSync(join(seed, name));
      cli(join(seed, name), ['init', '--name', name, '--email', `${name}@${DOMAIN}`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!]);
    }
    process.env.CALIOP_UNSAFE_TEST_KDF = '1';
    const session = await StickSession.unlock(stickAt(join(seed, 'ana'), '--stick'), PASSPHRASE);
    for (let i = 0; i < count; i++) {
      await sendMessage(session, { to: [`bob@${DOMAIN}`], subject: `bench ${i}`, body: BODY, now: new Date(), random: randomBytes, allowExposed: false });
    }
    await relay.stop();
    stopped = true;
    const bob = await StickSession.unlock(stickAt(join(seed, 'bob'), '--stick'), PASSPHRASE);
    const bobKey = (await bob.identity()).privateKey;
    // gpg 2.2 reads no post-quantum message: the peer's ciphertexts are classic (classic-backlog.ts).
    await makeBacklogClassic(join(seed, 'relay', 'relay.sqlite'), `bob@${DOMAIN}`, bobKey, await session.identity());
    const store = await SqliteRelayStore.open(join(seed, 'relay', 'relay.sqlite'));
    const waiting = (await store.mailboxPage(`bob@${DOMAIN}`, 0, count, Number.MAX_SAFE_INTEGER)).entries;
    await store.close();
    mkdirSync(join(seed, 'ciphertexts'));
    waiting.forEach((message, index) => writeFileSync(join(seed, 'ciphertexts', `m${String(index).padStart(5, '0')}.asc`), message.armoredMessage!));
    const gnupg = join(seed, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    const gpgArgs = ['--homedir', gnupg, '--batch', '--yes', '--quiet'];
    spawnSync('gpg', [...gpgArgs, '--import'], { input: bobKey.armor() });
    spawnSync('gpg', [...gpgArgs, '--import'], { input: cli(join(seed, 'ana'), ['key', 'export']).stdout });
    writeFileSync(join(seed, 'port'), String(port));
    spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'all']);
    console.log(`made ${waiting.length} messages for bob in ${seed}`);
  } finally {
    if (!stopped) await relay.stop();
  }
} else if (command === 'run') {
  if (!existsSync(seed)) throw new Error(`no ${seed}: make it first`);
  const work = join(folder, 'run');
  rmSync(work, { recursive: true, force: true });
  cpSync(seed, work, { recursive: true, filter: (source) => !/\/S\.[^/]*$/.test(source) });
  const profIndex = rest.indexOf('--cpu-prof');
  const extraNode = profIndex >= 0 ? ['--cpu-prof', '--cpu-prof-dir', rest[profIndex + 1]!] : [];
  const load = [loadavg()[0]!];
  if (rest.includes('--gpg')) {
    const files = readdirSync(join(work, 'ciphertexts'));
    const started = performance.now();
    const gpg = spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', 'gpg', '--homedir', join(work, 'gnupg'), '--batch', '--yes', '--quiet', '--trust-model', 'always', '--decrypt-files', ...files], { cwd: join(work, 'ciphertexts'), encoding: 'utf8' });
    if (gpg.status !== 0) throw new Error(gpg.stderr);
    const ms = performance.now() - started;
    const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(gpg.stderr);
    // gpg hands each session key to its agent (a daemon, not a child): its CPU is counted too.
    const agent = agentCpuSeconds(join(work, 'gnupg'));
    console.log(`gpg --decrypt-files ${files.length}: ${ms.toFixed(0)} ms, cpu ${(Number(cpu?.[1]) + Number(cpu?.[2])).toFixed(1)} s + agent ${agent.toFixed(1)} s`);
    spawnSync('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all']);
  }
  const relay = await startRelayProcess({ dataDir: join(work, 'relay'), domain: DOMAIN, port: Number(readFileSync(join(work, 'port'), 'utf8')), extraArgs: ['--rate-burst', '1000000', '--rate-per-minute', '1000000'], readyTimeoutMs: 90_000 });
  try {
    const full = cli(join(work, 'bob'), ['--json', 'sync'], extraNode);
    const received = (JSON.parse(full.stdout) as { received: number }).received;
    const empty = cli(join(work, 'bob'), ['--json', 'sync']);
    load.push(loadavg()[0]!);
    console.log(`sync ${received}: ${full.ms.toFixed(0)} ms (rss ${full.rss.toFixed(0)} MiB, cpu ${full.cpu.toFixed(1)} s), empty ${empty.ms.toFixed(0)} ms (cpu ${empty.cpu.toFixed(1)} s), net ${(full.ms - empty.ms).toFixed(0)} ms, cpu net ${(full.cpu - empty.cpu).toFixed(1)} s; load ${load.map((l) => l.toFixed(1)).join(' -> ')}`);
  } finally {
    await relay.stop();
  }
}
