// A large message, received as a stream (docs/store.md §5.2, docs/api.md §8.5.1): in one
// pass over the download, each piece of its ciphertext goes into a sealed blob on the stick
// and to the decryption, whose plaintext is split as a stream (src/core/mime-stream.ts):
// each attachment goes into its own blob as it is decoded, only the header sections and the
// text parts (bounded) are kept in memory. Memory stays bounded whatever the size; nothing
// is recorded before the whole ciphertext is on the stick and has passed its integrity
// check (the blobs are named by a journal record only after).
import { createHash } from 'node:crypto';
import type * as openpgp from 'openpgp';
import type { MailboxPageEntry } from '../api/schemas.js';
import { MESSAGE_LIMITS, overLimitReasonIn, type OverLimitReason } from '../core/message-limits.js';
import { arrivalHeaders, attachmentNameIn, listStreamedAttachments, readMailContent, storedInlineBlock, type ArrivalHeaders } from '../core/mail-content.js';
import { OBJECT_CHUNK } from '../core/store-format.js';
import { MimeStreamSplitter, type AttachmentWriter, type StreamedPartHead } from '../core/mime-stream.js';
import type { AttachmentBlob, CiphertextBlob, OpenedAtArrival } from '../core/vault-contents.js';
import { isCaliopError } from '../errors.js';
import type { RelayClient } from '../edges/relay-client.js';
import type { MessageStore } from './message-store.js';
import { decryptStream } from './pgp-stream.js';
import { saltedPackets, SignedDataHashes } from './pgp-detached-digest.js';

/** What sync keeps of a large message: its blobs, and what reading shows without decrypting again. */
export interface StreamedArrival {
  readonly ciphertextBlob: CiphertextBlob;
  readonly attachmentBlobs?: AttachmentBlob[];
  readonly openedAtArrival?: OpenedAtArrival;
  /** The header fields, for the index line and Autocrypt (undefined when it could not be opened). */
  readonly headers?: ArrivalHeaders;
  readonly sealed?: OverLimitReason;
}

/**
 * A pull-based source fed by pushes: `push` resolves once the reader took the chunk, so
 * at most one chunk waits between the decryption and the blob being written.
 */
class Pipe implements AsyncIterable<Uint8Array> {
  #chunk: Uint8Array | undefined;
  #ended = false;
  #failure: unknown;
  #wakeReader: (() => void) | undefined;
  #wakeWriter: (() => void) | undefined;

  async push(chunk: Uint8Array): Promise<void> {
    this.#chunk = chunk;
    this.#wakeReader?.();
    await new Promise<void>((resolve) => {
      this.#wakeWriter = resolve;
    });
    if (this.#failure !== undefined) throw this.#failure;
  }

  end(): void {
    this.#ended = true;
    this.#wakeReader?.();
  }

  /** The message failed (over a limit, not intact): the blob being written fails too, so the store is free again. */
  abort(reason: unknown): void {
    this.#aborted = { reason };
    this.#wakeReader?.();
    this.#wakeWriter?.();
  }

  #aborted: { reason: unknown } | undefined;

  /** The reader stopped (the blob could not be written): the writer hears of it. */
  #stop(failure: unknown): void {
    this.#failure = failure;
    this.#wakeWriter?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        while (this.#chunk === undefined && !this.#ended && this.#aborted === undefined) {
          await new Promise<void>((resolve) => {
            this.#wakeReader = resolve;
          });
        }
        if (this.#aborted !== undefined) throw this.#aborted.reason;
        if (this.#chunk === undefined) return;
        const chunk = this.#chunk;
        this.#chunk = undefined;
        this.#wakeWriter?.();
        yield chunk;
      }
    } finally {
      if (!this.#ended) this.#stop(new Error('the blob writer stopped'));
    }
  }
}

/**
 * docs/store.md §5.2: the download read once, by the decryption, each piece handed to the
 * ciphertext blob's writer first (one piece waits between them at most). The decryption
 * may stop early (a message that fails, or passes a limit): `rest` then carries the rest
 * of the download to the blob, which always ends whole or fails. A failure of the download
 * or of the blob is kept in `failure`: it is not the message's.
 */
