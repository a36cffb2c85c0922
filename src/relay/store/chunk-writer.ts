// docs/api.md §8.2.1 and §8.7.1: a streamed body goes to the database in chunks of
// CIPHERTEXT_CHUNK_BYTES as it arrives, so the relay holds one chunk at a time whatever
// the body's size. One writer for both routes that take a streamed body.

import { CIPHERTEXT_CHUNK_BYTES, type RelayStore } from './relay-store.js';

/** Cuts the pieces written to it into the store's chunks under `id`, numbered from 0. */
export class ChunkWriter {
  #chunk = Buffer.allocUnsafe(CIPHERTEXT_CHUNK_BYTES);
  #filled = 0;
  #chunks = 0;

  constructor(
    private readonly store: RelayStore,
    private readonly id: string,
    private readonly nowSeconds: () => number,
  ) {}

  /** Copies `piece` in, storing each chunk as it fills. */
  async write(piece: Uint8Array): Promise<void> {
    for (let at = 0; at < piece.byteLength; ) {
      const taken = Math.min(CIPHERTEXT_CHUNK_BYTES - this.#filled, piece.byteLength - at);
      this.#chunk.set(piece.subarray(at, at + taken), this.#filled);
      this.#filled += taken;
      at += taken;
      if (this.#filled === CIPHERTEXT_CHUNK_BYTES) await this.#flush();
    }
  }

  /** Stores the last, partial chunk; the number of chunks stored. */
  async end(): Promise<number> {
    if (this.#filled > 0) await this.#flush();
    return this.#chunks;
  }

  async #flush(): Promise<void> {
    await this.store.putCiphertextChunk(this.id, this.#chunks, this.#chunk.subarray(0, this.#filled), this.nowSeconds());
    this.#chunks += 1;
    this.#filled = 0;
    this.#chunk = Buffer.allocUnsafe(CIPHERTEXT_CHUNK_BYTES);
  }
}
