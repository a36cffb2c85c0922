// The message store's files on the stick (normative: docs/store.md): the sealed
// index, the append-only journal and the objects, each written so a yank leaves
// the store in its old state or its new one (§6).
//
// The formats are src/core/store-format.ts; the API the use cases call is
// src/service/message-store.ts.

import { mkdir, open, readdir, rm, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CaliopError, isCaliopError } from '../errors.js';
import {
  GENERATION_HEADER_LENGTH,
  INDEX_HEADER_LENGTH,
  INDEX_MAX_BYTES,
  JOURNAL_MAX_BYTES,
  OBJECT_HEADER_LENGTH,
  OBJECT_NAME,
  OBJECT_NONCE_PREFIX_LENGTH,
  ObjectOpener,
  ObjectSealer,
  SEALED_CHUNK,
  compactionDue,
  foldDue,
  foldRecords,
  journalHeader,
  openIndex,
  openJournal,
  sealIndex,
  sealJournalRecord,
  type IndexReading,
  type IndexSource,
  type StoreOp,
  type StoreState,
} from '../core/store-format.js';
import { VaultTamperedError } from '../core/vault-format.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { removeLeftoverTempFiles, syncFolder, writeFileAtomically } from './atomic-file.js';
import { openRegularFile, readRegularFile } from './plain-files.js';
import type { RandomSource } from './random.js';
import { Writeback } from './writeback.js';

/** What the store did to the stick, counted (tests assert on these, never on time). */
export interface StoreIoCounts {
  bytesWritten: number;
  filesWritten: number;
  bytesRead: number;
  filesRead: number;
  /** Of bytesRead, those of the index file (docs/store.md §3: the header, the head and the first chunk at opening, then parts by position). */
  indexBytesRead: number;
}

/** The stick has no room left (ENOSPC; EDQUOT where a quota stands for it), seen through our wrappers. */
export function isStickFull(error: unknown): boolean {
  for (let cause = error, depth = 0; cause !== undefined && cause !== null && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}

function writeFailed(what: string, cause: unknown): CaliopError {
  if (isCaliopError(cause)) return cause;
  if (isStickFull(cause)) {
    // docs/store.md §6.2: a full stick is said as such, with the way out that needs no space.
    return new CaliopError('stick_write_failed', `the stick is full: writing ${what} found no space left`, {
      cause,
      hint: 'delete messages you no longer need ("caliop delete ID": deleting works on a full stick); the previous state was kept',
    });
  }
  return new CaliopError('stick_write_failed', `writing ${what} failed: ${(cause as Error).message}`, { cause });
}

/**
 * docs/store.md §6.2: the space kept for deleting on a full stick. A deletion appends one
 * small record to the journal, which may need one new cluster (FAT32: 4 to 32 KiB, 64 KiB
 * at most); this is four of the largest.
 */
export const DELETE_RESERVE_BYTES = 256 * 1024;
/** §6.2: the delete reserve's file name in a store folder. */
export const DELETE_RESERVE_FILE = 'reserve';

/**
 * docs/store.md §6.2, §10: on a full stick the stick's lock file (one cluster) has no room, and a
 * deletion, the way to make room, must still be possible: the delete reserves of the store folders
 * in `vaultDir` (named by `storeFolder`: the store's own pattern) are given back. The store's opening
 * writes its reserve again as far as room allows (keepReserve), before any change. True when one was.
 */
export function giveBackDeleteReserves(vaultDir: string, storeFolder: RegExp): boolean {
  let names: string[];
  try {
    names = readdirSync(vaultDir);
  } catch {
    return false;
  }
  let freed = false;
  for (const name of names) {
    if (!storeFolder.test(name)) continue;
    try {
      unlinkSync(join(vaultDir, name, DELETE_RESERVE_FILE));
      freed = true;
    } catch {
      // none there
    }
  }
  return freed;
}

function readFailed(what: string, cause: unknown): CaliopError {
  if (isCaliopError(cause)) return cause;
  if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return new VaultTamperedError('store', `${what} is missing`);
  return new CaliopError('file_unreadable', `${what} could not be read: ${(cause as Error).message}`, { cause });
}

async function writeAll(handle: import('node:fs/promises').FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
}

/** Several pieces in one writev, without joining them (what a short write left, one write at a time). */
async function writeAllOf(handle: import('node:fs/promises').FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  let written = (await handle.writev(parts as Uint8Array[])).bytesWritten;
  for (const part of parts) {
    if (written >= part.length) {
      written -= part.length;
      continue;
    }
    await writeAll(handle, part.subarray(written));
    written = 0;
  }
}

/**
 * Objects written at once by writeObjects: enough for the file system to commit their
 * fsyncs together, few enough to keep file handles and memory (one page) small.
 */
const OBJECT_WRITES_AT_ONCE = 16;

/** An object whose plaintext is given whole and at most this large is written in one write (sealed, it is a few KiB more). */
const WHOLE_WRITE_BYTES = 1024 * 1024;

/** A large object is written (and read) this many bytes at a time at most: 16 sealed chunks. */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** Sealed chunks readObject reads in one call. */
const READ_BATCH_CHUNKS = 16;

/** Reads up to `length` bytes at `position` (fewer only where the file ends). */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buffer, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buffer : buffer.subarray(0, got);
}

