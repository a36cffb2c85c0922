// A stick someone else prepared may hold a vault, a journal, an index or a config.json of
// gigabytes: regular files, sparse (truncate -s 3G costs nothing). Each has a ceiling its format
// sets (docs/stick-layout.md §2.1, docs/vault-format.md §2.1, docs/store.md §3, §4), checked
// from fstat before a byte is read. Before: each was read whole (3 GB: 3 GB of memory, over
// about 2 GiB file_unreadable from Node's own limit after the allocation).
//
// And a legitimate large file still opens: a vault header at exactly the ceiling, a journal
// just under the compaction ceiling with one large record after it.
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, describe, expect, it } from 'vitest';
import {
  emptyStoreState,
  INDEX_MAX_BYTES,
  JOURNAL_COMPACT_CEILING,
  JOURNAL_MAX_BYTES,
  type StoreOp,
} from '../../src/core/store-format.js';
import { sealVault, UNSAFE_TEST_KDF, VAULT_MAX_BYTES } from '../../src/core/vault-format.js';
import { UNSAFE_TEST_KDF_ENV } from '../../src/edges/argon2id.js';
import { MANIFEST_MAX_BYTES, MANIFEST_SIGNATURE_MAX_BYTES } from '../../src/core/stick-manifest.js';
import { CONFIG_MAX_BYTES, readStickConfig } from '../../src/edges/stick-config.js';
import { stickAt } from '../../src/edges/stick-locator.js';
import { StoreFiles } from '../../src/edges/store-files.js';
import { createVault, readVaultHeader } from '../../src/edges/vault-file.js';
import { isCaliopError } from '../../src/errors.js';
import { generateReleaseKey } from '../../src/service/manifest-signature.js';
import { verifyStick } from '../../src/service/stick-verify.js';
import { caliop, temporaryFolder, testEnv } from '../helpers/caliop.js';
import { cpuMs } from '../helpers/cpu-time.js';

const scratch = temporaryFolder('oversized-stick-files');
afterAll(() => scratch.remove());

/** The hostile size: sparse, so it costs the disk nothing. */
const HOSTILE_BYTES = 3 * 1024 ** 3;
const MiB = 1024 * 1024;

/** The error `work` ends in, the CPU it cost and how far the process's peak RSS rose meanwhile. */
async function refusal(work: () => Promise<unknown> | unknown): Promise<{ error: unknown; cpu: number; peakRiseMiB: number }> {
  const peakBefore = process.resourceUsage().maxRSS;
  let error: unknown;
  const cpu = await cpuMs(async () => {
    try {
      await work();
    } catch (caught) {
      error = caught;
    }
  });
  // maxRSS (KiB) is the peak of the whole process so far: a rise of it is this work's.
  const peakRiseMiB = ((process.resourceUsage().maxRSS - peakBefore) * 1024) / MiB;
  return { error, cpu, peakRiseMiB };
}

let count = 0;
const freshFolder = (name: string) => {
  const folder = join(scratch.path, `${name}-${(count += 1)}`);
  mkdirSync(folder, { recursive: true });
  return folder;
};

