// Once per vitest run, before any test file: the folder of set-up sticks shared by the
// run's test files (test/helpers/stick-cache.ts), removed when the run ends. A folder
// already named in CALIOP_TEST_STICK_CACHE is used as it is and kept (to measure a file
// with the cache warm, as it mostly is in a whole run).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STICK_CACHE_ENV } from './helpers/stick-cache.js';

export default function setup(): (() => void) | undefined {
  if (process.env[STICK_CACHE_ENV]) return undefined;
  const folder = mkdtempSync(join(tmpdir(), 'caliop-test-sticks-'));
  process.env[STICK_CACHE_ENV] = folder; // inherited by the worker processes started after this
  return () => rmSync(folder, { recursive: true, force: true });
}
