// docs/gateway.md §4.3.1 (issue 9/13): the SMTP DATA transparency of RFC 5321 §4.5.2 for
// a large message. nodemailer's DataStream (the Transform every SMTPConnection#send pipes
// the message through: CRLF line ends, a dot at a line start doubled, the final `.`) looks
// at every byte in JavaScript: 0.75 s of the relay's CPU for the 47 MiB of a 25 MiB
// attachment sent outside. A piece already in SMTP form (every CR before an LF, every LF
// after a CR, no dot after an LF) comes out of it unchanged; this fast path recognises such
// a piece with the native Buffer#indexOf and hands it on as DataStream would, and gives
// every other piece to DataStream's own code, so the bytes on the wire are the same.

import { type Transform, type TransformCallback, Writable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * true when `piece` needs nothing done to go into DATA: every CR followed by an LF, every LF
 * after a CR, no dot at the start of a line. `previous` is the byte before the piece, or -1
 * at the start of the data (a dot there starts a line). A CR ending the piece is judged
 * with the next one (or by DataStream's flush).
 */
export function dataReadyPiece(piece: Uint8Array, previous: number): boolean {
  const length = piece.length;
  if (length === 0) return true;
  if (previous === CR && piece[0] !== LF) return false;
  if (piece[0] === DOT && (previous === LF || previous === -1)) return false;
  for (let lf = piece.indexOf(LF); lf !== -1; lf = piece.indexOf(LF, lf + 1)) {
    if ((lf === 0 ? previous : piece[lf - 1]) !== CR) return false;
    if (lf + 1 < length && piece[lf + 1] === DOT) return false;
  }
  for (let cr = piece.indexOf(CR); cr !== -1 && cr < length - 1; cr = piece.indexOf(CR, cr + 1)) {
    if (piece[cr + 1] !== LF) return false;
  }
  return true;
}

/** nodemailer 10.6.0's DataStream (smtp-connection/data-stream.js), the fields this module reads and keeps as it does. */
interface DataStream extends Transform {
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
}
type TransformMethod = (this: DataStream, chunk: unknown, encoding: BufferEncoding, done: TransformCallback) => void;

/**
 * The prototype of the DataStream the imported SMTPConnection makes (nodemailer does not
 * export the class, and its package's exports hide the file; a computed import would escape
 * test/architecture-layers): SMTPConnection's own `_createSendStream` is run once on a
 * stand-in connection whose socket takes nothing, and the stream it made is read for its
 * prototype, then dropped.
 */
function dataStreamPrototype(): { _transform: TransformMethod } {
  const socket = new Writable({ write: (_chunk, _encoding, done) => done() });
  const standIn = { _envelope: { accepted: [] }, options: {}, _responseActions: [], _socket: socket, logger: { info() {}, debug() {} } };
  const createSendStream = (SMTPConnection.prototype as unknown as { _createSendStream(this: unknown, callback: () => void): Transform })._createSendStream;
  const stream = createSendStream.call(standIn, () => undefined);
  stream.unpipe(socket);
  stream.destroy();
  socket.destroy();
  return Object.getPrototypeOf(stream) as { _transform: TransformMethod };
}

const prototype = dataStreamPrototype();
/** DataStream's own transform, kept for the pieces the fast path does not take (and for the tests). */
export const originalDataTransform: TransformMethod = prototype._transform;

/** Pieces handed on by the fast path since the relay started (the tests see that SMTPConnection's DataStream runs it). */
export const fastDataPieces = { count: 0 };

export const fastDataTransform: TransformMethod = function (chunk, encoding, done) {
  if (!Buffer.isBuffer(chunk) || chunk.length === 0 || !dataReadyPiece(chunk, this.lastByte === false ? -1 : this.lastByte)) {
    originalDataTransform.call(this, chunk, encoding, done);
    return;
  }
  // What DataStream does with a piece it inserts nothing into.
  fastDataPieces.count++;
  this.inByteCount += chunk.length;
  this.outByteCount += chunk.length;
  this.lastByte = chunk[chunk.length - 1] as number;
  this.push(chunk);
  done();
};

prototype._transform = fastDataTransform;