describe('attack: a stick whose files are regular but of 3 GB (docs/stick-layout.md §2.1)', () => {
  const key = new Uint8Array(32).fill(6);
  const random = (length: number) => new Uint8Array(length).fill(3);

  // Run first, while the process's peak RSS is still low (the legitimate cases below read 128 MiB).
  for (const [label, ceiling, make, read] of [
    ['the vault', VAULT_MAX_BYTES, async () => {
      const path = join(freshFolder('vault'), 'caliop.vault');
      writeFileSync(path, sealVault({ version: 1, kdf: { ...UNSAFE_TEST_KDF }, salt: new Uint8Array(16).fill(5) }, key, new Uint8Array(24), new Uint8Array(10)));
      truncateSync(path, HOSTILE_BYTES);
      return path;
    }, (path: string) => readVaultHeader(path)],
    ["the store's journal", JOURNAL_MAX_BYTES, async () => {
      const folder = freshFolder('journal');
      await StoreFiles.create(folder, key, { ...emptyStoreState(), nextId: 1, entries: [] }, random);
      truncateSync(join(folder, 'journal'), HOSTILE_BYTES);
      return folder;
    }, (folder: string) => StoreFiles.open(folder, key, random)],
    ["the store's index", INDEX_MAX_BYTES, async () => {
      const folder = freshFolder('index');
      await StoreFiles.create(folder, key, { ...emptyStoreState(), nextId: 1, entries: [] }, random);
      // The head's u32 length (read before anything is authenticated) claiming the whole file:
      // without the ceiling, opening reads the "head" whole.
      const path = join(folder, 'index');
      const bytes = readFileSync(path);
      bytes.writeUInt32BE(HOSTILE_BYTES - 14 - 28, 14);
      writeFileSync(path, bytes);
      truncateSync(path, HOSTILE_BYTES);
      return folder;
    }, (folder: string) => StoreFiles.open(folder, key, random)],
    ['config.json', CONFIG_MAX_BYTES, async () => {
      const stick = freshFolder('config');
      writeFileSync(join(stick, 'config.json'), '{"relay":{"url":"https://relay.example"}}');
      truncateSync(join(stick, 'config.json'), HOSTILE_BYTES);
      return stick;
    }, (stick: string) => readStickConfig(stickAt(stick, '--stick'))],
  ] as const) {
    it(`${label} of 3 GB is refused from its size (file_unreadable naming the ceiling), at once and with little memory`, async () => {
      const at = await make();
      const { error, cpu, peakRiseMiB } = await refusal(() => read(at));
      expect(isCaliopError(error) ? error.code : String(error)).toBe('file_unreadable');
      const message = (error as Error).message;
      expect(message).toContain(`${HOSTILE_BYTES} bytes`);
      expect(message).toContain(`${ceiling / MiB} MiB`);
      // Before: the whole file read (a 300 MB sparse one: 300 MB of RSS and 150+ ms of CPU, docs/benchmarks.md).
      expect(cpu, `${cpu.toFixed(0)} ms of CPU`).toBeLessThan(100);
      expect(peakRiseMiB, `peak RSS rose ${peakRiseMiB.toFixed(0)} MiB`).toBeLessThan(32);
    });
  }

  it('caliop stick verify: a MANIFEST or a MANIFEST.sig of 3 GB is manifest_invalid naming the ceiling, at once and with little memory', async () => {
    const release = await generateReleaseKey({ name: 'Throwaway test release key' });
    for (const [name, ceiling] of [['MANIFEST', MANIFEST_MAX_BYTES], ['MANIFEST.sig', MANIFEST_SIGNATURE_MAX_BYTES]] as const) {
      const stick = freshFolder('manifest');
      writeFileSync(join(stick, 'MANIFEST'), 'caliop-stick-manifest 1\n');
      writeFileSync(join(stick, 'MANIFEST.sig'), '');
      truncateSync(join(stick, name), HOSTILE_BYTES);
      const { error, cpu, peakRiseMiB } = await refusal(() => verifyStick(stick, release.certArmored));
      expect(isCaliopError(error) ? error.code : String(error), name).toBe('manifest_invalid');
      expect((error as Error).message).toMatch(new RegExp(`${name.replace('.', '\\.')} holds ${HOSTILE_BYTES} bytes, over the ceiling of ${ceiling >= MiB ? `${ceiling / MiB} MiB` : `${ceiling / 1024} KiB`}`));
      expect(cpu, `${name}: ${cpu.toFixed(0)} ms of CPU`).toBeLessThan(100);
      expect(peakRiseMiB, `${name}: peak RSS rose ${peakRiseMiB.toFixed(0)} MiB`).toBeLessThan(32);
    }
  });

  it('caliop key show on a stick whose vault is 3 GB: one line naming the ceiling, exit 22, no stack trace', async () => {
    const stick = freshFolder('stick');
    mkdirSync(join(stick, 'vault'));
    const path = join(stick, 'vault', 'caliop.vault');
    writeFileSync(path, 'CALIOPVT');
    truncateSync(path, HOSTILE_BYTES);
    const run = await caliop(['--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', 'key', 'show'], { env: testEnv() });
    expect(run.status, run.stderr).toBe(22);
    expect(run.stderr).toMatch(/^caliop: error: the vault .*caliop\.vault holds 3221225472 bytes, over the ceiling of 128 MiB/);
    expect(run.stderr).not.toMatch(/    at /);
  }, 60_000);
});