/**
 * docs/store.md §3: opens the index file: its header, its head and its first chunk through one
 * handle (its size taken from that handle), closed before this returns. Each later read of a
 * chunk or a bucket opens the file again, reads its header and compares it with the one opened
 * (the generation and the salt): a store compacted since
 * (another caliop on the same stick) is refused, never mixed. No handle is kept between reads:
 * on Windows a file held open cannot be replaced by a rename (MoveFileEx refuses), which is how
 * every index generation is written (docs/vault-format.md §7).
 */
async function openIndexFile(path: string, key: Uint8Array, counts: StoreIoCounts): Promise<{ index: IndexReading; size: number }> {
  // docs/stick-layout.md §2.1: a regular file within INDEX_MAX_BYTES (§3), or refused before a byte is read.
  const { handle, size } = await openRegularFile(path, INDEX_MAX_BYTES);
  let opening: FileHandle | undefined = handle;
  let header: Uint8Array | undefined;
  const counted = (bytes: Uint8Array) => {
    counts.bytesRead += bytes.length;
    counts.indexBytesRead += bytes.length;
    return bytes;
  };
  try {
    counts.filesRead += 1;
    const source: IndexSource = {
      size,
      read: async (position, length) => {
        if (opening !== undefined) {
          const bytes = counted(await readAt(opening, position, length));
          // §3: the header (generation and salt; of an older version, its first bytes, as fixed) compared at each later read.
          if (position === 0) header ??= bytes.slice(0, INDEX_HEADER_LENGTH);
          return bytes;
        }
        let later: FileHandle | undefined;
        try {
          later = (await openRegularFile(path)).handle;
          counts.filesRead += 1;
          const now = counted(await readAt(later, 0, INDEX_HEADER_LENGTH));
          if (header === undefined || Buffer.compare(now, header) !== 0) {
            throw new CaliopError('file_unreadable', 'the message store index was rewritten on the stick since it was opened (by another caliop using this stick)', {
              hint: 'close the other caliop using this stick, then run the command again; nothing was changed',
            });
          }
          return counted(await readAt(later, position, length));
        } catch (cause) {
          throw readFailed('the message store index', cause);
        } finally {
          await later?.close();
        }
      },
    };
    const index = await openIndex(key, source);
    return { index, size };
  } finally {
    opening = undefined;
    await handle.close();
  }
}

/** A source of bytes for an object: whole, or streamed (an attachment read from a file). */
export type ObjectSource = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * The files of one store folder, opened under its key. All writes go through one
 * queue, so a compaction never runs in the middle of another change.
 */
