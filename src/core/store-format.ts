// The message store on the stick (normative: docs/store.md).
//
// Pure: no files, no randomness, no clock. Nonces and keys are parameters;
// src/edges/store-files.ts reads and writes the files, src/service/message-store.ts
// is the API the use cases call.

import type { z } from 'zod';
import { arrayOf, isBoolean, isIsoDateTime, isString, oneOf, safeIntegerFrom, strictObject, stringMatching, tupleOf, type Check } from './json-shape.js';
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
 * §3: the bucket of the id table that holds an id: FNV-1a (32-bit) of its UTF-8 bytes, modulo
 * the number of buckets (as many as chunks).
 */
export function idBucket(id: string, buckets: number): number {
  let hash = 0x811c9dc5;
  let ascii = true;
  for (let i = 0; i < id.length && ascii; i++) ascii = id.charCodeAt(i) < 0x80;
  if (ascii) for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193) >>> 0;
  else for (const byte of new TextEncoder().encode(id)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % buckets;
}

/** §3: the id table: for each bucket, the ids of each chunk that fall in it, in the chunk's order. */
export function idTableOf(chunkIds: readonly (readonly string[])[]): string[][][] {
  const table = chunkIds.map(() => chunkIds.map((): string[] => []));
  chunkIds.forEach((ids, chunk) => {
    for (const id of ids) table[idBucket(id, chunkIds.length)]![chunk]!.push(id);
  });
  return table;
}

/** §2: above every numeric id of `ids`, and at least `floor` (the index's nextId). */
function idsBelow(ids: Iterable<string>, floor: number): number {
  let below = floor;
  for (const id of ids) {
    const numeric = Number(id);
    if (Number.isSafeInteger(numeric) && numeric >= below) below = numeric + 1;
  }
  return below;
}

/** §3: a numeric id in its one spelling (String(n)): the head's nextId bounds these. */
function canonicalNumber(id: string): number | undefined {
  const numeric = Number(id);
  return Number.isSafeInteger(numeric) && String(numeric) === id ? numeric : undefined;
}

/**
 * §3: what opening the index file gives: the head (counts, the relay cursor, the lines awaiting
 * delivery) at once, and each chunk of index lines and each bucket of the id table on demand
 * (opened, checked and parsed when first asked for).
 */
export interface IndexReading {
  readonly generation: number;
  /** 1: the one-document index, 2: the chunked index without its chunks' lengths, 3: every id in the head (§7.1 rewrites them); 4: the current one. */
  readonly version: number;
  /** §3: above every numeric id of the file's lines. */
  readonly nextId: number;
  readonly relayCursor: string | undefined;
  /** Lines per chunk, in order. */
  readonly chunkSizes: readonly number[];
  /** §2: sent copies awaiting a delivery report: each id, with the chunk that holds its line. */
  readonly awaiting: readonly (readonly [string, number])[];
  /** §3: the id table's number of buckets (as many as chunks). */
  readonly bucketCount: number;
  /**
   * The lines of the chunks asked for, each newest first, read by position (one read for
   * them all) and opened; throws vault_tampered (part store) when one is damaged.
   */
  chunks(which: readonly number[]): Promise<IndexEntry[][]>;
  /** The id table's buckets asked for, the same way: for each, the ids of each chunk that fall in it. */
  buckets(which: readonly number[]): Promise<string[][][]>;
  /** Plaintext bytes of the index opened so far (the head, and each chunk and bucket asked for). */
  readonly opened: { bytes: number };
}

type Overlay = { entry: IndexEntry } | { deleted: true };

/** Thrown inside StoreIndex by a computation that reached a part of the index file not opened yet; #withParts opens it and runs it again. */
class PartNeeded {
  constructor(
    readonly kind: 'chunk' | 'bucket',
    readonly number: number,
  ) {}
}

/**
 * §2: the store as memory holds it. The index file's chunks and the buckets of its id table are
 * opened only when a listing, a lookup or a compaction needs them (read by position, §3); the
 * journal's changes since the file are an overlay on top of them. Applying an op is O(1) and
 * opens nothing. Every question that may need a part of the file is async: the parts it needs
 * are opened first, then it is answered from memory in one synchronous step.
 */
