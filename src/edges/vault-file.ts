// The vault file on the stick: read it, and write it so a yank never leaves the
// stick without a vault that opens (docs/vault-format.md §7).
//
// The format itself is src/core/vault-format.ts; Argon2id is src/edges/argon2id.ts.

import { randomBytes, randomUUID } from 'node:crypto';
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CaliopError, isCaliopError } from '../errors.js';
import {
  SALT_LENGTH,
  NONCE_LENGTH,
  assertKdfParamsForCreation,
  openParsedVault,
  parseVault,
  sealVault,
  type KdfParams,
  type VaultHeader,
} from '../core/vault-format.js';
import { deriveArgon2id, unsafeTestKdfAllowed } from './argon2id.js';

/** n bytes from a cryptographically secure source. */
export type RandomSource = (length: number) => Uint8Array;

/** The OS CSPRNG, the default random source. */
export const osRandom: RandomSource = (length) => new Uint8Array(randomBytes(length));

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
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CaliopError('stick_not_initialised', `no vault at ${path}`, { cause });
    }
    throw new CaliopError('file_unreadable', `the vault ${path} could not be read`, { cause });
  }
}

/** The header of the vault file (no passphrase needed), for `key show --json`. */
export async function readVaultHeader(path: string): Promise<VaultHeader> {
  return parseVault(await readVaultBytes(path)).header;
}

// --- yank-safe writing (docs/vault-format.md §7) ------------------------------------

const TEMP_MARKER = '.partial-';

function tempPathFor(path: string): string {
  // §7 step 1: in the same folder as the vault (the stick), never in TMPDIR.
  return join(dirname(path), `${basename(path)}${TEMP_MARKER}${randomUUID().replaceAll('-', '')}`);
}

function isTempFileOf(path: string, name: string): boolean {
  const prefix = basename(path) + TEMP_MARKER;
  return name.startsWith(prefix) && /^[0-9a-f]+$/.test(name.slice(prefix.length));
}

/** §7: leftovers of an interrupted write are removed (best effort; a read-only stick keeps them, harmlessly). */
export async function removeLeftoverTempFiles(path: string): Promise<string[]> {
  const folder = dirname(path);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isTempFileOf(path, name)) continue;
    try {
      await unlink(join(folder, name));
      removed.push(name);
    } catch {
      // ignored: a leftover is never read, it only takes space
    }
  }
  return removed;
}

export async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
  } catch (cause) {
    // Windows cannot open a folder; the rename is as durable as that system makes it.
    if (process.platform === 'win32') return;
    throw cause;
  }
  try {
    await handle.sync();
  } catch (cause) {
    // Some file systems do not support fsync on a folder: nothing more we can do.
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw cause;
  } finally {
    await handle.close();
  }
}

/**
 * §7: write bytes to a new file in the same folder, fsync it, rename it over the
 * vault, fsync the folder. At every instant the vault path names either the old
 * complete file or the new complete file.
 */
export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
        written += bytesWritten;
      }
      await handle.sync(); // §7 step 2
    } finally {
      await handle.close();
    }
    await renameOver(temp, path); // §7 step 3
    await syncFolder(dirname(path)); // §7 step 4
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    throw new CaliopError('stick_write_failed', `writing the vault ${path} failed: ${(cause as Error).message}`, { cause });
  }
}

/**
 * rename(2), replacing the target. On Windows the replace fails for a moment
 * while another program (an antivirus, an indexer) holds the old vault open:
 * retry briefly before giving up.
 */
async function renameOver(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const transient = process.platform === 'win32' && (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY');
      if (!transient || attempt >= 20) throw cause;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await (await open(path, 'r')).close();
    return true;
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code !== 'ENOENT';
  }
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
      await writeFileAtomically(this.path, sealVault(this.#header, this.#key(), nonce, plaintext));
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
        await writeFileAtomically(this.path, sealVault(header, newKey, this.random(NONCE_LENGTH), plaintext));
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
  random: RandomSource = osRandom,
): Promise<VaultHandle> {
  assertNewPassphrase(passphrase);
  assertKdfParamsForCreation(kdf, { allowUnsafeTestParams: unsafeTestKdfAllowed() });
  if (await pathExists(path)) throw new CaliopError('stick_already_initialised', `a vault already exists at ${path}`);
  const header: VaultHeader = { version: 1, kdf: { ...kdf }, salt: random(SALT_LENGTH) };
  const argon2Output = await deriveArgon2id(passphrase, header.salt, header.kdf);
  await writeFileAtomically(path, sealVault(header, argon2Output, random(NONCE_LENGTH), plaintext));
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
  random: RandomSource = osRandom,
): Promise<{ plaintext: Uint8Array; handle: VaultHandle }> {
  assertPassphrase(passphrase);
  const parsed = parseVault(await readVaultBytes(path));
  // No vault is ever created with an empty passphrase.
  if (passphrase.length === 0) throw new CaliopError('wrong_passphrase', 'the passphrase is empty');
  const argon2Output = await deriveArgon2id(passphrase, parsed.header.salt, parsed.header.kdf);
  try {
    const plaintext = openParsedVault(parsed, argon2Output);
    // Only an unlock that succeeded touches the stick: a wrong passphrase changes nothing at all.
    await removeLeftoverTempFiles(path);
    return { plaintext, handle: new UnlockedVault(path, parsed.header, argon2Output, random) };
  } catch (error) {
    argon2Output.fill(0);
    if (isCaliopError(error)) throw error;
    throw new CaliopError('internal', 'opening the vault failed', { cause: error });
  }
}