export class StoreFiles {
  readonly counts: StoreIoCounts;
  #generation: number;
  /** §4: the journal's header (version 1, or version 2 with its base once folded): the start of every record's associated data. */
  #journalHeader: Uint8Array;
  /** §4: the number of the next record (the base plus the records in the journal). */
  #seq: number;
  /** §4: the records of the journal on the stick, for folding. */
  #records: StoreOp[][];
  #journalBytes: number;
  #indexBytes: number;
  /** §6: the journal on the stick is of an older generation than the index (or missing): replaced before the next append. */
  #journalStale = false;
  /** §6.2: the reserve was given back during this session, to be written again once a deletion has freed space. */
  #reserveReleased = false;

  private constructor(
    readonly folder: string,
    private readonly key: Uint8Array,
    private readonly random: RandomSource,
    opened: { generation: number; journalHeader: Uint8Array; seq: number; records: StoreOp[][]; journalBytes: number; indexBytes: number },
    counts: StoreIoCounts = { bytesWritten: 0, filesWritten: 0, bytesRead: 0, filesRead: 0, indexBytesRead: 0 },
  ) {
    this.counts = counts;
    this.#generation = opened.generation;
    this.#journalHeader = opened.journalHeader;
    this.#seq = opened.seq;
    this.#records = opened.records;
    this.#journalBytes = opened.journalBytes;
    this.#indexBytes = opened.indexBytes;
  }

  get indexPath(): string {
    return join(this.folder, 'index');
  }

  get journalPath(): string {
    return join(this.folder, 'journal');
  }

  /** §6.2: the delete reserve, a file of real blocks beside the index. */
  get reservePath(): string {
    return join(this.folder, DELETE_RESERVE_FILE);
  }

  get journalBytes(): number {
    return this.#journalBytes;
  }

  get indexBytes(): number {
    return this.#indexBytes;
  }

  objectPath(name: string): string {
    if (!OBJECT_NAME.test(name)) throw new CaliopError('internal', `not an object name: ${name}`);
    return join(this.folder, 'objects', name.slice(0, 2), name);
  }

  /** §6: a new store folder (fresh stick, or a migration), index generation 0, empty journal. */
  static async create(folder: string, key: Uint8Array, state: StoreState, random: RandomSource): Promise<StoreFiles> {
    try {
      await mkdir(join(folder, 'objects'), { recursive: true });
    } catch (cause) {
      throw writeFailed(`the store folder ${folder}`, cause);
    }
    const files = new StoreFiles(folder, key, random, { generation: 0, journalHeader: journalHeader(0), seq: 0, records: [], journalBytes: GENERATION_HEADER_LENGTH, indexBytes: 0 });
    await files.#writeGeneration(0, state);
    await files.keepReserve();
    return files;
  }

