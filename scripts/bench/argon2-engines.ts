// Which Argon2id engine the vault uses (docs/decisions/kdf.md): @phi-ag/argon2's
// SIMD wasm (the product's, through src/edges/argon2id.ts) against hash-wasm,
// argon2-browser's SIMD wasm and Debian's reference `argon2` CLI (native, the
// yardstick). hash-wasm and argon2-browser are here for comparison only.
//
// Each derivation runs in a fresh process, as a real unlock does, and the three
// are interleaved round by round. We report wall time and CPU time (user +
// system): on a busy shared machine CPU time is the steadier figure, and the
// paired comparison (which engine won each round) the most telling.
//
//   node build/scripts/bench/argon2-engines.js [rounds] [parallelism...]

import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { argon2id as hashWasmArgon2id } from 'hash-wasm';
import { deriveArgon2id } from '../../src/edges/argon2id.js';
import { KDF_FLOOR, type KdfParams } from '../../src/core/vault-format.js';

const PASSPHRASE = 'pass';
/** The Debian CLI takes the salt as a command-line string (at least 8 characters). */
const SALT = 'saltsaltsaltsalt';

type Engine = 'phi-ag/argon2' | 'hash-wasm' | 'argon2-browser';
const ENGINES: Engine[] = ['phi-ag/argon2', 'hash-wasm', 'argon2-browser'];
interface Run {
  hex: string;
  wallMs: number;
  cpuMs: number;
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

// --- argon2-browser, for comparison only --------------------------------------
// Its emscripten loader cannot run in Node (it fetch()es a path and installs
// process-wide error handlers), so we instantiate its SIMD wasm directly. Export
// names of argon2-browser 1.18.0 (minified; from its dist/argon2.js): imports
// a.a = emscripten_memcpy_big, a.b = emscripten_resize_heap; exports c = memory,
// d = __wasm_call_ctors, e = argon2_hash, f = malloc, g = free.
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface Argon2BrowserExports {
  c: WasmMemory;
  d: () => void;
  e: (...args: number[]) => number;
  f: (size: number) => number;
  g: (pointer: number) => void;
}
const wasm = (globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: object } }> };
}).WebAssembly;

async function argon2BrowserDerive(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  const bytes = await readFile(createRequire(import.meta.url).resolve('argon2-browser/dist/argon2-simd.wasm'));
  let memory: WasmMemory | undefined;
  const { instance } = await wasm.instantiate(new Uint8Array(bytes), {
    a: {
      a: (dest: number, src: number, count: number): void => { new Uint8Array(memory!.buffer).copyWithin(dest, src, src + count); },
      b: (requested: number): number => {
        const current = memory!.buffer.byteLength;
        if (requested >>> 0 <= current) return 1;
        try { memory!.grow(Math.ceil(((requested >>> 0) - current) / 65536)); return 1; } catch { return 0; }
      },
    },
  });
  const engine = instance.exports as Argon2BrowserExports;
  memory = engine.c;
  engine.d();
  const copyIn = (data: Uint8Array): number => {
    const pointer = engine.f(data.length);
    new Uint8Array(engine.c.buffer, pointer, data.length).set(data);
    return pointer;
  };
  const output = engine.f(32);
  // argon2_hash(t, m, p, pwd, pwdlen, salt, saltlen, hash, hashlen, encoded, encodedlen, type = 2 (id), version = 0x13)
  const result = engine.e(params.passes, params.memoryKiB, params.parallelism, copyIn(passphrase), passphrase.length,
    copyIn(salt), salt.length, output, 32, 0, 0, 2, 0x13);
  if (result !== 0) throw new Error(`argon2-browser: error ${result}`);
  return new Uint8Array(engine.c.buffer, output, 32).slice();
}

// --- the runs -----------------------------------------------------------------

