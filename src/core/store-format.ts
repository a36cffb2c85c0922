// The message store on the stick (normative: docs/store.md).
//
// Pure: no files, no randomness, no clock. Nonces and keys are parameters;
// src/edges/store-files.ts reads and writes the files, src/service/message-store.ts
// is the API the use cases call.

import type { z } from 'zod';
import { arrayOf, isBoolean, isIsoDateTime, isString, oneOf, safeIntegerFrom, strictObject, stringMatching, type Check } from './json-shape.js';
import type { IndexEntrySchema, StoreOpSchema, StoreStateSchema } from './store-format-schema.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { VaultTamperedError } from './vault-format.js';

import { xchachaAead, xchachaSealPieces } from './xchacha-aead.js';

const ascii = (text: string) => new TextEncoder().encode(text);

// --- constants (docs/store.md §3-§5) --------------------------------------------

export const STORE_KEY_LENGTH = 32;
const NONCE_LENGTH = 24;
const TAG_LENGTH = 16;
/** §3: the index file's magic; §4 the journal's; §5 an object's. */
const INDEX_MAGIC = ascii('CALIOPIX');
const JOURNAL_MAGIC = ascii('CALIOPJR');
const OBJECT_MAGIC = ascii('CALIOPOB');
const FORMAT_VERSION = 1;
/** §3, §4: magic 8 + version 2 + generation 4. */
export const GENERATION_HEADER_LENGTH = 14;
/** §5: plaintext bytes per sealed chunk of an object (the last one may be shorter). */
export const OBJECT_CHUNK = 64 * 1024;
/** §5: every object's plaintext, padding and trailer included, is a multiple of this. */
export const OBJECT_PAD_TO = 4096;
/** §5: magic 8 + version 2 + chunk size 4 + nonce prefix 15. */
export const OBJECT_HEADER_LENGTH = 29;
const NONCE_PREFIX_LENGTH = 15;
/** §5: an object's name: 32 lowercase hex digits, random. */
export const OBJECT_NAME = /^[0-9a-f]{32}$/;
/** §4: the journal is compacted once larger than this and than the index… */
export const JOURNAL_COMPACT_FLOOR = 64 * 1024;
/** §4: …or once larger than this, whatever the index: every unlock replays the whole journal. */
export const JOURNAL_COMPACT_CEILING = 256 * 1024;

/**
 * §4: whether the journal is due for compaction. Above the ceiling the journal's replay at
 * every unlock would grow with the mailbox (the index's size: 893 ms of CPU for the 2.7 MB of
 * 10,000 messages); below the floor, compaction would be too frequent for a small store.
 */
export function compactionDue(journalBytes: number, indexBytes: number): boolean {
  return journalBytes > Math.max(JOURNAL_COMPACT_FLOOR, Math.min(indexBytes, JOURNAL_COMPACT_CEILING));
}

/** §4: the largest journal record the reader accepts (a bound on hostile files). */
export const MAX_JOURNAL_RECORD = 64 * 1024 * 1024;

/**
 * §4: the largest journal file caliop reads (it is read whole at every opening): below the
 * compaction ceiling plus one record of MAX_JOURNAL_RECORD, plus the deletions a full stick
 * appends while compaction waits (§6.2: the delete reserve), is 64.5 MiB; twice the largest record.
 */
export const JOURNAL_MAX_BYTES = 2 * MAX_JOURNAL_RECORD;

/**
 * §3: the largest index file caliop opens (a listing of the whole mailbox reads every chunk):
 * at about 290 bytes a message, the messages whose objects (4 KiB at least, OBJECT_PAD_TO)
 * fill a stick of 960,000,000 bytes make 68 MB; about 4 times that.
 */
export const INDEX_MAX_BYTES = 256 * 1024 * 1024;

function damaged(detail: string): VaultTamperedError {
  return new VaultTamperedError('store', detail);
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}


function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

// --- what the index holds (docs/store.md §2) ---------------------------------------

export const STORE_INDEX_FORMAT = 'caliop-store-index/1';

export type IndexEntry = z.infer<typeof IndexEntrySchema>;
export type StoreState = z.infer<typeof StoreStateSchema>;
export type StoreOp = z.infer<typeof StoreOpSchema>;

// Issue 13: the index and the journal checked without zod (src/core/json-shape.ts). Each
// check is the zod schema of the same name in store-format-schema.ts, key for key: when one is
// changed, so is the other (test/format-checks.test.ts compares them).

const isObjectName = stringMatching(OBJECT_NAME);

const isIndexEntry = strictObject(
  {
    id: isString,
    object: isObjectName,
    direction: oneOf('in', 'out'),
    from: isString,
    to: arrayOf(isString),
    subject: isString,
    date: isIsoDateTime,
    storedAt: isIsoDateTime,
    unread: isBoolean,
    size: safeIntegerFrom(0),
  },
  { relayId: isString, awaitingDelivery: oneOf(true), blobs: arrayOf(isObjectName) },
);

const isStoreStateShape = strictObject(
  { format: oneOf(STORE_INDEX_FORMAT), nextId: safeIntegerFrom(1), entries: arrayOf(isIndexEntry) },
  { relayCursor: isString },
);

const isOp: Readonly<Record<string, Check>> = {
  put: strictObject({ op: isString, entry: isIndexEntry }),
  set: strictObject({ op: isString, id: isString, unread: isBoolean }),
  marks: strictObject({ op: isString, unread: isBoolean, ids: arrayOf(isString, 1) }),
  delete: strictObject({ op: isString, id: isString }),
  cursor: strictObject({ op: isString, cursor: isString }),
  'next-id': strictObject({ op: isString, nextId: safeIntegerFrom(1) }),
};

const isStoreOp: Check = (value) => {
  const op = typeof value === 'object' && value !== null ? (value as { op?: unknown }).op : undefined;
  return typeof op === 'string' && Object.hasOwn(isOp, op) && isOp[op]!(value);
};

const isJournalRecordShape = arrayOf(isStoreOp, 1);

/** True when StoreStateSchema accepts `value` as it is (then it is returned unchanged). */
export function isStoreState(value: unknown): value is StoreState {
  return isStoreStateShape(value);
}

