// The vault file on the stick (docs/vault-format.md §5.4, §6, §7): create, unlock,
// save, reseal, and that failures change nothing. Real files in a temp folder.

import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { KDF_FLOOR, UNSAFE_TEST_KDF, VaultTamperedError, parseVault } from '../src/core/vault-format.js';
import { calibrateKdf } from '../src/edges/argon2id.js';
import { beginUnlockVault, createVault, readVaultHeader, unlockVault } from '../src/edges/vault-file.js';

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const PASSPHRASE = utf8('correct horse battery staple');

let folder: string;
let vaultPath: string;
const savedEnv = process.env.CALIOP_UNSAFE_TEST_KDF;

beforeAll(() => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.CALIOP_UNSAFE_TEST_KDF;
  else process.env.CALIOP_UNSAFE_TEST_KDF = savedEnv;
});
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'caliop-vault-file-'));
  vaultPath = join(folder, 'vault.caliop');
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function expectUnchangedAfter(action: () => Promise<unknown>, code: string): Promise<unknown> {
  const before = await readFile(vaultPath);
  const mtimeBefore = (await stat(vaultPath)).mtimeMs;
  const error = await action().then(() => undefined, (caught: unknown) => caught);
  expect(error).toMatchObject({ code });
  expect(Buffer.compare(await readFile(vaultPath), before)).toBe(0);
  expect((await stat(vaultPath)).mtimeMs).toBe(mtimeBefore);
  expect(await readdir(folder)).toEqual(['vault.caliop']);
  return error;
}

