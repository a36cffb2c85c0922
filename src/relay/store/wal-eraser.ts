// Erases deleted ciphertext from SQLite's write-ahead log, off the event loop.
// secure_delete zeroes freed pages in the database file, but older copies of those
// pages stay in the WAL until a checkpoint. Within `delayMs` of a deletion, a worker
// thread with its own connection runs wal_checkpoint(TRUNCATE) (one for many
// deletions); it also checkpoints after every CHECKPOINT_EVERY commits, since the
// main connection's automatic checkpoints are off (they would run on the event loop).
// A TRUNCATE checkpoint holds off writers while it copies and syncs: a write begun then
// would wait in SQLite's busy handler, asleep ON the event loop (the whole relay with it).
// So the store asks idle() first and waits, off the loop, for the checkpoint to end.

import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const CHECKPOINT_EVERY = 500;

export class WalEraser {
  readonly #worker: Worker | null;
  readonly #file: string;
  readonly #delayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #commits = 0;
  /** The checkpoint under way, if any; settles when it is over. */
  #running: Promise<void> | null = null;
  #done: (() => void) | null = null;
  #again = false;

  constructor(file: string, delayMs: number) {
    this.#file = file;
    this.#delayMs = delayMs;
    const script = new URL('./wal-eraser-worker.js', import.meta.url);
    // Under vitest the sources are .ts and the compiled worker may be absent: erase inline then.
    this.#worker = existsSync(script) ? new Worker(script, { workerData: { file } }) : null;
    this.#worker?.unref();
    this.#worker?.on('message', () => this.#finished());
    // A worker that dies must not leave the store waiting for it.
    this.#worker?.on('exit', () => this.#finished());
    this.#worker?.on('error', () => this.#finished());
  }

  /** Undefined when no checkpoint runs; else settles when it is over (writes wait for it, off the event loop). */
  idle(): Promise<void> | undefined {
    return this.#running ?? undefined;
  }

  #finished(): void {
    const done = this.#done;
    this.#running = null;
    this.#done = null;
    done?.();
    if (this.#again) {
      this.#again = false;
      this.#checkpoint();
    }
  }

  /** Called after each commit. */
  committed(): void {
    if (++this.#commits >= CHECKPOINT_EVERY) {
      this.#commits = 0;
      this.#checkpoint();
    }
  }

  /** Called after a deletion that removed ciphertext. */
  erased(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#checkpoint();
    }, this.#delayMs);
    this.#timer.unref();
  }

  #checkpoint(): void {
    if (this.#running !== null) {
      this.#again = true;
      return;
    }
    this.#running = new Promise((resolve) => (this.#done = resolve));
    if (this.#worker !== null) this.#worker.postMessage('checkpoint');
    else void import('better-sqlite3').then(({ default: Database }) => {
      const db = new Database(this.#file);
      try {
        db.pragma('busy_timeout = 5000');
        db.prepare('ATTACH DATABASE ? AS volatile').run(`${this.#file}-nonces`);
        db.pragma('main.wal_checkpoint(TRUNCATE)');
        db.pragma('volatile.wal_checkpoint(PASSIVE)');
      } finally {
        db.close();
      }
    }).finally(() => this.#finished());
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#worker !== null) await this.#worker.terminate();
  }
}
