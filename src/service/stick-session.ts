// An unlocked stick: the vault's small document in memory, saved back atomically
// after each change (docs/vault-contents.md §1), and the message store beside it
// (docs/store.md). Every use case that needs secrets starts here; the faces (CLI,
// UI) only supply the passphrase.
import { webcrypto } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { armoredForOutsiders, deriveIdentity, deriveRevocationCertificate, deviceKeyFromSecret, type DerivedIdentity } from '../core/key-derivation.js';
import {
  VAULT_CONTENTS_FORMAT_V1,
  decodeVaultContents,
  encodeVaultContents,
  migratedVaultContents,
  type StoreRecord,
  type VaultContents,
  type VaultContentsV1,
} from '../core/vault-contents.js';
import { CaliopError } from '../errors.js';
import type { Stick } from '../edges/stick-locator.js';
import { StoreFiles } from '../edges/store-files.js';
import { estimateArgon2idMs } from '../edges/argon2id.js';
import { randomBytes, type RandomSource } from '../edges/random.js';
import { listFolder } from '../edges/plain-files.js';
import { readVaultHeader, type VaultHandle } from '../edges/vault-file.js';
import type { KdfParams } from '../core/vault-format.js';
import { MessageStore, STORE_FOLDER_PATTERN, storeFolderName } from './message-store.js';
import { outboxBlobRefs } from './message-blobs.js';
import { beginStickUnlock, type StickUnlockRun } from './vault-unlock.js';

const utf8 = new TextEncoder();

export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export { assertStickHasVault } from './vault-unlock.js';

/** docs/store.md §1: a new store record: a random folder name and a random key. */
export function newStoreRecord(random: RandomSource = randomBytes): StoreRecord {
  return { folder: storeFolderName(random), keyHex: Buffer.from(random(32)).toString('hex') };
}

/** docs/store.md §7: store folders the vault does not name are leftovers of an interrupted migration or ceremony. */
async function removeOtherStores(vaultDir: string, keep: string): Promise<void> {
  let names: string[];
  try {
    names = await listFolder(vaultDir);
  } catch {
    return;
  }
  for (const name of names) if (STORE_FOLDER_PATTERN.test(name) && name !== keep) await StoreFiles.removeFolder(join(vaultDir, name));
}

/**
 * How long unlocking this stick will take here, in ms (the Argon2id run dominates it), from
 * this machine's measured speed: the interface's progress line counts it down (issue 13).
 */
export async function estimateUnlockMs(stick: Stick): Promise<number> {
  const header = await readVaultHeader(stick.vaultPath);
  return estimateArgon2idMs(header.kdf);
}

/**
 * Issue 13: a process's first WebCrypto call sets WebCrypto up (Node loads its modules): 10-40 ms
 * sampled under Node 26, after Argon2id on the wall path, since openpgp.js signs the derived
 * key's bindings with Ed25519 through WebCrypto (importKey of a JWK, then sign). Done while
 * Argon2id runs on the other core, with a throwaway key. A failure changes nothing: openpgp.js
 * then meets the same on its own.
 */