export class StoreIndex {
  nextId: number;
  relayCursor: string | undefined;
  readonly #reading: IndexReading;
  /** §3: the head's nextId, above every numeric id of the file: a larger id is not a line of it, without a read. */
  readonly #fileIdsBelow: number;
  readonly #fileLines: number;
  readonly #chunks: (Map<string, IndexEntry> | undefined)[];
  #chunksOpened = 0;
  /** §3: for each chunk opened, how many of its lines fall in each bucket (checked against the buckets opened after it). */
  readonly #chunkBuckets: (Uint32Array | undefined)[];
  /** §3: the id table's buckets opened: for each, the ids of each chunk that fall in it. */
  readonly #buckets: (readonly (readonly string[])[] | undefined)[];
  /** id → chunk, for every id of the chunks and the buckets opened. */
  readonly #located = new Map<string, number>();
  /** Parts being read and opened now: a second question waits for the same read. */
  readonly #openingChunks = new Map<number, Promise<void>>();
  readonly #openingBuckets = new Map<number, Promise<void>>();
  readonly #chunkStarts: number[] = [];
  /** Changes since the file (the journal, then this session): put, unread mark, deletion. */
  readonly #overlay = new Map<string, Overlay>();
  /** Of the overlay's ids: those holding a line (a put), and those that are lines of the file (each hides one). */
  #overlayLines = 0;
  #overlayInFile = 0;
  /**
   * §2: ids of the overlay not known yet to be lines of the file or not (a journal replayed at
   * unlock deleting or rewriting lines): counted once their bucket or chunk is open (settle()).
   */
  readonly #unsettled = new Set<string>();
  /**
   * Unread marks of the file's lines (§4), by id: a boolean, not an object per mark (issue 13: a
   * folded journal marks up to every message; 10,000 objects more for the collector at each unlock).
   * A put or a deletion of the id takes over from its mark.
   */
  readonly #marks = new Map<string, boolean>();
  readonly #awaiting: Set<string>;
  /** §3: the chunk of each line the head names as awaiting delivery, and how many it names in each chunk. */
  readonly #awaitingChunk: Map<string, number>;
  readonly #awaitingPerChunk: Uint32Array;
  #relayIds: Set<string> | undefined;
  #sorted: IndexEntry[] | undefined;
  /** How many of the newest lines #sorted is certainly complete for. */
  #sortedUpTo = 0;

  constructor(reading: IndexReading) {
    this.#reading = reading;
    this.nextId = reading.nextId;
    this.#fileIdsBelow = reading.nextId;
    this.relayCursor = reading.relayCursor;
    let at = 0;
    for (const size of reading.chunkSizes) {
      this.#chunkStarts.push(at);
      at += size;
    }
    this.#fileLines = at;
    this.#chunks = new Array<Map<string, IndexEntry> | undefined>(reading.chunkSizes.length);
    this.#chunkBuckets = new Array<Uint32Array | undefined>(reading.chunkSizes.length);
    this.#buckets = new Array<readonly (readonly string[])[] | undefined>(reading.bucketCount);
    this.#awaitingChunk = new Map(reading.awaiting);
    this.#awaitingPerChunk = new Uint32Array(reading.chunkSizes.length);
    for (const [, chunk] of reading.awaiting) this.#awaitingPerChunk[chunk] = (this.#awaitingPerChunk[chunk] ?? 0) + 1;
    this.#awaiting = new Set(this.#awaitingChunk.keys());
  }

