// The message store: messages and attachments as sealed objects on the stick,
// listed through a small sealed index and journal (normative: docs/store.md).
// Each call costs what it changes: marking read appends one small journal
// record; storing a page writes its objects and one record; listing reads the
// index in memory and the objects of the page only.
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import {
  INDEX_VERSION,
  StoreIndex,
  emptyStoreState,
  readingOf,
  type IndexEntry,
  type IndexReading,
  type StoreOp,
} from '../core/store-format.js';
import type { StoredMessage } from '../core/vault-contents.js';

/** Issue 13: the stored messages' zod schema, loaded by the runs that write or read a message, not by an unlock. */
async function storedMessageSchema() {
  return (await import('../core/vault-contents-schema.js')).storedMessageSchema();
}
import { CaliopError } from '../errors.js';
import { StoreFiles, isStickFull, type ObjectSource, type StoreIoCounts } from '../edges/store-files.js';
import type { RandomSource } from '../edges/random.js';
import { VaultTamperedError } from '../core/vault-format.js';

export type { IndexEntry } from '../core/store-format.js';

/** A message to store; the store gives it its local id when id is empty. */
export interface MessageToStore {
  readonly message: StoredMessage;
  /** Blobs (attachments) already written with putBlob() that belong to this message. */
  readonly blobs?: readonly string[];
}

export interface InboxPage {
  readonly entries: readonly IndexEntry[];
  /** How many messages the store holds in all. */
  readonly total: number;
}

export class MessageStore {
  #index: StoreIndex;
  readonly #reading: IndexReading;
  #pending: Promise<unknown> = Promise.resolve();
  /** Blobs written in this session and not yet named by a message: protected from §6 clean-up. */
  #unclaimed = new Set<string>();
  /** SHA-256 of the blobs written in this session with { digest: true }, by ref. */
  #digests = new Map<string, Uint8Array>();
  /**
   * Blobs named outside the store (the vault document's outbox, docs/store.md §5.1),
   * kept by every compaction. Set by the session that owns both.
   */
  alsoReferenced: () => Iterable<string> = () => [];

  private constructor(
    private readonly files: StoreFiles,
    reading: IndexReading,
    records: readonly StoreOp[][] = [],
  ) {
    this.#reading = reading;
    this.#index = new StoreIndex(reading);
    for (const record of records) this.#index.apply(record);
  }

