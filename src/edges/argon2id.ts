// The Argon2id engines of the vault (docs/vault-format.md §4; the choice and its
// figures: docs/decisions/kdf.md).
//
// Two engines, the same bytes (RFC 9106; test/vault-argon2-engines.test.ts):
// - node:crypto's argon2 (OpenSSL 3.2 and later, Node 24.7 and later): the Node 26 of the
//   single executables. Native code on libuv's thread pool, so the event loop keeps running
//   (an interface keeps drawing) and its memory is wiped and freed when it ends.
// - the wasm of @phi-ag/argon2 (the fallback: Node 20, Bun, a Node whose OpenSSL has no
//   Argon2): the reference Argon2 C code (its SIMD-optimised path) built for WebAssembly
//   SIMD, with no imports and plainly named C exports (argon2_hash, malloc, free). We
//   instantiate it ourselves so that we pass the passphrase as bytes and get a fresh
//   instance (so fresh memory) per derivation. Its bytes live in ./argon2id-wasm.ts
//   (generated, base64), so no file is read at run time: it works the same from
//   node_modules, from a bundle and inside a single executable, with no asset. No native addon.
//
// The clock is read here (calibration), never in src/core.

import * as nodeCrypto from 'node:crypto';
import { RELEASE_BUILD } from '../build-facts.js';
import { CaliopError } from '../errors.js';
import { ARGON2_WASM_BASE64 } from './argon2id-wasm.js';
import {
  ARGON2_OUTPUT_LENGTH,
  KDF_FLOOR,
  UNSAFE_TEST_KDF,
  assertKdfParamsComputable,
  calibratedKdfParams,
  type KdfParams,
} from '../core/vault-format.js';

/** Environment variable that lets test suites create vaults below the floor (docs/vault-format.md §5.4). */
export const UNSAFE_TEST_KDF_ENV = 'CALIOP_UNSAFE_TEST_KDF';

/**
 * True when CALIOP_UNSAFE_TEST_KDF=1: test suites only (docs/vault-format.md §5.4).
 * Always false in a release executable: the switch is dead code there (src/build-facts.ts).
 */
export function unsafeTestKdfAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  if (RELEASE_BUILD) return false;
  return env[UNSAFE_TEST_KDF_ENV] === '1';
}

// --- choosing the engine ---------------------------------------------------------

/** 'node': node:crypto's argon2 (OpenSSL); 'wasm': @phi-ag/argon2's WebAssembly. The same bytes. */
export type Argon2Engine = 'node' | 'wasm';

/** node:crypto's argon2 parameters (Node 24.7+): memory in KiB, tagLength in bytes. */
interface NodeArgon2Parameters {
  readonly message: Uint8Array;
  readonly nonce: Uint8Array;
  readonly parallelism: number;
  readonly tagLength: number;
  readonly memory: number;
  readonly passes: number;
}
type NodeArgon2 = (algorithm: 'argon2id', parameters: NodeArgon2Parameters, callback: (error: Error | null, key: Uint8Array) => void) => void;
type NodeArgon2Sync = (algorithm: 'argon2id', parameters: NodeArgon2Parameters) => Uint8Array;

// Read as properties: @types/node of Node 20 does not declare them, and Node 20 has none.
const nodeArgon2 = (nodeCrypto as unknown as { argon2?: NodeArgon2 }).argon2;
const nodeArgon2Sync = (nodeCrypto as unknown as { argon2Sync?: NodeArgon2Sync }).argon2Sync;

/** Set when node:crypto's argon2 refused to run here (a Node whose OpenSSL has no Argon2): the wasm then. */
let nodeEngineRefused = false;

/**
 * The engine this process uses (docs/decisions/kdf.md): node:crypto's argon2 where it exists,
 * except under Bun, whose crypto.argon2 keeps its 256 MiB after the derivation (the wasm's
 * worker gives them back, docs/vault-format.md §4.1); else the wasm.
 */
export function defaultArgon2Engine(): Argon2Engine {
  const bun = (process.versions as Record<string, string | undefined>)['bun'] !== undefined;
  return !bun && !nodeEngineRefused && typeof nodeArgon2 === 'function' && typeof nodeArgon2Sync === 'function' ? 'node' : 'wasm';
}

function nodeParameters(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): NodeArgon2Parameters {
  // node:crypto copies message and nonce for the job and wipes its copy when it ends
  // (OpenSSL clear-free), as OpenSSL wipes its memory blocks (argon2id).
  return { message: passphrase, nonce: salt, parallelism: params.parallelism, tagLength: ARGON2_OUTPUT_LENGTH, memory: params.memoryKiB, passes: params.passes };
}

