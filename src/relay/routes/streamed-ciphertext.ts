// docs/api.md §8.2.1: a ciphertext streamed in. The relay holds one chunk of it at a
// time: each 1 MiB goes to the database as it arrives (message_chunks), while the
// SHA-256 the signature covers and the OpenPGP structure (ciphertext-check.ts) are
// checked on the way. A body cut off, too large, with another digest or not encrypted
// leaves nothing: its chunks are discarded, and no message names them.

import { createHash, timingSafeEqual } from 'node:crypto';
import { EncryptedMessageScanner } from '../ciphertext-check.js';
import { RelayHttpError } from '../http-error.js';
import { bodyPieces, type RequestBody } from '../middleware/read-body.js';
import { ChunkWriter } from '../store/chunk-writer.js';
import { ABANDONED_CHUNKS_AFTER_S, type RelayStore } from '../store/relay-store.js';

export interface StreamedCiphertext {
  /** Bytes of the armored ciphertext. */
  readonly size: number;
  /** Chunks stored under the message id. */
  readonly chunks: number;
}

/** Reads `body` into `messageId`'s chunks; throws (having discarded them) when it must be refused. */
export async function storeStreamedCiphertext(
  store: RelayStore,
  body: RequestBody,
  options: { readonly messageId: string; readonly digest: Uint8Array; readonly maxBytes: number; readonly nowSeconds: () => number },
): Promise<StreamedCiphertext> {
  const hash = createHash('sha256');
  const scanner = new EncryptedMessageScanner();
  const writer = new ChunkWriter(store, options.messageId, options.nowSeconds);
  let size = 0;
  try {
    for await (const piece of bodyPieces(body, options.maxBytes)) {
      hash.update(piece);
      scanner.push(piece);
      size += piece.byteLength;
      await writer.write(piece);
    }
    const chunks = await writer.end();
    if (!timingSafeEqual(hash.digest(), options.digest)) {
      throw new RelayHttpError(400, 'digest_mismatch', 'the body does not have the SHA-256 its Content-Digest declares (and the signature covers)');
    }
    if (!scanner.end()) throw new RelayHttpError(400, 'not_encrypted', 'the body must be an ASCII-armored encrypted OpenPGP message');
    return { size, chunks };
  } catch (error) {
    await discard(store, options.messageId, options.nowSeconds());
    throw error;
  }
}

/** The chunks of a refused upload, and of any upload abandoned long ago (a relay stopped mid-way). */
export async function discard(store: RelayStore, messageId: string, nowSeconds: number): Promise<void> {
  await store.discardCiphertextChunks(messageId, nowSeconds - ABANDONED_CHUNKS_AFTER_S);
}
