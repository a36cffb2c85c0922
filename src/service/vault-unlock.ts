// The first step of unlocking a stick (issue 13), kept light on purpose: it loads only the
// vault file's edge and the Argon2id engine, not openpgp, zod or the message store, so a
// face can start Argon2id (in its worker, on the other core) as soon as it has the
// passphrase, and load the rest of the program meanwhile. StickSession.open finishes it.
import { CaliopError } from '../errors.js';
import { pathExists } from '../edges/plain-files.js';
import type { Stick } from '../edges/stick-locator.js';
import { randomBytes, type RandomSource } from '../edges/random.js';
import { beginUnlockVault, type VaultUnlockRun } from '../edges/vault-file.js';

export function assertStickHasVault(stick: Stick): void {
  if (!pathExists(stick.vaultPath)) {
    throw new CaliopError('stick_not_initialised', `there is no vault at ${stick.vaultPath}`);
  }
}

/** An unlock under way: give it to StickSession.open. Its `opened` is already marked handled. */
export type StickUnlockRun = VaultUnlockRun;

/**
 * Reads the stick's vault and starts Argon2id; settles once the derivation runs. A vault
 * that is not one fails here; a wrong passphrase fails in StickSession.open.
 */
export async function beginStickUnlock(stick: Stick, passphrase: string, random: RandomSource = randomBytes): Promise<StickUnlockRun> {
  assertStickHasVault(stick);
  const run = await beginUnlockVault(stick.vaultPath, new TextEncoder().encode(passphrase), random);
  // Awaited by StickSession.open; meanwhile (the program loading) a failure must not count as unhandled.
  run.opened.catch(() => undefined);
  return run;
}