describe('vault file', () => {
  it('creates, unlocks, saves and reopens; no temporary file is left', async () => {
    const handle = await createVault(vaultPath, PASSPHRASE, utf8('first'), UNSAFE_TEST_KDF);
    expect(await readdir(folder)).toEqual(['vault.caliop']);
    const first = await readFile(vaultPath);
    await handle.save(utf8('second'));
    const second = await readFile(vaultPath);
    // same header and key, fresh nonce (docs/vault-format.md §3.2)
    expect(parseVault(second).header).toEqual(parseVault(first).header);
    expect(Buffer.from(parseVault(second).nonce).equals(Buffer.from(parseVault(first).nonce))).toBe(false);
    handle.close();
    const { plaintext, handle: reopened } = await unlockVault(vaultPath, PASSPHRASE);
    expect(text(plaintext)).toBe('second');
    await reopened.save(utf8('third'));
    expect(text((await unlockVault(vaultPath, PASSPHRASE)).plaintext)).toBe('third');
    expect(await readdir(folder)).toEqual(['vault.caliop']);
  });

  it('an empty passphrase is refused at creation and is a wrong passphrase at unlock', async () => {
    await expect(createVault(vaultPath, new Uint8Array(0), utf8('x'), UNSAFE_TEST_KDF)).rejects.toMatchObject({ code: 'passphrase_rejected' });
    expect(await readdir(folder)).toEqual([]);
    const handle = await createVault(vaultPath, PASSPHRASE, utf8('x'), UNSAFE_TEST_KDF);
    await expectUnchangedAfter(() => unlockVault(vaultPath, new Uint8Array(0)), 'wrong_passphrase');
    await expectUnchangedAfter(() => handle.reseal(new Uint8Array(0)), 'passphrase_rejected');
  });

  it('beginUnlockVault (issue 13: started before the program loads) opens the vault in `opened`; a wrong passphrase fails there', async () => {
    // Above the worker threshold (16 MiB): the derivation runs in a worker thread. That it is
    // still running when beginUnlockVault settles: test/vault-argon2-wasm.test.ts (startArgon2id).
    (await createVault(vaultPath, PASSPHRASE, utf8('early'), { ...UNSAFE_TEST_KDF, memoryKiB: 32 * 1024 })).close();
    const run = await beginUnlockVault(vaultPath, PASSPHRASE);
    const { plaintext, handle } = await run.opened;
    expect(text(plaintext)).toBe('early');
    handle.close();
    // A wrong passphrase fails in `opened`, not before.
    const wrong = await beginUnlockVault(vaultPath, utf8('not the passphrase'));
    await expect(wrong.opened).rejects.toMatchObject({ code: 'wrong_passphrase' });
  });

  it('readVaultHeader reports the KDF parameters without the passphrase', async () => {
    await createVault(vaultPath, PASSPHRASE, utf8('x'), UNSAFE_TEST_KDF);
    const header = await readVaultHeader(vaultPath);
    expect(header.kdf).toEqual({ algorithm: 'argon2id', memoryKiB: 8192, passes: 1, parallelism: 1 });
    expect(header.salt).toHaveLength(16);
  });

  it('refuses to replace an existing vault', async () => {
    await createVault(vaultPath, PASSPHRASE, utf8('x'), UNSAFE_TEST_KDF);
    await expectUnchangedAfter(() => createVault(vaultPath, PASSPHRASE, utf8('y'), UNSAFE_TEST_KDF), 'stick_already_initialised');
  });

  it('a missing vault is stick_not_initialised', async () => {
    await expect(unlockVault(vaultPath, PASSPHRASE)).rejects.toMatchObject({ code: 'stick_not_initialised' });
    await expect(readVaultHeader(vaultPath)).rejects.toMatchObject({ code: 'stick_not_initialised' });
  });

  it('wrong passphrase: its own error, the file byte-identical', async () => {
    await createVault(vaultPath, PASSPHRASE, utf8('x'), UNSAFE_TEST_KDF);
    await expectUnchangedAfter(() => unlockVault(vaultPath, utf8('correct horse battery stapl')), 'wrong_passphrase');
  });

  it('tampered ciphertext, tampered header, truncated, unknown version: each its error, nothing changed', async () => {
    await createVault(vaultPath, PASSPHRASE, utf8('some secret contents'), UNSAFE_TEST_KDF);
    const good = new Uint8Array(await readFile(vaultPath));
    const cases: Array<[string, Uint8Array, string, string?]> = [
      ['ciphertext', Uint8Array.from(good, (b, i) => (i === good.length - 3 ? b ^ 1 : b)), 'vault_tampered', 'ciphertext'],
      ['header', Uint8Array.from(good, (b, i) => (i === 12 ? b ^ 1 : b)), 'vault_tampered', 'header'],
      ['truncated', good.subarray(0, good.length - 5), 'vault_truncated'],
      ['version', Uint8Array.from(good, (b, i) => (i === 9 ? 7 : b)), 'vault_unsupported_version'],
    ];
    for (const [, bytes, code, part] of cases) {
      await writeFile(vaultPath, bytes);
      const error = await expectUnchangedAfter(() => unlockVault(vaultPath, PASSPHRASE), code);
      if (part !== undefined) expect((error as VaultTamperedError).part).toBe(part);
    }
  });

  it('kdf_downgrade_does_not_open: lowering the parameters (checksum recomputed) reads as a wrong passphrase, nothing decrypts', async () => {
    await createVault(vaultPath, PASSPHRASE, utf8('secret'), { ...UNSAFE_TEST_KDF, passes: 2 });
    const file = new Uint8Array(await readFile(vaultPath));
    new DataView(file.buffer).setUint32(15, 1); // passes 2 -> 1
    file.set(sha256(file.subarray(0, 44)), 44); // a deliberate attacker recomputes the unkeyed checksum
    await writeFile(vaultPath, file);
    await expectUnchangedAfter(() => unlockVault(vaultPath, PASSPHRASE), 'wrong_passphrase');
  });

  it('memory_exhaustion_header_refused: a header asking for 4 GiB is refused before any Argon2id run', async () => {
    await createVault(vaultPath, PASSPHRASE, utf8('secret'), UNSAFE_TEST_KDF);
    const file = new Uint8Array(await readFile(vaultPath));
    new DataView(file.buffer).setUint32(11, 4 * 1024 * 1024); // memoryKiB = 4 GiB
    file.set(sha256(file.subarray(0, 44)), 44);
    await writeFile(vaultPath, file);
    // CPU time of this process, not wall time: an Argon2id run (node:crypto's threads or the wasm's
    // worker) is counted in it, a loaded machine's waits are not (a wall-clock second can pass at load 8+).
    const cpu = process.cpuUsage();
    const error = await expectUnchangedAfter(() => unlockVault(vaultPath, PASSPHRASE), 'vault_tampered');
    expect((error as VaultTamperedError).part).toBe('header');
    expect((error as Error).message).toMatch(/ceiling/);
    const used = process.cpuUsage(cpu);
    expect((used.user + used.system) / 1000).toBeLessThan(1000);
  });

  it('kdf_stall_header_refused: 1 GiB and 64 passes (the issue 12 case) is above what init could write: refused before any Argon2id run', async () => {
    await createVault(vaultPath, PASSPHRASE, utf8('secret'), UNSAFE_TEST_KDF);
    const file = new Uint8Array(await readFile(vaultPath));
    const view = new DataView(file.buffer);
    view.setUint32(11, 1024 * 1024); // memoryKiB = 1 GiB
    view.setUint32(15, 64); // passes
    file.set(sha256(file.subarray(0, 44)), 44);
    await writeFile(vaultPath, file);
    const error = await expectUnchangedAfter(() => unlockVault(vaultPath, PASSPHRASE), 'vault_tampered');
    expect((error as VaultTamperedError).part).toBe('header');
    expect((error as Error).message).toMatch(/memory 1048576 KiB is above the ceiling of 262144 KiB/);
  });

  it('reseal: new salt, the old passphrase no longer opens, the new one gives the same contents', async () => {
    const handle = await createVault(vaultPath, PASSPHRASE, utf8('keys and contacts'), UNSAFE_TEST_KDF);
    const oldSalt = (await readVaultHeader(vaultPath)).salt;
    const newPassphrase = utf8('a brand new passphrase');
    await handle.reseal(newPassphrase, { ...UNSAFE_TEST_KDF, passes: 2 });
    const header = await readVaultHeader(vaultPath);
    expect(Buffer.from(header.salt).equals(Buffer.from(oldSalt))).toBe(false);
    expect(header.kdf.passes).toBe(2);
    expect(handle.header.kdf.passes).toBe(2);
    await expect(unlockVault(vaultPath, PASSPHRASE)).rejects.toMatchObject({ code: 'wrong_passphrase' });
    expect(text((await unlockVault(vaultPath, newPassphrase)).plaintext)).toBe('keys and contacts');
    // the handle saves under the new key
    await handle.save(utf8('after reseal'));
    expect(text((await unlockVault(vaultPath, newPassphrase)).plaintext)).toBe('after reseal');
  });

  it('removes leftover temporary files of an interrupted write on a successful unlock only, and ignores other files', async () => {
    await createVault(vaultPath, PASSPHRASE, utf8('x'), UNSAFE_TEST_KDF);
    await writeFile(join(folder, 'vault.caliop.partial-0123abcd'), 'half a vault');
    await writeFile(join(folder, 'notes.txt'), 'not ours');
    await readVaultHeader(vaultPath); // reading the header writes nothing
    await expect(unlockVault(vaultPath, utf8('wrong'))).rejects.toMatchObject({ code: 'wrong_passphrase' }); // nor does a failed unlock
    expect((await readdir(folder)).sort()).toEqual(['notes.txt', 'vault.caliop', 'vault.caliop.partial-0123abcd']);
    await unlockVault(vaultPath, PASSPHRASE);
    expect((await readdir(folder)).sort()).toEqual(['notes.txt', 'vault.caliop']);
  });

  it('a failed write is stick_write_failed and keeps the previous vault', async () => {
    const handle = await createVault(vaultPath, PASSPHRASE, utf8('previous'), UNSAFE_TEST_KDF);
    // The rename cannot replace a non-empty folder: the write fails after the temporary file was written.
    const other = await createVault(join(folder, 'other.caliop'), PASSPHRASE, utf8('y'), UNSAFE_TEST_KDF);
    await rm(join(folder, 'other.caliop'));
    await mkdir(join(folder, 'other.caliop'));
    await writeFile(join(folder, 'other.caliop', 'inside'), 'x');
    await expect(other.save(utf8('z'))).rejects.toMatchObject({ code: 'stick_write_failed' });
    expect((await readdir(folder)).filter((name) => name.includes('.partial-'))).toEqual([]);
    // and a vault whose folder vanished (stick pulled out)
    await rm(folder, { recursive: true });
    await expect(handle.save(utf8('lost'))).rejects.toMatchObject({ code: 'stick_write_failed' });
  });

  it('refuses to create below the floor without CALIOP_UNSAFE_TEST_KDF=1', async () => {
    delete process.env.CALIOP_UNSAFE_TEST_KDF;
    try {
      await expect(createVault(vaultPath, PASSPHRASE, utf8('x'), UNSAFE_TEST_KDF)).rejects.toThrow(/below the Argon2id floor/);
      expect(await readdir(folder)).toEqual([]);
    } finally {
      process.env.CALIOP_UNSAFE_TEST_KDF = '1';
    }
  });

  it('calibrateKdf returns the test parameters under CALIOP_UNSAFE_TEST_KDF=1', async () => {
    expect(await calibrateKdf()).toEqual(UNSAFE_TEST_KDF);
    expect(KDF_FLOOR.memoryKiB).toBeGreaterThan(UNSAFE_TEST_KDF.memoryKiB);
  });
});
