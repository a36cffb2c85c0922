// docs/api.md §8.7.1: a message to the outside streamed in. The relay holds one chunk of
// it at a time: each 1 MiB goes to the database as it arrives (message_chunks, under the
// upload's id), while on the way the SHA-256 the signature covers is computed, the
// header section is kept (bounded, for the From: check), the PGP/MIME or inline PGP
// structure is checked (OutboundMessageScanner) and the DKIM body hash is computed
// (mailauth's signer hashes the body as it passes: docs/decisions/outbound-stream.md).
// A body cut off, too large, with another digest or refused leaves no chunk.

import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { headerValue, parseContentType, parseHeaderFields, type HeaderField } from '../../api/mime-fields.js';
import { EncryptedMessageScanner } from '../ciphertext-check.js';
import { RelayHttpError } from '../http-error.js';
import { bodyPieces, type RequestBody } from '../middleware/read-body.js';
import { ChunkWriter } from '../store/chunk-writer.js';
import { ABANDONED_CHUNKS_AFTER_S, type RelayStore } from '../store/relay-store.js';
import { startDkimSigning, type DkimKey } from './dkim.js';
import type { OutboundMessage } from './outbound-transport.js';

/** The header section of a streamed outbound message is kept to be read; beyond this it is refused. */
export const MAX_OUTBOUND_HEADER_BYTES = 256 * 1024;
/** A line outside the armor longer than this: not PGP/MIME (the scan stops; readable mail may have them). */
const MAX_STRUCTURE_LINE = 64 * 1024;

function identityEncoding(fields: readonly HeaderField[]): boolean {
  const value = headerValue(fields, 'Content-Transfer-Encoding')?.trim().toLowerCase();
  return value === undefined || value === '7bit' || value === '8bit' || value === 'binary';
}

type Structure = 'preamble' | 'control-headers' | 'control-body' | 'data-headers' | 'data-body' | 'epilogue' | 'inline' | 'other';

/**
 * docs/api.md §8.7.1: reads a message as it streams and says, at its end, what
 * findArrivedCiphertext + isEncryptedOpenPgpMessage say of it whole: PGP/MIME (two parts,
 * `Version: 1`, one armored encrypted message) or inline PGP (a text/plain body that is one
 * armored encrypted message). Holds the header section (bounded) and one line.
 */
export class OutboundMessageScanner {
  #head: Buffer = Buffer.alloc(0);
  #headerText: string | null = null;
  #structure: Structure = 'other';
  #boundary = '';
  #partHeader: string[] = [];
  #sawVersion = false;
  #line = '';
  readonly #armor = new EncryptedMessageScanner();
  /** Called once with the header section as soon as it is complete (it may throw to refuse the message). */
  constructor(private readonly onHeader: (headerText: string) => void = () => {}) {}

  get headerText(): string | null {
    return this.#headerText;
  }