/** True when a journal record's schema (one or more StoreOp) accepts `value` as it is. */
export function isJournalRecord(value: unknown): value is StoreOp[] {
  return isJournalRecordShape(value);
}

/** The zod schemas, loaded when a document is not one the checks above accept (issue 13). */
const loadSchemas = () => import('./store-format-schema.js');

export function emptyStoreState(): StoreState {
  return { format: STORE_INDEX_FORMAT, nextId: 1, entries: [] };
}

/** docs/store.md §2: the inbox's order, newest first (by date, then by local id). Defined once. */
export function newestFirst(a: IndexEntry, b: IndexEntry): number {
  return b.date.localeCompare(a.date) || Number(b.id) - Number(a.id);
}

/** §3: index lines per chunk of the index file (about 64 KiB of JSON at ~250 bytes a line). */
export const INDEX_CHUNK_ENTRIES = 256;

/**
 * §3: what opening the index file gives: the head (counts, ids, the relay cursor) at once,
 * and each chunk of index lines on demand (opened, checked and parsed when first asked for).
 */
export interface IndexReading {
  readonly generation: number;
  /** 1: the one-document index, 2: the chunked index without its chunks' lengths (§7.1 rewrites both); 3: the current one. */
  readonly version: number;
  readonly nextId: number;
  readonly relayCursor: string | undefined;
  /** Every id, in the order of the chunks (newest first). */
  readonly ids: readonly string[];
  /** Lines per chunk, in order. */
  readonly chunkSizes: readonly number[];
  /** §2: ids of sent copies awaiting a delivery report. */
  readonly awaiting: readonly string[];
  /**
   * The lines of the chunks asked for, each newest first, read by position (one read for
   * them all) and opened; throws vault_tampered (part store) when one is damaged.
   */
  chunks(which: readonly number[]): Promise<IndexEntry[][]>;
  /** Plaintext bytes of the index opened so far (the head, and each chunk asked for). */
  readonly opened: { bytes: number };
}

type Overlay = { entry: IndexEntry } | { deleted: true };

/** Thrown inside StoreIndex by a computation that reached a chunk not opened yet; #withChunks opens it and runs it again. */
class ChunkNeeded {
  constructor(readonly chunk: number) {}
}

/**
 * §2: the store as memory holds it. The index file's chunks are opened only when a
 * listing, a lookup or a compaction needs them (read by position, §3); the journal's
 * changes since the file are an overlay on top of them. Applying an op is O(1) and opens
 * nothing. Every question that may need a chunk is async: the chunks it needs are opened
 * first, then it is answered from memory in one synchronous step.
 */
export class StoreIndex {
  nextId: number;
  relayCursor: string | undefined;
  readonly #reading: IndexReading;
  /**
   * id → chunk index, for the ids of the file: built at the first lookup of an id (issue 13:
   * 1 ms of an unlock at 10,000 messages), which an unlock and the first page do not need.
   */
  #chunkOfIds: Map<string, number> | undefined;
  /** Above every numeric id of the file: a put of a larger id is certainly new (no lookup). */
  readonly #fileIdsBelow: number;
  readonly #chunks: (Map<string, IndexEntry> | undefined)[];
  /** Chunks being read and opened now: a second question waits for the same read. */
  readonly #opening = new Map<number, Promise<void>>();
  readonly #chunkStarts: number[] = [];
  /** Changes since the file (the journal, then this session): put, unread mark, deletion. */
  readonly #overlay = new Map<string, Overlay>();
  /**
   * Unread marks of the file's lines (§4), by id: a boolean, not an object per mark (issue 13: a
   * folded journal marks up to every message; 10,000 objects more for the collector at each unlock).
   * A put or a deletion of the id takes over from its mark.
   */
  readonly #marks = new Map<string, boolean>();
  readonly #awaiting: Set<string>;
  #count: number;
  #relayIds: Set<string> | undefined;
  #sorted: IndexEntry[] | undefined;
  /** How many of the newest lines #sorted is certainly complete for. */
  #sortedUpTo = 0;

  constructor(reading: IndexReading) {
    this.#reading = reading;
    this.nextId = reading.nextId;
    this.relayCursor = reading.relayCursor;
    let at = 0;
    for (const size of reading.chunkSizes) {
      this.#chunkStarts.push(at);
      at += size;
    }
    this.#chunks = new Array<Map<string, IndexEntry> | undefined>(reading.chunkSizes.length);
    this.#awaiting = new Set(reading.awaiting);
    this.#count = reading.ids.length;
    let below = 1;
    for (const id of reading.ids) {
      const numeric = Number(id);
      if (Number.isSafeInteger(numeric) && numeric >= below) below = numeric + 1;
    }
    this.#fileIdsBelow = below;
    this.nextId = Math.max(this.nextId, below);
  }

