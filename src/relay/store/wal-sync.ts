// Makes the relay's SQLite commits durable off the event loop (docs/decisions/relay-store.md,
// "Accepted means durable"). The relay's connection commits with synchronous = OFF: the
// commit writes its frames to the write-ahead log and returns without an fsync, which would
// hold the event loop (and every request) for the disk's flush time. The group commit then
// waits for sync(): an fsync of the WAL file on libuv's thread pool, which puts every frame
// written so far on the disk, the group's included. Only then are its callers answered, as
// with synchronous = FULL. Checkpoints run on another connection with synchronous = FULL
// (wal-eraser-worker.ts), which syncs the WAL before copying it and the database after.

import { fstatSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export class WalSync {
  readonly #file: string;
  #handle: FileHandle | null = null;

  /** `file`: the database's write-ahead log (DB-wal). */
  constructor(file: string) {
    this.#file = file;
  }

  /** Resolves once everything written to the WAL before the call is on the disk. */
  async sync(): Promise<void> {
    this.#handle ??= await open(this.#file, 'r');
    await this.#handle.sync();
    // SQLite removes the WAL only when the last connection closes, and the relay's stays open;
    // checked anyway, because an fsync of a replaced file would be a silent lie.
    // Two metadata calls answered from the kernel's memory (no disk): made here, not sent to the thread pool
    // (as promises they cost the event loop more than the answer, 3% of the relay's CPU in the bench).
    const held = fstatSync(this.#handle.fd);
    const named = statSync(this.#file);
    if (held.ino !== named.ino || held.dev !== named.dev) {
      await this.#handle.close();
      this.#handle = await open(this.#file, 'r');
      await this.#handle.sync();
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }
}
