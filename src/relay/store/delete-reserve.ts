// docs/api.md §5.4: space kept aside so a full disk never blocks deleting mail. A
// deletion on SQLite writes its pages (zeroed, secure_delete) to the WAL before the
// checkpoint puts them in place: it needs space for a moment, the size of what it
// deletes. The reserve is a file of real blocks (zeros, fsynced) beside the database;
// when a deletion meets a full disk the store removes it, so the deletion (and the
// ones after it) has room, and writes it again once space allows.

import { closeSync, fsyncSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { isDiskFull } from './disk-full.js';

/** Default reserve: above the relay's default message limit (10 MiB) and its WAL pages. */
export const DELETE_RESERVE_BYTES = 16 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** How long after giving the reserve back it is written again (deletions meanwhile free space). */
const RESTORE_DELAY_MS = 5_000;

export class DeleteReserve {
  readonly #file: string;
  readonly #bytes: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(file: string, bytes: number = DELETE_RESERVE_BYTES) {
    this.#file = file;
    this.#bytes = bytes;
    this.fill();
  }

  /** Bytes the reserve holds now. */
  get size(): number {
    try {
      return statSync(this.#file).size;
    } catch {
      return 0;
    }
  }

  /** Writes the reserve up to its size, as far as the disk allows; never throws for a full disk. */
  fill(): void {
    const have = this.size;
    if (have >= this.#bytes) return;
    const zeros = Buffer.alloc(CHUNK);
    let fd: number | undefined;
    try {
      fd = openSync(this.#file, 'a');
      for (let at = have; at < this.#bytes; at += CHUNK) writeSync(fd, zeros, 0, Math.min(CHUNK, this.#bytes - at));
      fsyncSync(fd);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Gives the space back; false when there was none to give. */
  release(): boolean {
    if (this.size === 0) return false;
    unlinkSync(this.#file);
    return true;
  }

  /** Writes the reserve again a little later (after the deletions have been checkpointed). */
  restoreLater(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.fill();
    }, RESTORE_DELAY_MS);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
