// Issue 16 (the suite's cost): most tests spawn the run's bundled CLI (test/global-setup.ts,
// scripts/build-exe.ts bundleTestCli) rather than the tsc build. These check that it is the
// same program as the tsc build (not a release build: the test switches work), that V8
// accepts its code cache (else every spawn would compile the 7 MB script: slower, not wrong),
// and that tests naming CALIOP_ENTRY still run the tsc build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_CLI_LAUNCHER_FILE } from '../scripts/build-exe.js';
import { UNSAFE_TEST_KDF } from '../src/core/vault-format.js';
import { SEA_PROGRAM_CACHE_ASSET, SEA_PROGRAM_FILE } from '../scripts/sea-assets.js';
import { CALIOP_ENTRY, caliop, onStick, temporaryFolder, testCliEntry, TEST_CLI_ENV } from './helpers/caliop.js';

const launcher = process.env[TEST_CLI_ENV];
const bundled = launcher !== undefined && launcher !== 'tsc';

describe('the test suite\'s CLI', () => {
  it('caliop() runs the run\'s bundled CLI, CALIOP_ENTRY the tsc build', () => {
    expect(CALIOP_ENTRY).toMatch(/build[\\/]src[\\/]cli[\\/]main\.js$/);
    if (!bundled) return expect(testCliEntry()).toBe(CALIOP_ENTRY);
    expect(testCliEntry()).toBe(launcher);
    expect(launcher.endsWith(TEST_CLI_LAUNCHER_FILE)).toBe(true);
    expect(existsSync(join(dirname(launcher), SEA_PROGRAM_FILE))).toBe(true);
    expect(existsSync(join(dirname(launcher), 'mail-open-worker.js'))).toBe(true);
  });

  it.runIf(bundled)('V8 accepts the code cache made by the warm-up', () => {
    const folder = dirname(launcher!);
    const check = `const vm = require('node:vm'), fs = require('node:fs');
const script = new vm.Script(fs.readFileSync(${JSON.stringify(join(folder, SEA_PROGRAM_FILE))}, 'utf8'), {
  filename: ${JSON.stringify(join(folder, SEA_PROGRAM_FILE))},
  cachedData: fs.readFileSync(${JSON.stringify(join(folder, SEA_PROGRAM_CACHE_ASSET))}),
});
process.stdout.write(String(script.cachedDataRejected));`;
    const run = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('false');
  });

  it('answers as the tsc build does, and is not a release build (the test KDF is used)', async () => {
    const fromTsc = spawnSync(process.execPath, [CALIOP_ENTRY, '--help'], { encoding: 'utf8' });
    const help = await caliop(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(fromTsc.stdout);
    const wrong = await caliop(['--no-such-flag']);
    const wrongTsc = spawnSync(process.execPath, [CALIOP_ENTRY, '--no-such-flag'], { encoding: 'utf8' });
    expect([wrong.status, wrong.stderr]).toEqual([wrongTsc.status, wrongTsc.stderr]);
    const folder = temporaryFolder('test-cli');
    try {
      const stick = join(folder.path, 'stick');
      mkdirSync(stick);
      const init = await onStick(stick, ['--batch', '--json', 'init', '--name', 'Test Cli', '--email', 'test-cli@example.org', '--allow-online']);
      expect(init.status, init.stderr).toBe(0);
      // CALIOP_UNSAFE_TEST_KDF honoured (docs/vault-format.md §5.4): not a release build.
      expect((JSON.parse(init.stdout) as { kdf: object }).kdf).toEqual({ ...UNSAFE_TEST_KDF });
      const shown = await onStick(stick, ['--json', 'key', 'show']);
      expect(shown.status, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ email: 'test-cli@example.org' });
    } finally {
      folder.remove();
    }
  });
});