class DownloadTee implements AsyncIterator<Uint8Array>, AsyncIterable<Uint8Array> {
  readonly blob = new Pipe();
  /** The download failed (cut, longer or shorter than announced): nothing is kept. */
  failure: unknown;
  /** The blob could not be written (the stick full, pulled): its own error says why. */
  blobFailed = false;
  #ended = false;

  constructor(private readonly download: AsyncIterator<Uint8Array>) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#ended) return { done: true, value: undefined };
    let step: IteratorResult<Uint8Array>;
    try {
      step = await this.download.next();
    } catch (error) {
      this.#ended = true;
      this.failure = error;
      this.blob.abort(error);
      throw error;
    }
    if (step.done) {
      this.#ended = true;
      this.blob.end();
      return step;
    }
    try {
      await this.blob.push(step.value);
    } catch (error) {
      this.#ended = true;
      this.blobFailed = true;
      throw error;
    }
    return step;
  }

  /** The decryption stopped reading: the download goes on into the blob (see rest). */
  async return(): Promise<IteratorResult<Uint8Array>> {
    return { done: true, value: undefined };
  }

  /** What the decryption did not read, into the blob. */
  async rest(): Promise<void> {
    while (!(await this.next()).done);
  }
}

/** An attachment blob still being written: its pipe, and the store's promise of it. */
interface Unfinished {
  readonly pipe: Pipe;
  readonly written: Promise<unknown>;
}

/** One attachment streamed into its own blob, its size and SHA-256 counted on the way. */
function attachmentBlobWriter(store: MessageStore, head: StreamedPartHead, done: (blob: AttachmentBlob) => void, refs: string[], unfinished: Set<Unfinished>): AttachmentWriter {
  // (index: the part's place as opened; renumbered in readMailContent's order at the end)
  const index = head.ordinal;
  const pipe = new Pipe();
  const hash = createHash('sha256');
  let size = 0;
  const written = store.putBlob(pipe).then((blob) => {
    refs.push(blob.ref);
    return blob;
  });
  written.catch(() => undefined);
  const mine: Unfinished = { pipe, written };
  unfinished.add(mine);
  void written.finally(() => unfinished.delete(mine)).catch(() => undefined);
  return {
    async write(decoded) {
      hash.update(decoded);
      size += decoded.byteLength;
      await Promise.race([pipe.push(decoded), written.then(() => undefined)]);
    },
    async end() {
      pipe.end();
      const { ref } = await written;
      done({ index, name: await attachmentNameIn(head.headerText), type: head.type, size, sha256: hash.digest('hex'), ref });
    },
  };
}

const NO_ATTACHMENT: AttachmentWriter = { write: async () => undefined, end: async () => undefined };

/**
 * docs/message-payload.md §3.1: the digest of each packet of a PGP/MIME signature, from the
 * hashes made as the signed part streamed. A version 6 packet hashes its salt before the data
 * (RFC 9580 §5.2.4), and the salt came after: the message is decrypted and split a second
 * time from its ciphertext blob, the signed part hashed with each salt first (attachments
 * are thrown away, nothing else is kept). Such signatures are rare; the first pass costs
 * nothing more for the others.
 */
