// Issue 13, "The numbers": `caliop encrypt --sign` and `caliop decrypt` of 100 MiB, whole
// process, against `gpg -se` and `gpg -d` in the same run (target <= 1.5x time, peak RSS
// <= 64 MiB above the process's idle RSS, whatever the size).
//
// The built CLI under this Node (the stick uses CALIOP_UNSAFE_TEST_KDF so that Argon2's
// 256 MiB do not hide the data's memory in the peak); "idle" is the same command on an
// empty input (start-up, unlock, key derivation: everything but the data). Each file is
// read from and written to disk (/tmp); rounds interleaved (gpg, ours, our idle run...),
// the median of each; wall time and CPU time (user + sys) of the whole process. Net = ours
// minus our idle run (the fixed costs); gpg's whole run is compared with that net.
// Decryption is measured on binary messages and on armored ones (all relay mail is armored;
// gpg's armored message is compressed, its default). The compressed row: a message gpg made
// signed and ZLIB-compressed to caliop's key, decrypted by caliop (the signer's cert
// imported), against gpg -d of its own `gpg -se` message of the same shape (ZLIB is gpg's
// default to a gpg key; to caliop's key, whose preferences put "uncompressed" first, gpg
// compresses only when told: `--compress-algo zlib`).
//
// Two caliops when the executable is built (`npm run build:exe`, dist/caliop-linux-x64): the
// tsc build under this Node (as the tests run it), and the executable a stick carries (Node 26,
// one bundle with its V8 code cache: its fixed cost, the idle run, is about half the tsc
// build's, docs/benchmarks.md). The executable's rows are the product's figures; both are
// printed, measured in the same interleaved rounds.
//
//   npx tsc -p . && node build/scripts/bench/pipe-streaming.js [MiB] [rounds]
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { hostTarget } from '../build-exe.js';
import { writeIncompressibleFile } from './bench-files.js';

const CLI = resolve(import.meta.dirname, '../../src/cli/main.js');
/** This file runs as build/scripts/bench/pipe-streaming.js. */
const REPO = resolve(import.meta.dirname, '../../..');
const PASSPHRASE = 'a long passphrase only for the benchmark 2026';

interface Measure {
  readonly ms: number;
  /** user + sys of the process, from GNU time. */
  readonly cpuMs: number;
  readonly maxRssMiB: number;
}