function nodeFailure(params: KdfParams, error: unknown): CaliopError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CaliopError('internal', `Argon2id failed (m=${params.memoryKiB} KiB): ${reason}`, { cause: error });
}

/**
 * Starts node:crypto's argon2 on libuv's thread pool (p lanes run on p OpenSSL threads).
 * Undefined when it refuses at once (no Argon2 in this Node's OpenSSL): the caller uses the wasm.
 */
function startNative(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> | undefined {
  let output: Promise<Uint8Array>;
  try {
    output = new Promise<Uint8Array>((resolve, reject) => {
      nodeArgon2!('argon2id', nodeParameters(passphrase, salt, params), (error, key) => {
        if (error) reject(nodeFailure(params, error));
        else {
          const bytes = new Uint8Array(key); // a copy we own; the Buffer is wiped
          key.fill(0);
          resolve(bytes);
        }
      });
    });
  } catch {
    nodeEngineRefused = true;
    return undefined;
  }
  return output;
}

function deriveNativeSync(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): Uint8Array {
  const key = nodeArgon2Sync!('argon2id', nodeParameters(passphrase, salt, params));
  const bytes = new Uint8Array(key);
  key.fill(0);
  return bytes;
}

// --- loading the wasm -------------------------------------------------------------

/**
 * The Argon2 wasm bytes (@phi-ag/argon2's dist/argon2.wasm, carried in
 * ./argon2id-wasm.ts and checked against the package by
 * test/vault-argon2-wasm.test.ts). The one place the engine's bytes come from.
 */
export async function loadArgon2Wasm(): Promise<Uint8Array> {
  return new Uint8Array(Buffer.from(ARGON2_WASM_BASE64, 'base64'));
}

// The WebAssembly global, typed here: tsconfig's lib (ES2023, no DOM) does not declare it.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
type WasmModule = object;
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: object }>;
}
const webAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The C exports we use (argon2.h of the reference implementation, wasm32). */
interface Argon2Exports {
  memory: WasmMemory;
  _initialize: () => void;
  malloc: (size: number) => number;
  free: (pointer: number) => void;
  argon2_hash: (
    tCost: number, mCost: number, parallelism: number,
    pwd: number, pwdLength: number, salt: number, saltLength: number,
    hash: number, hashLength: number, encoded: number, encodedLength: number,
    type: number, version: number,
  ) => number;
  argon2_error_message: (code: number) => number;
}

const ARGON2_TYPE_ID = 2; // argon2.h Argon2_id; RFC 9106 §3.1 y = 2
const ARGON2_VERSION_13 = 0x13; // RFC 9106 §3.1 v = 0x13

let compiled: Promise<WasmModule> | undefined;

function compileArgon2(): Promise<WasmModule> {
  if (compiled === undefined) {
    compiled = loadArgon2Wasm().then((bytes) => webAssembly.compile(bytes));
    compiled.catch(() => { compiled = undefined; }); // let a later call try again
  }
  return compiled;
}

/** A fresh instance per derivation: its memory (m KiB and more) is released with it. */
async function instantiateArgon2(): Promise<Argon2Exports> {
  const instance = await webAssembly.instantiate(await compileArgon2(), {});
  const engine = instance.exports as Argon2Exports;
  engine._initialize();
  return engine;
}

function cString(engine: Argon2Exports, pointer: number): string {
  const heap = new Uint8Array(engine.memory.buffer);
  let end = pointer;
  while (end < heap.length && heap[end] !== 0) end++;
  return new TextDecoder().decode(heap.subarray(pointer, end));
}

/**
 * Argon2id (RFC 9106, version 0x13) of the passphrase bytes, 32-byte output
 * (docs/vault-format.md §4). The parameters are checked to be computable and
 * within the ceiling (§5.2), not against the floor: a vault made with the test
 * parameters must open.
 */
export async function deriveArgon2id(
  passphrase: Uint8Array,
  salt: Uint8Array,
  params: KdfParams,
  options: Argon2idOptions = {},
): Promise<Uint8Array> {
  return (await startArgon2id(passphrase, salt, params, options)).output;
}

/**
 * engine: which engine (default: defaultArgon2Engine()). inWorker (the wasm only; setting it
 * chooses the wasm): in a worker thread or in this one (default: a worker above the test
 * parameters).
 */
export interface Argon2idOptions {
  readonly engine?: Argon2Engine;
  readonly inWorker?: boolean;
}

/** A derivation under way: `output` settles when it is done. */
export interface Argon2idRun {
  readonly output: Promise<Uint8Array>;
}

/**
 * deriveArgon2id, in two steps (issue 13): this settles as soon as the derivation runs
 * (its worker started), so the caller can load the rest of the program on the other core
 * meanwhile; `output` is the result. A derivation in this thread (the test parameters, or
 * a host that cannot start a worker) is done before this settles.
 */
