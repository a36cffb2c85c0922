// Writeback begun while a large file is written (issue 13): an fdatasync in the background on
// libuv's thread pool every WRITEBACK_BYTES, one at a time, so the fsync that makes the file
// durable waits for the last part only, not for all of it (100 MiB took 61-86 ms to reach
// this machine's disk after the last write; docs/decisions/streamed-decryption.md). The
// durability rule of the caller is unchanged: it still fsyncs the file before naming it.
import type { FileHandle } from 'node:fs/promises';

/** Bytes written between two background fdatasyncs. */
export const WRITEBACK_BYTES = 8 * 1024 * 1024;

export class Writeback {
  readonly #handle: FileHandle;
  #pending: Promise<void> | null = null;
  #error: unknown;
  #since = 0;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** After `bytes` more were written: begins an fdatasync when WRITEBACK_BYTES passed since the last one and none is under way. */
  wrote(bytes: number): void {
    this.#since += bytes;
    if (this.#since < WRITEBACK_BYTES || this.#pending !== null) return;
    this.#since = 0;
    this.#pending = this.#handle
      .datasync()
      .catch((cause: unknown) => void (this.#error ??= cause))
      .finally(() => void (this.#pending = null));
  }

  /** Waits for the fdatasync under way; throws the first error one met (the file cannot be trusted to be on the disk). */
  async settle(): Promise<void> {
    await this.#pending;
    if (this.#error !== undefined) throw this.#error;
  }

  /** Waits for the fdatasync under way, ignoring its outcome (before closing a file given up). */
  async quiet(): Promise<void> {
    await this.#pending;
  }
}
