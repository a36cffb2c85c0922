// Which Argon2id engine the vault uses (docs/decisions/kdf.md): argon2-browser's
// SIMD wasm (as run by src/edges/argon2id.ts) against hash-wasm (devDependency,
// benchmark only) and Debian's reference `argon2` CLI (native, the yardstick).
// Runs are interleaved and we report the minimum and the median, because the
// machine is shared and the minimum is the figure least disturbed by others.
//
//   node build/scripts/bench/argon2-engines.js [rounds] [parallelism...]

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { argon2id as hashWasmArgon2id } from 'hash-wasm';
import { deriveArgon2id } from '../../src/edges/argon2id.js';
import { KDF_FLOOR, type KdfParams } from '../../src/core/vault-format.js';

export const BENCH_PASSPHRASE = 'pass';
/** The Debian CLI takes the salt as a command-line string (at least 8 characters). */
export const BENCH_SALT = 'saltsaltsaltsalt';

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** One run of the Debian reference CLI; returns the raw hash (hex) and the wall time in ms. */
export function runNativeArgon2(params: KdfParams): { hex: string; ms: number } {
  const log2Memory = Math.log2(params.memoryKiB);
  const memoryArgs = Number.isInteger(log2Memory) ? ['-m', String(log2Memory)] : ['-k', String(params.memoryKiB)];
  const started = performance.now();
  const output = execFileSync(
    'argon2',
    [BENCH_SALT, '-id', ...memoryArgs, '-t', String(params.passes), '-p', String(params.parallelism), '-l', '32', '-r'],
    { input: BENCH_PASSPHRASE },
  );
  return { hex: output.toString().trim(), ms: performance.now() - started };
}

export function summarise(samples: number[]): { min: number; median: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0] ?? NaN, median: sorted[Math.floor(sorted.length / 2)] ?? NaN };
}

type Engine = 'argon2-browser' | 'hash-wasm';

/** One derivation with a freshly loaded engine, as a real unlock does (one per process); returns ms. */
async function deriveOnce(engine: Engine, params: KdfParams): Promise<{ hex: string; ms: number }> {
  const passphrase = new TextEncoder().encode(BENCH_PASSPHRASE);
  const salt = new TextEncoder().encode(BENCH_SALT);
  const started = performance.now();
  const output =
    engine === 'argon2-browser'
      ? await deriveArgon2id(passphrase, salt, params)
      : await hashWasmArgon2id({
          password: passphrase, salt, parallelism: params.parallelism, iterations: params.passes,
          memorySize: params.memoryKiB, hashLength: 32, outputType: 'binary',
        });
  return { hex: toHex(output), ms: performance.now() - started };
}

/** Runs deriveOnce in a fresh node process (this file, with --one), so no engine reuses warm memory. */
function deriveInChild(engine: Engine, params: KdfParams): { hex: string; ms: number } {
  const output = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--one', engine, JSON.stringify(params)]);
  return JSON.parse(output.toString()) as { hex: string; ms: number };
}

export async function benchArgon2Engines(rounds = 5, parallelisms: number[] = [1, 4]): Promise<{ name: string; lines: string[] }> {
  const lines: string[] = [];
  for (const parallelism of parallelisms) {
    const params: KdfParams = { ...KDF_FLOOR, parallelism };
    const times = { 'argon2-browser': [] as number[], 'hash-wasm': [] as number[], native: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const browser = deriveInChild('argon2-browser', params);
      const hashWasm = deriveInChild('hash-wasm', params);
      const native = runNativeArgon2(params);
      times['argon2-browser'].push(browser.ms);
      times['hash-wasm'].push(hashWasm.ms);
      times.native.push(native.ms);
      if (browser.hex !== native.hex || hashWasm.hex !== native.hex) {
        throw new Error(`engines disagree at p=${parallelism}: ${browser.hex} ${hashWasm.hex} ${native.hex}`);
      }
    }
    const native = summarise(times.native);
    for (const [engine, samples] of Object.entries(times)) {
      const { min, median } = summarise(samples);
      lines.push(
        `m=${params.memoryKiB} KiB t=${params.passes} p=${parallelism}  ${engine.padEnd(14)} min ${min.toFixed(0).padStart(5)} ms  ` +
          `median ${median.toFixed(0).padStart(5)} ms  ratio to native: min ${(min / native.min).toFixed(2)}x, median ${(median / native.median).toFixed(2)}x`,
      );
    }
  }
  return { name: `Argon2id engines (${rounds} interleaved rounds, one fresh process per derivation, outputs checked equal)`, lines };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain && process.argv[2] === '--one') {
  const result = await deriveOnce(process.argv[3] as Engine, JSON.parse(process.argv[4] ?? '{}') as KdfParams);
  process.stdout.write(JSON.stringify(result));
} else if (isMain) {
  const rounds = Number(process.argv[2] ?? 5);
  const parallelisms = process.argv.slice(3).map(Number);
  const result = await benchArgon2Engines(rounds, parallelisms.length > 0 ? parallelisms : undefined);
  console.log(result.name);
  for (const line of result.lines) console.log('  ' + line);
}
