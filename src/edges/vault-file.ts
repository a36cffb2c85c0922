// The vault file on the stick: read it, and write it so a yank never leaves the
// stick without a vault that opens (docs/vault-format.md §7).
//
// The format itself is src/core/vault-format.ts; Argon2id is src/edges/argon2id.ts.

import { constants } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CaliopError, isCaliopError } from '../errors.js';
import {
  SALT_LENGTH,
  NONCE_LENGTH,
  VAULT_MAX_BYTES,
  assertKdfParamsForCreation,
  openParsedVault,
  parseVault,
  sealVault,
  type KdfParams,
  type VaultHeader,
} from '../core/vault-format.js';
import { deriveArgon2id, startArgon2id, unsafeTestKdfAllowed } from './argon2id.js';
import { removeLeftoverTempFiles, writeFileAtomically } from './atomic-file.js';
import { ceilingText, FileTooLargeError, NotRegularFileError, readRegularFile } from './plain-files.js';
import { randomBytes, type RandomSource } from './random.js';


/** An unlocked vault: it holds the Argon2id output, so saves need no new Argon2id run (§3.2). */
export interface VaultHandle {
  readonly path: string;
  /** The header of the vault as last written (KDF parameters and salt). */
  readonly header: VaultHeader;
  /** Seal new contents under the same key with a fresh nonce, atomically (§7). */
  save(plaintext: Uint8Array): Promise<void>;
  /**
   * Re-seal the current contents under a new passphrase: new salt, new Argon2id
   * run (for `caliop passwd`). kdf defaults to the current parameters.
   */
  reseal(newPassphrase: Uint8Array, kdf?: KdfParams): Promise<void>;
  /** Forget the key (zeroes it). The handle cannot save afterwards. */
  close(): void;
}

// --- reading --------------------------------------------------------------------

async function readVaultBytes(path: string): Promise<Uint8Array> {
  try {
    return await readRegularFile(path, VAULT_MAX_BYTES);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CaliopError('stick_not_initialised', `no vault at ${path}`, { cause });
    }
    // docs/stick-layout.md §2.1: a device or a pipe in its place is never read.
    if (cause instanceof NotRegularFileError) throw new CaliopError('file_unreadable', `the vault ${cause.message}`, { cause });
    // docs/vault-format.md §2.1: larger than any vault caliop writes: refused from its size, unread.
    if (cause instanceof FileTooLargeError) throw new CaliopError('file_unreadable', `the vault ${cause.message} (docs/vault-format.md §2.1)`, { cause });
    throw new CaliopError('file_unreadable', `the vault ${path} could not be read`, { cause });
  }
}

/** The header of the vault file (no passphrase needed), for `key show --json`. */
export async function readVaultHeader(path: string): Promise<VaultHeader> {
  return parseVault(await readVaultBytes(path)).header;
}


async function pathExists(path: string): Promise<boolean> {
  try {
    await (await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))).close();
    return true;
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * docs/vault-format.md §2.1: caliop never writes a vault it would refuse to read; the vault on
 * the stick stays as it was.
 */
function withinCeiling(sealed: Uint8Array): Uint8Array {
  if (sealed.length > VAULT_MAX_BYTES) {
    throw new CaliopError('stick_write_failed', `the vault would hold ${sealed.length} bytes, over the ceiling of ${ceilingText(VAULT_MAX_BYTES)} (docs/vault-format.md §2.1)`, {
      hint: 'remove what you no longer need (queued messages: "caliop outbox drop ID"; contacts); the previous state was kept',
    });
  }
  return sealed;
}

// --- the handle -----------------------------------------------------------------

function assertPassphrase(passphrase: unknown): asserts passphrase is Uint8Array {
  if (!(passphrase instanceof Uint8Array)) throw new TypeError('passphrase must be a Uint8Array (UTF-8 bytes)');
}

/** A new passphrase may not be empty (strength rules are the service layer's). */
function assertNewPassphrase(passphrase: unknown): asserts passphrase is Uint8Array {
  assertPassphrase(passphrase);
  if (passphrase.length === 0) throw new CaliopError('passphrase_rejected', 'the passphrase is empty');
}

