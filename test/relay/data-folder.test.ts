// The relay's data folder is made one folder at a time (src/relay/durable-file.ts,
// makeFolderSync): Node's recursive mkdir retries for ever under /proc, and an audit's
// `--data /proc/x` hung the relay without a word (2026-12-02).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { makeFolderSync } from '../../src/relay/durable-file.js';
import { temporaryFolder } from '../helpers/temp-folder.js';
import { RELAY_MAIN } from './helpers/relay-process.js';

const scratch = temporaryFolder('relay-data-folder');
afterAll(() => scratch.remove());

it('makes the missing folders of a path, 0700, and leaves an existing one as it is', () => {
  const deep = join(scratch.path, 'a', 'b', 'c');
  makeFolderSync(deep);
  expect(statSync(deep).isDirectory()).toBe(true);
  expect(statSync(join(scratch.path, 'a')).mode & 0o777).toBe(0o700);
  makeFolderSync(deep); // again: nothing to do
});

it('--data under /proc: the relay stops at once with one error line, not a hang', async () => {
  const child = spawn(process.execPath, [RELAY_MAIN, '--data', '/proc/caliop-relay-test/data', '--listen', '127.0.0.1:0', '--domain', 'example.test', '--insecure-http'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code).toBe(1);
  expect(stderr).toMatch(/^caliop-relay: error: .*\/proc\/caliop-relay-test/m);
}, 60_000);
