// Benchmark (issues 5 and 13): start-up of the built single executable, `caliop --version`
// and `caliop --help`, against `node -e 0` of the same Node 26 base binary, and its first
// unlock (`key show` on a fresh stick, the default KDF) against Debian's `argon2` CLI at the
// same parameters, each a whole process. The commands of a comparison run interleaved,
// round by round, so that the machine's load falls on both alike; medians are reported.
// Runs alone: `node build/scripts/bench/exe-startup.js [ROUNDS]` (after `npm run build:exe`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNodeBinary, hostTarget } from '../build-exe.js';

// This file runs as build/scripts/bench/exe-startup.js.
const REPO = resolve(import.meta.dirname, '../../..');

interface Command {
  readonly label: string;
  readonly argv: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly wallMs: number[];
  readonly cpuMs: number[];
}

function command(label: string, argv: readonly string[], env?: NodeJS.ProcessEnv): Command {
  return { label, argv, ...(env === undefined ? {} : { env }), wallMs: [], cpuMs: [] };
}

/** One run, timed by bash's `time` (wall, user and system of the command, in ms). */
function runOnce(entry: Command): void {
  const script = 'TIMEFORMAT="%3R %3U %3S"; { time "$@" >/dev/null 2>/dev/null; } 2>&1';
  const result = spawnSync('bash', ['-c', script, 'bench', ...entry.argv], { env: entry.env ?? process.env, encoding: 'utf8' });
  const [wall, user, system] = result.stdout.trim().split('\n').pop()!.split(' ').map(Number);
  if (result.status !== 0 || wall === undefined || Number.isNaN(wall)) throw new Error(`${entry.argv.join(' ')} failed: ${result.stdout}${result.stderr}`);
  entry.wallMs.push(wall * 1000);
  entry.cpuMs.push((user! + system!) * 1000);
}

/** `rounds` rounds; each runs every command once, starting with a different one each round. */
function interleaved(commands: readonly Command[], rounds: number): void {
  for (let round = 0; round < rounds; round += 1) {
    for (let index = 0; index < commands.length; index += 1) runOnce(commands[(index + round) % commands.length]!);
  }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function line(entry: Command, peer: Command, target: string): string {
  const wall = median(entry.wallMs) / median(peer.wallMs);
  const cpu = median(entry.cpuMs) / median(peer.cpuMs);
  return `${entry.label}: wall ${median(entry.wallMs).toFixed(0)} ms, CPU ${median(entry.cpuMs).toFixed(0)} ms (ratio ${wall.toFixed(2)}x wall, ${cpu.toFixed(2)}x CPU; target ${target})`;
}

export async function benchExeStartup(rounds = 21, unlockRounds = 7): Promise<{ name: string; lines: string[] }> {
  const target = hostTarget();
  const exe = join(REPO, 'dist', `caliop-${target === 'linux-x64' ? 'linux-x64' : 'linux-arm64'}`);
  if (target === undefined || !existsSync(exe)) {
    return { name: 'executable start-up', lines: [`skipped: build it first with "npm run build:exe -- --targets ${target ?? 'linux-x64'}"`] };
  }
  const load = [loadavg()[0]!];
  const node = command('node -e 0 (same Node 26 base binary)', [ensureNodeBinary(target), '-e', '0']);
  const version = command('caliop --version', [exe, '--version']);
  const help = command('caliop --help', [exe, '--help']);
  interleaved([node, version, help], rounds);
  load.push(loadavg()[0]!);
  const work = mkdtempSync(join(tmpdir(), 'caliop-bench-exe-'));
  try {
    const stick = join(work, 'stick');
    mkdirSync(stick);
    const env = { ...process.env, BENCH_PASSPHRASE: 'a long passphrase only for the benchmark 2026' };
    const made = spawnSync(exe, ['--stick', stick, '--batch', '--json', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', 'init', '--name', 'Bench', '--email', 'bench@example.org', '--allow-online'], { env, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`init failed: ${made.stderr}`);
    const kdf = (JSON.parse(made.stdout) as { kdf: { memoryKiB: number; passes: number } }).kdf;
    const unlock = command(`first unlock (key show, Argon2id ${kdf.memoryKiB / 1024} MiB t=${kdf.passes})`, [exe, '--stick', stick, '--passphrase-file', '@ENV:BENCH_PASSPHRASE', 'key', 'show'], env);
    // Issue 13: the peer of the first unlock is Debian's argon2 CLI at the same parameters
    // (-r: one derivation, no verify pass), a whole process too.
    const argon2Script = `printf %s pass | argon2 saltsaltsaltsalt -id -k ${kdf.memoryKiB} -t ${kdf.passes} -p 1 -l 32 -r`;
    const argon2 = command('Debian argon2 CLI, same parameters', ['bash', '-c', argon2Script]);
    interleaved([argon2, unlock], unlockRounds);
    load.push(loadavg()[0]!);
    return {
      name: `executable start-up (${exe.replace(`${REPO}/`, '')}, Node 26 SEA; medians of ${rounds} interleaved rounds, ${unlockRounds} for the unlock)`,
      lines: [
        `${node.label}: wall ${median(node.wallMs).toFixed(0)} ms, CPU ${median(node.cpuMs).toFixed(0)} ms`,
        line(version, node, '<= 1.5x'),
        line(help, node, '<= 1.5x'),
        `${argon2.label}: wall ${median(argon2.wallMs).toFixed(0)} ms, CPU ${median(argon2.cpuMs).toFixed(0)} ms`,
        line(unlock, argon2, '<= 1.15x'),
        `load average (1 min) at start, after start-up, after unlock: ${load.map((value) => value.toFixed(1)).join(' -> ')} (2 cores)`,
      ],
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.argv[2] ?? 21);
  const result = await benchExeStartup(rounds);
  process.stdout.write(`== ${result.name}\n${result.lines.map((text) => `  ${text}`).join('\n')}\n`);
}
