// Large messages on the stick (docs/store.md §5.1): a ciphertext larger than one
// object chunk rests in the store as its own sealed object (a blob), never inside the
// message's object nor in the vault document; the attachments of such a message,
// decoded once at arrival, are blobs too, so that saving one streams it from the
// stick to the folder, one chunk in memory.
import { createHash } from 'node:crypto';
import type { AttachmentPart } from '../core/mail-content.js';
import type { AttachmentBlob, CiphertextBlob } from '../core/vault-contents.js';
import type { MessageStore } from './message-store.js';

/** docs/store.md §5.1: a ciphertext above this many bytes is a blob (one object chunk). */
export const LARGE_CIPHERTEXT_BYTES = 64 * 1024;

const CHUNK_CHARS = 64 * 1024;

/** An armored (ASCII) text given out in chunks, so the blob writer never holds a second whole copy. */
async function* asciiChunks(text: string): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < text.length; offset += CHUNK_CHARS) yield Buffer.from(text.slice(offset, offset + CHUNK_CHARS), 'latin1');
}

export function isLargeCiphertext(armored: string): boolean {
  return armored.length > LARGE_CIPHERTEXT_BYTES;
}

/** Writes an armored ciphertext as a blob (streamed, one chunk at a time). */
export async function putCiphertextBlob(store: MessageStore, armored: string): Promise<CiphertextBlob> {
  return store.putBlob(asciiChunks(armored));
}

/** Writes each decoded attachment as its own blob; the listing keeps what `read --json` shows. */
export async function putAttachmentBlobs(store: MessageStore, attachments: readonly AttachmentPart[]): Promise<AttachmentBlob[]> {
  const blobs: AttachmentBlob[] = [];
  for (const attachment of attachments) {
    const { ref } = await store.putBlob(attachment.content);
    blobs.push({ index: attachment.index, name: attachment.name, type: attachment.type, size: attachment.size, sha256: attachment.sha256, ref });
  }
  return blobs;
}

/** The ciphertext of a stored message or an outbox item, from its blob when it has one (authenticated chunk by chunk). */
export async function ciphertextBytes(store: MessageStore, holder: { readonly armoredMessage: string; readonly ciphertextBlob?: CiphertextBlob | undefined }): Promise<Uint8Array> {
  if (!holder.ciphertextBlob) return new TextEncoder().encode(holder.armoredMessage);
  const whole = Buffer.allocUnsafe(holder.ciphertextBlob.size);
  let filled = 0;
  for await (const chunk of store.openBlob(holder.ciphertextBlob.ref)) {
    if (filled + chunk.length > whole.length) throw new RangeError('a ciphertext blob is larger than its record says');
    whole.set(chunk, filled);
    filled += chunk.length;
  }
  return new Uint8Array(whole.buffer, whole.byteOffset, filled);
}

/** The SHA-256 of a blob's content (docs/api.md §8.2.1: what a streamed upload declares): known since it was written, else read as a stream. */
export async function blobSha256(store: MessageStore, blob: CiphertextBlob): Promise<Uint8Array> {
  // docs/store.md §5.1: taken as this session wrote the blob (the send that just built it): no second pass.
  const known = store.blobDigest(blob.ref);
  if (known !== undefined) return known;
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of store.openBlob(blob.ref)) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  if (size !== blob.size) throw new RangeError('a ciphertext blob is not the size its record says');
  return hash.digest();
}

/** The same, as text (the relay's API carries armored ciphertexts as JSON strings). */
export async function ciphertextText(store: MessageStore, holder: { readonly armoredMessage: string; readonly ciphertextBlob?: CiphertextBlob | undefined }): Promise<string> {
  if (!holder.ciphertextBlob) return holder.armoredMessage;
  return Buffer.from(await ciphertextBytes(store, holder)).toString('latin1');
}

/** docs/store.md §5.1: the blobs an outbox item names (its ciphertext, and its message to the outside). */
export function outboxBlobRefs(item: { readonly ciphertextBlob?: CiphertextBlob | undefined; readonly outbound?: { readonly messageBlob?: CiphertextBlob | undefined } | undefined }): string[] {
  return [...(item.ciphertextBlob ? [item.ciphertextBlob.ref] : []), ...(item.outbound?.messageBlob ? [item.outbound.messageBlob.ref] : [])];
}

/** Every blob a stored message names (its ciphertext and its attachments), for put({ blobs }). */
export function blobRefsOf(message: { readonly ciphertextBlob?: CiphertextBlob | undefined; readonly attachmentBlobs?: readonly AttachmentBlob[] | undefined }): string[] {
  return [...(message.ciphertextBlob ? [message.ciphertextBlob.ref] : []), ...(message.attachmentBlobs ?? []).map((blob) => blob.ref)];
}
