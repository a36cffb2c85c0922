// An empty "host" for running a built executable: HOME, TMPDIR, the XDG folders and the
// working folder point at fresh empty folders, so that a test can check afterwards that
// nothing was written there (docs/stick-layout.md §1). Used by test/exe.test.ts (the Node
// executable) and test/exe-bun.test.ts (the Bun one).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_ONLY_ENVIRONMENT } from '../../src/build-facts.js';

export interface EmptyHost {
  /** Every folder that must stay empty, by name (HOME, TMPDIR, …, cwd). */
  readonly dirs: Record<string, string>;
  readonly cwd: string;
  /**
   * PATH, LANG, the folders, CALIOP_PASSPHRASE, and every test-only switch set to 1 (a release build
   * ignores them; elsewhere CALIOP_UNSAFE_TEST_RELAY_TIMEOUT_MS=1 would fail every relay request).
   */
  readonly env: NodeJS.ProcessEnv;
}

export function emptyHost(root: string, passphrase: string): EmptyHost {
  const dirs: Record<string, string> = {};
  for (const name of ['HOME', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'cwd']) {
    dirs[name] = join(root, name);
    mkdirSync(dirs[name]!, { recursive: true });
  }
  const { cwd, ...envDirs } = dirs;
  return {
    dirs,
    cwd: cwd!,
    env: {
      PATH: process.env['PATH'],
      LANG: 'C.UTF-8',
      ...envDirs,
      TMP: dirs['TMPDIR'],
      TEMP: dirs['TMPDIR'],
      CALIOP_PASSPHRASE: passphrase,
      // A release build ignores every test switch (src/build-facts.ts): vaults get real KDF parameters.
      ...Object.fromEntries(TEST_ONLY_ENVIRONMENT.map((name) => [name, '1'])),
    },
  };
}
