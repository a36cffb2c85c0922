// Once per vitest run, before any test file:
//   - the folder of set-up sticks shared by the run's test files (test/helpers/stick-cache.ts),
//     removed when the run ends. A folder already named in CALIOP_TEST_STICK_CACHE is used
//     as it is and kept (to measure a file with the cache warm, as it mostly is in a whole run);
//   - the CLI the tests spawn (test/helpers/caliop.ts caliop()): one bundle of src/cli/main.ts
//     with V8's code cache (scripts/build-exe.ts bundleTestCli, issue 16), removed at the end.
//     CALIOP_TEST_CLI already set is kept: a launcher made before, or `tsc` for the tsc build
//     (build/src/cli/main.js) everywhere;
//   - an empty folder for the release bundle the executable tests share (test/helpers/release-bundle.ts):
//     built there by the first of them to ask, not here (a run without them builds none).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleTestCli } from '../scripts/build-exe.js';
import { TEST_CLI_ENV } from './helpers/caliop.js';
import { RELEASE_BUNDLE_ENV } from './helpers/release-bundle.js';
import { STICK_CACHE_ENV } from './helpers/stick-cache.js';

export default async function setup(): Promise<() => void> {
  const removals: string[] = [];
  if (!process.env[STICK_CACHE_ENV]) {
    const folder = mkdtempSync(join(tmpdir(), 'caliop-test-sticks-'));
    process.env[STICK_CACHE_ENV] = folder; // inherited by the worker processes started after this
    removals.push(folder);
  }
  if (!process.env[RELEASE_BUNDLE_ENV]) {
    const folder = mkdtempSync(join(tmpdir(), 'caliop-test-release-bundle-'));
    process.env[RELEASE_BUNDLE_ENV] = folder;
    removals.push(folder);
  }
  if (!process.env[TEST_CLI_ENV]) {
    const folder = mkdtempSync(join(tmpdir(), 'caliop-test-cli-'));
    removals.push(folder);
    process.env[TEST_CLI_ENV] = (await bundleTestCli(folder)).launcher;
  }
  return () => {
    for (const folder of removals) rmSync(folder, { recursive: true, force: true });
  };
}
