// Issue 16 (the suite's cost): the release bundle the executable tests build their executables
// from (test/exe.test.ts, test/exe-bun.test.ts, test/exe-macos-arm64.test.ts), made once per
// vitest run and shared, as `build-exe` makes one bundle for every target: the same bundleCli of
// src/cli/main.ts with the release fingerprint of one release key generated for the run
// (docs/manifest.md §8), whose secret key the tests sign sticks with. Each file made its own
// before (three bundles of ~4 s quiet, ~9 s at load 8).
//
// test/global-setup.ts names an empty folder in CALIOP_TEST_RELEASE_BUNDLE (removed when the run
// ends). The first file to ask takes the folder's `building` mark (an atomic mkdir) and builds;
// a file in the other worker that asks meanwhile waits for the `done` mark the builder writes
// last (or its `failed` mark, then it fails too). The files only read the bundle. Without the
// variable (a file run outside the run's global setup) the file builds a bundle of its own.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleCli, defaultEntry, type BundleResult } from '../../scripts/build-exe.js';
import type { ReleaseKey } from '../../src/service/manifest-signature.js';

export const RELEASE_BUNDLE_ENV = 'CALIOP_TEST_RELEASE_BUNDLE';

export interface ReleaseBundle {
  /** The key whose fingerprint is compiled into the bundle. */
  readonly release: ReleaseKey;
  readonly bundle: BundleResult;
}

/** How long a waiting file gives the builder: a hang guard (a bundle takes ~4 s quiet, a minute at load 30). */
const WAIT_MS = 600_000;

async function build(folder: string): Promise<ReleaseBundle> {
  // Imported here: test/global-setup.ts reads RELEASE_BUNDLE_ENV from this module and needs no openpgp.
  const { generateReleaseKey } = await import('../../src/service/manifest-signature.js');
  const release = await generateReleaseKey({ name: 'Caliop executables test release' });
  const bundle = await bundleCli(defaultEntry(), join(folder, 'bundle'), { releaseFingerprint: release.fingerprint });
  return { release, bundle };
}

let mine: Promise<ReleaseBundle> | undefined;

/** The run's release bundle: built by the first caller of the run, read by the others. */
export function releaseBundle(): Promise<ReleaseBundle> {
  mine ??= shared();
  return mine;
}

async function shared(): Promise<ReleaseBundle> {
  const folder = process.env[RELEASE_BUNDLE_ENV];
  if (!folder || !existsSync(folder)) return build(mkdtempSync(join(tmpdir(), 'caliop-release-bundle-')));
  const done = join(folder, 'done.json');
  const failed = join(folder, 'failed.txt');
  let builder = true;
  try {
    mkdirSync(join(folder, 'building'));
  } catch {
    builder = false;
  }
  if (builder) {
    try {
      const made = await build(folder);
      writeFileSync(`${done}.partial`, JSON.stringify(made));
      renameSync(`${done}.partial`, done); // atomic: a reader sees the whole file or none
      return made;
    } catch (error) {
      writeFileSync(failed, String((error as Error).stack ?? error));
      throw error;
    }
  }
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as ReleaseBundle;
    if (existsSync(failed)) throw new Error(`the run's release bundle failed to build in another test file:\n${readFileSync(failed, 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`the run's release bundle (${folder}) was not built within ${WAIT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // a poll for the builder's mark, not a wait for a time
  }
}