class UnlockedVault implements VaultHandle {
  #header: VaultHeader;
  #argon2Output: Uint8Array | undefined;
  #pending: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    header: VaultHeader,
    argon2Output: Uint8Array,
    private readonly random: RandomSource,
  ) {
    this.#header = header;
    this.#argon2Output = argon2Output;
  }

  get header(): VaultHeader {
    return { ...this.#header, kdf: { ...this.#header.kdf }, salt: this.#header.salt.slice() };
  }

  #key(): Uint8Array {
    if (this.#argon2Output === undefined) throw new CaliopError('internal', 'the vault handle was closed');
    return this.#argon2Output;
  }

  /** Saves and reseals run one after the other, never interleaved. */
  #serialise<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#pending.then(work, work);
    this.#pending = next.catch(() => undefined);
    return next;
  }

  save(plaintext: Uint8Array): Promise<void> {
    return this.#serialise(async () => {
      const nonce = this.random(NONCE_LENGTH); // §3.2: a fresh random nonce for every write
      await writeFileAtomically(this.path, withinCeiling(sealVault(this.#header, this.#key(), nonce, plaintext)));
    });
  }

  reseal(newPassphrase: Uint8Array, kdf?: KdfParams): Promise<void> {
    return this.#serialise(async () => {
      assertNewPassphrase(newPassphrase);
      const oldKey = this.#key();
      const parsed = parseVault(await readVaultBytes(this.path));
      const plaintext = openParsedVault(parsed, oldKey);
      try {
        const newKdf = kdf ?? parsed.header.kdf;
        assertKdfParamsForCreation(newKdf, { allowUnsafeTestParams: unsafeTestKdfAllowed() });
        const header: VaultHeader = { version: 1, kdf: { ...newKdf }, salt: this.random(SALT_LENGTH) };
        const newKey = await deriveArgon2id(newPassphrase, header.salt, header.kdf);
        await writeFileAtomically(this.path, withinCeiling(sealVault(header, newKey, this.random(NONCE_LENGTH), plaintext)));
        this.#header = header;
        this.#argon2Output = newKey;
        oldKey.fill(0);
      } finally {
        plaintext.fill(0);
      }
    });
  }

  close(): void {
    this.#argon2Output?.fill(0);
    this.#argon2Output = undefined;
  }
}

/**
 * A new vault at path sealing plaintext under passphrase. Refuses to replace an
 * existing vault (stick_already_initialised). kdf must meet the floor (§5.1)
 * unless CALIOP_UNSAFE_TEST_KDF=1 (§5.4).
 */
export async function createVault(
  path: string,
  passphrase: Uint8Array,
  plaintext: Uint8Array,
  kdf: KdfParams,
  random: RandomSource = randomBytes,
): Promise<VaultHandle> {
  assertNewPassphrase(passphrase);
  assertKdfParamsForCreation(kdf, { allowUnsafeTestParams: unsafeTestKdfAllowed() });
  if (await pathExists(path)) throw new CaliopError('stick_already_initialised', `a vault already exists at ${path}`);
  const header: VaultHeader = { version: 1, kdf: { ...kdf }, salt: random(SALT_LENGTH) };
  const argon2Output = await deriveArgon2id(passphrase, header.salt, header.kdf);
  await writeFileAtomically(path, withinCeiling(sealVault(header, argon2Output, random(NONCE_LENGTH), plaintext)));
  return new UnlockedVault(path, header, argon2Output, random);
}

/**
 * Opens the vault at path (docs/vault-format.md §6). Throws stick_not_initialised,
 * file_unreadable, vault_truncated, vault_unsupported_version, vault_tampered
 * (VaultTamperedError: part 'header' or 'ciphertext') or wrong_passphrase. It
 * never writes the vault; once unlocked, it removes leftover temporary files of
 * an interrupted write (§7).
 */
export async function unlockVault(
  path: string,
  passphrase: Uint8Array,
  random: RandomSource = randomBytes,
): Promise<{ plaintext: Uint8Array; handle: VaultHandle }> {
  return (await beginUnlockVault(path, passphrase, random)).opened;
}

/** An unlock under way (beginUnlockVault): `opened` settles with the vault, or its error. */
export interface VaultUnlockRun {
  readonly opened: Promise<{ plaintext: Uint8Array; handle: VaultHandle }>;
}

/**
 * unlockVault in two steps (issue 13): this reads and checks the vault, starts Argon2id and
 * settles as soon as the derivation runs (in its worker), so the caller can load the rest of
 * the program meanwhile; `opened` is the outcome. The passphrase bytes must stay as they are
 * until `opened` settles.
 */
export async function beginUnlockVault(
  path: string,
  passphrase: Uint8Array,
  random: RandomSource = randomBytes,
): Promise<VaultUnlockRun> {
  assertPassphrase(passphrase);
  const parsed = parseVault(await readVaultBytes(path));
  // No vault is ever created with an empty passphrase.
  if (passphrase.length === 0) throw new CaliopError('wrong_passphrase', 'the passphrase is empty');
  const run = await startArgon2id(passphrase, parsed.header.salt, parsed.header.kdf);
  const opened = run.output.then(async (argon2Output) => {
    try {
      const plaintext = openParsedVault(parsed, argon2Output);
      // Only an unlock that succeeded touches the stick: a wrong passphrase changes nothing at all.
      await removeLeftoverTempFiles(path);
      return { plaintext, handle: new UnlockedVault(path, parsed.header, argon2Output, random) as VaultHandle };
    } catch (error) {
      argon2Output.fill(0);
      if (isCaliopError(error)) throw error;
      throw new CaliopError('internal', 'opening the vault failed', { cause: error });
    }
  });
  return { opened };
}