/** One process with stdin from a file: wall time, and CPU time and peak RSS from GNU time. */
function run(command: string, args: readonly string[], stdinPath: string | undefined, env: NodeJS.ProcessEnv): Measure {
  const stdin = stdinPath === undefined ? 'ignore' : openSync(stdinPath, 'r');
  try {
    const started = performance.now();
    const result = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S', command, ...args], { env, stdio: [stdin, 'ignore', 'pipe'], encoding: 'utf8' });
    const ms = performance.now() - started;
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr.slice(-1500)}`);
    const [, rss, user, sys] = /MAXRSS (\d+) CPU ([\d.]+) ([\d.]+)/.exec(result.stderr) ?? [];
    return { ms, cpuMs: (Number(user) + Number(sys)) * 1000, maxRssMiB: Number(rss) / 1024 };
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median wall and CPU time; the highest peak RSS. */
function summary(measures: readonly Measure[]): Measure {
  return { ms: median(measures.map((m) => m.ms)), cpuMs: median(measures.map((m) => m.cpuMs)), maxRssMiB: Math.max(...measures.map((m) => m.maxRssMiB)) };
}

/** The options of every caliop command of the bench: its stick, no prompt, the passphrase from the environment. */
const stickArgs = (stick: string) => ['--stick', stick, '--batch', '--passphrase-file', '@ENV:BENCH_PASSPHRASE'];

/** The caliops measured: the tsc build under this Node (the first: it also sets the stick up), and the built executable when there is one. */
function caliopRunners(stick: string, env: NodeJS.ProcessEnv): { label: string; run: (args: readonly string[], stdin?: string) => Measure }[] {
  const common = stickArgs(stick);
  const runners = [{ label: `caliop, tsc build under Node ${process.versions.node}`, run: (args: readonly string[], stdin?: string) => run(process.execPath, [CLI, ...common, ...args], stdin, env) }];
  const target = hostTarget();
  const exe = target === undefined ? undefined : join(REPO, 'dist', `caliop-${target}`);
  if (exe !== undefined && existsSync(exe)) {
    runners.push({ label: `caliop, the executable (${exe.replace(`${REPO}/`, '')}, Node 26 SEA)`, run: (args: readonly string[], stdin?: string) => run(exe, [...common, ...args], stdin, env) });
  }
  return runners;
}

export async function benchPipeStreaming(mib = 100, rounds = 5): Promise<{ name: string; lines: string[] }> {
  const work = mkdtempSync(join(tmpdir(), 'caliop-bench-pipe-'));
  const load = [loadavg()[0]!];
  try {
    const stick = join(work, 'stick');
    mkdirSync(stick);
    const env = { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1', BENCH_PASSPHRASE: PASSPHRASE };
    const runners = caliopRunners(stick, env);
    const caliop = runners[0]!.run;
    caliop(['init', '--name', 'Bench', '--email', 'bench@example.org', '--allow-online']);
    const gnupgHome = join(work, 'gnupg');
    mkdirSync(gnupgHome, { mode: 0o700 });
    const gpgEnv = { ...process.env, GNUPGHOME: gnupgHome };
    const gpg = (args: readonly string[], stdin?: string) => run('gpg', ['--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], stdin, gpgEnv);
    gpg(['--quick-gen-key', 'Peer <peer@example.org>', 'ed25519', 'sign', 'never']);
    const fpr = /fpr:::::::::([0-9A-F]{40}):/.exec(spawnSync('gpg', ['--with-colons', '--list-keys', 'peer@example.org'], { env: gpgEnv, encoding: 'utf8' }).stdout)![1]!;
    gpg(['--quick-add-key', fpr, 'cv25519', 'encr', 'never']);

    const input = join(work, 'input.bin');
    const empty = join(work, 'empty.bin');
    writeFileSync(empty, '');
    writeIncompressibleFile(input, mib);
    const out = (name: string) => join(work, name);
    caliop(['encrypt', '--to', 'bench@example.org', '--sign', '--binary', '--output', out('empty.pgp'), '--force'], empty);
    // Armored (all relay mail is): each side decrypts its own armored message (gpg's is compressed, its default).
    caliop(['encrypt', '--to', 'bench@example.org', '--sign', '--output', out('empty.asc'), '--force'], empty);
    caliop(['encrypt', '--to', 'bench@example.org', '--sign', '--output', out('caliop.asc'), '--force'], input);
    gpg(['-a', '-se', '-r', 'peer@example.org', '-o', out('gpg.asc'), input]);
    // gpg's default output to a gpg key (ZLIB, signed), to caliop's key; the signer known to caliop.
    const exported = spawnSync(process.execPath, [CLI, ...stickArgs(stick), 'key', 'export'], { env, encoding: 'utf8' });
    writeFileSync(out('caliop-cert.asc'), exported.stdout);
    gpg(['--import', out('caliop-cert.asc')]);
    writeFileSync(out('peer-cert.asc'), spawnSync('gpg', ['--armor', '--export', 'peer@example.org'], { env: gpgEnv, encoding: 'utf8' }).stdout);
    caliop(['contacts', 'import'], out('peer-cert.asc'));
    const toCaliop = ['--trust-model', 'always', '--compress-algo', 'zlib', '-se', '-u', 'peer@example.org', '-r', 'bench@example.org'];
    gpg([...toCaliop, '-o', out('gpg-to-caliop.pgp'), input]);
    gpg([...toCaliop, '-o', out('gpg-to-caliop-empty.pgp'), empty]);
    const gpgEnc: Measure[] = [];
    const gpgDec: Measure[] = [];
    const gpgDecArmored: Measure[] = [];
    const rows = runners.map(() => ({ enc: [] as Measure[], encIdle: [] as Measure[], dec: [] as Measure[], decIdle: [] as Measure[], decArmored: [] as Measure[], decArmoredIdle: [] as Measure[], decGpgMade: [] as Measure[], decGpgMadeIdle: [] as Measure[] }));
    for (let round = 0; round < rounds; round++) {
      gpgEnc.push(gpg(['-se', '-r', 'peer@example.org', '-o', out('gpg.pgp'), input]));
      gpgDec.push(gpg(['-d', '-o', out('gpg.out'), out('gpg.pgp')]));
      gpgDecArmored.push(gpg(['-d', '-o', out('gpg.out'), out('gpg.asc')]));
      // Each caliop in turn, starting with a different one each round.
      for (let index = 0; index < runners.length; index++) {
        const which = (index + round) % runners.length;
        const run = runners[which]!.run;
        const row = rows[which]!;
        row.enc.push(run(['encrypt', '--to', 'bench@example.org', '--sign', '--binary', '--output', out('caliop.pgp'), '--force'], input));
        row.encIdle.push(run(['encrypt', '--to', 'bench@example.org', '--sign', '--binary', '--output', out('empty.pgp'), '--force'], empty));
        row.dec.push(run(['decrypt', '--output', out('caliop.out'), '--force'], out('caliop.pgp')));
        row.decIdle.push(run(['decrypt', '--output', out('empty.out'), '--force'], out('empty.pgp')));
        row.decArmored.push(run(['decrypt', '--output', out('caliop.out'), '--force'], out('caliop.asc')));
        row.decArmoredIdle.push(run(['decrypt', '--output', out('empty.out'), '--force'], out('empty.asc')));
        row.decGpgMade.push(run(['decrypt', '--output', out('caliop.out'), '--force'], out('gpg-to-caliop.pgp')));
        row.decGpgMadeIdle.push(run(['decrypt', '--output', out('empty.out'), '--force'], out('gpg-to-caliop-empty.pgp')));
      }
    }
    load.push(loadavg()[0]!);
    const line = (what: string, ours: Measure, idle: Measure, peer: Measure, peerName: string) =>
      `${what}: wall ${ours.ms.toFixed(0)} ms, CPU ${ours.cpuMs.toFixed(0)} ms (idle run: wall ${idle.ms.toFixed(0)}, CPU ${idle.cpuMs.toFixed(0)}; net: wall ${(ours.ms - idle.ms).toFixed(0)}, CPU ${(ours.cpuMs - idle.cpuMs).toFixed(0)}), ` +
      `peak RSS ${ours.maxRssMiB.toFixed(0)} MiB (idle ${idle.maxRssMiB.toFixed(0)} MiB: +${(ours.maxRssMiB - idle.maxRssMiB).toFixed(0)} MiB, target <= +64) | ` +
      `${peerName}: wall ${peer.ms.toFixed(0)} ms, CPU ${peer.cpuMs.toFixed(0)} ms, peak RSS ${peer.maxRssMiB.toFixed(0)} MiB | ` +
      `ratio net/${peerName}: wall ${((ours.ms - idle.ms) / peer.ms).toFixed(2)}x, CPU ${((ours.cpuMs - idle.cpuMs) / peer.cpuMs).toFixed(2)}x; whole process wall ${(ours.ms / peer.ms).toFixed(2)}x (target <= 1.5x)`;
    const [peerEnc, peerDec, peerDecArmored] = [gpgEnc, gpgDec, gpgDecArmored].map(summary) as [Measure, Measure, Measure];
    const lines = runners.flatMap((runner, index) => {
      const row = rows[index]!;
      const [enc, encIdle, dec, decIdle, decArmored, decArmoredIdle, decGpgMade, decGpgMadeIdle] = [row.enc, row.encIdle, row.dec, row.decIdle, row.decArmored, row.decArmoredIdle, row.decGpgMade, row.decGpgMadeIdle].map(summary) as [
        Measure, Measure, Measure, Measure, Measure, Measure, Measure, Measure,
      ];
      return [
        `${runner.label}:`,
        '  ' + line('caliop encrypt --sign', enc, encIdle, peerEnc, 'gpg -se'),
        '  ' + line('caliop decrypt', dec, decIdle, peerDec, 'gpg -d'),
        '  ' + line('caliop decrypt (armored)', decArmored, decArmoredIdle, peerDecArmored, 'gpg -d (armored)'),
        '  ' + line('caliop decrypt of gpg -se --compress-algo zlib output', decGpgMade, decGpgMadeIdle, peerDec, 'gpg -d'),
      ];
    });
    return {
      name: `encrypt --sign / decrypt of ${mib} MiB, whole process, against gpg (median of ${rounds} interleaved rounds)`,
      lines: [
        ...lines,
        ...(runners.length === 1 ? ['(the executable is not built: `npm run build:exe -- --targets linux-x64` adds its rows, the product\'s figures)'] : []),
        `load average during the run: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`,
      ],
    };
  } finally {
    spawnSync('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all']);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchPipeStreaming(Number(process.argv[2] ?? 100), Number(process.argv[3] ?? 5));
  console.log(result.name);
  for (const entry of result.lines) console.log('  ' + entry);
}