describe('legitimate large files still open (the ceilings are above what caliop writes)', () => {
  const key = new Uint8Array(32).fill(8);

  it('a vault of exactly VAULT_MAX_BYTES is read (its header opens); one byte more is refused from its size', async () => {
    const salt = 16;
    const H = 24 + salt + 4;
    const small = sealVault({ version: 1, kdf: { ...UNSAFE_TEST_KDF }, salt: new Uint8Array(salt).fill(5) }, key, new Uint8Array(24), new Uint8Array(10));
    // The header claiming the ciphertext that makes the file exactly the ceiling, checksum set again (§2, §3.1 a).
    const header = small.slice(0, H + 32);
    new DataView(header.buffer).setUint32(H - 4, VAULT_MAX_BYTES - H - 88);
    header.set(sha256(header.subarray(0, H)), H);
    const path = join(freshFolder('vault-at-ceiling'), 'caliop.vault');
    writeFileSync(path, header);
    truncateSync(path, VAULT_MAX_BYTES);
    expect((await readVaultHeader(path)).salt).toEqual(new Uint8Array(salt).fill(5));
    truncateSync(path, VAULT_MAX_BYTES + 1);
    await expect(readVaultHeader(path)).rejects.toMatchObject({ code: 'file_unreadable' });
  }, 60_000);

  it('caliop never writes a vault over the ceiling: save refuses (stick_write_failed) and the vault is unchanged', async () => {
    const path = join(freshFolder('vault-write'), 'caliop.vault');
    const saved = process.env[UNSAFE_TEST_KDF_ENV];
    process.env[UNSAFE_TEST_KDF_ENV] = '1'; // docs/vault-format.md §5.4, for this creation only
    const handle = await createVault(path, new TextEncoder().encode('a passphrase'), new TextEncoder().encode('{"small":true}'), UNSAFE_TEST_KDF)
      .finally(() => (saved === undefined ? delete process.env[UNSAFE_TEST_KDF_ENV] : (process.env[UNSAFE_TEST_KDF_ENV] = saved)));
    const before = readFileSync(path);
    await expect(handle.save(new Uint8Array(VAULT_MAX_BYTES - 100))).rejects.toMatchObject({ code: 'stick_write_failed', message: expect.stringMatching(/over the ceiling of 128 MiB/) });
    expect(Buffer.compare(readFileSync(path), before)).toBe(0);
    handle.close();
  }, 60_000);

  it('a journal just under the compaction ceiling, then one record of 32 MiB (a page with long lines), opens whole', async () => {
    const folder = freshFolder('journal-large');
    let nonce = 0;
    const random = (length: number) => new Uint8Array(length).fill((nonce += 1) & 0xff);
    const files = await StoreFiles.create(folder, key, { ...emptyStoreState(), nextId: 1, entries: [] }, random);
    const put = (n: number, subjectBytes: number): StoreOp => ({
      op: 'put',
      entry: {
        id: String(n), object: n.toString(16).padStart(32, '0'), direction: 'in', from: `s${n}@example.org`, to: ['ana@example.org'],
        subject: 'x'.repeat(subjectBytes), date: '2026-01-01T00:00:00.000Z', storedAt: '2026-01-01T00:00:00.000Z', unread: true, size: 1000,
      },
    });
    let n = 0;
    // Records of about 8 KiB until the next would pass the compaction ceiling (the service would compact after it).
    while (files.journalBytes + 9 * 1024 < JOURNAL_COMPACT_CEILING) await files.append([put((n += 1), 8 * 1024)]);
    expect(files.journalBytes).toBeGreaterThan(JOURNAL_COMPACT_CEILING - 10 * 1024);
    await files.append([put((n += 1), 32 * MiB)]);
    expect(files.journalBytes).toBeGreaterThan(32 * MiB);
    const reopened = await StoreFiles.open(folder, key, random);
    expect(reopened.records.length).toBe(n);
  }, 120_000);
});
