// Issue 13, docs/cli.md §2.1: `caliop encrypt`, `decrypt` and `sign` stream. Memory does not
// grow with the input (128 MiB through a process whose peak RSS stays under 150 MiB: held
// whole it took 3.5-4x the input), what they write is read by GnuPG, and `--output FILE`
// never leaves a half-written file: the target appears complete, or not at all.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALIOP_ENTRY, initStick, onStick, PASSPHRASE, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { makeGpg } from './helpers/gpg.js';

const MIB = 1024 * 1024;
const BIG = 128 * MIB;
/** A correctness bound, not a timing: the input alone is 128 MiB. */
const RSS_BOUND_KIB = 150 * 1024;
const RSS_PRELOAD = resolve(import.meta.dirname, 'fixtures/hostile/max-rss-preload.mjs');

const scratch = temporaryFolder('streaming');
const peer = makeGpg(scratch.path);
const gpg = peer.spawn;
const stick = join(scratch.path, 'stick');
const bigFile = join(scratch.path, 'big.bin');
let bigSha256: string;
let alice: InitResult;

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

interface Run {
  readonly status: number;
  readonly stderr: string;
  readonly stdout: Buffer;
  readonly maxRssKiB: number;
}

/** caliop with stdin from a file (no copy in the test process) and its peak RSS measured at exit. */
function caliopFromFile(args: readonly string[], stdinPath: string, stdoutPath?: string): Promise<Run> {
  const rssFile = join(scratch.path, `rss-${randomBytes(4).toString('hex')}`);
  const stdin = openSync(stdinPath, 'r');
  const stdout = stdoutPath === undefined ? 'pipe' : openSync(stdoutPath, 'w');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', RSS_PRELOAD, CALIOP_ENTRY, '--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], {
      env: { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1', TEST_PASSPHRASE: PASSPHRASE, CALIOP_TEST_RSS_FILE: rssFile },
      stdio: [stdin, stdout, 'pipe'],
    });
    closeSync(stdin);
    if (typeof stdout === 'number') closeSync(stdout);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const maxRssKiB = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : Number.NaN;
      resolvePromise({ status: code ?? -1, stderr: Buffer.concat(err).toString('utf8'), stdout: Buffer.concat(out), maxRssKiB });
    });
  });
}

/** n bytes that do not compress: a random MiB repeated, written a MiB at a time. */
function writeIncompressible(path: string, size: number): void {
  const block = randomBytes(MIB);
  const fd = openSync(path, 'w');
  for (let written = 0; written < size; written += MIB) {
    block.writeUInt32BE(written / MIB, 0); // no two MiB alike
    writeSync(fd, block, 0, Math.min(MIB, size - written));
  }
  closeSync(fd);
}

