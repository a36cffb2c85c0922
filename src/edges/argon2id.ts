// The Argon2id engine of the vault (docs/vault-format.md §4; the choice and its
// figures: docs/decisions/kdf.md).
//
// hash-wasm's Argon2id: pure WebAssembly whose bytes ship inside its JavaScript,
// so it runs unchanged in Node, in a bundle and in a single executable (no native
// addon, no asset file, no fetch()). Each call instantiates a fresh wasm module,
// so the 256 MiB of Argon2 memory is released afterwards.
//
// The clock is read here (calibration), never in src/core.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { argon2id } from 'hash-wasm';
import { CaliopError } from '../errors.js';
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

/** True when CALIOP_UNSAFE_TEST_KDF=1: test suites only (docs/vault-format.md §5.4). */
export function unsafeTestKdfAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[UNSAFE_TEST_KDF_ENV] === '1';
}

/**
 * Argon2id (RFC 9106, version 0x13) of the passphrase, 32-byte output
 * (docs/vault-format.md §4). The parameters are checked to be computable and
 * within the ceiling (§5.2), not against the floor: a vault made with the test
 * parameters must open. The passphrase must not be empty (the engine refuses it;
 * vault-file.ts never gets that far).
 */
export async function deriveArgon2id(passphrase: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  if (!(passphrase instanceof Uint8Array) || passphrase.length === 0) throw new TypeError('passphrase must be a non-empty Uint8Array');
  if (!(salt instanceof Uint8Array) || salt.length < 8) throw new TypeError('salt must be a Uint8Array of at least 8 bytes');
  assertKdfParamsComputable(params);
  try {
    return await argon2id({
      password: passphrase,
      salt,
      parallelism: params.parallelism,
      iterations: params.passes,
      memorySize: params.memoryKiB,
      hashLength: ARGON2_OUTPUT_LENGTH,
      outputType: 'binary',
    });
  } catch (cause) {
    // e.g. the host cannot give the wasm engine that much memory
    throw new CaliopError('internal', `Argon2id failed (m=${params.memoryKiB} KiB): ${(cause as Error).message}`, { cause });
  }
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

// --- transition: argon2-browser's wasm bytes --------------------------------------

/** The node:sea asset name scripts/build-exe.ts embeds argon2-browser's wasm under. */
export const ARGON2_WASM_ASSET = 'argon2-simd.wasm';

interface SeaModule {
  isSea?: () => boolean;
  getRawAsset?: (key: string) => ArrayBuffer;
  getAsset?: (key: string) => ArrayBuffer;
}

/**
 * @deprecated The vault no longer runs argon2-browser (docs/decisions/kdf.md:
 * hash-wasm was faster here, and carries its wasm inside its JavaScript, so the
 * single executable needs no asset). Kept only because scripts/exe-placeholder.ts
 * still calls it; remove both together. Returns argon2-browser's SIMD wasm: the
 * single executable's asset when running inside one, else from node_modules.
 */
export async function loadArgon2Wasm(): Promise<Uint8Array> {
  let sea: SeaModule | undefined;
  try {
    sea = (await import('node:sea' as string)) as SeaModule; // absent before Node 20
  } catch {
    sea = undefined;
  }
  if (sea?.isSea?.() === true) {
    const getAsset = sea.getRawAsset ?? sea.getAsset;
    if (getAsset === undefined) throw new CaliopError('internal', 'this single executable cannot read its assets');
    return new Uint8Array(getAsset.call(sea, ARGON2_WASM_ASSET)).slice();
  }
  return new Uint8Array(await readFile(createRequire(import.meta.url).resolve('argon2-browser/dist/argon2-simd.wasm')));
}