export async function startArgon2id(
  passphrase: Uint8Array,
  salt: Uint8Array,
  params: KdfParams,
  options: Argon2idOptions = {},
): Promise<Argon2idRun> {
  if (!(passphrase instanceof Uint8Array)) throw new TypeError('passphrase must be a Uint8Array');
  if (!(salt instanceof Uint8Array) || salt.length < 8) throw new TypeError('salt must be a Uint8Array of at least 8 bytes'); // RFC 9106 §3.1
  assertKdfParamsComputable(params);
  const engine = options.engine ?? (options.inWorker === undefined ? defaultArgon2Engine() : 'wasm');
  if (engine === 'node') {
    // docs/vault-format.md §4.1: on libuv's thread pool, settled once under way; no worker needed.
    const output = startNative(passphrase, salt, params);
    if (output !== undefined) return { output };
    if (options.engine === 'node') throw new CaliopError('internal', 'Argon2id: node:crypto has no argon2 here');
  }
  // docs/vault-format.md §4.1: a real derivation (m above the test parameters) runs in a
  // worker thread that exits afterwards: its memory is given back before any data is
  // handled, and the interface keeps drawing meanwhile.
  if (options.inWorker ?? params.memoryKiB > WORKER_THRESHOLD_KIB) {
    let started: Promise<Uint8Array> | undefined;
    try {
      started = (await startInWorker(passphrase, salt, params)).output;
    } catch (error) {
      // A host that cannot start the worker still unlocks, in this thread (memory kept until exit).
      if (options.inWorker === true) throw error;
    }
    if (started !== undefined) {
      if (options.inWorker === true) return { output: started };
      const output = started.catch((error: unknown) => {
        if (error instanceof CaliopError && error.message.startsWith('Argon2id failed')) throw error;
        return deriveInThread(passphrase, salt, params); // the worker died without an answer: derive here
      });
      return { output };
    }
  }
  const output = await deriveInThread(passphrase, salt, params);
  return { output: Promise.resolve(output) };
}

/** Below this memory cost (the test parameters), a worker's start-up would cost more than it gives. */
const WORKER_THRESHOLD_KIB = 16 * 1024;

/**
 * The worker's whole program: instantiate the compiled module (sent, not compiled
 * again), hash, wipe its copies, post the 32 bytes back. Plain JavaScript source so
 * it runs the same from node_modules, a bundle or a single executable (no file).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { module, passphrase, salt, passes, memoryKiB, parallelism } = workerData;
  const instance = await WebAssembly.instantiate(module, {});
  const e = instance.exports;
  e._initialize();
  const copyIn = (bytes) => {
    const pointer = e.malloc(Math.max(bytes.length, 1));
    if (pointer === 0) throw new Error('out of wasm memory');
    new Uint8Array(e.memory.buffer, pointer, bytes.length).set(bytes);
    return pointer;
  };
  const pw = copyIn(passphrase);
  passphrase.fill(0);
  const sa = copyIn(salt);
  const out = e.malloc(32);
  const result = e.argon2_hash(passes, memoryKiB, parallelism, pw, passphrase.length, sa, salt.length, out, 32, 0, 0, 2, 0x13);
  const heap = new Uint8Array(e.memory.buffer);
  heap.fill(0, pw, pw + passphrase.length);
  if (result !== 0) {
    let end = e.argon2_error_message(result);
    const start = end;
    while (heap[end] !== 0) end++;
    throw new Error(new TextDecoder().decode(heap.subarray(start, end)));
  }
  const output = heap.slice(out, out + 32);
  heap.fill(0, out, out + 32);
  parentPort.postMessage({ output });
})().catch((error) => parentPort.postMessage({ error: String((error && error.message) || error) }));
`;

/** Starts the worker; settles once it runs, with the promise of its answer (settled after it exited). */
async function startInWorker(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Argon2idRun> {
  const { Worker } = await import('node:worker_threads');
  const module = await compileArgon2();
  const secret = passphrase.slice(); // the worker gets (and wipes) its own copy
  let worker: InstanceType<typeof Worker>;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, passphrase: secret, salt: salt.slice(), passes: params.passes, memoryKiB: params.memoryKiB, parallelism: params.parallelism },
    });
  } finally {
    secret.fill(0);
  }
  const output = new Promise<Uint8Array>((resolve, reject) => {
    let answer: { output?: Uint8Array; error?: string } | undefined;
    let failure: Error | undefined;
    worker.once('message', (message: { output?: Uint8Array; error?: string }) => {
      answer = message;
      void worker.terminate();
    });
    worker.once('error', (error) => {
      failure = error;
    });
    // Settled only once the worker has exited: its memory is given back by then.
    worker.once('exit', (code) => {
      if (answer?.output) resolve(new Uint8Array(answer.output));
      else if (answer?.error !== undefined) reject(new CaliopError('internal', `Argon2id failed (m=${params.memoryKiB} KiB): ${answer.error}`));
      else reject(new CaliopError('internal', `Argon2id worker exited (${code}) without an answer${failure ? `: ${failure.message}` : ''}`, { cause: failure }));
    });
  });
  return { output };
}