  get #chunkOf(): Map<string, number> {
    if (this.#chunkOfIds === undefined) {
      const chunkOf = new Map<string, number>();
      this.#reading.chunkSizes.forEach((size, chunk) => {
        const start = this.#chunkStarts[chunk]!;
        for (let i = start; i < start + size; i++) chunkOf.set(this.#reading.ids[i]!, chunk);
      });
      this.#chunkOfIds = chunkOf;
    }
    return this.#chunkOfIds;
  }

  get count(): number {
    return this.#count;
  }

  /** Opens the chunks not opened yet among `which`, in one read (§3), each checked against the head. */
  async #open(which: Iterable<number>): Promise<void> {
    const wanted = [...new Set(which)];
    const missing = wanted.filter((i) => this.#chunks[i] === undefined && !this.#opening.has(i)).sort((a, b) => a - b);
    if (missing.length > 0) {
      const done = this.#reading.chunks(missing).then((opened) => missing.forEach((i, k) => this.#accept(i, opened[k]!)));
      for (const i of missing) this.#opening.set(i, done);
      void done.finally(() => missing.forEach((i) => this.#opening.delete(i))).catch(() => undefined);
    }
    await Promise.all(wanted.map((i) => this.#opening.get(i)));
  }

  #accept(i: number, lines: readonly IndexEntry[]): void {
    const start = this.#chunkStarts[i]!;
    if (lines.length !== this.#reading.chunkSizes[i] || lines.some((line, j) => line.id !== this.#reading.ids[start + j])) {
      throw new VaultTamperedError('store', `index chunk ${i} does not match the index's head`);
    }
    this.#chunks[i] ??= new Map(lines.map((line) => [line.id, line]));
  }

  /** Every chunk, in one read of those not opened yet (§2.1, §3: a whole read). */
  #openAll(): Promise<void> {
    return this.#open(this.#chunks.keys());
  }

  /** Runs `answer` over memory; a chunk it reaches unopened is opened and it runs again. */
  async #withChunks<T>(answer: () => T): Promise<T> {
    for (;;) {
      try {
        return answer();
      } catch (error) {
        if (!(error instanceof ChunkNeeded)) throw error;
        await this.#open([error.chunk]);
      }
    }
  }

  #chunk(i: number): Map<string, IndexEntry> {
    const chunk = this.#chunks[i];
    if (chunk === undefined) throw new ChunkNeeded(i);
    return chunk;
  }

  /** The line as the file holds it (before the overlay), or undefined. */
  #base(id: string): IndexEntry | undefined {
    // The chunks opened first (a page's lines are in them): the map of every id waits for a line elsewhere.
    if (this.#chunkOfIds === undefined) {
      for (const opened of this.#chunks) {
        const line = opened?.get(id);
        if (line !== undefined) return line;
      }
    }
    const chunk = this.#chunkOf.get(id);
    return chunk === undefined ? undefined : this.#chunk(chunk).get(id);
  }

  #exists(id: string): boolean {
    const over = this.#overlay.get(id);
    if (over) return 'entry' in over;
    // The file's (a mark is kept without asking whether its id is in the file: #mark).
    const numeric = Number(id);
    if (Number.isSafeInteger(numeric) && numeric >= this.#fileIdsBelow && String(numeric) === id) return false; // newer than the file
    return this.#chunkOf.has(id);
  }

  #get(id: string): IndexEntry | undefined {
    const over = this.#overlay.get(id);
    if (over) return 'entry' in over ? over.entry : undefined;
    const base = this.#base(id);
    if (!base) return undefined;
    const unread = this.#marks.get(id);
    return unread === undefined ? base : { ...base, unread };
  }

  /** One line: opens the chunk that holds it (§2), at most once. */
  get(id: string): Promise<IndexEntry | undefined> {
    return this.#withChunks(() => this.#get(id));
  }

  /**
   * §4: an unread mark. Not asked whether the id is in the file (issue 13: that builds the map of
   * every id, 2 ms at 10,000, at each unlock whose journal holds a mark): a mark of an id that is
   * neither in the file nor put is inert, as if ignored (#exists, #get and #page look at the file).
   */
  #mark(id: string, unread: boolean): void {
    const over = this.#overlay.get(id);
    if (over === undefined) this.#marks.set(id, unread);
    else if ('entry' in over) this.#overlay.set(id, { entry: { ...over.entry, unread } });
    else return; // deleted
    this.#sorted = undefined;
  }

  /** §4: applies one record's ops, in order. Unknown ids are ignored (a delete replayed twice). */
  apply(ops: readonly StoreOp[]): void {
    for (const op of ops) {
      switch (op.op) {
        case 'put': {
          if (!this.#exists(op.entry.id)) this.#count += 1;
          else if (this.#relayIds) {
            // #relayIds is built once every chunk is open: this opens nothing.
            const old = this.#get(op.entry.id);
            if (old?.relayId !== undefined) this.#relayIds.delete(old.relayId);
          }
          this.#overlay.set(op.entry.id, { entry: op.entry });
          this.#marks.delete(op.entry.id);
          if (op.entry.awaitingDelivery === true) this.#awaiting.add(op.entry.id);
          else this.#awaiting.delete(op.entry.id);
          if (op.entry.relayId !== undefined) this.#relayIds?.add(op.entry.relayId);
          const numeric = Number(op.entry.id);
          if (Number.isSafeInteger(numeric) && numeric >= this.nextId) this.nextId = numeric + 1;
          this.#sorted = undefined;
          break;
        }
        case 'set':
          this.#mark(op.id, op.unread);
          break;
        case 'marks':
          for (const id of op.ids) this.#mark(id, op.unread);
          break;
        case 'delete': {
          if (!this.#exists(op.id)) break;
          if (this.#relayIds) {
            const old = this.#get(op.id);
            if (old?.relayId !== undefined) this.#relayIds.delete(old.relayId);
          }
          this.#overlay.set(op.id, { deleted: true });
          this.#marks.delete(op.id);
          this.#awaiting.delete(op.id);
          this.#count -= 1;
          this.#sorted = undefined;
          break;
        }
        case 'cursor':
          this.relayCursor = op.cursor;
          break;
        case 'next-id':
          this.nextId = Math.max(this.nextId, op.nextId);
          break;
      }
    }
  }

  /**
   * §2: lines offset … offset+limit-1, newest first. Opens the chunks in order until they
   * hold offset+limit live lines (the file's chunks are sorted newest first, so every line
   * of a later chunk is older), and merges the overlay's lines. The chunks the head says hold
   * the first offset+limit lines are read at once (one read), any further one when reached.
   */
  async page(offset: number, limit: number): Promise<IndexEntry[]> {
    const want = offset + limit;
    if (!this.#sorted || this.#sortedUpTo < want) {
      let upTo = 0;
      while (upTo < this.#chunks.length && this.#chunkStarts[upTo]! + this.#reading.chunkSizes[upTo]! < want) upTo += 1;
      await this.#open(Array.from({ length: Math.min(upTo + 1, this.#chunks.length) }, (_, i) => i));
    }
    return this.#withChunks(() => this.#page(offset, limit));
  }

  #page(offset: number, limit: number): IndexEntry[] {
    const want = offset + limit;
    if (!this.#sorted || this.#sortedUpTo < want) {
      const lines: IndexEntry[] = [];
      for (const over of this.#overlay.values()) if ('entry' in over) lines.push(over.entry);
      let live = 0;
      let chunk = 0;
      for (; chunk < this.#chunks.length && live < want; chunk++) {
        for (const line of this.#chunk(chunk).values()) {
          if (this.#overlay.has(line.id)) continue; // put again (listed above) or deleted
          const unread = this.#marks.get(line.id);
          lines.push(unread === undefined ? line : { ...line, unread });
          live += 1;
        }
      }
      this.#sorted = lines.sort(newestFirst);
      this.#sortedUpTo = chunk === this.#chunks.length ? Number.POSITIVE_INFINITY : live;
    }
    return this.#sorted.slice(offset, Number.isFinite(limit) ? want : undefined);
  }

  /** Every line (opens every chunk, in one read: compaction, and the whole-index reads of docs/store.md §2.1). */
  async all(): Promise<IndexEntry[]> {
    await this.#openAll();
    return this.#withChunks(() => this.#page(0, Number.POSITIVE_INFINITY));
  }

  /** §2.1: the sent copies awaiting a delivery report, by id: opens only the chunks that hold them (one read). */
  async awaitingDelivery(): Promise<IndexEntry[]> {
    await this.#open([...this.#awaiting].flatMap((id) => this.#chunkOf.get(id) ?? []));
    return this.#withChunks(() => [...this.#awaiting].map((id) => this.#get(id)).filter((entry): entry is IndexEntry => entry !== undefined));
  }

  /** §2.1: de-duplication by relay id: the set is built once per session (a whole-index read). */
  async hasRelayId(relayId: string): Promise<boolean> {
    if (!this.#relayIds) {
      await this.#openAll();
      // Built and set in one synchronous step: apply() keeps it current from then on.
      this.#relayIds ??= this.#withRelayIds();
    }
    return this.#relayIds.has(relayId);
  }

  #withRelayIds(): Set<string> {
    const ids = new Set<string>();
    for (const entry of this.#page(0, Number.POSITIVE_INFINITY)) if (entry.relayId !== undefined) ids.add(entry.relayId);
    return ids;
  }

  async state(): Promise<StoreState> {
    const entries = await this.all();
    return {
      format: STORE_INDEX_FORMAT,
      nextId: this.nextId,
      ...(this.relayCursor !== undefined ? { relayCursor: this.relayCursor } : {}),
      entries,
    };
  }

  /** Every object the index refers to (messages and their blobs), for §6 repair. */
  async referencedObjects(): Promise<Set<string>> {
    const names = new Set<string>();
    for (const entry of await this.all()) {
      names.add(entry.object);
      for (const blob of entry.blobs ?? []) names.add(blob);
    }
    return names;
  }
}

// --- §3 the index file --------------------------------------------------------------

/** §3: the index file's version: 3, the chunked index whose head says where each chunk lies. */
export const INDEX_VERSION = 3;
/** §3: the chunked index before the head gave its chunks' lengths (read whole, rewritten in version 3: §7.1). */
const INDEX_VERSION_UNPLACED = 2;
/** §3: the associated data's number for the head (chunks are numbered from 0). */
const HEAD_NUMBER = 0xffffffff;
/** §3: u32 length ‖ nonce, before each sealed part. */
const PART_PREFIX = 4 + NONCE_LENGTH;
/** §3: opening reads the file's first bytes in one read: the header, the head, and at small sizes the whole file. */
export const INDEX_FIRST_READ = 64 * 1024;

function generationHeader(magic: Uint8Array, generation: number, version = FORMAT_VERSION): Uint8Array {
  const header = new Uint8Array(GENERATION_HEADER_LENGTH);
  header.set(magic, 0);
  new DataView(header.buffer).setUint16(8, version);
  new DataView(header.buffer).setUint32(10, generation);
  return header;
}

function readGenerationHeader(bytes: Uint8Array, magic: Uint8Array, what: string, versions: readonly number[] = [FORMAT_VERSION]): { generation: number; version: number } {
  if (bytes.length < GENERATION_HEADER_LENGTH || !startsWith(bytes, magic)) throw damaged(`the ${what} is not a Caliop store file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(8);
  if (!versions.includes(version)) throw damaged(`the ${what} has an unknown version ${version}`);
  return { generation: view.getUint32(10), version };
}

/** §3: the head of a version 3 index: what unlock and counting need, without any line, and where each chunk lies. */
export const STORE_INDEX_HEAD_FORMAT = 'caliop-store-index/3';
/** §3: the head of a version 2 index (no `lengths`). */
const STORE_INDEX_HEAD_FORMAT_UNPLACED = 'caliop-store-index/2';
export interface IndexHead {
  format: typeof STORE_INDEX_HEAD_FORMAT;
  nextId: number;
  relayCursor?: string;
  chunks: number[];
  /** §3: each chunk's sealed length L (the u32 before it): chunk i starts after the head and the chunks before it. */
  lengths: number[];
  ids: string[];
  awaiting: string[];
}
const headFields = { nextId: safeIntegerFrom(1), chunks: arrayOf(safeIntegerFrom(1)), ids: arrayOf(isString), awaiting: arrayOf(isString) };
const isIndexHead = strictObject({ format: oneOf(STORE_INDEX_HEAD_FORMAT), ...headFields, lengths: arrayOf(safeIntegerFrom(TAG_LENGTH)) }, { relayCursor: isString });
const isIndexHeadUnplaced = strictObject({ format: oneOf(STORE_INDEX_HEAD_FORMAT_UNPLACED), ...headFields }, { relayCursor: isString });
const isIndexChunk = arrayOf(isIndexEntry, 1);

function sealPart(key: Uint8Array, header: Uint8Array, number: number, nonce: Uint8Array, json: unknown): Uint8Array {
  const sealed = xchachaAead(key, nonce, concatBytes(header, u32(number))).encrypt(ascii(JSON.stringify(json)));
  return concatBytes(u32(sealed.length), nonce, sealed);
}

/**
 * §3: the index file (version 3): header ‖ the head ‖ the chunks, each u32 length ‖ nonce ‖
 * XChaCha20-Poly1305(key, nonce, AD = header ‖ u32 number, JSON); the lines sorted newest
 * first (§2) and cut into chunks of INDEX_CHUNK_ENTRIES; the head names each chunk's sealed
 * length. `nonce` gives a fresh 24-byte nonce per call.
 */
export async function sealIndex(key: Uint8Array, generation: number, nonce: (length: number) => Uint8Array, state: StoreState): Promise<Uint8Array> {
  const checked = isStoreState(state) ? state : (await loadSchemas()).StoreStateSchema.parse(state);
  const lines = [...checked.entries].sort(newestFirst);
  const header = generationHeader(INDEX_MAGIC, generation, INDEX_VERSION);
  const chunks: IndexEntry[][] = [];
  for (let at = 0; at < lines.length; at += INDEX_CHUNK_ENTRIES) chunks.push(lines.slice(at, at + INDEX_CHUNK_ENTRIES));
  const headNonce = nonce(NONCE_LENGTH);
  const sealedChunks = chunks.map((chunk, i) => sealPart(key, header, i, nonce(NONCE_LENGTH), chunk));
  const head: IndexHead = {
    format: STORE_INDEX_HEAD_FORMAT,
    nextId: checked.nextId,
    ...(checked.relayCursor !== undefined ? { relayCursor: checked.relayCursor } : {}),
    chunks: chunks.map((chunk) => chunk.length),
    lengths: sealedChunks.map((part) => part.length - PART_PREFIX),
    ids: lines.map((line) => line.id),
    awaiting: lines.filter((line) => line.awaitingDelivery === true).map((line) => line.id),
  };
  return concatBytes(header, sealPart(key, header, HEAD_NUMBER, headNonce, head), ...sealedChunks);
}

/** One sealed part (the head or a chunk) at the start of `bytes`: u32 L ‖ nonce ‖ L bytes. */
function openPart(key: Uint8Array, header: Uint8Array, bytes: Uint8Array, number: number, what: string): { json: unknown; length: number } {
  const length = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0) : 0;
  if (bytes.length < PART_PREFIX + TAG_LENGTH || length < TAG_LENGTH || PART_PREFIX + length > bytes.length) throw damaged('the index is truncated');
  let plaintext: Uint8Array;
  try {
    plaintext = xchachaAead(key, bytes.subarray(4, PART_PREFIX), concatBytes(header, u32(number))).decrypt(bytes.subarray(PART_PREFIX, PART_PREFIX + length));
  } catch {
    throw damaged(`the index's ${what} failed its integrity check`);
  }
  return { json: JSON.parse(new TextDecoder().decode(plaintext)), length: plaintext.length };
}

/**
 * §3: the index file as the store's edge gives it: its size when opened, and reads by
 * position. Every read is of the generation opened (src/edges/store-files.ts checks the
 * header again before each later read; the associated data binds every part to it anyway).
 */
export interface IndexSource {
  readonly size: number;
  /** Bytes [position, position + length), fewer only where the file ends. */
  read(position: number, length: number): Promise<Uint8Array>;
}

/** An index file held in memory (tests, and the whole reads of §3). */
export function bytesSource(bytes: Uint8Array): IndexSource {
  return { size: bytes.length, read: async (position, length) => bytes.subarray(position, position + length) };
}

/**
 * §3: opens the index file: the header and the head now (one read of the file's first
 * INDEX_FIRST_READ bytes, and the rest of the head when it is longer), each chunk by position
 * when first asked for (§2). The file's size is checked against the head's lengths: a file cut
 * short or with bytes after its last chunk is refused here. A version 2 index (no lengths) and a
 * version 1 index (one document) are read whole, for their rewrite (§7.1).
 */
export async function openIndex(key: Uint8Array, file: Uint8Array | IndexSource): Promise<IndexReading> {
  const source = file instanceof Uint8Array ? bytesSource(file) : file;
  const first = await source.read(0, Math.min(source.size, INDEX_FIRST_READ));
  const { generation, version } = readGenerationHeader(first, INDEX_MAGIC, 'index', [FORMAT_VERSION, INDEX_VERSION_UNPLACED, INDEX_VERSION]);
  // A whole read (versions 1 and 2): the rest after the first read, so each byte is read once.
  const whole = async () => (first.length === source.size ? first : concatBytes(first, await source.read(first.length, source.size - first.length)));
  if (version === FORMAT_VERSION) return openIndexV1(key, await whole(), generation);
  const header = first.slice(0, GENERATION_HEADER_LENGTH);
  const opened = { bytes: 0 };
  // The head: its length is the u32 after the header.
  if (first.length < GENERATION_HEADER_LENGTH + 4) throw damaged('the index is truncated');
  const headEnd = GENERATION_HEADER_LENGTH + PART_PREFIX + new DataView(first.buffer, first.byteOffset, first.byteLength).getUint32(GENERATION_HEADER_LENGTH);
  if (headEnd > source.size) throw damaged('the index is truncated');
  const headBytes = headEnd <= first.length ? first.subarray(GENERATION_HEADER_LENGTH, headEnd) : await source.read(GENERATION_HEADER_LENGTH, headEnd - GENERATION_HEADER_LENGTH);
  const head = openPart(key, header, headBytes, HEAD_NUMBER, 'head');
  opened.bytes += head.length;
  if (!(version === INDEX_VERSION ? isIndexHead : isIndexHeadUnplaced)(head.json)) throw damaged('the index head does not match its format');
  const { nextId, relayCursor, chunks, ids, awaiting } = head.json as IndexHead;
  if (chunks.reduce((sum, size) => sum + size, 0) !== ids.length || chunks.some((size) => size > INDEX_CHUNK_ENTRIES)) throw damaged('the index head does not match its format');
  let lengths: readonly number[];
  let chunkSource = source;
  let prefix = first;
  if (version === INDEX_VERSION) {
    lengths = (head.json as IndexHead).lengths;
    if (lengths.length !== chunks.length) throw damaged('the index head does not match its format');
  } else {
    // Version 2: the positions walked from the u32 lengths of the whole file (§3: read whole, then rewritten).
    const bytes = await whole();
    chunkSource = bytesSource(bytes);
    prefix = bytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const walked: number[] = [];
    for (let at = headEnd, i = 0; i < chunks.length; i++) {
      if (at + 4 > bytes.length) throw damaged('the index is truncated');
      walked.push(view.getUint32(at));
      at += PART_PREFIX + walked[i]!;
    }
    lengths = walked;
  }
  // §3: where each chunk starts; the file ends with the last one (checked on the size, nothing read).
  const starts: number[] = [];
  let end = headEnd;
  for (const length of lengths) {
    starts.push(end);
    end += PART_PREFIX + length;
  }
  if (end !== source.size) throw damaged(end > source.size ? 'the index is truncated' : 'the index has data after its last chunk');
  const openChunk = (bytes: Uint8Array, i: number): IndexEntry[] => {
    if (bytes.length !== PART_PREFIX + lengths[i]! || new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0) !== lengths[i]) throw damaged('the index is truncated');
    const part = openPart(key, header, bytes, i, `chunk ${i}`);
    opened.bytes += part.length;
    if (!isIndexChunk(part.json)) throw damaged(`index chunk ${i} does not match its format`);
    return part.json as IndexEntry[];
  };
  return {
    generation,
    version,
    nextId,
    relayCursor,
    ids,
    chunkSizes: chunks,
    awaiting,
    opened,
    async chunks(which) {
      if (which.length === 0) return [];
      // One read of the span from the first chunk asked for to the end of the last (§3: a whole read is one read).
      const from = starts[Math.min(...which)]!;
      const to = Math.max(...which.map((i) => starts[i]! + PART_PREFIX + lengths[i]!));
      const span = to <= prefix.length ? prefix.subarray(from, to) : await chunkSource.read(from, to - from);
      if (span.length !== to - from) throw damaged('the index is truncated');
      return which.map((i) => openChunk(span.subarray(starts[i]! - from, starts[i]! - from + PART_PREFIX + lengths[i]!), i));
    },
  };
}

/** §7.1: the version 1 index: header ‖ nonce ‖ XChaCha20-Poly1305(key, nonce, AD = header, JSON of the whole state). */
async function openIndexV1(key: Uint8Array, bytes: Uint8Array, generation: number): Promise<IndexReading> {
  if (bytes.length < GENERATION_HEADER_LENGTH + NONCE_LENGTH + TAG_LENGTH) throw damaged('the index is truncated');
  const header = bytes.subarray(0, GENERATION_HEADER_LENGTH);
  const nonce = bytes.subarray(GENERATION_HEADER_LENGTH, GENERATION_HEADER_LENGTH + NONCE_LENGTH);
  let plaintext: Uint8Array;
  try {
    plaintext = xchachaAead(key, nonce, header).decrypt(bytes.subarray(GENERATION_HEADER_LENGTH + NONCE_LENGTH));
  } catch {
    throw damaged('the index failed its integrity check');
  }
  const json: unknown = JSON.parse(new TextDecoder().decode(plaintext));
  let state: StoreState;
  if (isStoreState(json)) state = json;
  else {
    const parsed = (await loadSchemas()).StoreStateSchema.safeParse(json);
    if (!parsed.success) throw damaged(`the index does not match its format: ${parsed.error.issues[0]?.message}`);
    state = parsed.data;
  }
  return readingOf(state, generation, FORMAT_VERSION, plaintext.length);
}

/** An index held whole in memory, in the shape of a reading (version 1, and tests). */
export function readingOf(state: StoreState, generation = 0, version = INDEX_VERSION, openedBytes = 0): IndexReading {
  const lines = [...state.entries].sort(newestFirst);
  const chunks: IndexEntry[][] = [];
  for (let at = 0; at < lines.length; at += INDEX_CHUNK_ENTRIES) chunks.push(lines.slice(at, at + INDEX_CHUNK_ENTRIES));
  return {
    generation,
    version,
    nextId: state.nextId,
    relayCursor: state.relayCursor,
    ids: lines.map((line) => line.id),
    chunkSizes: chunks.map((chunk) => chunk.length),
    awaiting: lines.filter((line) => line.awaitingDelivery === true).map((line) => line.id),
    opened: { bytes: openedBytes },
    chunks: async (which) => which.map((i) => chunks[i]!),
  };
}

// --- §4 the journal -------------------------------------------------------------------

/** §4: a journal begun by a compaction (base 0) keeps version 1's header; a folded one is version 2, with its base. */
const JOURNAL_VERSION_FOLDED = 2;
/** §4: version 2's header: the generation header, then u32 base (the number of its first record). */
export const JOURNAL_HEADER_LENGTH_FOLDED = GENERATION_HEADER_LENGTH + 4;

/** §4: the journal's header: version 1 for base 0, version 2 (with the base) for a folded journal. */
export function journalHeader(generation: number, base = 0): Uint8Array {
  if (base === 0) return generationHeader(JOURNAL_MAGIC, generation);
  return concatBytes(generationHeader(JOURNAL_MAGIC, generation, JOURNAL_VERSION_FOLDED), u32(base));
}

/**
 * §4: one record: u32 length ‖ nonce ‖ XChaCha20-Poly1305(key, nonce, AD = journal header ‖ u32 seq, JSON ops).
 * `journal` is the journal's header, or a generation (a version 1 header, base 0).
 */
export async function sealJournalRecord(key: Uint8Array, journal: number | Uint8Array, seq: number, nonce: Uint8Array, ops: readonly StoreOp[]): Promise<Uint8Array> {
  const plaintext = ascii(JSON.stringify(isJournalRecord(ops) ? ops : (await loadSchemas()).JournalRecordSchema.parse(ops)));
  const header = typeof journal === 'number' ? journalHeader(journal) : journal;
  const sealed = xchachaAead(key, nonce, concatBytes(header, u32(seq))).encrypt(plaintext);
  return concatBytes(u32(sealed.length), nonce, sealed);
}

export interface JournalReading {
  readonly generation: number;
  /** §4: the number of the journal's first record (0 unless folded). */
  readonly base: number;
  /** The journal's header, as the associated data of its records begins. */
  readonly header: Uint8Array;
  readonly records: StoreOp[][];
  /** Bytes of the journal that hold whole, authentic records: a torn tail starts here (§6). */
  readonly validLength: number;
}

/** §4: records past which a journal is folded into one (when no compaction is due). */
export const JOURNAL_FOLD_RECORDS = 64;

/** §4: whether a journal of `records` records is due for folding. */
export function foldDue(records: number): boolean {
  return records > JOURNAL_FOLD_RECORDS;
}

/**
 * §4: the net effect of a journal's records, as one record: applied to any index (StoreIndex.apply),
 * it gives the state the records give in order. Per id: the last put, with the marks after it
 * folded into its line; else the last mark (the ids marked read, then unread, as two `marks` ops); a delete wins over what came before it and is kept
 * (the id may be in the index); what follows a delete starts afresh. The last cursor; one next-id,
 * the largest any put or next-id reached (a put cancelled by a delete still used its id).
 */
export function foldRecords(records: readonly (readonly StoreOp[])[]): StoreOp[] {
  type Net = { put: IndexEntry } | { set: boolean } | { deleted: true };
  const net = new Map<string, Net>();
  let cursor: string | undefined;
  let nextId = 0;
  const bump = (id: string) => {
    const numeric = Number(id);
    if (Number.isSafeInteger(numeric) && numeric + 1 > nextId) nextId = numeric + 1;
  };
  const mark = (id: string, unread: boolean) => {
    const was = net.get(id);
    if (was === undefined || 'set' in was) net.set(id, { set: unread });
    else if ('put' in was) net.set(id, { put: { ...was.put, unread } });
    // after a delete: the id is gone, the mark is ignored (as apply() ignores it)
  };
  for (const ops of records) {
    for (const op of ops) {
      switch (op.op) {
        case 'put':
          bump(op.entry.id);
          net.set(op.entry.id, { put: op.entry });
          break;
        case 'set':
          mark(op.id, op.unread);
          break;
        case 'marks':
          for (const id of op.ids) mark(id, op.unread);
          break;
        case 'delete':
          net.set(op.id, { deleted: true });
          break;
        case 'cursor':
          cursor = op.cursor;
          break;
        case 'next-id':
          nextId = Math.max(nextId, op.nextId);
          break;
      }
    }
  }
  const out: StoreOp[] = [];
  const marks = { read: [] as string[], unread: [] as string[] };
  for (const [id, last] of net) {
    if ('put' in last) out.push({ op: 'put', entry: last.put });
    else if ('set' in last) (last.set ? marks.unread : marks.read).push(id);
    else out.push({ op: 'delete', id });
  }
  // The marks as two lists of ids (one string each to parse at an unlock, not an object: §4).
  if (marks.read.length > 0) out.push({ op: 'marks', unread: false, ids: marks.read });
  if (marks.unread.length > 0) out.push({ op: 'marks', unread: true, ids: marks.unread });
  if (cursor !== undefined) out.push({ op: 'cursor', cursor });
  if (nextId > 0) out.push({ op: 'next-id', nextId });
  return out;
}

function readJournalHeader(bytes: Uint8Array): { generation: number; base: number; header: Uint8Array } {
  const { generation, version } = readGenerationHeader(bytes, JOURNAL_MAGIC, 'journal', [FORMAT_VERSION, JOURNAL_VERSION_FOLDED]);
  if (version === FORMAT_VERSION) return { generation, base: 0, header: bytes.subarray(0, GENERATION_HEADER_LENGTH) };
  if (bytes.length < JOURNAL_HEADER_LENGTH_FOLDED) throw damaged('the journal is truncated');
  const base = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(GENERATION_HEADER_LENGTH);
  return { generation, base, header: bytes.subarray(0, JOURNAL_HEADER_LENGTH_FOLDED) };
}

/**
 * §4, §6: reads every whole, authentic record. A record cut short or failing its tag at the
 * end of the file is a torn append (a yank): reading stops before it and validLength says
 * where to cut. A failing record is damage, not a yank, when anything after it authenticates
 * (§6: the whole records after it, and itself, tried at their place, one less and one more).
 */
export async function openJournal(key: Uint8Array, bytes: Uint8Array): Promise<JournalReading> {
  const { generation, base, header } = readJournalHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: StoreOp[][] = [];
  /** The end of the whole record at `at` (its length prefix followed), or undefined. */
  const wholeEnd = (at: number): number | undefined => {
    if (at + 4 + NONCE_LENGTH > bytes.length) return undefined;
    const length = view.getUint32(at);
    if (length < TAG_LENGTH || length > MAX_JOURNAL_RECORD) return undefined;
    const end = at + 4 + NONCE_LENGTH + length;
    return end > bytes.length ? undefined : end;
  };
  /** The plaintext of the whole record at `at` if it authenticates as number `seq` of this journal. */
  const authentic = (at: number, end: number, seq: number): Uint8Array | undefined => {
    if (seq < base || seq > 0xffffffff) return undefined;
    try {
      return xchachaAead(key, bytes.subarray(at + 4, at + 4 + NONCE_LENGTH), concatBytes(header, u32(seq))).decrypt(bytes.subarray(at + 4 + NONCE_LENGTH, end));
    } catch {
      return undefined;
    }
  };
  let offset = header.length;
  while (offset < bytes.length) {
    const seq = base + records.length;
    const end = wholeEnd(offset);
    const plaintext = end === undefined ? undefined : authentic(offset, end, seq);
    if (plaintext === undefined) {
      // §6: a torn append leaves nothing that authenticates after the last whole record.
      if (end !== undefined && authentic(offset, end, seq - 1) === undefined && authentic(offset, end, seq + 1) === undefined) {
        for (let at = end, place = seq + 1; ; place++) {
          const next = wholeEnd(at);
          if (next === undefined) break;
          if ([place, place - 1, place + 1].some((n) => authentic(at, next, n) !== undefined)) throw damaged(`journal record ${records.length} failed its integrity check`);
          at = next;
        }
      } else if (end !== undefined) throw damaged(`journal record ${records.length} failed its integrity check`);
      break;
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(plaintext));
    } catch {
      throw damaged(`journal record ${records.length} does not match its format`);
    }
    // An authentic record that does not parse was not torn: refused, never cut.
    const parsed = isJournalRecord(json) ? { success: true as const, data: json } : (await loadSchemas()).JournalRecordSchema.safeParse(json);
    if (!parsed.success) throw damaged(`journal record ${records.length} does not match its format`);
    records.push(parsed.data);
    offset = end!;
  }
  return { generation, base, header: header.slice(), records, validLength: offset };
}

// --- §5 objects: sealed in chunks (the STREAM construction) ---------------------------

/** §5: the object header; the nonce prefix is 15 random bytes, fresh for every object. */
export function objectHeader(noncePrefix: Uint8Array): Uint8Array {
  if (noncePrefix.length !== NONCE_PREFIX_LENGTH) throw new TypeError(`noncePrefix must be ${NONCE_PREFIX_LENGTH} bytes`);
  const header = new Uint8Array(OBJECT_HEADER_LENGTH);
  header.set(OBJECT_MAGIC, 0);
  new DataView(header.buffer).setUint16(8, FORMAT_VERSION);
  new DataView(header.buffer).setUint32(10, OBJECT_CHUNK);
  header.set(noncePrefix, 14);
  return header;
}

export const OBJECT_NONCE_PREFIX_LENGTH = NONCE_PREFIX_LENGTH;

function chunkNonce(header: Uint8Array, index: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(NONCE_LENGTH);
  nonce.set(header.subarray(14, 14 + NONCE_PREFIX_LENGTH), 0);
  new DataView(nonce.buffer).setBigUint64(NONCE_PREFIX_LENGTH, BigInt(index));
  nonce[23] = last ? 1 : 0;
  return nonce;
}

function objectAd(header: Uint8Array, name: string): Uint8Array {
  return concatBytes(header, ascii(name));
}

/**
 * §5: seals an object's plaintext chunk by chunk. push() returns the sealed bytes
 * ready to write; finish() adds the padding and trailer and seals the last chunk.
 * Memory: at most one chunk and the padding.
 */
export class ObjectSealer {
  readonly header: Uint8Array;
  #ad: Uint8Array;
  #pending: Uint8Array[] = [];
  #pendingLength = 0;
  #index = 0;
  #size = 0;

  constructor(
    private readonly key: Uint8Array,
    readonly name: string,
    noncePrefix: Uint8Array,
  ) {
    if (!OBJECT_NAME.test(name)) throw new TypeError('object name must be 32 lowercase hex digits');
    this.header = objectHeader(noncePrefix);
    this.#ad = objectAd(this.header, name);
  }

  get size(): number {
    return this.#size;
  }

  #seal(plaintext: readonly Uint8Array[], last: boolean): Uint8Array {
    return xchachaSealPieces(this.key, chunkNonce(this.header, this.#index++, last), this.#ad, plaintext);
  }

  /**
   * Sealed chunks for the data so far; keeps back up to one chunk (it may be the last).
   * A chunk is sealed from the pieces it spans, without joining them (issue 9: joining and
   * re-slicing every write was two copies of each byte of a large message's objects).
   * The pieces are held by reference until sealed: the caller does not change them.
   */
  push(data: Uint8Array): Uint8Array[] {
    this.#size += data.length;
    this.#pending.push(data);
    this.#pendingLength += data.length;
    const out: Uint8Array[] = [];
    while (this.#pendingLength > OBJECT_CHUNK) {
      const take: Uint8Array[] = [];
      let need = OBJECT_CHUNK;
      while (need > 0) {
        const piece = this.#pending[0]!;
        if (piece.length <= need) {
          take.push(piece);
          this.#pending.shift();
          need -= piece.length;
        } else {
          take.push(piece.subarray(0, need));
          this.#pending[0] = piece.subarray(need);
          need = 0;
        }
      }
      this.#pendingLength -= OBJECT_CHUNK;
      out.push(this.#seal(take, false));
    }
    return out;
  }

  /** §5: data ‖ zeros ‖ u32 padding length, a multiple of OBJECT_PAD_TO; the last chunk flagged. */
  finish(): Uint8Array[] {
    const rest = concatBytes(...this.#pending);
    const padding = (OBJECT_PAD_TO - ((this.#size + 4) % OBJECT_PAD_TO)) % OBJECT_PAD_TO;
    const tail = concatBytes(rest, new Uint8Array(padding), u32(padding));
    this.#pending = [];
    this.#pendingLength = 0;
    const out: Uint8Array[] = [];
    if (tail.length > OBJECT_CHUNK) out.push(this.#seal([tail.subarray(0, OBJECT_CHUNK)], false));
    out.push(this.#seal([tail.length > OBJECT_CHUNK ? tail.subarray(OBJECT_CHUNK) : tail], true));
    return out;
  }
}

/** §5: the sealed size of a chunk of n plaintext bytes. */
export const SEALED_CHUNK = OBJECT_CHUNK + TAG_LENGTH;

/**
 * §5: opens an object chunk by chunk. The caller feeds each sealed chunk (all but
 * the last are SEALED_CHUNK bytes) with whether it is the last; it gets plaintext
 * back, held one chunk behind so the padding can be removed at the end.
 */
export class ObjectOpener {
  #ad: Uint8Array;
  #header: Uint8Array;
  #index = 0;
  #held: Uint8Array | undefined;
  #done = false;

  constructor(
    private readonly key: Uint8Array,
    name: string,
    header: Uint8Array,
  ) {
    if (header.length !== OBJECT_HEADER_LENGTH || !startsWith(header, OBJECT_MAGIC)) throw damaged(`object ${name} is not a Caliop store object`);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (view.getUint16(8) !== FORMAT_VERSION || view.getUint32(10) !== OBJECT_CHUNK) throw damaged(`object ${name} has an unknown version`);
    this.#header = header.slice();
    this.#ad = objectAd(this.#header, name);
  }

  /** Decrypts one chunk; returns the plaintext that is now certainly data (not padding). */
  chunk(sealed: Uint8Array, last: boolean): Uint8Array[] {
    if (this.#done) throw damaged('data after the last chunk of an object');
    let plaintext: Uint8Array;
    try {
      plaintext = xchachaAead(this.key, chunkNonce(this.#header, this.#index++, last), this.#ad).decrypt(sealed);
    } catch {
      throw damaged(`chunk ${this.#index - 1} of an object failed its integrity check`);
    }
    const out: Uint8Array[] = [];
    if (!last) {
      if (this.#held) out.push(this.#held);
      this.#held = plaintext;
      return out;
    }
    this.#done = true;
    const tail = this.#held ? concatBytes(this.#held, plaintext) : plaintext;
    this.#held = undefined;
    if (tail.length < 4) throw damaged('an object is shorter than its trailer');
    const padding = new DataView(tail.buffer, tail.byteOffset, tail.byteLength).getUint32(tail.length - 4);
    if (padding > tail.length - 4) throw damaged('an object declares more padding than it holds');
    const end = tail.length - 4 - padding;
    for (let i = end; i < tail.length - 4; i++) if (tail[i] !== 0) throw damaged('an object has non-zero padding');
    out.push(tail.subarray(0, end));
    return out;
  }

  /** True once the flagged last chunk was opened: anything less is a truncated object. */
  get complete(): boolean {
    return this.#done;
  }
}
