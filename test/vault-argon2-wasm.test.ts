// The Argon2 engine's bytes (docs/decisions/kdf.md): src/edges/argon2id-wasm.ts
// must be exactly @phi-ag/argon2's dist/argon2.wasm, as its generator writes it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { argon2WasmModuleSource, ARGON2_WASM_MODULE_PATH } from '../scripts/make-argon2-wasm-module.js';
import { deriveArgon2id, loadArgon2Wasm, startArgon2id } from '../src/edges/argon2id.js';

const REPO = join(import.meta.dirname, '..');

it('src/edges/argon2id-wasm.ts is what scripts/make-argon2-wasm-module.ts makes from the installed package', async () => {
  expect(readFileSync(join(REPO, ARGON2_WASM_MODULE_PATH), 'utf8')).toBe(await argon2WasmModuleSource());
});

it('the wasm needs no imports and exports the reference C functions we call', async () => {
  const wasm = (globalThis as unknown as { WebAssembly: { Module: { new (bytes: Uint8Array): object; imports(m: object): unknown[]; exports(m: object): Array<{ name: string }> } } }).WebAssembly;
  const module = new wasm.Module(await loadArgon2Wasm());
  expect(wasm.Module.imports(module)).toEqual([]);
  const names = wasm.Module.exports(module).map((entry) => entry.name);
  for (const name of ['memory', '_initialize', 'malloc', 'free', 'argon2_hash', 'argon2_error_message']) expect(names).toContain(name);
});

it('derives what the Debian reference CLI derives (echo -n password | argon2 somesalt -id -k 64 -t 2 -p 1 -l 32 -r)', async () => {
  // Value from the Debian argon2 CLI on this machine; also checked live in test/vault-format.test.ts.
  const output = await deriveArgon2id(new TextEncoder().encode('password'), new TextEncoder().encode('somesalt'), {
    algorithm: 'argon2id', memoryKiB: 64, passes: 2, parallelism: 1,
  });
  expect(Buffer.from(output).toString('hex')).toBe(KNOWN_ANSWER);
});

const KNOWN_ANSWER = '16a1a498734609dd01456da406de9f3d9da93e6c86c300a12fc1465214ce4922';

describe('Argon2id in a worker thread (docs/vault-format.md §4.1)', () => {
  it('gives the same 32 bytes as the in-thread engine, and the RFC 9106 answer for a real vault size', async () => {
    const derive = deriveArgon2id;
    const passphrase = new TextEncoder().encode('worker passphrase');
    const salt = new Uint8Array(16).fill(3);
    const params = { algorithm: 'argon2id', memoryKiB: 8192, passes: 1, parallelism: 1 } as const;
    const inWorker = await derive(passphrase, salt, params, { inWorker: true });
    const inThread = await derive(passphrase, salt, params, { inWorker: false });
    expect(Buffer.from(inWorker).toString('hex')).toBe(Buffer.from(inThread).toString('hex'));
    expect(passphrase).toEqual(new TextEncoder().encode('worker passphrase')); // the caller's bytes are left alone
    // The smallest legal memory works too, and a real vault's size goes to a worker by default (not asserted on time).
    await expect(derive(passphrase, salt, { ...params, memoryKiB: 8 }, { inWorker: true })).resolves.toHaveLength(32);
  });

  it('startArgon2id settles once the worker runs, before the derivation ends (issue 13: the program loads meanwhile)', async () => {
    const passphrase = new TextEncoder().encode('early start');
    const salt = new Uint8Array(16).fill(5);
    const params = { algorithm: 'argon2id', memoryKiB: 32 * 1024, passes: 1, parallelism: 1 } as const;
    const run = await startArgon2id(passphrase, salt, params);
    let settled = false;
    void run.output.then(() => { settled = true; }, () => { settled = true; });
    // Microtasks only: the worker's answer needs a turn of the event loop, so a start that
    // had waited for the derivation is the only way `output` could have settled by now.
    for (let tick = 0; tick < 10; tick += 1) await null;
    expect(settled).toBe(false);
    expect(Buffer.from(await run.output).toString('hex')).toBe(Buffer.from(await deriveArgon2id(passphrase, salt, params, { inWorker: false })).toString('hex'));
  });
});