async function signedDigests(store: MessageStore, wholeBlob: () => Promise<CiphertextBlob>, privateKey: openpgp.PrivateKey, hashed: SignedDataHashes, signature: string): Promise<{ digests: string[]; gnupgDigests?: string[] }> {
  const digests = await hashed.digests(signature);
  // docs/message-payload.md §6.4: GnuPG's form too, for text-mode packets, when it differs.
  const gnupg = await hashed.gnupgDigests(signature);
  const salted = await saltedPackets(signature);
  if (salted.size === 0) return { digests, ...(gnupg === undefined ? {} : { gnupgDigests: gnupg }) };
  // The blob is whole once the download has all gone into it (docs/store.md §5.2 step 1).
  const ciphertextBlob = await wholeBlob();
  const again = new SignedDataHashes(salted);
  const splitter = new MimeStreamSplitter({ openAttachment: async () => NO_ATTACHMENT, openSignedData: () => again });
  await decryptStream({
    input: store.openBlob(ciphertextBlob.ref),
    decryptionKey: privateKey,
    verificationKeys: [],
    destination: { sink: (chunk) => splitter.write(chunk) },
    holdBackBytes: 0,
    maxDecompressedBytes: MESSAGE_LIMITS.maxDecompressedBytes,
  });
  await splitter.finish();
  const saltedDigests = await again.digests(signature);
  const saltedGnupg = await again.gnupgDigests(signature);
  const both = digests.map((digest, index) => (salted.has(index) ? saltedDigests[index]! : digest));
  if (gnupg === undefined && saltedGnupg === undefined) return { digests: both };
  return { digests: both, gnupgDigests: digests.map((_digest, index) => (salted.has(index) ? saltedGnupg?.[index] : gnupg?.[index]) ?? '') };
}

/**
 * docs/store.md §5.2: downloads, stores, decrypts and splits one large message. Throws
 * only when the ciphertext could not be fetched or stored whole (nothing is then kept:
 * the next sync fetches it again); a message that does not decrypt, fails its integrity
 * check or passes a limit comes back without attachments, as every such message.
 */
export async function receiveStreamed(
  store: MessageStore,
  client: RelayClient,
  entry: MailboxPageEntry,
  privateKey: openpgp.PrivateKey,
  verificationKeys: readonly openpgp.PublicKey[],
): Promise<StreamedArrival> {
  // docs/api.md §8.5.1: exactly `size` bytes, into a blob (written, fsynced; recorded later)
  // and decrypted as they come: the download is read once (docs/store.md §5.2).
  return client.fetchCiphertext(entry.id, entry.size, async (download) => {
    const tee = new DownloadTee(download[Symbol.asyncIterator]());
    const blob = store.putBlob(tee.blob);
    const blobError = blob.then(
      () => undefined,
      (error: unknown) => error,
    );
    /** Nothing kept: the download's failure, else the blob's, else what stopped the decryption. */
    const failed = async (error: unknown, written: readonly AttachmentBlob[]): Promise<never> => {
      tee.blob.abort(error);
      const stick = await blobError;
      await store.discardBlobs([...written.map((attachment) => attachment.ref), ...(stick === undefined ? [(await blob).ref] : [])]).catch(() => undefined);
      throw tee.failure ?? (tee.blobFailed ? stick : undefined) ?? error;
    };
    let opened: Omit<StreamedArrival, 'ciphertextBlob'>;
    try {
      opened = await decryptAndSplit(store, tee, privateKey, verificationKeys, async () => {
        await tee.rest();
        return blob;
      });
    } catch (error) {
      return failed(error, []);
    }
    try {
      // The decryption stopped early (a message that fails, or passes a limit): the rest of
      // the download goes into the blob, which keeps the message as it came.
      await tee.rest();
    } catch (error) {
      return failed(error, opened.attachmentBlobs ?? []);
    }
    const stick = await blobError;
    if (stick !== undefined) return failed(stick, opened.attachmentBlobs ?? []);
    const ciphertextBlob = await blob;
    return { ciphertextBlob, ...opened };
  });
}

/**
 * docs/store.md §5.2 steps 2 and 3: the ciphertext decrypted as a stream, its MIME split,
 * each attachment into its own blob. Throws when the download or the stick failed (the
 * attachments written are then thrown away); a message that does not decrypt, fails its
 * integrity check or passes a limit comes back without attachments.
 */