  /** §7: a new store (a new stick, or migrating the messages of a one-document vault). */
  static async create(
    folder: string,
    key: Uint8Array,
    random: RandomSource,
    initial: { messages?: readonly StoredMessage[]; relayCursor?: string } = {},
  ): Promise<MessageStore> {
    const state = emptyStoreState();
    if (initial.relayCursor !== undefined) state.relayCursor = initial.relayCursor;
    const files = await StoreFiles.create(folder, key, emptyStoreState(), random);
    if (!initial.messages?.length) {
      if (state.relayCursor !== undefined) await files.compact(state, new Set());
      return new MessageStore(files, readingOf(state));
    }
    const fans: string[] = [];
    const schema = await storedMessageSchema();
    for (const message of initial.messages) {
      const object = files.newObjectName();
      const bytes = new TextEncoder().encode(JSON.stringify(schema.parse(message)));
      const { folder: fan } = await files.writeObject(object, bytes);
      fans.push(fan);
      state.entries.push(entryOf(message, object, bytes.length));
    }
    await files.syncObjectFolders(fans);
    const store = new MessageStore(files, readingOf(state));
    // The whole migrated index as generation 1 (generation 0 was the empty one).
    await files.compact(await store.#index.state(), await store.#index.referencedObjects());
    return store;
  }

  /**
   * §6: reads the index's header, head and first chunk and the journal only (§3), and repairs a
   * torn journal tail; §2: the buckets of the ids the journal deletes or rewrites, when it does,
   * so that the count is known. §7.1: an index of format version 1, 2 or 3 is rewritten in the
   * current format (one atomic generation); on a full stick that waits for a later opening (the
   * store works meanwhile, from memory).
   */
  static async open(folder: string, key: Uint8Array, random: RandomSource): Promise<MessageStore> {
    const { files, index, records } = await StoreFiles.open(folder, key, random);
    const store = new MessageStore(files, index, records);
    await store.#index.settle();
    if (index.version < INDEX_VERSION) {
      try {
        await files.rewrite(await store.#index.state());
      } catch (error) {
        if (!isStickFull(error)) throw error;
      }
    }
    return store;
  }

  /** Bytes and files read and written so far, and the index's plaintext opened (tests assert on these). */
  get io(): Readonly<StoreIoCounts & { indexBytesOpened: number }> {
    return { ...this.files.counts, indexBytesOpened: this.#reading.opened.bytes };
  }

  get folder(): string {
    return this.files.folder;
  }

  get count(): number {
    return this.#index.count;
  }

  get relayCursor(): string | undefined {
    return this.#index.relayCursor;
  }

  /** The next free local id (outbox items share the id space: see allocateIds). */
  get nextId(): number {
    return this.#index.nextId;
  }

  /** docs/store.md §2.1: de-duplication by relay id; the first call of a session opens the whole index (one read). */
  hasRelayId(relayId: string): Promise<boolean> {
    return this.#index.hasRelayId(relayId);
  }

  /** One line: opens the index chunk that holds it (§2, read by position, §3), at most once a session. */
  entry(id: string): Promise<IndexEntry | undefined> {
    return this.#index.get(id);
  }

  /** Every entry, newest first: opens the whole index (§2.1 says who may). */
  entries(): Promise<IndexEntry[]> {
    return this.#index.all();
  }

  /** docs/store.md §2.1: the sent copies awaiting a delivery report (the head names them and their chunks). */
  awaitingDelivery(): Promise<IndexEntry[]> {
    return this.#index.awaitingDelivery();
  }

  /** A page of the index, newest first: opens the index chunks that hold it (§2); the caller opens only the page's objects. */
  async page(offset = 0, limit = Number.POSITIVE_INFINITY): Promise<InboxPage> {
    const entries = await this.#index.page(offset, limit);
    return { entries, total: this.#index.count };
  }

  /** The whole message (one object read, authenticated). */
  async get(id: string): Promise<StoredMessage> {
    const entry = await this.#index.get(id);
    if (!entry) throw new CaliopError('message_not_found', `there is no message ${id} in this vault`);
    const bytes = await this.files.readWholeObject(entry.object);
    const parsed = (await storedMessageSchema()).safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (!parsed.success) throw new VaultTamperedError('store', `message ${id} does not match its format`);
    return { ...parsed.data, unread: entry.unread };
  }

  #serialise<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#pending.then(work, work);
    this.#pending = next.catch(() => undefined);
    return next;
  }

  async #commit(ops: StoreOp[], options: { useReserve?: boolean; compact?: boolean } = {}): Promise<void> {
    await this.files.append(ops, { useReserve: options.useReserve ?? false });
    this.#index.apply(ops);
    await this.#index.settle(); // docs/store.md §2: nothing to look up (each id was looked up before the change)
    if (options.compact !== false) await this.#compactIfDue();
  }

  /**
   * §4: compaction is housekeeping: the change before it is already durable. On a full
   * stick (§6.2) it waits for a later change; the journal goes on growing meanwhile.
   */
  async #compactIfDue(): Promise<void> {
    const fold = !this.files.compactionDue();
    if (fold && !this.files.foldDue()) return;
    try {
      // §4: the journal folded into one record when it holds many, the index untouched; or compacted.
      await (fold ? this.files.fold() : this.#compact());
    } catch (error) {
      if (!isStickFull(error)) throw error;
    }
  }

  async #compact(): Promise<void> {
    // A blob begun while the objects are listed (putBlob is not queued) is claimed then: looked up live.
    const unclaimed = this.#unclaimed;
    const referenced = new (class extends Set<string> {
      override has(name: string): boolean {
        return super.has(name) || unclaimed.has(name);
      }
    })(await this.#index.referencedObjects());
    for (const blob of this.alsoReferenced()) referenced.add(blob);
    await this.files.compact(await this.#index.state(), referenced);
  }

  /**
   * Stores messages: their objects first (fsynced), then one journal record naming
   * them all, with the relay cursor when given. Messages with an empty id get the
   * next local ids; a message whose relay id is already stored is skipped. Returns
   * the messages as stored (with their ids).
   */
  put(items: readonly MessageToStore[], options: { relayCursor?: string } = {}): Promise<StoredMessage[]> {
    return this.#serialise(async () => {
      const ops: StoreOp[] = [];
      const stored: StoredMessage[] = [];
      const fans: string[] = [];
      const seen = new Set<string>();
      let nextId = this.#index.nextId;
      const toWrite: { object: string; bytes: Uint8Array }[] = [];
      const schema = await storedMessageSchema();
      for (const item of items) {
        const relayId = item.message.relayId;
        if (relayId !== undefined && (seen.has(relayId) || (await this.#index.hasRelayId(relayId)))) continue;
        if (relayId !== undefined) seen.add(relayId);
        const id = item.message.id === '' ? String(nextId++) : item.message.id;
        if ((await this.#index.get(id)) !== undefined) throw new CaliopError('internal', `message id ${id} is already in the store`);
        if (Number(id) >= nextId) nextId = Number(id) + 1;
        const message = schema.parse({ ...item.message, id });
        const bytes = new TextEncoder().encode(JSON.stringify(message));
        const object = this.files.newObjectName();
        toWrite.push({ object, bytes });
        const entry = entryOf(message, object, bytes.length);
        if (item.blobs?.length) entry.blobs = [...item.blobs];
        ops.push({ op: 'put', entry });
        stored.push(message);
      }
      // docs/store.md §6: every object of the page written and fsynced before the one journal
      // record that names them; written side by side, so the file system commits their
      // fsyncs together instead of one after the other (issue 13: 21 of 41 s of a sync of 1,000).
      fans.push(...(await this.files.writeObjects(toWrite)));
      if (options.relayCursor !== undefined) ops.push({ op: 'cursor', cursor: options.relayCursor });
      if (ops.length === 0) return stored;
      if (fans.length > 0) await this.files.syncObjectFolders(fans);
      await this.#commit(ops);
      for (const item of items) for (const blob of item.blobs ?? []) this.#unclaimed.delete(blob);
      return stored;
    });
  }

  /**
   * §4: a stored message rewritten (a sent copy's delivery report, docs/vault-contents.md
   * §5.5): the new object is written and fsynced, one journal record names it under the
   * same id, then the old object is removed (a yank in between leaves it unreferenced:
   * §6 clean-up). Its blobs stay.
   */
  replace(message: StoredMessage): Promise<void> {
    return this.#serialise(async () => {
      const old = await this.#index.get(message.id);
      if (!old) throw new CaliopError('message_not_found', `there is no message ${message.id} in this vault`);
      const parsed = (await storedMessageSchema()).parse(message);
      const bytes = new TextEncoder().encode(JSON.stringify(parsed));
      const object = this.files.newObjectName();
      const fans = await this.files.writeObjects([{ object, bytes }]);
      await this.files.syncObjectFolders(fans);
      const entry = entryOf(parsed, object, bytes.length);
      if (old.blobs?.length) entry.blobs = [...old.blobs];
      entry.unread = old.unread;
      await this.#commit([{ op: 'put', entry }]);
      await this.files.removeObjects([old.object]);
    });
  }

  /** Marks a message read or unread: one small journal record. */
  setUnread(id: string, unread: boolean): Promise<void> {
    return this.#serialise(async () => {
      const entry = await this.#index.get(id);
      if (!entry) throw new CaliopError('message_not_found', `there is no message ${id} in this vault`);
      if (entry.unread === unread) return;
      await this.#commit([{ op: 'set', id, unread }]);
    });
  }

  /**
   * Removes blobs that no message names and that nothing else will (an outbox item
   * dropped unsent, docs/store.md §5.1). A blob a stored message names is kept.
   */
  discardBlobs(refs: readonly string[]): Promise<void> {
    return this.#serialise(async () => {
      const referenced = await this.#index.referencedObjects();
      const loose = refs.filter((ref) => !referenced.has(ref));
      for (const ref of loose) this.#unclaimed.delete(ref);
      await this.files.removeObjects(loose);
    });
  }

