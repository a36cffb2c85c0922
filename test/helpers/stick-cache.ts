// A suite-wide cache of set-up sticks (issue 16: ten `npm test` runs must fit a session).
//
// `caliop init` is the dearest command (~3 s CPU: zxcvbn's estimator, the key generation,
// Argon2id), and many test files only need "a stick with an identity" in their set-up.
// test/global-setup.ts makes one folder per vitest run (CALIOP_TEST_STICK_CACHE); the
// first initStick with given parameters runs the real `caliop init` and leaves a copy of
// the sealed stick and of init's JSON there; later callers with the SAME parameters get a
// copy of that folder instead of a new ceremony.
//
// What keeps the tests' meaning:
//   - the key of a slot is (name, email, language, n): the n-th stick a test file asks for
//     with those parameters. Within one file every stick is still a distinct identity, as
//     with a real init each time (two files may hold the same key: each has its own relay,
//     folders and GnuPG homes, nothing shared);
//   - no relay is involved: a cached stick is enrolled by the test afterwards (`relay enrol`),
//     never shared enrolled;
//   - a folder that is not empty (a stick image: MANIFEST, config.json) gets a real init,
//     since init may read what is there;
//   - tests of init itself call it for real (`fresh: true` or onStick(… 'init' …)).
// A cached stick is at most one run old (the folder is removed when the run ends): its key's
// creation date is minutes old, and init's JSON carries that same date.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STICK_CACHE_ENV = 'CALIOP_TEST_STICK_CACHE';

const asked = new Map<string, number>();

/** The cache slot for this call (undefined: no cache in this run, or a stick folder with files in it). */
export function stickCacheSlot(stick: string, parameters: readonly string[]): string | undefined {
  const folder = process.env[STICK_CACHE_ENV];
  if (!folder || !existsSync(folder)) return undefined;
  if (existsSync(stick) && readdirSync(stick).length > 0) return undefined;
  const what = JSON.stringify(parameters);
  const n = (asked.get(what) ?? 0) + 1;
  asked.set(what, n);
  return join(folder, createHash('sha256').update(`${what}#${n}`).digest('hex').slice(0, 32));
}

/** init's JSON from the slot, the sealed stick copied into `stick`; undefined on a miss. */
export function takeFromCache(slot: string, stick: string): string | undefined {
  const json = join(slot, 'init.json');
  if (!existsSync(json)) return undefined;
  cpSync(join(slot, 'stick'), stick, { recursive: true, preserveTimestamps: true });
  return readFileSync(json, 'utf8');
}

/** Leaves a copy of a freshly made stick and its init JSON in the slot (the first writer wins). */
export function putInCache(slot: string, stick: string, initJson: string): void {
  const partial = `${slot}.${process.pid}.partial`;
  try {
    cpSync(stick, join(partial, 'stick'), { recursive: true, preserveTimestamps: true });
    writeFileSync(join(partial, 'init.json'), initJson);
    renameSync(partial, slot); // atomic: another worker may have filled the slot meanwhile (then this fails)
  } catch {
    rmSync(partial, { recursive: true, force: true });
  }
}