  /** §2: the head's lines, corrected by the overlay (every id of it settled: see settle()). */
  get count(): number {
    if (this.#unsettled.size > 0) throw new Error('StoreIndex: count asked for before settle()');
    return this.#fileLines - this.#overlayInFile + this.#overlayLines;
  }

  /** Whether `id` is a line of the file; undefined while neither its chunk nor its bucket is open (§2: nextId aside). */
  #inFile(id: string): boolean | undefined {
    if (this.#located.has(id)) return true;
    if (this.#chunksOpened === this.#chunks.length) return false;
    const numeric = canonicalNumber(id);
    if (numeric !== undefined && numeric >= this.#fileIdsBelow) return false;
    return this.#buckets[idBucket(id, this.#buckets.length)] === undefined ? undefined : false;
  }

  /**
   * §2: looks up the ids of the overlay not known yet to be lines of the file (the buckets of
   * their ids, in one read), so that count is right. A journal of marks and new mail has none.
   */
  async settle(): Promise<void> {
    while (this.#unsettled.size > 0) await this.#open([], [...this.#unsettled].map((id) => idBucket(id, this.#buckets.length)));
  }

  /** Counts the ids of the overlay whose place became known (a part was opened). */
  #settleKnown(): void {
    for (const id of this.#unsettled) {
      const inFile = this.#inFile(id);
      if (inFile === undefined) continue;
      this.#unsettled.delete(id);
      if (inFile) this.#overlayInFile += 1;
    }
  }

  #setOverlay(id: string, value: Overlay): void {
    const before = this.#overlay.get(id);
    if (before === undefined) {
      const inFile = this.#inFile(id);
      if (inFile === undefined) this.#unsettled.add(id);
      else if (inFile) this.#overlayInFile += 1;
    } else if ('entry' in before) this.#overlayLines -= 1;
    if ('entry' in value) this.#overlayLines += 1;
    this.#overlay.set(id, value);
    this.#sorted = undefined;
  }

  #begin<T>(opened: readonly unknown[], opening: Map<number, Promise<void>>, wanted: readonly number[], read: (which: number[]) => Promise<T[]>, accept: (n: number, part: T) => void): void {
    const missing = wanted.filter((n) => opened[n] === undefined && !opening.has(n)).sort((a, b) => a - b);
    if (missing.length === 0) return;
    const done = read(missing).then((parts) => missing.forEach((n, k) => accept(n, parts[k]!)));
    for (const n of missing) opening.set(n, done);
    void done.finally(() => missing.forEach((n) => opening.delete(n))).catch(() => undefined);
  }

  /** Opens the chunks and buckets not opened yet among those asked for: the chunks in one read, the buckets in one (§3). */
  async #open(chunks: Iterable<number>, buckets: Iterable<number> = []): Promise<void> {
    const wantedChunks = [...new Set(chunks)];
    const wantedBuckets = [...new Set(buckets)];
    this.#begin(this.#chunks, this.#openingChunks, wantedChunks, (which) => this.#reading.chunks(which), (i, lines) => this.#acceptChunk(i, lines));
    this.#begin(this.#buckets, this.#openingBuckets, wantedBuckets, (which) => this.#reading.buckets(which), (b, lists) => this.#acceptBucket(b, lists));
    await Promise.all([...wantedChunks.map((i) => this.#openingChunks.get(i)), ...wantedBuckets.map((b) => this.#openingBuckets.get(b))]);
  }

  /**
   * §3: a chunk must hold the head's number of lines, no id twice, no numeric id at or above
   * nextId, the lines awaiting delivery the head names in it; and, for each bucket open, the ids
   * of the chunk falling in it must be those the bucket lists for the chunk.
   */
  #acceptChunk(i: number, lines: readonly IndexEntry[]): void {
    if (this.#chunks[i] !== undefined) return;
    const refused = (what: string) => new VaultTamperedError('store', `index chunk ${i} does not match the index's ${what}`);
    const chunk = new Map(lines.map((line) => [line.id, line]));
    if (lines.length !== this.#reading.chunkSizes[i] || chunk.size !== lines.length) throw refused('head');
    const inBucket = new Uint32Array(this.#buckets.length);
    let awaiting = 0;
    for (const line of lines) {
      const numeric = canonicalNumber(line.id);
      if (numeric !== undefined && numeric >= this.#fileIdsBelow) throw refused('head');
      const isAwaiting = line.awaitingDelivery === true;
      if (isAwaiting !== (this.#awaitingChunk.get(line.id) === i)) throw refused('head');
      if (isAwaiting) awaiting += 1;
      const bucket = idBucket(line.id, this.#buckets.length);
      inBucket[bucket] = inBucket[bucket]! + 1;
      const at = this.#located.get(line.id);
      // Listed by its bucket under this chunk when that bucket is open; in no other chunk.
      if (this.#buckets[bucket] !== undefined ? at !== i : at !== undefined) throw refused('id table');
    }
    if (awaiting !== this.#awaitingPerChunk[i]) throw refused('head');
    this.#buckets.forEach((bucket, b) => {
      if (bucket !== undefined && bucket[i]!.length !== inBucket[b]) throw refused('id table');
    });
    this.#chunks[i] = chunk;
    this.#chunkBuckets[i] = inBucket;
    this.#chunksOpened += 1;
    for (const line of lines) this.#located.set(line.id, i);
    this.#settleKnown();
  }

  /**
   * §3: a bucket must hold one list per chunk, ids that fall in it, none twice; and, for each
   * chunk open, its list for the chunk must be exactly the chunk's ids that fall in it.
   */
  #acceptBucket(b: number, lists: readonly (readonly string[])[]): void {
    if (this.#buckets[b] !== undefined) return;
    const refused = () => new VaultTamperedError('store', `index id table bucket ${b} does not match the index's chunks`);
    if (lists.length !== this.#chunks.length) throw refused();
    const seen = new Set<string>();
    lists.forEach((ids, c) => {
      const chunk = this.#chunks[c];
      if (ids.length > this.#reading.chunkSizes[c]! || (chunk !== undefined && ids.length !== this.#chunkBuckets[c]![b])) throw refused();
      for (const id of ids) {
        if (seen.has(id) || idBucket(id, this.#buckets.length) !== b) throw refused();
        seen.add(id);
        const at = this.#located.get(id);
        if ((at !== undefined && at !== c) || (chunk !== undefined && !chunk.has(id))) throw refused();
      }
    });
    this.#buckets[b] = lists;
    lists.forEach((ids, c) => {
      for (const id of ids) this.#located.set(id, c);
    });
    this.#settleKnown();
  }

  /** Every chunk, in one read of those not opened yet (§2.1, §3: a whole read). */
  #openAll(): Promise<void> {
    return this.#open(this.#chunks.keys());
  }

  /** Runs `answer` over memory; a part it reaches unopened is opened and it runs again. */
  async #withParts<T>(answer: () => T): Promise<T> {
    for (;;) {
      try {
        return answer();
      } catch (error) {
        if (!(error instanceof PartNeeded)) throw error;
        await (error.kind === 'chunk' ? this.#open([error.number]) : this.#open([], [error.number]));
      }
    }
  }

  #chunk(i: number): Map<string, IndexEntry> {
    const chunk = this.#chunks[i];
    if (chunk === undefined) throw new PartNeeded('chunk', i);
    return chunk;
  }

  /** The line as the file holds it (before the overlay), or undefined: found in a chunk open, else through its bucket (§2). */
  #base(id: string): IndexEntry | undefined {
    const inFile = this.#inFile(id);
    if (inFile === undefined) throw new PartNeeded('bucket', idBucket(id, this.#buckets.length));
    return inFile ? this.#chunk(this.#located.get(id)!).get(id) : undefined;
  }

  #get(id: string): IndexEntry | undefined {
    const over = this.#overlay.get(id);
    if (over) return 'entry' in over ? over.entry : undefined;
    const base = this.#base(id);
    if (!base) return undefined;
    const unread = this.#marks.get(id);
    return unread === undefined ? base : { ...base, unread };
  }

  /** One line: opens the chunk that holds it (§2), at most once, and its bucket first when no chunk open holds it. */
  get(id: string): Promise<IndexEntry | undefined> {
    return this.#withParts(() => this.#get(id));
  }

  /**
   * §4: an unread mark. Not asked whether the id is in the file (issue 13: that would read its
   * bucket at each unlock whose journal holds a mark): a mark of an id that is neither in the
   * file nor put is inert, as if ignored (#get and #page look at the file).
   */
  #mark(id: string, unread: boolean): void {
    const over = this.#overlay.get(id);
    if (over === undefined) this.#marks.set(id, unread);
    else if ('entry' in over) this.#overlay.set(id, { entry: { ...over.entry, unread } });
    else return; // deleted
    this.#sorted = undefined;
  }

  /**
   * §4: applies one record's ops, in order. Unknown ids are ignored (a delete replayed twice).
   * Whether a put's or a deletion's id is a line of the file (count) is looked up later when
   * not known now (settle(); a session's changes look their ids up before they are made).
   */
  apply(ops: readonly StoreOp[]): void {
    for (const op of ops) {
      switch (op.op) {
        case 'put': {
          if (this.#relayIds) {
            // #relayIds is built once every chunk is open: this opens nothing.
            const old = this.#get(op.entry.id);
            if (old?.relayId !== undefined) this.#relayIds.delete(old.relayId);
          }
          this.#setOverlay(op.entry.id, { entry: op.entry });
          this.#marks.delete(op.entry.id);
          if (op.entry.awaitingDelivery === true) this.#awaiting.add(op.entry.id);
          else this.#awaiting.delete(op.entry.id);
          if (op.entry.relayId !== undefined) this.#relayIds?.add(op.entry.relayId);
          const numeric = Number(op.entry.id);
          if (Number.isSafeInteger(numeric) && numeric >= this.nextId) this.nextId = numeric + 1;
          break;
        }
        case 'set':
          this.#mark(op.id, op.unread);
          break;
        case 'marks':
          for (const id of op.ids) this.#mark(id, op.unread);
          break;
        case 'delete': {
          const over = this.#overlay.get(op.id);
          if (over !== undefined && !('entry' in over)) break; // deleted already
          if (this.#relayIds) {
            const old = this.#get(op.id);
            if (old?.relayId !== undefined) this.#relayIds.delete(old.relayId);
          }
          this.#setOverlay(op.id, { deleted: true });
          this.#marks.delete(op.id);
          this.#awaiting.delete(op.id);
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
    return this.#withParts(() => this.#page(offset, limit));
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
    return this.#withParts(() => this.#page(0, Number.POSITIVE_INFINITY));
  }

  /** §2.1: the sent copies awaiting a delivery report, by id: opens only the chunks the head names for them (one read). */
  async awaitingDelivery(): Promise<IndexEntry[]> {
    await this.#open([...this.#awaiting].flatMap((id) => (this.#overlay.has(id) ? [] : (this.#awaitingChunk.get(id) ?? []))));
    return this.#withParts(() => [...this.#awaiting].map((id) => this.#get(id)).filter((entry): entry is IndexEntry => entry !== undefined));
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

/** §3: the index file's version: 4, the chunked index whose ids are in an id table cut into buckets. */
export const INDEX_VERSION = 4;
/** §3: the chunked index whose head holds every id (read by position, rewritten in version 4: §7.1). */
const INDEX_VERSION_IDS_IN_HEAD = 3;
/** §3: the chunked index before the head gave its chunks' lengths (read whole, rewritten: §7.1). */
const INDEX_VERSION_UNPLACED = 2;
/** §3: version 4's salt, after the generation header: 16 random bytes, fresh at each write of the file. */
const INDEX_SALT_LENGTH = 16;
/** §3: version 4's header: magic 8 + version 2 + generation 4 + salt 16. */
export const INDEX_HEADER_LENGTH = GENERATION_HEADER_LENGTH + INDEX_SALT_LENGTH;
/** §3: the associated data's number for the head (chunks are numbered from 0). */
const HEAD_NUMBER = 0xffffffff;
/** §3: the associated data's number for bucket b of the id table is this plus b. */
const BUCKET_NUMBER = 0x80000000;
/** §3: u32 length ‖ nonce, before each sealed part. */
const PART_PREFIX = 4 + NONCE_LENGTH;
/** §3: opening reads the file's first bytes in one read: the header, the head, and at small sizes the whole file. */
export const INDEX_FIRST_READ = 64 * 1024;
/** §3: opening reads on, through the same handle, to the end of the first chunk when it ends within this. */
export const INDEX_OPENING_READ_MAX = 256 * 1024;

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

function u32At(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);
}

/** §3: the head of a version 4 index: what unlock and counting need, without any line or id, and where each part lies. */
export const STORE_INDEX_HEAD_FORMAT = 'caliop-store-index/4';
/** §3: the head of a version 3 index (every id), and of a version 2 index (every id, no `lengths`). */
const STORE_INDEX_HEAD_FORMAT_IDS = 'caliop-store-index/3';
const STORE_INDEX_HEAD_FORMAT_UNPLACED = 'caliop-store-index/2';
export interface IndexHead {
  format: typeof STORE_INDEX_HEAD_FORMAT;
  nextId: number;
  relayCursor?: string;
  chunks: number[];
  /** §3: each chunk's sealed length L (the u32 before it): chunk i starts after the head and the chunks before it. */
  lengths: number[];
  /** §3: each bucket's sealed length: the id table follows the last chunk. */
  idTable: number[];
  /** §3: each line awaiting delivery: its id and its chunk. */
  awaiting: [string, number][];
}
/** §3: the head of versions 3 and 2. */
interface IndexHeadWithIds {
  nextId: number;
  relayCursor?: string;
  chunks: number[];
  lengths?: number[];
  ids: string[];
  awaiting: string[];
}
const isIndexHead = strictObject(
  {
    format: oneOf(STORE_INDEX_HEAD_FORMAT),
    nextId: safeIntegerFrom(1),
    chunks: arrayOf(safeIntegerFrom(1)),
    lengths: arrayOf(safeIntegerFrom(TAG_LENGTH)),
    idTable: arrayOf(safeIntegerFrom(TAG_LENGTH)),
    awaiting: arrayOf(tupleOf(isString, safeIntegerFrom(0))),
  },
  { relayCursor: isString },
);
const headWithIdsFields = { nextId: safeIntegerFrom(1), chunks: arrayOf(safeIntegerFrom(1)), ids: arrayOf(isString), awaiting: arrayOf(isString) };
const isIndexHeadWithIds = strictObject({ format: oneOf(STORE_INDEX_HEAD_FORMAT_IDS), ...headWithIdsFields, lengths: arrayOf(safeIntegerFrom(TAG_LENGTH)) }, { relayCursor: isString });
const isIndexHeadUnplaced = strictObject({ format: oneOf(STORE_INDEX_HEAD_FORMAT_UNPLACED), ...headWithIdsFields }, { relayCursor: isString });
const isIndexChunk = arrayOf(isIndexEntry, 1);

function sealPart(key: Uint8Array, header: Uint8Array, number: number, nonce: Uint8Array, json: unknown): Uint8Array {
  const sealed = xchachaAead(key, nonce, concatBytes(header, u32(number))).encrypt(ascii(JSON.stringify(json)));
  return concatBytes(u32(sealed.length), nonce, sealed);
}

/** §3: the lines newest first, cut into chunks of INDEX_CHUNK_ENTRIES. */
function chunked(entries: readonly IndexEntry[]): IndexEntry[][] {
  const lines = [...entries].sort(newestFirst);
  const chunks: IndexEntry[][] = [];
  for (let at = 0; at < lines.length; at += INDEX_CHUNK_ENTRIES) chunks.push(lines.slice(at, at + INDEX_CHUNK_ENTRIES));
  return chunks;
}

/** §3: each line awaiting delivery, with its chunk. */
function awaitingOf(chunks: readonly (readonly IndexEntry[])[]): [string, number][] {
  return chunks.flatMap((chunk, i) => chunk.filter((line) => line.awaitingDelivery === true).map((line): [string, number] => [line.id, i]));
}

/**
 * §3: the index file (version 4): header (with a fresh salt) ‖ the head ‖ the chunks ‖ the id
 * table's buckets, each u32 length ‖ nonce ‖ XChaCha20-Poly1305(key, nonce, AD = header ‖ u32
 * number, JSON); the lines sorted newest first (§2) and cut into chunks of INDEX_CHUNK_ENTRIES;
 * the head names each part's sealed length. `nonce` gives fresh random bytes per call.
 */
export async function sealIndex(key: Uint8Array, generation: number, nonce: (length: number) => Uint8Array, state: StoreState): Promise<Uint8Array> {
  const checked = isStoreState(state) ? state : (await loadSchemas()).StoreStateSchema.parse(state);
  const chunks = chunked(checked.entries);
  const header = concatBytes(generationHeader(INDEX_MAGIC, generation, INDEX_VERSION), nonce(INDEX_SALT_LENGTH));
  const headNonce = nonce(NONCE_LENGTH);
  const sealedChunks = chunks.map((chunk, i) => sealPart(key, header, i, nonce(NONCE_LENGTH), chunk));
  const chunkIds = chunks.map((chunk) => chunk.map((line) => line.id));
  const sealedBuckets = idTableOf(chunkIds).map((bucket, b) => sealPart(key, header, BUCKET_NUMBER + b, nonce(NONCE_LENGTH), bucket));
  const head: IndexHead = {
    format: STORE_INDEX_HEAD_FORMAT,
    nextId: idsBelow(chunkIds.flat(), checked.nextId),
    ...(checked.relayCursor !== undefined ? { relayCursor: checked.relayCursor } : {}),
    chunks: chunks.map((chunk) => chunk.length),
    lengths: sealedChunks.map((part) => part.length - PART_PREFIX),
    idTable: sealedBuckets.map((part) => part.length - PART_PREFIX),
    awaiting: awaitingOf(chunks),
  };
  return concatBytes(header, sealPart(key, header, HEAD_NUMBER, headNonce, head), ...sealedChunks, ...sealedBuckets);
}

/** One sealed part (the head, a chunk or a bucket) at the start of `bytes`: u32 L ‖ nonce ‖ L bytes. */
function openPart(key: Uint8Array, header: Uint8Array, bytes: Uint8Array, number: number, what: string): { json: unknown; length: number } {
  const length = bytes.length >= 4 ? u32At(bytes, 0) : 0;
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
 * position. Every read is of the file opened (src/edges/store-files.ts checks the header
 * again before each later read; the associated data binds every part to it anyway).
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

/** §3: where each part after the head starts; the file ends with the last one (checked on its size: nothing is read). */
function placeParts(headEnd: number, lengths: readonly number[], size: number): number[] {
  const starts: number[] = [];
  let end = headEnd;
  for (const length of lengths) {
    starts.push(end);
    end += PART_PREFIX + length;
  }
  if (end !== size) throw damaged(end > size ? 'the index is truncated' : 'the index has data after its last part');
  return starts;
}

/**
 * §3: reads parts after the head by position (those asked for at once: one read from the first
 * to the end of the last, or none when `prefix`, read at opening, holds them) and opens each:
 * its u32 must be the head's length for it, its tag must check under the header opened.
 */
function partReader(key: Uint8Array, header: Uint8Array, source: IndexSource, prefix: Uint8Array, starts: readonly number[], lengths: readonly number[], opened: { bytes: number }) {
  return async (which: readonly number[], number: (part: number) => number, what: (part: number) => string): Promise<unknown[]> => {
    if (which.length === 0) return [];
    const from = starts[Math.min(...which)]!;
    const to = Math.max(...which.map((k) => starts[k]! + PART_PREFIX + lengths[k]!));
    const span = to <= prefix.length ? prefix.subarray(from, to) : await source.read(from, to - from);
    if (span.length !== to - from) throw damaged('the index is truncated');
    return which.map((k) => {
      const bytes = span.subarray(starts[k]! - from, starts[k]! - from + PART_PREFIX + lengths[k]!);
      if (u32At(bytes, 0) !== lengths[k]) throw damaged('the index is truncated');
      const part = openPart(key, header, bytes, number(k), what(k));
      opened.bytes += part.length;
      return part.json;
    });
  };
}

/**
 * §3: opens the index file: the header and the head now (one read of the file's first
 * INDEX_FIRST_READ bytes, and the rest of the head when it is longer), then, through the same
 * source, the rest of the first chunk when it ends within INDEX_OPENING_READ_MAX (kept sealed);
 * each chunk and bucket by position when first asked for (§2). The file's size is checked
 * against the head's lengths: a file cut short or with bytes after its last part is refused
 * here. A version 3 index (every id in its head) is read the same way, its id table computed
 * from the head; a version 2 index (no lengths) and a version 1 index (one document) are read
 * whole. All three are rewritten at this opening (§7.1).
 */
export async function openIndex(key: Uint8Array, file: Uint8Array | IndexSource): Promise<IndexReading> {
  const source = file instanceof Uint8Array ? bytesSource(file) : file;
  let prefix = await source.read(0, Math.min(source.size, INDEX_FIRST_READ));
  const { generation, version } = readGenerationHeader(prefix, INDEX_MAGIC, 'index', [FORMAT_VERSION, INDEX_VERSION_UNPLACED, INDEX_VERSION_IDS_IN_HEAD, INDEX_VERSION]);
  // A whole read (versions 1 and 2): the rest after what was read, so each byte is read once.
  const whole = async () => (prefix.length === source.size ? prefix : concatBytes(prefix, await source.read(prefix.length, source.size - prefix.length)));
  if (version === FORMAT_VERSION) return openIndexV1(key, await whole(), generation);
  const headerLength = version === INDEX_VERSION ? INDEX_HEADER_LENGTH : GENERATION_HEADER_LENGTH;
  // The head: its length is the u32 after the header.
  if (prefix.length < headerLength + 4) throw damaged('the index is truncated');
  const header = prefix.slice(0, headerLength);
  const headEnd = headerLength + PART_PREFIX + u32At(prefix, headerLength);
  if (headEnd > source.size) throw damaged('the index is truncated');
  if (headEnd > prefix.length) prefix = concatBytes(prefix, await source.read(prefix.length, headEnd - prefix.length));
  const opened = { bytes: 0 };
  const head = openPart(key, header, prefix.subarray(headerLength, headEnd), HEAD_NUMBER, 'head');
  opened.bytes += head.length;
  if (version !== INDEX_VERSION) return openIndexWithIds(key, { source, header, prefix, headEnd, whole }, head.json, generation, version, opened);
  if (!isIndexHead(head.json)) throw damaged('the index head does not match its format');
  const { nextId, relayCursor, chunks, lengths, idTable, awaiting } = head.json as IndexHead;
  if (lengths.length !== chunks.length || idTable.length !== chunks.length || chunks.some((size) => size > INDEX_CHUNK_ENTRIES) || awaiting.some(([, chunk]) => chunk >= chunks.length)) {
    throw damaged('the index head does not match its format');
  }
  const partLengths = [...lengths, ...idTable];
  const starts = placeParts(headEnd, partLengths, source.size);
  // §3: the first chunk, read now through the same handle (the first page needs it), opened when asked for.
  const firstChunkEnd = chunks.length > 0 ? starts[0]! + PART_PREFIX + lengths[0]! : 0;
  if (firstChunkEnd > prefix.length && firstChunkEnd <= INDEX_OPENING_READ_MAX) prefix = concatBytes(prefix, await source.read(prefix.length, firstChunkEnd - prefix.length));
  const read = partReader(key, header, source, prefix, starts, partLengths, opened);
  const isBucket = arrayOf(arrayOf(isString), chunks.length, chunks.length);
  return {
    generation,
    version,
    nextId,
    relayCursor,
    chunkSizes: chunks,
    awaiting,
    bucketCount: idTable.length,
    opened,
    async chunks(which) {
      const parts = await read(which, (i) => i, (i) => `chunk ${i}`);
      return parts.map((json, k) => {
        if (!isIndexChunk(json)) throw damaged(`index chunk ${which[k]} does not match its format`);
        return json as IndexEntry[];
      });
    },
    async buckets(which) {
      const parts = await read(
        which.map((b) => chunks.length + b),
        (k) => BUCKET_NUMBER + k - chunks.length,
        (k) => `id table bucket ${k - chunks.length}`,
      );
      return parts.map((json, k) => {
        if (!isBucket(json)) throw damaged(`index id table bucket ${which[k]} does not match its format`);
        return json as string[][];
      });
    },
  };
}

/**
 * §3, §7.1: versions 3 and 2, every id in the head: the chunks by position (version 2: the
 * positions walked from the u32 lengths of the whole file), each chunk's ids checked against
 * the head's; the id table computed from the head's ids.
 */
async function openIndexWithIds(
  key: Uint8Array,
  file: { source: IndexSource; header: Uint8Array; prefix: Uint8Array; headEnd: number; whole: () => Promise<Uint8Array> },
  json: unknown,
  generation: number,
  version: number,
  opened: { bytes: number },
): Promise<IndexReading> {
  if (!(version === INDEX_VERSION_IDS_IN_HEAD ? isIndexHeadWithIds : isIndexHeadUnplaced)(json)) throw damaged('the index head does not match its format');
  const { nextId, relayCursor, chunks, ids, awaiting } = json as IndexHeadWithIds;
  if (chunks.reduce((sum, size) => sum + size, 0) !== ids.length || chunks.some((size) => size > INDEX_CHUNK_ENTRIES)) throw damaged('the index head does not match its format');
  let lengths: readonly number[];
  let source = file.source;
  let prefix = file.prefix;
  if (version === INDEX_VERSION_IDS_IN_HEAD) {
    lengths = (json as IndexHeadWithIds).lengths!;
    if (lengths.length !== chunks.length) throw damaged('the index head does not match its format');
  } else {
    // Version 2: the positions walked from the u32 lengths of the whole file (§3: read whole, then rewritten).
    const bytes = await file.whole();
    source = bytesSource(bytes);
    prefix = bytes;
    const walked: number[] = [];
    for (let at = file.headEnd, i = 0; i < chunks.length; i++) {
      if (at + 4 > bytes.length) throw damaged('the index is truncated');
      walked.push(u32At(bytes, at));
      at += PART_PREFIX + walked[i]!;
    }
    lengths = walked;
  }
  const starts = placeParts(file.headEnd, lengths, source.size);
  const read = partReader(key, file.header, source, prefix, starts, lengths, opened);
  const chunkIds: string[][] = [];
  for (let at = 0, i = 0; i < chunks.length; at += chunks[i]!, i++) chunkIds.push(ids.slice(at, at + chunks[i]!));
  const chunkOf = new Map(awaiting.map((id) => [id, chunkIds.findIndex((inChunk) => inChunk.includes(id))]));
  if ([...chunkOf.values()].some((chunk) => chunk < 0)) throw damaged('the index head does not match its format');
  let table: string[][][] | undefined;
  return {
    generation,
    version,
    nextId: idsBelow(ids, nextId),
    relayCursor,
    chunkSizes: chunks,
    awaiting: [...chunkOf],
    bucketCount: chunks.length,
    opened,
    async chunks(which) {
      const parts = await read(which, (i) => i, (i) => `chunk ${i}`);
      return parts.map((json, k) => {
        const i = which[k]!;
        if (!isIndexChunk(json)) throw damaged(`index chunk ${i} does not match its format`);
        const lines = json as IndexEntry[];
        // §3 (version 3): a chunk's lines are the head's ids for it, in order.
        if (lines.length !== chunks[i] || lines.some((line, j) => line.id !== chunkIds[i]![j])) throw new VaultTamperedError('store', `index chunk ${i} does not match the index's head`);
        return lines;
      });
    },
    async buckets(which) {
      table ??= idTableOf(chunkIds);
      return which.map((b) => table![b]!);
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

/** An index held whole in memory, in the shape of a reading (version 1, a new store, and tests). */
export function readingOf(state: StoreState, generation = 0, version = INDEX_VERSION, openedBytes = 0): IndexReading {
  const chunks = chunked(state.entries);
  let table: string[][][] | undefined;
  return {
    generation,
    version,
    nextId: idsBelow(state.entries.map((line) => line.id), state.nextId),
    relayCursor: state.relayCursor,
    chunkSizes: chunks.map((chunk) => chunk.length),
    awaiting: awaitingOf(chunks),
    bucketCount: chunks.length,
    opened: { bytes: openedBytes },
    chunks: async (which) => which.map((i) => chunks[i]!),
    buckets: async (which) => {
      table ??= idTableOf(chunks.map((chunk) => chunk.map((line) => line.id)));
      return which.map((b) => table![b]!);
    },
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
