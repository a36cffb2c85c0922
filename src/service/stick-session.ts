// An unlocked stick: the vault's contents in memory, saved back atomically after
// each change (docs/vault-contents.md §1). Every use case that needs secrets
// starts here; the faces (CLI, UI) only supply the passphrase.
import { existsSync } from 'node:fs';
import { deriveIdentity, type DerivedIdentity } from '../core/key-derivation.js';
import { decodeVaultContents, encodeVaultContents, type VaultContents } from '../core/vault-contents.js';
import { CaliopError } from '../errors.js';
import type { Stick } from '../edges/stick-locator.js';
import { unlockVault, type VaultHandle } from '../edges/vault-file.js';
import type { KdfParams } from '../core/vault-format.js';

const utf8 = new TextEncoder();

export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function assertStickHasVault(stick: Stick): void {
  if (!existsSync(stick.vaultPath)) {
    throw new CaliopError('stick_not_initialised', `there is no vault at ${stick.vaultPath}`);
  }
}

export class StickSession {
  #identity: Promise<DerivedIdentity> | undefined;

  private constructor(
    readonly stick: Stick,
    private readonly handle: VaultHandle,
    private current: VaultContents,
  ) {}

  static async unlock(stick: Stick, passphrase: string): Promise<StickSession> {
    assertStickHasVault(stick);
    const { plaintext, handle } = await unlockVault(stick.vaultPath, utf8.encode(passphrase));
    return new StickSession(stick, handle, decodeVaultContents(plaintext));
  }

  /** For the ceremony, which has just created the vault. */
  static fromCreated(stick: Stick, handle: VaultHandle, contents: VaultContents): StickSession {
    return new StickSession(stick, handle, contents);
  }

  get contents(): Readonly<VaultContents> {
    return this.current;
  }

  get kdf(): KdfParams {
    return this.handle.header.kdf;
  }

  /**
   * Applies a change and writes the vault. The change is made on a copy: when the
   * write fails, memory keeps the old state, as the stick does.
   */
  async update(change: (draft: VaultContents) => void): Promise<void> {
    const draft = structuredClone(this.current);
    change(draft);
    await this.handle.save(encodeVaultContents(draft));
    this.current = draft;
  }

  /** The OpenPGP key and device key, derived from the seed (docs/ceremony.md §3). */
  identity(): Promise<DerivedIdentity> {
    this.#identity ??= deriveIdentity({
      seed: hexToBytes(this.current.identity.seedHex),
      name: this.current.identity.name,
      email: this.current.identity.email,
      creationDate: new Date(this.current.identity.creationDate),
    });
    return this.#identity;
  }

  /** `caliop passwd`: new salt, new Argon2id run; the key does not change. */
  async changePassphrase(newPassphrase: string, kdf?: KdfParams): Promise<void> {
    await this.handle.reseal(utf8.encode(newPassphrase), kdf);
  }
}