  /**
   * §6: opens the store: reads the index and the journal (nothing else), repairs a
   * torn journal tail and a journal left behind by an interrupted compaction.
   * Returns the state the index and the journal describe together.
   */
  static async open(folder: string, key: Uint8Array, random: RandomSource): Promise<{ files: StoreFiles; index: IndexReading; records: StoreOp[][] }> {
    const indexPath = join(folder, 'index');
    const journalPath = join(folder, 'journal');
    const counts: StoreIoCounts = { bytesWritten: 0, filesWritten: 0, bytesRead: 0, filesRead: 0, indexBytesRead: 0 };
    let journalBytes: Uint8Array;
    let index: IndexReading;
    let indexSize: number;
    try {
      ({ index, size: indexSize } = await openIndexFile(indexPath, key, counts));
    } catch (cause) {
      throw readFailed('the message store index', cause);
    }
    try {
      journalBytes = await readRegularFile(journalPath, JOURNAL_MAX_BYTES); // §4: its ceiling
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw readFailed('the message store journal', cause);
      journalBytes = new Uint8Array(0);
    }
    const generation = index.generation;
    let records: StoreOp[][] = [];
    let journalLength = GENERATION_HEADER_LENGTH;
    let header = journalHeader(generation);
    let seq = 0;
    let journalStale = journalBytes.length < GENERATION_HEADER_LENGTH;
    if (!journalStale) {
      const reading = await openJournal(key, journalBytes);
      if (reading.generation > generation) throw new VaultTamperedError('store', 'the journal is newer than the index');
      if (reading.generation < generation) {
        journalStale = true; // §6: compaction was interrupted after the new index: the old journal is in it
      } else {
        records = reading.records;
        journalLength = reading.validLength;
        header = reading.header;
        seq = reading.base + records.length;
        if (reading.validLength < journalBytes.length) {
          // §6: a torn append (yank): cut it off so the next append follows the last whole record.
          try {
            await truncate(journalPath, reading.validLength);
          } catch (cause) {
            throw writeFailed('the message store journal', cause);
          }
        }
      }
    }
    const files = new StoreFiles(folder, key, random, { generation, journalHeader: header, seq, records: [...records], journalBytes: journalLength, indexBytes: indexSize }, counts);
    counts.bytesRead += journalBytes.length;
    counts.filesRead += 1;
    // §6: replaced by the next change (opening needs no space: a full stick still opens, and deletes).
    files.#journalStale = journalStale;
    await removeLeftoverTempFiles(indexPath);
    await removeLeftoverTempFiles(journalPath);
    // §6.2: a store made before the reserve existed, or whose reserve a deletion used, gets it (back) when there is room.
    await files.keepReserve();
    return { files, index, records };
  }