  /**
   * Deletes messages and their blobs: the journal record first, then the files (§6).
   * Works on a full stick (§6.2): the record may take the delete reserve's space, which
   * is written again once the files are gone; compaction comes last.
   */
  delete(ids: readonly string[]): Promise<void> {
    return this.#serialise(async () => {
      const entries: IndexEntry[] = [];
      for (const id of ids) {
        const entry = await this.#index.get(id);
        if (!entry) throw new CaliopError('message_not_found', `there is no message ${id} in this vault`);
        entries.push(entry);
      }
      if (entries.length === 0) return;
      await this.#commit(entries.map((entry) => ({ op: 'delete', id: entry.id })), { useReserve: true, compact: false });
      await this.files.removeObjects(entries.flatMap((entry) => [entry.object, ...(entry.blobs ?? [])]));
      await this.files.restoreReserve();
      await this.#compactIfDue();
    });
  }

  /** Records the relay cursor alone (a page that held nothing new). */
  setRelayCursor(cursor: string): Promise<void> {
    return this.#serialise(async () => {
      if (this.#index.relayCursor === cursor) return;
      await this.#commit([{ op: 'cursor', cursor }]);
    });
  }

  /**
   * Reserves n local ids (for outbox items, which live in the vault document until
   * sent). `floor` is the lowest id the caller knows to be free.
   */
  allocateIds(n: number, floor = 1): Promise<string[]> {
    return this.#serialise(async () => {
      const first = Math.max(this.#index.nextId, floor);
      await this.#commit([{ op: 'next-id', nextId: first + n }]);
      return Array.from({ length: n }, (_, i) => String(first + i));
    });
  }

  /**
   * Writes a blob (an attachment) as its own sealed object, streamed: memory holds
   * one 64 KiB chunk whatever the size. Name it in put({ blobs }) to keep it; a
   * blob no message names is removed by a later clean-up (§6).
   */
  putBlob(source: ObjectSource, options: { readonly digest?: boolean } = {}): Promise<{ ref: string; size: number }> {
    // Not queued behind the journal's work: blobs are written side by side (a forwarded
    // message's blob and its own attachments', docs/store.md §5.2), each a file of its own
    // that no record names yet. Claimed first, so a compaction meanwhile keeps it (§6).
    const ref = this.files.newObjectName();
    this.#unclaimed.add(ref);
    // docs/store.md §5.1: a blob about to be uploaded has its SHA-256 taken as it is written (blobDigest).
    const hash = options.digest === true ? createHash('sha256') : undefined;
    return (async () => {
      try {
        const { size, folder } = await this.files.writeObject(ref, hash === undefined ? source : hashedAsWritten(source, hash));
        await this.files.syncObjectFolders([folder]);
        if (hash !== undefined) this.#digests.set(ref, hash.digest());
        return { ref, size };
      } catch (error) {
        this.#unclaimed.delete(ref);
        throw error;
      }
    })();
  }

  /**
   * A blob's bytes, chunk by chunk, each authenticated before it is given out. A
   * truncated or damaged blob throws vault_tampered (part store) when reached: a
   * consumer writing to a file must not treat the output as complete before the end.
   */
  /**
   * docs/store.md §5.1: the SHA-256 of a blob's content when this session wrote it with
   * `{ digest: true }` (the upload's Content-Digest without a pass that reads it back);
   * undefined otherwise.
   */
  blobDigest(ref: string): Uint8Array | undefined {
    return this.#digests.get(ref);
  }

  openBlob(ref: string): AsyncIterable<Uint8Array> {
    return this.files.readObject(ref);
  }

  /** Folds the journal into one record now (§4; tests: it is otherwise done past JOURNAL_FOLD_RECORDS records). */
  foldJournal(): Promise<void> {
    return this.#serialise(() => this.files.fold());
  }

  /** Forces a compaction now (tests, and `caliop` after a large delete). */
  compact(): Promise<void> {
    return this.#serialise(() => this.#compact());
  }
}

function entryOf(message: StoredMessage, object: string, size: number): IndexEntry {
  return {
    id: message.id,
    object,
    direction: message.direction,
    ...(message.relayId !== undefined ? { relayId: message.relayId } : {}),
    from: message.from,
    to: [...message.to],
    subject: message.subject,
    date: message.date,
    storedAt: message.storedAt,
    unread: message.unread,
    size,
    ...((message.delivery?.pending.length ?? 0) > 0 ? { awaitingDelivery: true as const } : {}),
  };
}

/** §1: the store folder's name inside the vault folder: random, says nothing. */
export function storeFolderName(random: RandomSource): string {
  return `store-${Buffer.from(random(8)).toString('hex')}`;
}

export const STORE_FOLDER_PATTERN = /^store-[0-9a-f]{16}$/;

export function storeFolderPath(vaultDir: string, name: string): string {
  return join(vaultDir, name);
}

/** The source as given, each piece hashed on its way to the file. */
function hashedAsWritten(source: ObjectSource, hash: Hash): ObjectSource {
  if (source instanceof Uint8Array) {
    hash.update(source);
    return source;
  }
  return (async function* () {
    for await (const piece of source) {
      hash.update(piece);
      yield piece;
    }
  })();
}
