// Every CALIOP_* environment variable the code reads is either for users (documented) or
// listed in TEST_ONLY_ENVIRONMENT (src/build-facts.ts), which the release build makes dead
// and test/exe.test.ts sets on the built executable. A new test switch that is not listed
// fails here, before it can reach a release unguarded.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPILED_RELEASE_FINGERPRINT, RELEASE_BUILD, TEST_ONLY_ENVIRONMENT } from '../src/build-facts.js';

/** Variables meant for users: docs/cli.md (CALIOP_STICK) and the relay's options, docs/api.md §10 (CALIOP_RELAY_STORE, CALIOP_RELAY_RELEASE_FINGERPRINT). */
const USER_ENVIRONMENT = new Set(['CALIOP_STICK', 'CALIOP_RELAY_STORE', 'CALIOP_RELAY_RELEASE_FINGERPRINT']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

describe('build facts', () => {
  it('the tsc build is not a release build and has no compiled-in release fingerprint', () => {
    expect(RELEASE_BUILD).toBe(false);
    expect(COMPILED_RELEASE_FINGERPRINT).toBeUndefined();
  });

  it('every CALIOP_* variable read in src/ is for users or listed as test-only', () => {
    const names = new Set<string>();
    for (const file of sourceFiles(join(import.meta.dirname, '..', 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/['"`](CALIOP_[A-Z0-9_]+)['"`]|env\.(CALIOP_[A-Z0-9_]+)/g)) names.add((match[1] ?? match[2])!);
    }
    expect(names.size).toBeGreaterThan(1); // the scan finds what is there (CALIOP_STICK, CALIOP_UNSAFE_TEST_KDF)
    for (const name of names) expect(USER_ENVIRONMENT.has(name) || TEST_ONLY_ENVIRONMENT.includes(name), name).toBe(true);
    expect(TEST_ONLY_ENVIRONMENT).toContain('CALIOP_UNSAFE_TEST_KDF');
  });
});
