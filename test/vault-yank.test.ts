// Yank safety (docs/vault-format.md §7): a child process saves the vault in a
// loop; we SIGKILL it at random instants, over 100 times, and after each kill the
// vault must open, in a state the writer had reached (the old or the new one).

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UNSAFE_TEST_KDF } from '../src/core/vault-format.js';
import { createVault, unlockVault } from '../src/edges/vault-file.js';

const KILLS = 104;
const PASSPHRASE = new TextEncoder().encode('yank me if you can');
const REPO = join(import.meta.dirname, '..');

let folder: string;
let writerPath: string;

// The writer: unlocks, then saves states N, N+1, ... as fast as it can, telling
// the parent on stdout when each save has returned. Each state is "state N" plus
// a size-varying filler derived from N, so a mixed-up file would not verify.
const WRITER = `
import { unlockVault } from './vault-file.mjs';
const [vaultPath, passphrase] = process.argv.slice(2);
const { plaintext, handle } = await unlockVault(vaultPath, new TextEncoder().encode(passphrase));
let n = Number(new TextDecoder().decode(plaintext).split('\\n')[0].split(' ')[1]);
process.stdout.write('ready ' + n + '\\n');
for (;;) {
  n += 1;
  const size = 1000 + ((n * 7919) % 50000);
  await handle.save(new TextEncoder().encode('state ' + n + '\\n' + String(n % 10).repeat(size)));
  process.stdout.write('saved ' + n + '\\n');
}
`;

function stateOf(plaintext: Uint8Array): number {
  const text = new TextDecoder().decode(plaintext);
  const [first, filler = ''] = text.split('\n');
  const n = Number(first!.split(' ')[1]);
  expect(filler, `filler of state ${n}`).toBe(n === 0 ? '' : String(n % 10).repeat(1000 + ((n * 7919) % 50000)));
  return n;
}

const savedEnv = process.env.CALIOP_UNSAFE_TEST_KDF;

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1'; // small Argon2id parameters (docs/vault-format.md §5.4)
  folder = await mkdtemp(join(tmpdir(), 'caliop-vault-yank-'));
  // Bundle the real src/edges/vault-file.ts for the child (node 20 cannot run .ts).
  await build({
    entryPoints: [join(REPO, 'src', 'edges', 'vault-file.ts')],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
    outfile: join(folder, 'vault-file.mjs'),
  });
  writerPath = join(folder, 'writer.mjs');
  await writeFile(writerPath, WRITER);
});

afterAll(async () => {
  if (savedEnv === undefined) delete process.env.CALIOP_UNSAFE_TEST_KDF;
  else process.env.CALIOP_UNSAFE_TEST_KDF = savedEnv;
  await rm(folder, { recursive: true, force: true });
});

function runAndKill(vaultPath: string, delayMs: number): Promise<{ lastSaved: number; started: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerPath, vaultPath, new TextDecoder().decode(PASSPHRASE)], {
      env: { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    let started = -1;
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (started < 0 && output.includes('\n')) {
        started = Number(output.split('\n')[0]!.split(' ')[1]);
        timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => { errors += chunk.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (code ${code}): ${errors}`));
      const saved = output.split('\n').filter((line) => line.startsWith('saved ')).map((line) => Number(line.slice(6)));
      resolve({ lastSaved: saved.length > 0 ? Math.max(...saved) : started, started });
    });
  });
}

it(`the vault opens after each of ${KILLS} kills of a writing process, in the old or the new state`, async () => {
  const vaultPath = join(folder, 'vault.caliop');
  (await createVault(vaultPath, PASSPHRASE, new TextEncoder().encode('state 0'), UNSAFE_TEST_KDF)).close();
  let previous = 0;
  let leftovers = 0;
  let advanced = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    const delayMs = Math.floor(Math.random() * 60);
    const { lastSaved, started } = await runAndKill(vaultPath, delayMs);
    expect(started, `kill ${kill}`).toBe(previous);
    leftovers += (await readdir(folder)).filter((name) => name.startsWith('vault.caliop.partial-')).length;
    const { plaintext, handle } = await unlockVault(vaultPath, PASSPHRASE);
    handle.close();
    const state = stateOf(plaintext);
    // Every save that returned is on disk; at most the one in flight may also have landed.
    expect(state, `kill ${kill} after ${delayMs} ms`).toBeGreaterThanOrEqual(lastSaved);
    expect(state, `kill ${kill} after ${delayMs} ms`).toBeLessThanOrEqual(lastSaved + 1);
    if (state > previous) advanced += 1;
    previous = state;
  }
  // unlockVault cleaned every leftover; and the kills did land in the middle of writes.
  expect((await readdir(folder)).filter((name) => name.includes('.partial-'))).toEqual([]);
  console.log(`vault-yank: ${KILLS} kills, ${advanced} advanced the state, ${leftovers} left a partial temporary file, final state ${previous}`);
  expect(leftovers).toBeGreaterThan(0);
  expect(advanced).toBeGreaterThan(KILLS / 4);
}, 120_000);
