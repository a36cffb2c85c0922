// Benchmark (issue 5): start-up of the built single executable, `caliop --version`
// and a first unlock (`key show` on a fresh stick, real Argon2id at the floor), against
// `node -e 0` of the same Node 26 base binary, measured in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureNodeBinary, hostTarget } from '../build-exe.js';

// This file runs as build/scripts/bench/exe-startup.js.
const REPO = resolve(import.meta.dirname, '../../..');

function timeRuns(command: string, args: readonly string[], rounds: number, env: NodeJS.ProcessEnv = process.env): { wallMs: number; cpuMs: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = process.hrtime.bigint();
    const result = spawnSync('/usr/bin/time', ['-f', '%U %S', command, ...args], { env, encoding: 'utf8' });
    walls.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
    const [user, system] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    cpus.push((user! + system!) * 1000);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

export async function benchExeStartup(rounds = 15): Promise<{ name: string; lines: string[] }> {
  const target = hostTarget();
  const exe = join(REPO, 'dist', `caliop-${target === 'linux-x64' ? 'linux-x64' : 'linux-arm64'}`);
  if (target === undefined || !existsSync(exe)) {
    return { name: 'executable start-up', lines: [`skipped: build it first with "npm run build:exe -- --targets ${target ?? 'linux-x64'}"`] };
  }
  const node = ensureNodeBinary(target);
  const base = timeRuns(node, ['-e', '0'], rounds);
  const version = timeRuns(exe, ['--version'], rounds);
  const work = mkdtempSync(join(tmpdir(), 'caliop-bench-exe-'));
  try {
    const stick = join(work, 'stick');
    mkdirSync(stick);
    const env = { ...process.env, BENCH_PASSPHRASE: 'a long passphrase only for the benchmark 2026' };
    const made = spawnSync(exe, ['--stick', stick, '--batch', '--json', '--passphrase-file', '@ENV:BENCH_PASSPHRASE', 'init', '--name', 'Bench', '--email', 'bench@example.org', '--allow-online'], { env, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`init failed: ${made.stderr}`);
    const kdf = (JSON.parse(made.stdout) as { kdf: { memoryKiB: number; passes: number } }).kdf;
    const unlock = timeRuns(exe, ['--stick', stick, '--passphrase-file', '@ENV:BENCH_PASSPHRASE', 'key', 'show'], Math.min(rounds, 5), env);
    // Issue 13: the peer of the first unlock is Debian's argon2 CLI at the same parameters
    // (-r: one derivation, no verify pass), a whole process too.
    const argon2Script = `printf %s pass | argon2 saltsaltsaltsalt -id -k ${kdf.memoryKiB} -t ${kdf.passes} -p 1 -l 32 -r >/dev/null`;
    const argon2 = timeRuns('bash', ['-c', argon2Script], Math.min(rounds, 5));
    const help = timeRuns(exe, ['--help'], rounds);
    return {
      name: `executable start-up (${exe.replace(`${REPO}/`, '')}, Node 26 SEA)`,
      lines: [
        `node -e 0 (same Node 26 base binary), median of ${rounds}: wall ${base.wallMs.toFixed(0)} ms, CPU ${base.cpuMs.toFixed(0)} ms`,
        `caliop --version, median of ${rounds}: wall ${version.wallMs.toFixed(0)} ms, CPU ${version.cpuMs.toFixed(0)} ms (ratio ${(version.wallMs / base.wallMs).toFixed(2)}x wall)`,
        `caliop --help, median of ${rounds}: wall ${help.wallMs.toFixed(0)} ms, CPU ${help.cpuMs.toFixed(0)} ms (ratio ${(help.wallMs / base.wallMs).toFixed(2)}x wall; target <= 1.5x)`,
        `first unlock (key show, Argon2id ${kdf.memoryKiB / 1024} MiB t=${kdf.passes}), median of ${Math.min(rounds, 5)}: wall ${unlock.wallMs.toFixed(0)} ms, CPU ${unlock.cpuMs.toFixed(0)} ms`,
        `Debian argon2 CLI, same parameters, whole process, median of ${Math.min(rounds, 5)}: wall ${argon2.wallMs.toFixed(0)} ms, CPU ${argon2.cpuMs.toFixed(0)} ms (first unlock / argon2: ${(unlock.wallMs / argon2.wallMs).toFixed(2)}x wall, ${(unlock.cpuMs / argon2.cpuMs).toFixed(2)}x CPU; target <= 1.15x)`,
        `load average: ${loadavg().map((value) => value.toFixed(1)).join(' ')} (2 cores)`,
      ],
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
