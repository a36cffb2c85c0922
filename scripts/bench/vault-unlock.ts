// Vault unlock time against Debian's reference `argon2` CLI with the same
// parameters, measured in the same run (issue 2: goal within 1.3x).
//
// A real vault is created at the floor parameters (m = 256 MiB, t = 3, p = 1,
// docs/vault-format.md §5.1) in a temporary folder, then unlocked with
// unlockVault() — read, parse, Argon2id in WebAssembly, HKDF, key check,
// XChaCha20-Poly1305 — interleaved with runs of
//   echo -n pass | argon2 saltsaltsaltsalt -id -m 18 -t 3 -p 1 -l 32 -r
// The -r matters: without it the CLI prints the encoded hash and then runs
// argon2_verify on it, i.e. a second full derivation, doubling its time.
// We report the minimum and the median wall time of each, and the CPU time
// (user + system), which a busy shared machine disturbs less than wall time.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KDF_FLOOR, type KdfParams } from '../../src/core/vault-format.js';
import { createVault, unlockVault } from '../../src/edges/vault-file.js';

const PASSPHRASE = 'pass';
const NATIVE_SALT = 'saltsaltsaltsalt';

interface Sample {
  wallMs: number;
  cpuMs: number;
}

function summary(samples: Sample[], key: keyof Sample): { min: number; median: number } {
  const sorted = samples.map((sample) => sample[key]).sort((a, b) => a - b);
  return { min: sorted[0] ?? NaN, median: sorted[Math.floor(sorted.length / 2)] ?? NaN };
}

/** One run of the reference CLI (one derivation: -r, see above), timed from here (wall) and by the shell's `times` (CPU of the child). */
function runNative(params: KdfParams): Sample {
  const log2Memory = Math.log2(params.memoryKiB);
  const memoryArg = Number.isInteger(log2Memory) ? `-m ${log2Memory}` : `-k ${params.memoryKiB}`;
  const script = `printf %s ${PASSPHRASE} | argon2 ${NATIVE_SALT} -id ${memoryArg} -t ${params.passes} -p ${params.parallelism} -l 32 -r >/dev/null; times`;
  const started = performance.now();
  const output = execFileSync('bash', ['-c', script]).toString();
  const wallMs = performance.now() - started;
  // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.056s".
  const childLine = output.trim().split('\n').at(-1) ?? '';
  const seconds = [...childLine.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wallMs, cpuMs: ((seconds[0] ?? NaN) + (seconds[1] ?? NaN)) * 1000 };
}

async function runUnlock(vaultPath: string, passphrase: Uint8Array): Promise<Sample> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const { handle } = await unlockVault(vaultPath, passphrase);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  handle.close();
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

export async function benchVaultUnlock(options: { rounds?: number; kdf?: KdfParams } = {}): Promise<{ name: string; lines: string[] }> {
  const rounds = options.rounds ?? 5;
  const kdf = options.kdf ?? { ...KDF_FLOOR };
  const folder = await mkdtemp(join(tmpdir(), 'caliop-bench-vault-'));
  try {
    const vaultPath = join(folder, 'vault.caliop');
    const passphrase = new TextEncoder().encode(PASSPHRASE);
    (await createVault(vaultPath, passphrase, new Uint8Array(4096), kdf)).close();
    const unlock: Sample[] = [];
    const native: Sample[] = [];
    for (let round = 0; round < rounds; round++) {
      // alternate which goes first, so neither always runs on the other's freshly freed memory
      if (round % 2 === 0) {
        unlock.push(await runUnlock(vaultPath, passphrase));
        native.push(runNative(kdf));
      } else {
        native.push(runNative(kdf));
        unlock.push(await runUnlock(vaultPath, passphrase));
      }
    }
    const lines: string[] = [];
    for (const key of ['wallMs', 'cpuMs'] as const) {
      const ours = summary(unlock, key);
      const theirs = summary(native, key);
      const label = key === 'wallMs' ? 'wall' : 'CPU ';
      lines.push(
        `${label}: caliop unlock min ${ours.min.toFixed(0)} ms, median ${ours.median.toFixed(0)} ms; ` +
          `argon2 CLI min ${theirs.min.toFixed(0)} ms, median ${theirs.median.toFixed(0)} ms; ` +
          `ratio ${(ours.min / theirs.min).toFixed(2)}x (min), ${(ours.median / theirs.median).toFixed(2)}x (median); goal <= 1.30x`,
      );
    }
    return {
      name: `vault unlock vs Debian argon2 CLI (Argon2id m=${kdf.memoryKiB} KiB t=${kdf.passes} p=${kdf.parallelism}, ${rounds} interleaved rounds)`,
      lines,
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchVaultUnlock({ rounds: Number(process.argv[2] ?? 5) });
  console.log(result.name);
  for (const line of result.lines) console.log('  ' + line);
}
