// The Argon2id engine of the vault (docs/vault-format.md §4; choice: docs/decisions/kdf.md).
//
// We run argon2-browser's SIMD WebAssembly build, the reference Argon2 C code
// compiled by emscripten. Its JavaScript loader is not used: in Node it tries to
// fetch() a file path, and it installs process-wide 'uncaughtException' and
// 'unhandledRejection' handlers. Instead we instantiate the .wasm ourselves and
// give it the two functions it imports (memcpy and heap growth). No native addon.
//
// The clock is read here (calibration), never in src/core.

import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { CaliopError } from '../errors.js';
import {
  ARGON2_OUTPUT_LENGTH,
  UNSAFE_TEST_KDF,
  assertKdfParamsComputable,
  calibratedKdfParams,
  KDF_FLOOR,
  type KdfParams,
} from '../core/vault-format.js';

/** The name under which the single executable embeds the wasm (node:sea asset). */
export const ARGON2_WASM_ASSET = 'argon2-simd.wasm';

/** Environment variable that lets test suites create vaults below the floor (docs/vault-format.md §5.4). */
export const UNSAFE_TEST_KDF_ENV = 'CALIOP_UNSAFE_TEST_KDF';

/** True when CALIOP_UNSAFE_TEST_KDF=1: test suites only (docs/vault-format.md §5.4). */
export function unsafeTestKdfAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[UNSAFE_TEST_KDF_ENV] === '1';
}

interface SeaModule {
  isSea?: () => boolean;
  getRawAsset?: (key: string) => ArrayBuffer;
  getAsset?: (key: string) => ArrayBuffer;
}

async function loadSeaModule(): Promise<SeaModule | undefined> {
  try {
    // node:sea exists since Node 20.0 / 18.16; guard anyway for older or stripped runtimes.
    return (await import('node:sea' as string)) as SeaModule;
  } catch {
    return undefined;
  }
}

/**
 * The bytes of argon2-browser's SIMD wasm: from the single executable's asset
 * 'argon2-simd.wasm' when running inside one, else from node_modules.
 */
export async function loadArgon2Wasm(): Promise<Uint8Array> {
  const sea = await loadSeaModule();
  if (sea?.isSea?.() === true) {
    const getAsset = sea.getRawAsset ?? sea.getAsset;
    if (getAsset === undefined) {
      throw new CaliopError('internal', 'this single executable cannot read its embedded assets (node:sea getAsset missing)');
    }
    try {
      // getRawAsset returns a view of the executable's own memory: copy it.
      return new Uint8Array(getAsset.call(sea, ARGON2_WASM_ASSET)).slice();
    } catch (cause) {
      throw new CaliopError('internal', `the single executable holds no "${ARGON2_WASM_ASSET}" asset`, { cause });
    }
  }
  const require = createRequire(import.meta.url);
  const path = require.resolve('argon2-browser/dist/argon2-simd.wasm');
  return new Uint8Array(await readFile(path));
}

// --- the wasm module ----------------------------------------------------------

// Export names of argon2-browser 1.18.0's emscripten build (minified; mapping read
// from its dist/argon2.js loader): imports a.a = emscripten_memcpy_big,
// a.b = emscripten_resize_heap; exports c = memory, d = __wasm_call_ctors,
// e = argon2_hash, f = malloc, g = free, i = argon2_error_message.
// The WebAssembly global, typed here: tsconfig's lib (ES2023, no DOM) does not declare it.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: object }>;
}
const wasm: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Argon2WasmExports {
  c: WasmMemory;
  d: () => void;
  e: (
    tCost: number, mCost: number, parallelism: number,
    pwd: number, pwdLen: number, salt: number, saltLen: number,
    hash: number, hashLen: number, encoded: number, encodedLen: number,
    type: number, version: number,
  ) => number;
  f: (size: number) => number;
  g: (pointer: number) => void;
}

const ARGON2_TYPE_ID = 2; // argon2.h: Argon2_id
const ARGON2_VERSION_13 = 0x13; // RFC 9106 §3.1: v = 0x13
const WASM_MAX_HEAP = 2147418112; // the build's maximum heap (2 GiB - 64 KiB)

let compiledModule: Promise<WasmModule> | undefined;