async function deriveInThread(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  const engine = await instantiateArgon2();
  const copyIn = (bytes: Uint8Array): number => {
    const pointer = engine.malloc(Math.max(bytes.length, 1));
    if (pointer === 0) throw new CaliopError('internal', 'Argon2id: out of wasm memory');
    new Uint8Array(engine.memory.buffer, pointer, bytes.length).set(bytes);
    return pointer;
  };
  const passphrasePointer = copyIn(passphrase);
  const saltPointer = copyIn(salt);
  const outputPointer = engine.malloc(ARGON2_OUTPUT_LENGTH);
  try {
    const result = engine.argon2_hash(
      params.passes, params.memoryKiB, params.parallelism,
      passphrasePointer, passphrase.length, saltPointer, salt.length,
      outputPointer, ARGON2_OUTPUT_LENGTH, 0, 0,
      ARGON2_TYPE_ID, ARGON2_VERSION_13,
    );
    if (result !== 0) {
      throw new CaliopError('internal', `Argon2id failed (m=${params.memoryKiB} KiB): ${cString(engine, engine.argon2_error_message(result))}`);
    }
    return new Uint8Array(engine.memory.buffer, outputPointer, ARGON2_OUTPUT_LENGTH).slice();
  } finally {
    // The reference code wipes its own memory blocks; we wipe our copies of the passphrase and output.
    const heap = new Uint8Array(engine.memory.buffer);
    heap.fill(0, passphrasePointer, passphrasePointer + passphrase.length);
    heap.fill(0, outputPointer, outputPointer + ARGON2_OUTPUT_LENGTH);
    engine.free(passphrasePointer);
    engine.free(saltPointer);
    engine.free(outputPointer);
  }
}

/** The small derivation that measures this machine's speed (estimateArgon2idMs). */
const PROBE: KdfParams = { ...KDF_FLOOR, memoryKiB: 4096, passes: 1, parallelism: 1 };

/**
 * How long a derivation with `params` will take here, in ms, from measured speed
 * (issue 13: the interface's unlock progress line shows the time left): one small
 * derivation in this thread (4 MiB, one pass: a few ms), scaled by m x t, which is what
 * Argon2id's time grows with (RFC 9106 §3.2: every pass fills all m blocks).
 */
export async function estimateArgon2idMs(params: KdfParams, engine: Argon2Engine = defaultArgon2Engine()): Promise<number> {
  const passphrase = new Uint8Array(16);
  const salt = new Uint8Array(16);
  let probe = (): Promise<unknown> => deriveInThread(passphrase, salt, PROBE);
  if (engine === 'node') {
    try {
      deriveNativeSync(passphrase, salt, PROBE); // the first run fetches OpenSSL's KDF
      probe = async () => deriveNativeSync(passphrase, salt, PROBE);
    } catch {
      nodeEngineRefused = true; // no Argon2 in this Node's OpenSSL: the unlock will use the wasm
    }
  }
  await probe(); // the first run compiles the module (wasm)
  const started = performance.now();
  await probe();
  const perKiBPass = (performance.now() - started) / (PROBE.memoryKiB * PROBE.passes);
  return params.memoryKiB * params.passes * perKiBPass;
}

/**
 * KDF parameters for a new vault on this machine (docs/vault-format.md §5.3):
 * time one derivation at the floor, then scale the passes so one unlock takes
 * about targetMs. With CALIOP_UNSAFE_TEST_KDF=1, the test parameters (§5.4).
 */
export async function calibrateKdf(options: { targetMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<KdfParams> {
  if (unsafeTestKdfAllowed(options.env ?? process.env)) return { ...UNSAFE_TEST_KDF };
  const passphrase = new Uint8Array(16).fill(0x61);
  const salt = new Uint8Array(16);
  await deriveArgon2id(passphrase, salt, { ...KDF_FLOOR, memoryKiB: 1024, passes: 1 }); // warm up: compile the wasm
  const started = performance.now();
  await deriveArgon2id(passphrase, salt, KDF_FLOOR);
  const measuredMs = performance.now() - started;
  return calibratedKdfParams(measuredMs, options.targetMs);
}
