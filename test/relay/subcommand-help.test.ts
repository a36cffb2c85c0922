// docs/api.md §10: every subcommand of caliop-relay answers --help and -h with its usage
// (exit 0); `caliop-relay --help` lists them; a subcommand's failure carries its own hint,
// not the relay's ("check … its ports are free"). Transcripts of the built program.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { RELAY_MAIN } from './helpers/relay-process.js';

const SUBCOMMANDS = ['disclosure', 'disclosure-log', 'key-reset', 'tls-report', 'dns-records'];

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RELAY_MAIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

let scratch: TemporaryFolder;
beforeAll(() => {
  scratch = temporaryFolder('subcommand-help');
});
afterAll(() => scratch?.remove());

describe('caliop-relay SUBCOMMAND --help', () => {
  it.each(SUBCOMMANDS)('%s --help and -h print its usage, exit 0', async (name) => {
    for (const flag of ['--help', '-h']) {
      const result = await run([name, flag]);
      expect([result.code, result.stderr]).toEqual([0, '']);
      expect(result.stdout).toMatch(new RegExp(`^usage: caliop-relay ${name} --data DIR .*\\n$`));
    }
  });

  it('caliop-relay --help lists every subcommand', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    const listed = result.stdout.split('\nsubcommands')[1] ?? '';
    for (const name of SUBCOMMANDS) expect(listed).toMatch(new RegExp(`\\n  ${name} +\\S`));
  });

  it("a subcommand's failure carries its own hint, not the relay's", async () => {
    const missing = join(scratch.path, 'no-such-key.pem');
    const result = await run(['dns-records', '--data', scratch.path, '--domain', 'example.test', '--dkim-key', missing, '--dkim-selector', 'ops']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('caliop-relay: hint: caliop-relay dns-records stopped: check its options, its data folder and its store (caliop-relay dns-records --help)\n');
    expect(result.stderr).not.toContain('ports');
  });
});