function compileArgon2(): Promise<WasmModule> {
  compiledModule ??= loadArgon2Wasm().then((bytes) => wasm.compile(bytes));
  compiledModule.catch(() => { compiledModule = undefined; });
  return compiledModule;
}

/** A fresh instance per derivation, so its (large) memory is released afterwards. */
async function instantiateArgon2(): Promise<Argon2WasmExports> {
  const module = await compileArgon2();
  let memory: WasmMemory | undefined;
  const imports = {
    a: {
      a: (dest: number, src: number, count: number): void => {
        new Uint8Array(memory!.buffer).copyWithin(dest, src, src + count);
      },
      b: (requested: number): number => {
        requested >>>= 0;
        if (requested > WASM_MAX_HEAP) return 0;
        const current = memory!.buffer.byteLength;
        if (requested <= current) return 1;
        try {
          memory!.grow(Math.ceil((requested - current) / 65536));
          return 1;
        } catch {
          return 0;
        }
      },
    },
  };
  const instance = await wasm.instantiate(module, imports);
  const exports = instance.exports as unknown as Argon2WasmExports;
  memory = exports.c;
  exports.d();
  return exports;
}

function copyIn(engine: Argon2WasmExports, bytes: Uint8Array): number {
  const pointer = engine.f(Math.max(bytes.length, 1));
  if (pointer === 0) throw new CaliopError('internal', 'Argon2id: out of wasm memory');
  new Uint8Array(engine.c.buffer, pointer, bytes.length).set(bytes);
  return pointer;
}

/**
 * Argon2id (RFC 9106, version 0x13) of the passphrase, 32-byte output.
 * The parameters are checked to be computable and below the ceiling
 * (docs/vault-format.md §5.2), not against the floor: opening a vault made with
 * the test parameters must work.
 */
export async function deriveArgon2id(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  assertKdfParamsComputable(params);
  const engine = await instantiateArgon2();
  const passphrasePointer = copyIn(engine, passphrase);
  const saltPointer = copyIn(engine, salt);
  const outputPointer = engine.f(ARGON2_OUTPUT_LENGTH);
  try {
    const result = engine.e(
      params.passes, params.memoryKiB, params.parallelism,
      passphrasePointer, passphrase.length, saltPointer, salt.length,
      outputPointer, ARGON2_OUTPUT_LENGTH, 0, 0,
      ARGON2_TYPE_ID, ARGON2_VERSION_13,
    );
    if (result !== 0) {
      // argon2.h: ARGON2_MEMORY_ALLOCATION_ERROR = -22
      const why = result === -22 ? `could not allocate ${params.memoryKiB} KiB` : `argon2 error code ${result}`;
      throw new CaliopError('internal', `Argon2id failed: ${why}`);
    }
    return new Uint8Array(engine.c.buffer, outputPointer, ARGON2_OUTPUT_LENGTH).slice();
  } finally {
    // The reference code wipes its own memory blocks; wipe our copies of the inputs and output too.
    const heap = new Uint8Array(engine.c.buffer);
    heap.fill(0, passphrasePointer, passphrasePointer + passphrase.length);
    heap.fill(0, outputPointer, outputPointer + ARGON2_OUTPUT_LENGTH);
    engine.g(passphrasePointer);
    engine.g(saltPointer);
    engine.g(outputPointer);
  }
}

/**
 * KDF parameters for a new vault on this machine (docs/vault-format.md §5.3):
 * time one derivation at the floor, then scale the passes so one unlock takes
 * about targetMs. With CALIOP_UNSAFE_TEST_KDF=1, the test parameters (§5.4).
 */
export async function calibrateKdf(options: { targetMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<KdfParams> {
  if (unsafeTestKdfAllowed(options.env ?? process.env)) return { ...UNSAFE_TEST_KDF };
  const passphrase = new Uint8Array(16);
  const salt = new Uint8Array(16);
  await deriveArgon2id(passphrase, salt, { ...KDF_FLOOR, memoryKiB: 1024, passes: 1 }); // warm up: compile the wasm
  const started = performance.now();
  await deriveArgon2id(passphrase, salt, KDF_FLOOR);
  const measuredMs = performance.now() - started;
  return calibratedKdfParams(measuredMs, options.targetMs);
}
