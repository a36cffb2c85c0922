// docs/limits.md §5: what caliop reads whole from its user (stdin, files named on a command
// line) is read one byte past its ceiling at most, whatever the source: a file, a sparse file
// of any size, /dev/zero, a pipe that never ends. The readers at their boundary, then the
// commands on /dev/zero and on files one byte either side of the ceiling (exit 47,
// input_too_large; `caliop sop`: BAD_DATA, 41).
import { spawn } from 'node:child_process';
import { closeSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { WHOLE_INPUT_LIMITS } from '../src/core/input-limits.js';
import { readAtMostSync, readFileAtMost, readStreamAtMost } from '../src/edges/plain-files.js';
import { ERROR_TABLE } from '../src/errors.js';
import { SOP_EXIT } from '../src/service/sop.js';
import { testCliEntry, testEnv, temporaryFolder } from './helpers/caliop.js';

const scratch = temporaryFolder('input-limits');
afterAll(() => scratch.remove());
const MiB = 1024 * 1024;

describe('the bounded readers (src/edges/plain-files.ts)', () => {
  it('a file of exactly the ceiling is read; one byte more is refused; /dev/zero is refused after ceiling + 1 bytes', async () => {
    const at = join(scratch.path, 'at');
    const over = join(scratch.path, 'over');
    writeFileSync(at, Buffer.alloc(3 * MiB + 5, 7));
    writeFileSync(over, Buffer.alloc(3 * MiB + 6, 7));
    expect((await readFileAtMost(at, 3 * MiB + 5))?.length).toBe(3 * MiB + 5);
    expect(await readFileAtMost(over, 3 * MiB + 5)).toBeUndefined();
    expect(await readFileAtMost('/dev/zero', 2 * MiB)).toBeUndefined();
    expect(readAtMostSync(at, 3 * MiB + 5)?.length).toBe(3 * MiB + 5);
    expect(readAtMostSync(over, 3 * MiB + 5)).toBeUndefined();
    expect(readAtMostSync('/dev/zero', 2 * MiB)).toBeUndefined();
    const fd = openSync(at, 'r');
    try {
      expect(Buffer.from(readAtMostSync(fd, 4 * MiB)!).equals(Buffer.alloc(3 * MiB + 5, 7))).toBe(true);
    } finally {
      closeSync(fd);
    }
    await expect(readFileAtMost(join(scratch.path, 'missing'), 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a stream: the ceiling is read, one byte more stops it and destroys it (a writer that never ends is not read on)', async () => {
    const exact = new PassThrough();
    exact.end(Buffer.alloc(1000, 1));
    expect((await readStreamAtMost(exact, 1000))?.length).toBe(1000);
    const endless = new PassThrough();
    let written = 0;
    const pump = () => {
      while (!endless.destroyed && endless.write(Buffer.alloc(4096))) written += 4096;
      if (!endless.destroyed) endless.once('drain', pump);
    };
    pump();
    expect(await readStreamAtMost(endless, 100_000)).toBeUndefined();
    expect(endless.destroyed).toBe(true);
    expect(written).toBeLessThan(1_000_000);
  });
});

/** The CLI with stdin from a file (/dev/zero), its exit code and stderr. */
function run(args: readonly string[], stdinFile: string | null = null): Promise<{ status: number; stderr: string; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const stdin = stdinFile === null ? 'ignore' : openSync(stdinFile, 'r');
    const child = spawn(process.execPath, [testCliEntry(), ...args], { env: testEnv(), stdio: [stdin, 'pipe', 'pipe'], cwd: scratch.path });
    if (typeof stdin === 'number') closeSync(stdin);
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ status: code ?? -1, stderr, stdout }));
  });
}

describe('the commands on endless and oversized inputs (docs/limits.md §5, docs/cli.md §4 exit 47)', () => {
  const stick = join(scratch.path, 'no-stick-needed');
  const tooLarge = ERROR_TABLE.input_too_large.exit;

  it.each([
    ['contacts import', ['contacts', 'import'], 'the certificates on stdin is larger than 64 MiB'],
    ['decrypt --json', ['--json', 'decrypt'], 'the message on stdin is larger than 64 MiB'],
    ['send', ['send', '--to', 'bob@example.org', '--subject', 'x'], 'the message on stdin is larger than 64 MiB'],
    ['verify', ['verify'], 'the data on stdin is larger than 256 MiB'],
  ])('%s < /dev/zero: exit 47 once past its ceiling, nothing done, no stack', async (_label, args, words) => {
    const result = await run(['--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], '/dev/zero');
    expect(result.status, result.stderr).toBe(tooLarge);
    expect(result.stderr).toContain(`caliop: error: ${words}, the most caliop reads of it whole (docs/limits.md §5)\ncaliop: hint: caliop encrypt, decrypt and sign stream`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  }, 120_000);

  it('verify --signature: a sparse file of exactly 64 MiB is read (and refused as no signature), one of 64 MiB + 1 is input_too_large', async () => {
    const at = join(scratch.path, 'sig-at');
    const over = join(scratch.path, 'sig-over');
    writeFileSync(at, '');
    truncateSync(at, WHOLE_INPUT_LIMITS.namedFileBytes);
    writeFileSync(over, '');
    truncateSync(over, WHOLE_INPUT_LIMITS.namedFileBytes + 1);
    const data = join(scratch.path, 'data');
    writeFileSync(data, 'signed data\n');
    const overRun = await run(['--stick', stick, 'verify', '--signature', over], data);
    expect(overRun.status, overRun.stderr).toBe(tooLarge);
    expect(overRun.stderr).toContain(`the signature file ${over} is larger than 64 MiB`);
    const zeroRun = await run(['--stick', stick, 'verify', '--signature', '/dev/zero'], data);
    expect(zeroRun.status, zeroRun.stderr).toBe(tooLarge);
    const exact = await run(['--stick', stick, 'verify', '--signature', at], data);
    expect(exact.status).not.toBe(tooLarge);
    expect(exact.stderr).not.toContain('larger than');
  }, 120_000);
});

describe('caliop sop on endless inputs: BAD_DATA (41) past the ceiling, as soon as it is passed', () => {
  it('/dev/zero as certificates, as @FD:0, and as the data on stdin', async () => {
    const sop = (args: string[], stdinFile: string | null) => run(['sop', ...args], stdinFile);
    for (const [args, words] of [
      [['encrypt', '/dev/zero'], '/dev/zero is larger than 64 MiB'],
      [['encrypt', '@FD:0'], '@FD:0 is larger than 64 MiB'],
    ] as const) {
      const result = await sop([...args], '/dev/zero');
      expect(result.status, result.stderr).toBe(SOP_EXIT.BAD_DATA);
      expect(result.stderr).toContain(words);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    const armor = await sop(['armor'], '/dev/zero');
    expect(armor.status, armor.stderr).toBe(SOP_EXIT.BAD_DATA);
    expect(armor.stderr).toContain('the data on stdin is larger than 256 MiB');
    expect(armor.stdout).toBe('');
  }, 120_000);
});