async function deriveOnce(engine: Engine, params: KdfParams): Promise<Run> {
  const passphrase = new TextEncoder().encode(PASSPHRASE);
  const salt = new TextEncoder().encode(SALT);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const output =
    engine === 'phi-ag/argon2'
      ? await deriveArgon2id(passphrase, salt, params)
      : engine === 'hash-wasm'
        ? await hashWasmArgon2id({
            password: passphrase, salt, parallelism: params.parallelism, iterations: params.passes,
            memorySize: params.memoryKiB, hashLength: 32, outputType: 'binary',
          })
        : await argon2BrowserDerive(passphrase, salt, params);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { hex: toHex(output), wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** deriveOnce in a fresh node process (this file with --one), so no engine reuses warm memory. */
function deriveInChild(engine: Engine, params: KdfParams): Run {
  const output = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--one', engine, JSON.stringify(params)]);
  return JSON.parse(output.toString()) as Run;
}

/** One run of the reference CLI; CPU time of the child from the shell's `times`. */
export function runNativeArgon2(params: KdfParams): Run {
  const log2Memory = Math.log2(params.memoryKiB);
  const memoryArg = Number.isInteger(log2Memory) ? `-m ${log2Memory}` : `-k ${params.memoryKiB}`;
  const script = `printf %s ${PASSPHRASE} | argon2 ${SALT} -id ${memoryArg} -t ${params.passes} -p ${params.parallelism} -l 32 -r; times`;
  const started = performance.now();
  const lines = execFileSync('bash', ['-c', script]).toString().trim().split('\n');
  const wallMs = performance.now() - started;
  const seconds = [...(lines.at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { hex: lines[0] ?? '', wallMs, cpuMs: ((seconds[0] ?? NaN) + (seconds[1] ?? NaN)) * 1000 };
}

function stats(values: number[]): { min: number; median: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0] ?? NaN, median: sorted[Math.floor(sorted.length / 2)] ?? NaN };
}

export async function benchArgon2Engines(rounds = 5, parallelisms: number[] = [1]): Promise<{ name: string; lines: string[] }> {
  const lines: string[] = [];
  for (const parallelism of parallelisms) {
    const params: KdfParams = { ...KDF_FLOOR, parallelism };
    const runs: Record<Engine | 'native', Run[]> = { 'phi-ag/argon2': [], 'hash-wasm': [], 'argon2-browser': [], native: [] };
    for (let round = 0; round < rounds; round++) {
      // rotate the order so no engine always runs first
      for (let i = 0; i < ENGINES.length; i++) {
        const engine = ENGINES[(round + i) % ENGINES.length]!;
        runs[engine].push(deriveInChild(engine, params));
      }
      runs.native.push(runNativeArgon2(params));
      const hexes = new Set(Object.values(runs).map((list) => list.at(-1)!.hex));
      if (hexes.size !== 1) throw new Error(`engines disagree at p=${parallelism}: ${[...hexes].join(' ')}`);
    }
    const native = { wall: stats(runs.native.map((r) => r.wallMs)), cpu: stats(runs.native.map((r) => r.cpuMs)) };
    for (const [engine, samples] of Object.entries(runs)) {
      const wall = stats(samples.map((r) => r.wallMs));
      const cpu = stats(samples.map((r) => r.cpuMs));
      lines.push(
        `p=${parallelism} ${engine.padEnd(14)} wall min ${wall.min.toFixed(0).padStart(5)} median ${wall.median.toFixed(0).padStart(5)} ms` +
          ` (${(wall.median / native.wall.median).toFixed(2)}x native) | CPU min ${cpu.min.toFixed(0).padStart(5)} median ${cpu.median.toFixed(0).padStart(5)} ms` +
          ` (${(cpu.median / native.cpu.median).toFixed(2)}x native)`,
      );
    }
    for (const other of ['hash-wasm', 'argon2-browser'] as const) {
      const wins = runs['phi-ag/argon2'].filter((run, i) => run.cpuMs < runs[other][i]!.cpuMs).length;
      const ratios = runs['phi-ag/argon2'].map((run, i) => runs[other][i]!.cpuMs / run.cpuMs);
      lines.push(`p=${parallelism} paired CPU: phi-ag/argon2 faster than ${other} in ${wins}/${rounds} rounds, ${other}/phi-ag/argon2 median ${stats(ratios).median.toFixed(2)}x`);
    }
  }
  return { name: `Argon2id engines, m=${KDF_FLOOR.memoryKiB} KiB t=${KDF_FLOOR.passes} (${rounds} interleaved rounds, fresh process each, outputs checked equal)`, lines };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain && process.argv[2] === '--one') {
  const run = await deriveOnce(process.argv[3] as Engine, JSON.parse(process.argv[4] ?? '{}') as KdfParams);
  process.stdout.write(JSON.stringify(run));
} else if (isMain) {
  const rounds = Number(process.argv[2] ?? 5);
  const parallelisms = process.argv.slice(3).map(Number);
  const result = await benchArgon2Engines(rounds, parallelisms.length > 0 ? parallelisms : undefined);
  console.log(result.name);
  for (const line of result.lines) console.log('  ' + line);
}