async function decryptAndSplit(
  store: MessageStore,
  tee: DownloadTee,
  privateKey: openpgp.PrivateKey,
  verificationKeys: readonly openpgp.PublicKey[],
  /** The ciphertext blob once whole (a second pass for salted v6 signatures, see signedDigests). */
  wholeBlob: () => Promise<CiphertextBlob>,
): Promise<Omit<StreamedArrival, 'ciphertextBlob'>> {
  const attachments = new Map<number, AttachmentBlob>();
  const refs: string[] = [];
  const unfinished = new Set<Unfinished>();
  // docs/message-payload.md §3.1: a PGP/MIME signed message's first part, hashed as it streams.
  const signedData = new SignedDataHashes();
  const splitter = new MimeStreamSplitter({
    openAttachment: async (head) => attachmentBlobWriter(store, head, (blob) => attachments.set(blob.index, blob), refs, unfinished),
    openSignedData: () => signedData,
  });
  // A failure of the stick (full, pulled) is not the message's: it stops the sync, nothing recorded.
  let stickFailure: unknown;
  const sink = async (chunk: Uint8Array): Promise<void> => {
    try {
      await splitter.write(chunk);
    } catch (error) {
      if (!isCaliopError(error, 'message_over_limit')) stickFailure ??= error;
      throw error;
    }
  };
  try {
    const result = await decryptStream({
      input: tee,
      decryptionKey: privateKey,
      verificationKeys,
      // Into the splitter as it comes: what it writes is named by no record until the end.
      destination: { sink },
      holdBackBytes: 0,
      // docs/limits.md §2.2, on the inflating stream (the splitter counts the plaintext too).
      maxDecompressedBytes: MESSAGE_LIMITS.maxDecompressedBytes,
      // One store chunk at a time through decryption and split: memory reused, not fresh.
      chunkBytes: OBJECT_CHUNK,
    });
    const split = await splitter.finish();
    const content = await readMailContent(split.kept);
    // docs/message-payload.md §3.1, §5.1: numbered and named as readMailContent would the whole
    // message's; the parts it would not list (a PGP/MIME signature part) are thrown away.
    const listed = await listStreamedAttachments(split.scope);
    const numbered = listed.map(({ ordinal, forwardedSubject }, position) => {
      const blob = attachments.get(ordinal)!;
      return { ...blob, index: position + 1, name: blob.name === '' && forwardedSubject !== undefined ? `${forwardedSubject}.eml` : blob.name };
    });
    const kept = new Set(listed.map(({ ordinal }) => ordinal));
    const unlisted = [...attachments.values()].filter((blob) => !kept.has(blob.index));
    if (unlisted.length > 0) await store.discardBlobs(unlisted.map((blob) => blob.ref));
    // RFC 3156 §5: the digests of the signed part, checked at each read (docs/store.md §5.2).
    const pgpMime = split.pgpMime === null ? undefined : { signature: split.pgpMime.signature, ...(await signedDigests(store, wholeBlob, privateKey, signedData, split.pgpMime.signature)) };
    const headers = arrivalHeaders(content);
    return {
      attachmentBlobs: numbered,
      headers,
      openedAtArrival: {
        headers,
        body: content.body,
        ...(pgpMime === undefined && content.signed !== null && content.signed.kind !== 'pgp-mime' ? { inlineSigned: storedInlineBlock(content.signed) } : {}),
        signatures: result.signatures.map((check) => ({ ...check })),
        ...(pgpMime !== undefined ? { pgpMimeSigned: pgpMime } : {}),
      },
    };
  } catch (error) {
    // An attachment cut off mid-way (a bomb stopped at its limit) would hold the store
    // forever, waiting for bytes that never come: its blob fails first (Node then exited
    // 13 with the sync's await unsettled: test/hostile/senders).
    for (const { pipe, written } of [...unfinished]) {
      pipe.abort(error);
      await written.catch(() => undefined);
    }
    // Nothing of it is shown: the attachments written so far are thrown away.
    await store.discardBlobs(refs).catch(() => undefined);
    if (tee.failure !== undefined || tee.blobFailed) throw error;
    if (stickFailure !== undefined) throw stickFailure;
    if (isCaliopError(error, 'message_over_limit')) return { sealed: overLimitReasonIn(error.message) };
    if (!isCaliopError(error)) throw error;
    return { openedAtArrival: { failed: true } };
  }
}
