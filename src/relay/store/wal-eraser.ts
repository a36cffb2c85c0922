// Erases deleted ciphertext from SQLite's write-ahead log, off the event loop.
// secure_delete zeroes freed pages in the database file, but older copies of those
// pages stay in the WAL until a checkpoint. Within `delayMs` of a deletion, a worker
// thread with its own connection runs wal_checkpoint(TRUNCATE) (one for many
// deletions); it also checkpoints after every CHECKPOINT_EVERY commits, since the
// main connection's automatic checkpoints are off (they would run on the event loop).

import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const CHECKPOINT_EVERY = 500;

export class WalEraser {
  readonly #worker: Worker | null;
  readonly #file: string;
  readonly #delayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #commits = 0;

  constructor(file: string, delayMs: number) {
    this.#file = file;
    this.#delayMs = delayMs;
    const script = new URL('./wal-eraser-worker.js', import.meta.url);
    // Under vitest the sources are .ts and the compiled worker may be absent: erase inline then.
    this.#worker = existsSync(script) ? new Worker(script, { workerData: { file } }) : null;
    this.#worker?.unref();
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
    if (this.#worker !== null) this.#worker.postMessage('checkpoint');
    else void import('better-sqlite3').then(({ default: Database }) => {
      const db = new Database(this.#file);
      try {
        db.pragma('busy_timeout = 5000');
        db.prepare('ATTACH DATABASE ? AS volatile').run(`${this.#file}-nonces`);
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
    });
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#worker !== null) await this.#worker.terminate();
  }
}