beforeAll(async () => {
  mkdirSync(stick);
  alice = await initStick(stick, 'Alice Martin', 'alice@example.org');
  expect(gpg(['--quick-gen-key', 'Gina Peer <gina@example.org>', 'ed25519', 'sign', 'never']).status).toBe(0);
  const fingerprint = /^fpr:::::::::([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--list-keys', 'gina@example.org']).stdout.toString())![1]!;
  expect(gpg(['--quick-add-key', fingerprint, 'cv25519', 'encrypt', 'never']).status).toBe(0);
  expect((await onStick(stick, ['contacts', 'import'], { input: gpg(['--armor', '--export', 'gina@example.org']).stdout })).status).toBe(0);
  expect(gpg(['--import'], (await onStick(stick, ['key', 'export'])).stdout).status).toBe(0);
  writeIncompressible(bigFile, BIG);
  bigSha256 = sha256Of(bigFile);
}, 300_000);

afterAll(() => {
  peer.kill();
  scratch.remove();
});

describe('streamed encrypt and decrypt (issue 13)', () => {
  it('encrypt --sign of 128 MiB stays under 150 MiB of RSS, and GnuPG decrypts it with a valid signature', async () => {
    const target = join(scratch.path, 'to-gina.asc');
    const run = await caliopFromFile(['encrypt', '--to', 'gina@example.org', '--sign', '--output', target], bigFile);
    expect(run.status, run.stderr).toBe(0);
    expect(run.maxRssKiB).toBeLessThan(RSS_BOUND_KIB);
    const plain = join(scratch.path, 'from-caliop.bin');
    const read = gpg(['--status-fd', '2', '--output', plain, '--decrypt', target]);
    expect(read.status, read.stderr.toString()).toBe(0);
    expect(read.stderr.toString()).toMatch(new RegExp(`\\[GNUPG:\\] VALIDSIG [0-9A-F]{40} .* ${alice.fingerprint}`));
    expect(sha256Of(plain)).toBe(bigSha256);
  }, 300_000);

  it('decrypt of 128 MiB that gpg signed and encrypted (compressed) stays under 150 MiB, same bytes, good signature', async () => {
    const made = join(scratch.path, 'from-gina.gpg');
    expect(gpg(['--trust-model', 'always', '--sign', '--encrypt', '--recipient', 'alice@example.org', '--local-user', 'gina@example.org', '--output', made, bigFile]).status).toBe(0);
    const target = join(scratch.path, 'from-gina.bin');
    const run = await caliopFromFile(['decrypt', '--output', target], made);
    expect(run.status, run.stderr).toBe(0);
    expect(run.maxRssKiB).toBeLessThan(RSS_BOUND_KIB);
    expect(run.stderr).toMatch(/^caliop: signature: good, by gina@example.org/m);
    expect(sha256Of(target)).toBe(bigSha256);
  }, 300_000);
});

describe('--output: complete, or not at all (docs/cli.md §2.1)', () => {
  const sixteen = join(scratch.path, 'sixteen.bin');
  const sealed = join(scratch.path, 'sixteen.pgp');
  const tampered = join(scratch.path, 'sixteen-tampered.pgp');
  const folder = join(scratch.path, 'out');

  beforeAll(async () => {
    mkdirSync(folder);
    // Past the 8 MiB held back on stdout, so the stdout case really streams.
    writeIncompressible(sixteen, 16 * MIB);
    const run = await caliopFromFile(['encrypt', '--to', 'alice@example.org', '--binary', '--output', sealed], sixteen);
    expect(run.status, run.stderr).toBe(0);
    const bytes = readFileSync(sealed);
    bytes[bytes.length - 30]! ^= 0x01; // inside the MDC's protected data, near the end
    writeFileSync(tampered, bytes);
  }, 300_000);

  it('a message modified near its end: exit 13, no target and no partial file left', async () => {
    const target = join(folder, 'plain.bin');
    const run = await caliopFromFile(['decrypt', '--output', target], tampered);
    expect(run.status, run.stderr).toBe(13);
    expect(readdirSync(folder)).toEqual([]);
  }, 120_000);

  it('on stdout, past the part held back, the failure says that what was written is not to be trusted', async () => {
    const run = await caliopFromFile(['decrypt'], tampered, join(scratch.path, 'stdout.bin'));
    expect(run.status, run.stderr).toBe(13);
    expect(run.stderr).toMatch(/^caliop: error: .*bytes already written are not to be trusted/m);
    expect(run.stderr).toMatch(/^caliop: hint: .*--output FILE/m);
  }, 120_000);

  it('an existing target is kept (exit 24) unless --force, which replaces it whole', async () => {
    const target = join(folder, 'existing.bin');
    writeFileSync(target, 'keep me');
    const refused = await caliopFromFile(['decrypt', '--output', target], sealed);
    expect(refused.status, refused.stderr).toBe(24);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    const replaced = await caliopFromFile(['decrypt', '--output', target, '--force'], sealed);
    expect(replaced.status, replaced.stderr).toBe(0);
    expect(sha256Of(target)).toBe(sha256Of(sixteen));
    expect(readdirSync(folder)).toEqual(['existing.bin']);
  }, 120_000);
});

describe('on a terminal, nothing unchecked is shown (docs/cli.md §2.1, exit 45)', () => {
  const longText = join(scratch.path, 'long.txt');
  const longSealed = join(scratch.path, 'long.asc');
  const shortSealed = join(scratch.path, 'short.asc');
  const MARKER = 'plaintext line';

  beforeAll(async () => {
    // Text (not binary, which a terminal refuses anyway) past the 8 MiB held back.
    const line = `${MARKER} of a long letter, long enough to pass the part held back\n`;
    writeFileSync(longText, line.repeat(Math.ceil((9 * MIB) / line.length)));
    writeFileSync(join(scratch.path, 'short.txt'), `${MARKER}: a short note\n`);
    for (const [source, target] of [[longText, longSealed], [join(scratch.path, 'short.txt'), shortSealed]] as const) {
      expect(gpg(['--trust-model', 'always', '--armor', '--encrypt', '--recipient', 'alice@example.org', '--output', target, source]).status).toBe(0);
    }
  }, 300_000);

  /** caliop decrypt with its stdout on a pseudo-terminal (util-linux `script`), stdin from a file. */
  function decryptOnTerminal(sealedPath: string): Promise<{ status: number; screen: string }> {
    const command = [process.execPath, CALIOP_ENTRY, '--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', 'decrypt'].map((word) => `'${word}'`).join(' ');
    return new Promise((resolvePromise, reject) => {
      const child = spawn('script', ['-qec', `${command} < '${sealedPath}'`, '/dev/null'], {
        env: { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1', TEST_PASSPHRASE: PASSPHRASE },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => out.push(chunk));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ status: code ?? -1, screen: Buffer.concat(out).toString('utf8') }));
    });
  }

  it('a short message is shown; a long one is refused (exit 45) before a byte of it appears', async () => {
    const short = await decryptOnTerminal(shortSealed);
    expect(short.status, short.screen).toBe(0);
    expect(short.screen).toContain(`${MARKER}: a short note`);
    const long = await decryptOnTerminal(longSealed);
    expect(long.status, long.screen).toBe(45);
    expect(long.screen).toMatch(/caliop: error: the decrypted message is too large to show on the terminal/);
    expect(long.screen).toMatch(/caliop: hint: .*--output FILE/);
    expect(long.screen).not.toContain(MARKER);
  }, 300_000);
});