  push(piece: Uint8Array): void {
    if (this.#headerText === null) {
      this.#head = Buffer.concat([this.#head, piece]);
      const text = this.#head.toString('latin1');
      const end = /\r?\n\r?\n/.exec(text);
      if (end === null) {
        if (this.#head.length > MAX_OUTBOUND_HEADER_BYTES) throw new RelayHttpError(400, 'invalid_request', `the header section of the message is larger than ${MAX_OUTBOUND_HEADER_BYTES} bytes`);
        return;
      }
      if (end.index > MAX_OUTBOUND_HEADER_BYTES) throw new RelayHttpError(400, 'invalid_request', `the header section of the message is larger than ${MAX_OUTBOUND_HEADER_BYTES} bytes`);
      this.#startBody(text.slice(0, end.index));
      const rest = this.#head.subarray(end.index + end[0].length);
      this.#head = Buffer.alloc(0);
      this.#body(rest);
      return;
    }
    this.#body(piece);
  }

  /** true: an encrypted OpenPGP message as PGP/MIME or inline PGP. */
  end(): boolean {
    if (this.#headerText === null) {
      this.#startBody(this.#head.toString('latin1').replace(/\r?\n$/, ''));
      this.#head = Buffer.alloc(0);
    }
    if (this.#line !== '') this.#onLine(this.#line);
    this.#line = '';
    const structure: Structure = this.#structure;
    return structure === 'inline' || structure === 'epilogue' ? this.#armor.end() : false;
  }

  #startBody(headerText: string): void {
    this.#headerText = headerText;
    this.onHeader(headerText);
    const fields = parseHeaderFields(headerText);
    const contentType = parseContentType(headerValue(fields, 'Content-Type'));
    if (contentType.type === 'multipart/encrypted') {
      const boundary = contentType.params['boundary'];
      if (contentType.params['protocol']?.toLowerCase() === 'application/pgp-encrypted' && boundary !== undefined) {
        this.#boundary = boundary;
        this.#structure = 'preamble';
      }
    } else if (contentType.type === 'text/plain' && identityEncoding(fields)) {
      this.#structure = 'inline';
    }
  }

  #body(piece: Uint8Array): void {
    if (this.#structure === 'other' || piece.length === 0) return;
    if (this.#structure === 'inline') {
      this.#armor.push(piece);
      return;
    }
    for (let start = 0; start < piece.length; ) {
      if (this.#structure === 'data-body' && this.#line === '') {
        // Issue 9: inside the encrypted part, whole lines that cannot be a boundary (not
        // starting with '-') go to the armor scanner together, as they are, the same bytes
        // the line-by-line path would give it one by one (each line was a string and two
        // regular expressions: 1.6 s of the relay's CPU for a 25 MiB attachment).
        let end = start;
        while (end < piece.length && piece[end] !== 0x2d) {
          const newline = piece.indexOf(0x0a, end);
          if (newline === -1 || newline - end >= MAX_STRUCTURE_LINE) break;
          end = newline + 1;
        }
        if (end > start) {
          this.#armor.push(piece.subarray(start, end));
          start = end;
          continue;
        }
      }
      const newline = piece.indexOf(0x0a, start);
      const stop = newline === -1 ? piece.length : newline + 1;
      this.#line += Buffer.from(piece.subarray(start, stop)).toString('latin1');
      start = stop;
      if (this.#line.length > MAX_STRUCTURE_LINE) {
        this.#structure = 'other';
        return;
      }
      if (newline === -1) break;
      this.#onLine(this.#line);
      this.#line = '';
      if ((this.#structure as Structure) === 'other') return;
    }
  }

  /** One line of a multipart/encrypted body, with its line end (RFC 2046 §5.1.1). */
  #onLine(line: string): void {
    const bare = line.replace(/\r?\n$/, '');
    const trimmed = bare.replace(/[ \t]+$/, '');
    const delimiter = trimmed === `--${this.#boundary}`;
    const close = trimmed === `--${this.#boundary}--`;
    switch (this.#structure) {
      case 'preamble':
        if (close) this.#structure = 'other';
        else if (delimiter) this.#structure = 'control-headers';
        return;
      case 'control-headers':
      case 'data-headers':
        if (delimiter || close) {
          this.#structure = 'other';
          return;
        }
        if (bare !== '') {
          this.#partHeader.push(bare);
          return;
        }
        this.#partDone();
        return;
      case 'control-body':
        if (close) this.#structure = 'other';
        else if (delimiter) this.#structure = this.#sawVersion ? 'data-headers' : 'other';
        else if (/^\s*Version:\s*1\s*$/.test(bare)) this.#sawVersion = true;
        return;
      case 'data-body':
        if (delimiter) this.#structure = 'other';
        else if (close) this.#structure = 'epilogue';
        else this.#armor.push(Buffer.from(line, 'latin1'));
        return;
      default:
        return;
    }
  }

  #partDone(): void {
    const fields = parseHeaderFields(this.#partHeader.join('\r\n'));
    this.#partHeader = [];
    const type = parseContentType(headerValue(fields, 'Content-Type')).type;
    if (this.#structure === 'control-headers') this.#structure = type === 'application/pgp-encrypted' ? 'control-body' : 'other';
    else this.#structure = type === 'application/octet-stream' && identityEncoding(fields) ? 'data-body' : 'other';
  }
}

export interface StreamedOutbound {
  /** Bytes of the message as the stick sent it. */
  readonly size: number;
  /** Chunks stored under the upload id. */
  readonly chunks: number;
  readonly headerText: string;
  readonly encrypted: boolean;
  /** The DKIM-Signature field(s) to put on top, CRLF-ended; empty without a key. */
  readonly dkimHeader: Buffer;
}

/**
 * Reads `body` into `uploadId`'s chunks; throws (having discarded them) when it must be
 * refused. `checkHeader` sees the header section as soon as it is complete (From: check).
 */
export async function storeStreamedOutbound(
  store: RelayStore,
  body: RequestBody,
  options: {
    readonly uploadId: string;
    readonly digest: Uint8Array;
    readonly maxBytes: number;
    readonly nowSeconds: () => number;
    readonly checkHeader: (headerText: string) => void;
    readonly dkim: { readonly domain: string; readonly key: DkimKey; readonly now: Date } | null;
  },
): Promise<StreamedOutbound> {
  const hash = createHash('sha256');
  const scanner = new OutboundMessageScanner(options.checkHeader);
  // mailauth's signer is a Writable that hashes the body as it passes (only the header section is kept).
  const feed = new PassThrough({ highWaterMark: 256 * 1024 });
  const signing = options.dkim === null ? null : startDkimSigning(feed, options.dkim.domain, options.dkim.key, options.dkim.now);
  signing?.catch(() => {}); // awaited below; a failure before then must not be unhandled
  const writer = new ChunkWriter(store, options.uploadId, options.nowSeconds);
  let size = 0;
  try {
    for await (const piece of bodyPieces(body, options.maxBytes)) {
      hash.update(piece);
      scanner.push(piece);
      if (signing !== null && !feed.write(piece)) await once(feed, 'drain');
      size += piece.byteLength;
      await writer.write(piece);
    }
    const chunks = await writer.end();
    if (!timingSafeEqual(hash.digest(), options.digest)) {
      throw new RelayHttpError(400, 'digest_mismatch', 'the body does not have the SHA-256 its Content-Digest declares (and the signature covers)');
    }
    if (size === 0) throw new RelayHttpError(400, 'invalid_request', 'the message is empty');
    const encrypted = scanner.end();
    feed.end();
    const dkimHeader = signing === null ? Buffer.alloc(0) : await signing;
    return { size, chunks, headerText: scanner.headerText ?? '', encrypted, dkimHeader };
  } catch (error) {
    feed.destroy();
    await discardOutbound(store, options.uploadId, options.nowSeconds());
    throw error;
  }
}

/** The chunks of a refused or delivered upload, and of any upload abandoned long ago (a relay stopped mid-way). */
export async function discardOutbound(store: RelayStore, uploadId: string, nowSeconds: number): Promise<void> {
  await store.discardCiphertextChunks(uploadId, nowSeconds - ABANDONED_CHUNKS_AFTER_S);
}

/** docs/api.md §8.7.1: the message as it leaves: the DKIM-Signature field, then the chunks, read one at a time for each transaction. */
export function chunkedMessage(store: RelayStore, id: string, dkimHeader: Uint8Array, size: number | null, chunks: number): OutboundMessage {
  return {
    size: size === null ? null : dkimHeader.length + size,
    open: () =>
      Readable.from(
        (async function* () {
          if (dkimHeader.length > 0) yield Buffer.from(dkimHeader);
          yield* store.uploadChunks(id, chunks);
        })(),
        { objectMode: false },
      ),
  };
}
