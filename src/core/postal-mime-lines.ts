// docs/decisions/mime.md, "A part's lines, gathered": postal-mime 4.0.0 keeps an unencoded
// (7bit, 8bit, binary) part as two Blob parts per line (the line, then "\n") and joins them
// with one `new Blob(...)` at the end of the part. That costs about 12-17 µs a line whatever
// the line's length: 1 MiB of empty lines took 9 s to read, and a sender may send 64 MiB of
// them (docs/limits.md §2.1), which is minutes on the stick for each reading. The lines are
// gathered here into pieces of up to 1 MiB instead, giving the same bytes.
//
// postal-mime exports neither its MIME node nor its decoders, so the node's prototype is
// taken from a parser's root node, and only the choice of the decoder for an unencoded part
// is replaced; base64 and quoted-printable parts keep postal-mime's own decoders. Pure: no I/O.

import PostalMime from 'postal-mime';
import { concatBytes } from '@noble/hashes/utils.js';

/** What postal-mime's MimeNode expects of a content decoder (postal-mime 4.0.0, mime-node.js). */
interface ContentDecoder {
  update(line: Uint8Array): void;
  finalize(): Promise<ArrayBuffer>;
}

interface MimeNodeLike {
  contentDecoder: ContentDecoder | null;
  setupContentDecoder(transferEncoding: string): void;
}

const LINE_END = 0x0a;
/** Lines are joined into one piece once this many bytes are waiting. */
const PIECE_BYTES = 1024 * 1024;

/** An unencoded part's content: each line followed by "\n", as postal-mime's PassThroughDecoder gives it. */
export class GatheredLines implements ContentDecoder {
  private readonly pieces: Uint8Array[] = [];
  private waiting: Uint8Array[] = [];
  private waitingBytes = 0;

  update(line: Uint8Array): void {
    this.waiting.push(line);
    this.waitingBytes += line.length + 1;
    if (this.waitingBytes >= PIECE_BYTES) this.gather();
  }

  finalize(): Promise<ArrayBuffer> {
    this.gather();
    // Each piece and the join own their whole buffer (a new Uint8Array of their length).
    const content = this.pieces.length === 1 ? this.pieces[0]! : concatBytes(...this.pieces);
    return Promise.resolve(content.buffer as ArrayBuffer);
  }

  private gather(): void {
    if (this.waiting.length === 0) return;
    const piece = new Uint8Array(this.waitingBytes);
    let at = 0;
    for (const line of this.waiting) {
      piece.set(line, at);
      at += line.length;
      piece[at] = LINE_END;
      at += 1;
    }
    this.pieces.push(piece);
    this.waiting = [];
    this.waitingBytes = 0;
  }
}

const mimeNodePrototype = Object.getPrototypeOf((new PostalMime() as unknown as { root: MimeNodeLike }).root) as MimeNodeLike;
const postalMimeSetup = mimeNodePrototype.setupContentDecoder;

/** postal-mime's own decoder for an unencoded part (for the tests that compare the two). */
export function postalMimePassThrough(): ContentDecoder {
  const scratch = Object.create(mimeNodePrototype) as MimeNodeLike;
  postalMimeSetup.call(scratch, '7bit');
  return scratch.contentDecoder!;
}

const passThroughPrototype = Object.getPrototypeOf(postalMimePassThrough()) as object;

mimeNodePrototype.setupContentDecoder = function setupContentDecoder(this: MimeNodeLike, transferEncoding: string): void {
  postalMimeSetup.call(this, transferEncoding);
  if (this.contentDecoder !== null && Object.getPrototypeOf(this.contentDecoder) === passThroughPrototype) this.contentDecoder = new GatheredLines();
};

/** True once the replacement is in place (imported for its effect by mail-content.ts). */
export const LINES_GATHERED = mimeNodePrototype.setupContentDecoder !== postalMimeSetup;