  async #writeGeneration(generation: number, state: StoreState): Promise<void> {
    const sealed = await sealIndex(this.key, generation, this.random, state);
    await writeFileAtomically(this.indexPath, sealed);
    this.counts.bytesWritten += sealed.length;
    this.counts.filesWritten += 1;
    this.#indexBytes = sealed.length;
    // §6: from here the index holds everything and the journal on the stick is stale: should
    // its replacement fail (a full stick), the next append replaces it first, never appends to it.
    this.#generation = generation;
    this.#journalStale = true;
    await this.#writeJournalHeader();
  }

  async #writeJournalHeader(): Promise<void> {
    const header = journalHeader(this.#generation);
    await writeFileAtomically(this.journalPath, header);
    this.counts.bytesWritten += header.length;
    this.counts.filesWritten += 1;
    this.#journalHeader = header;
    this.#seq = 0;
    this.#records = [];
    this.#journalBytes = header.length;
    this.#journalStale = false;
  }

  /** §4: folding is due when the journal holds more than JOURNAL_FOLD_RECORDS records and no compaction is. */
  foldDue(): boolean {
    return !this.#journalStale && !this.compactionDue() && foldDue(this.#records.length);
  }

  /**
   * §4, §6: the journal rewritten as one record, the net of its records, atomically (temporary
   * file, fsync, rename, fsync the folder), with base = the number of its next record. The index
   * is untouched. Should the write fail after the rename, the journal in place is read back.
   */
  async fold(): Promise<void> {
    if (this.#journalStale || this.#records.length === 0) return;
    const net = foldRecords(this.#records);
    const base = this.#seq;
    const header = journalHeader(this.#generation, base);
    const record = await sealJournalRecord(this.key, header, base, this.random(24), net);
    const bytes = concatBytes(header, record);
    const adopt = () => {
      this.#journalHeader = header;
      this.#seq = base + 1;
      this.#records = [net];
      this.#journalBytes = bytes.length;
    };
    try {
      await writeFileAtomically(this.journalPath, bytes);
    } catch (error) {
      // Renamed before the failure (the folder's fsync)? Then appends go to the folded journal.
      const inPlace = await readRegularFile(this.journalPath, bytes.length).catch(() => undefined);
      if (inPlace !== undefined && inPlace.length === bytes.length && Buffer.compare(inPlace, bytes) === 0) adopt();
      throw error;
    }
    this.counts.bytesWritten += bytes.length;
    this.counts.filesWritten += 1;
    adopt();
  }

  /**
   * §4: appends one record and fsyncs it: once this returns, the change survives a yank.
   * `useReserve` (deletions, §6.2): on a full stick the delete reserve is given back and
   * the append tried again.
   */
  async append(ops: readonly StoreOp[], options: { useReserve?: boolean } = {}): Promise<void> {
    try {
      await this.#appendOnce(ops);
    } catch (error) {
      if (!options.useReserve || !isStickFull(error) || !(await this.#releaseReserve())) throw error;
      await this.#appendOnce(ops);
    }
  }

  async #appendOnce(ops: readonly StoreOp[]): Promise<void> {
    if (this.#journalStale) await this.#writeJournalHeader();
    const record = await sealJournalRecord(this.key, this.#journalHeader, this.#seq, this.random(24), ops);
    try {
      const handle = await open(this.journalPath, 'a');
      try {
        await writeAll(handle, record);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (cause) {
      // The record may be half written: cut it off, so the journal ends on a whole record (§6).
      await truncate(this.journalPath, this.#journalBytes).catch(() => undefined);
      throw writeFailed('the message store journal', cause);
    }
    this.#seq += 1;
    this.#records.push([...ops]);
    this.#journalBytes += record.length;
    this.counts.bytesWritten += record.length;
    this.counts.filesWritten += 1;
  }

  /** §6.2: gives the reserve's blocks back to the file system. False when there was none. */
  async #releaseReserve(): Promise<boolean> {
    let size: number;
    try {
      size = (await stat(this.reservePath)).size;
      await unlink(this.reservePath);
    } catch {
      return false;
    }
    this.#reserveReleased = true;
    return size > 0;
  }

  /**
   * §6.2: writes the delete reserve up to DELETE_RESERVE_BYTES, as far as the stick has
   * room, when it is missing or short (a stat otherwise). Never throws: a read-only or
   * full stick keeps what it has. Returns the bytes the reserve now holds.
   */
  async keepReserve(): Promise<number> {
    try {
      const held = (await stat(this.reservePath)).size;
      if (held >= DELETE_RESERVE_BYTES) return held;
      await unlink(this.reservePath); // written anew: appending in place is what some FAT drivers do worst
    } catch {
      // missing: written below
    }
    let written = 0;
    try {
      const handle = await open(this.reservePath, 'wx', 0o600);
      try {
        const zeros = new Uint8Array(16 * 1024);
        try {
          while (written < DELETE_RESERVE_BYTES) written += (await handle.write(zeros, 0, Math.min(zeros.length, DELETE_RESERVE_BYTES - written))).bytesWritten;
        } catch (error) {
          if (!isStickFull(error)) throw error;
        }
        await handle.sync(); // real blocks, not a promise of them
      } finally {
        await handle.close();
      }
      this.#reserveReleased = written < DELETE_RESERVE_BYTES;
    } catch {
      // read-only stick, or no room even for the file: nothing kept
    }
    return written;
  }

  /** §6.2: after a deletion freed space, the reserve is written again if it was given back. */
  async restoreReserve(): Promise<void> {
    if (this.#reserveReleased) await this.keepReserve();
  }

  /** §4: compaction is due when the journal has grown as large as the index (and past 64 KiB), or past 256 KiB. */
  compactionDue(): boolean {
    return compactionDue(this.#journalBytes, this.#indexBytes);
  }

  /** §4, §6: a new index generation holding everything, then an empty journal; then unreferenced objects go. */
  async compact(state: StoreState, referenced: ReadonlySet<string>): Promise<void> {
    await this.#writeGeneration(this.#generation + 1, state);
    await this.removeUnreferenced(referenced);
  }

  /**
   * §7.1: the whole state as the next index generation (the chunked format), then an empty
   * journal; no object is removed (the session that knows the outbox's blobs is not open yet).
   */
  async rewrite(state: StoreState): Promise<void> {
    await this.#writeGeneration(this.#generation + 1, state);
  }

  /** §6: objects written by a change that never reached the journal (a yank) are removed. */
  async removeUnreferenced(referenced: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    const root = join(this.folder, 'objects');
    let fans: string[];
    try {
      fans = await readdir(root);
    } catch {
      return removed;
    }
    for (const fan of fans) {
      let names: string[];
      try {
        names = await readdir(join(root, fan));
      } catch {
        continue;
      }
      for (const name of names) {
        if (referenced.has(name)) continue;
        await unlink(join(root, fan, name)).catch(() => undefined);
        removed.push(name);
      }
    }
    return removed;
  }

  /** A fresh random object name (§5: it says nothing of the message). */
  newObjectName(): string {
    return Buffer.from(this.random(16)).toString('hex');
  }

  /**
   * §5, §6: writes one object, sealed chunk by chunk (memory: one chunk), fsynced.
   * It is not referenced until a journal record names it, so it needs no rename:
   * a yank mid-write leaves an unreferenced file that §6 removes.
   * The folder entries are made durable by syncObjectFolders() before the journal record.
   */
  async writeObject(name: string, source: ObjectSource): Promise<{ size: number; folder: string }> {
    const path = this.objectPath(name);
    const fan = join(this.folder, 'objects', name.slice(0, 2));
    const sealer = new ObjectSealer(this.key, name, this.random(OBJECT_NONCE_PREFIX_LENGTH));
    try {
      // The fan folder is made when it is missing, not asked for each time (issue 13: one
      // trip to libuv's thread pool fewer per message of a sync).
      const handle = await open(path, 'wx', 0o600).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        await mkdir(fan, { recursive: true });
        return open(path, 'wx', 0o600);
      });
      let writeback: Writeback | undefined;
      try {
        let written = 0;
        const put = async (parts: Uint8Array[]) => {
          for (const part of parts) {
            await writeAll(handle, part);
            written += part.length;
          }
        };
        if (source instanceof Uint8Array && source.length <= WHOLE_WRITE_BYTES) {
          // A message object: sealed whole, then one write (a sync of 1,000 made three per object).
          const parts = [sealer.header, ...sealer.push(source), ...sealer.finish()];
          await put([Buffer.concat(parts)]);
        } else {
          // A large object: its sealed chunks gathered up to WRITE_BATCH_BYTES a write (issue 9:
          // a 25 MiB send made two writes, two trips to libuv's thread pool, per 64 KiB chunk).
          let batch: Uint8Array[] = [sealer.header];
          let batched = sealer.header.length;
          // Its writeback begun as it is written: the fsync below waits for the last part only (writeback.ts).
          const begun = new Writeback(handle);
          writeback = begun;
          const gather = async (parts: Uint8Array[], last = false) => {
            for (const part of parts) {
              batch.push(part);
              batched += part.length;
            }
            if (batched >= WRITE_BATCH_BYTES || (last && batched > 0)) {
              // One writev: the chunks are not joined first (a copy of every byte, and a
              // fresh MiB each time; a fresh page costs ~20 us of system time here).
              const full = batch;
              const bytes = batched;
              batch = [];
              written += bytes;
              batched = 0;
              await writeAllOf(handle, full);
              begun.wrote(bytes);
            }
          };
          if (source instanceof Uint8Array) await gather(sealer.push(source));
          else for await (const chunk of source) await gather(sealer.push(chunk));
          await gather(sealer.finish(), true);
          await begun.settle();
        }
        await handle.sync();
        this.counts.bytesWritten += written;
        this.counts.filesWritten += 1;
      } finally {
        await writeback?.quiet();
        await handle.close();
      }
    } catch (cause) {
      await unlink(path).catch(() => undefined);
      throw writeFailed(`a message store object`, cause);
    }
    return { size: sealer.size, folder: fan };
  }

  /**
   * §6: writes several objects side by side (at most OBJECT_WRITES_AT_ONCE at a time), each
   * fsynced as writeObject does; returns their folders for syncObjectFolders(). On a
   * failure the objects already written stay unreferenced (§6 removes them).
   */
  async writeObjects(objects: readonly { object: string; bytes: Uint8Array }[]): Promise<string[]> {
    const folders: string[] = new Array<string>(objects.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < objects.length) {
        const index = next++;
        const { object, bytes } = objects[index]!;
        folders[index] = (await this.writeObject(object, bytes)).folder;
      }
    };
    await Promise.all(Array.from({ length: Math.min(OBJECT_WRITES_AT_ONCE, objects.length) }, lane));
    return folders;
  }

  async syncObjectFolders(folders: Iterable<string>): Promise<void> {
    try {
      await Promise.all([...new Set(folders)].map((folder) => syncFolder(folder)));
      await syncFolder(join(this.folder, 'objects'));
    } catch (cause) {
      throw writeFailed('the message store folders', cause);
    }
  }

  /** §5: an object's plaintext, chunk by chunk, each authenticated before it is given out. */
  async *readObject(name: string): AsyncGenerator<Uint8Array> {
    let handle;
    let size: number;
    try {
      ({ handle, size } = await openRegularFile(this.objectPath(name)));
    } catch (cause) {
      throw readFailed(`message store object ${name}`, cause);
    }
    try {
      this.counts.filesRead += 1;
      const header = new Uint8Array(OBJECT_HEADER_LENGTH);
      if ((await handle.read(header, 0, OBJECT_HEADER_LENGTH, 0)).bytesRead !== OBJECT_HEADER_LENGTH) {
        throw new VaultTamperedError('store', `object ${name} is truncated`);
      }
      const opener = new ObjectOpener(this.key, name, header);
      const sealedLength = size - OBJECT_HEADER_LENGTH;
      if (sealedLength < 16) throw new VaultTamperedError('store', `object ${name} is truncated`);
      const count = Math.ceil(sealedLength / SEALED_CHUNK);
      let position = OBJECT_HEADER_LENGTH;
      // Up to READ_BATCH_CHUNKS sealed chunks a read (issue 9: one trip to the thread pool per 64 KiB was a large upload's pace).
      for (let index = 0; index < count; ) {
        const chunks = Math.min(READ_BATCH_CHUNKS, count - index);
        const length = Math.min(chunks * SEALED_CHUNK, sealedLength - index * SEALED_CHUNK);
        const buffer = new Uint8Array(length);
        const { bytesRead } = await handle.read(buffer, 0, length, position);
        if (bytesRead !== length) throw new VaultTamperedError('store', `object ${name} is truncated`);
        position += length;
        this.counts.bytesRead += length;
        for (let at = 0; at < length; at += SEALED_CHUNK, index += 1) {
          for (const part of opener.chunk(buffer.subarray(at, Math.min(at + SEALED_CHUNK, length)), index === count - 1)) if (part.length > 0) yield part;
        }
      }
      if (!opener.complete) throw new VaultTamperedError('store', `object ${name} is truncated`);
    } finally {
      await handle.close();
    }
  }

  async readWholeObject(name: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const part of this.readObject(name)) parts.push(part);
    return Buffer.concat(parts);
  }

  /** Removes objects; a failure leaves an unreferenced file that §6 removes later. */
  async removeObjects(names: Iterable<string>): Promise<void> {
    for (const name of names) await unlink(this.objectPath(name)).catch(() => undefined);
  }

  /** The whole folder (a store that a migration left behind, §7). */
  static async removeFolder(folder: string): Promise<void> {
    await rm(folder, { recursive: true, force: true }).catch(() => undefined);
  }

  static async exists(folder: string): Promise<boolean> {
    try {
      return (await stat(folder)).isDirectory();
    } catch {
      return false;
    }
  }
}