async function warmUpWebCrypto(): Promise<void> {
  try {
    const subtle = webcrypto.subtle;
    const pair = (await subtle.generateKey('Ed25519', true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const key = await subtle.importKey('jwk', await subtle.exportKey('jwk', pair.privateKey), 'Ed25519', false, ['sign']);
    await subtle.sign('Ed25519', key, new Uint8Array(64));
  } catch {
    // no Ed25519 in this runtime's WebCrypto: openpgp.js signs with its own code
  }
}

export class StickSession {
  #identity: Promise<DerivedIdentity> | undefined;

  private constructor(
    readonly stick: Stick,
    private readonly handle: VaultHandle,
    private current: VaultContents,
    /** The messages (docs/store.md): sealed objects, a sealed index and journal. */
    readonly store: MessageStore,
  ) {
    // docs/store.md §5.1: a queued message's large ciphertext is a blob that the outbox, not a stored message, names.
    store.alsoReferenced = () => this.current.outbox.flatMap(outboxBlobRefs);
  }

  static async unlock(stick: Stick, passphrase: string, random: RandomSource = randomBytes): Promise<StickSession> {
    return StickSession.open(stick, await beginStickUnlock(stick, passphrase, random), random);
  }

  /** The rest of an unlock that beginStickUnlock started (src/service/vault-unlock.ts). */
  static async open(stick: Stick, run: StickUnlockRun, random: RandomSource = randomBytes): Promise<StickSession> {
    void warmUpWebCrypto(); // while Argon2id runs in its worker
    const { plaintext, handle } = await run.opened;
    const decoded = await decodeVaultContents(plaintext);
    plaintext.fill(0);
    if (decoded.format === VAULT_CONTENTS_FORMAT_V1) return StickSession.#migrate(stick, handle, decoded, random);
    const store = await MessageStore.open(join(stick.vaultDir, decoded.store.folder), hexToBytes(decoded.store.keyHex), random);
    await removeOtherStores(stick.vaultDir, decoded.store.folder);
    return new StickSession(stick, handle, decoded, store);
  }

  /**
   * docs/store.md §7: a one-document vault moves its messages into a new store,
   * then the vault is rewritten to name it: that rewrite is the one atomic step.
   * A yank before it leaves the old vault (and a leftover folder, removed next time).
   */
  static async #migrate(stick: Stick, handle: VaultHandle, old: VaultContentsV1, random: RandomSource): Promise<StickSession> {
    await removeOtherStores(stick.vaultDir, '');
    const record = newStoreRecord(random);
    const store = await MessageStore.create(join(stick.vaultDir, record.folder), hexToBytes(record.keyHex), random, {
      messages: old.messages,
      ...(old.relayCursor !== undefined ? { relayCursor: old.relayCursor } : {}),
    });
    const contents = migratedVaultContents(old, record);
    await handle.save(await encodeVaultContents(contents));
    return new StickSession(stick, handle, contents, store);
  }

  /** For the ceremony, which has just created the store and then the vault naming it. */
  static fromCreated(stick: Stick, handle: VaultHandle, contents: VaultContents, store: MessageStore): StickSession {
    return new StickSession(stick, handle, contents, store);
  }

  /** The vault's small document: identity, contacts, settings, outbox, relay account. */
  get contents(): Readonly<VaultContents> {
    return this.current;
  }

  get kdf(): KdfParams {
    return this.handle.header.kdf;
  }

  /**
   * Applies a change to the vault's document and writes the vault. The change is
   * made on a copy: when the write fails, memory keeps the old state, as the stick
   * does. Messages are not in the document: they go through `store`.
   */
  async update(change: (draft: VaultContents) => void): Promise<void> {
    const draft = structuredClone(this.current);
    change(draft);
    await this.handle.save(await encodeVaultContents(draft));
    // The derived key depends on the identity record (a renewal adds bindings): derive it again.
    if (JSON.stringify(draft.identity) !== JSON.stringify(this.current.identity)) this.#identity = undefined;
    this.current = draft;
  }

  /**
   * The OpenPGP key, derived from the seed (docs/ceremony.md §3), and this stick's
   * device key: derived from the seed too, unless the vault holds its own
   * (docs/vault-contents.md §8: a stick made by recover is another device).
   */
  identity(): Promise<DerivedIdentity> {
    const own = this.current.device;
    this.#identity ??= deriveIdentity({
      seed: hexToBytes(this.current.identity.seedHex),
      name: this.current.identity.name,
      email: this.current.identity.email,
      creationDate: new Date(this.current.identity.creationDate),
      renewedAt: this.current.identity.renewedAt === undefined ? undefined : new Date(this.current.identity.renewedAt),
      // docs/ceremony.md §4: checked when the ceremony (or recover) made it; the derivation is deterministic.
      validate: false,
    })
      .then((identity) => (own ? { ...identity, device: deviceKeyFromSecret(hexToBytes(own.secretKeyHex)) } : identity))
      .then((identity) => this.#revoked(identity));
    return this.#identity;
  }

  /** docs/lost-stick.md §3: a key revoked from this stick carries its revocation in the certificate it shows and publishes. */
  async #revoked(identity: DerivedIdentity): Promise<DerivedIdentity> {
    const record = this.current.identity;
    if (!record.revoked) return identity;
    const certificate =
      record.revoked.reason === 'ceremony'
        ? identity.revocationCertificate
        : await deriveRevocationCertificate(hexToBytes(record.seedHex), new Date(record.creationDate), new Date(record.revoked.at), record.revoked.reason);
    const { data } = await openpgp.unarmor(certificate);
    const signature = await openpgp.readSignature({ binarySignature: data as Uint8Array<ArrayBuffer> });
    const publicKey = await openpgp.readKey({ binaryKey: identity.publicKey.write() });
    publicKey.revocationSignatures.push(...signature.packets);
    return { ...identity, publicKey, armoredCert: publicKey.armor(), armoredCertForOutsiders: armoredForOutsiders(publicKey) };
  }

  /** `caliop passwd`: new salt, new Argon2id run; the key does not change, nor does the store's. */
  async changePassphrase(newPassphrase: string, kdf?: KdfParams): Promise<void> {
    await this.handle.reseal(utf8.encode(newPassphrase), kdf);
  }
}
