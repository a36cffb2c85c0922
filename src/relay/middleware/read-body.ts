// Reads the whole request body, refusing more than `maxBytes` with a 413
// (docs/api.md §5.3) before reading it all when Content-Length says so; or, for a
// streamed submission (docs/api.md §8.2.1), leaves the body unread for the route and
// gives the signature check the digest the client declared.

import type { Context, MiddlewareHandler } from 'hono';
import type { IncomingMessage } from 'node:http';
import { RelayHttpError } from '../http-error.js';
import type { RelayEnv } from '../relay-env.js';

/** docs/api.md §10.1: a body slower than this on average, after the grace period, is cut (a slow upload is not an idle one). */
export const MIN_BODY_BYTES_PER_SECOND = 16 * 1024;
export const BODY_GRACE_MS = 60_000;

const tooLarge = (maxBytes: number) => new RelayHttpError(413, 'body_too_large', `the request body is larger than this relay accepts (${maxBytes} bytes)`);

/**
 * A streamed body still to read (docs/api.md §8.2.1, §8.7.1): under node, node's own
 * request stream; else the web Request's stream.
 */
export type RequestBody = ReadableStream<Uint8Array> | IncomingMessage | null;

/**
 * The streamed body of a request (docs/api.md §8.2.1), straight from node's request stream
 * when the relay runs under node: issue 9, --cpu-prof of the relay during a 25 MiB internal
 * send, the web stream made over it (Readable.toWeb, then undici's Request) cost a promise
 * chain per 16 KiB TLS record, about 15% of the relay's CPU for the upload.
 */
export function requestBody(c: Context<RelayEnv>): RequestBody {
  return c.env?.incoming ?? c.req.raw.body;
}

/** The pieces of a web stream (cancelled when the reader stops early). */
async function* webPieces(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * The body as it arrives, counted: more than `maxBytes` cancels it with a 413, and a body
 * that keeps coming slower than MIN_BODY_BYTES_PER_SECOND (on average, after BODY_GRACE_MS)
 * with a 408 (docs/api.md §10.1). The socket's idle timeout cuts one that stops. Node's
 * request stream is destroyed when the reading stops early, as the web stream is cancelled.
 */
export async function* bodyPieces(stream: RequestBody, maxBytes: number, now: () => number = () => performance.now()): AsyncGenerator<Uint8Array> {
  if (stream === null) return;
  const pieces: AsyncIterable<Uint8Array> = stream instanceof ReadableStream ? webPieces(stream) : stream;
  const started = now();
  let total = 0;
  for await (const value of pieces) {
    total += value.byteLength;
    if (total > maxBytes) throw tooLarge(maxBytes);
    const elapsed = now() - started;
    if (elapsed > BODY_GRACE_MS && total < (elapsed / 1000) * MIN_BODY_BYTES_PER_SECOND) {
      throw new RelayHttpError(408, 'body_too_slow', `the request body came slower than ${MIN_BODY_BYTES_PER_SECOND} bytes per second`);
    }
    yield value;
  }
}

export function readBody(maxBytes: number): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const declared = c.req.header('content-length');
    // Under node, straight from the request stream: going through c.req.raw.body would make
    // a web Request and a web stream for every request (a tenth of the relay's CPU in the bench).
    const incoming = c.env?.incoming;
    if (incoming !== undefined) c.set('body', await readIncomingBody(incoming, declared, maxBytes));
    else {
      if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
      c.set('body', await readWebStream(c.req.raw.body, maxBytes));
    }
    await next();
  };
}

/** RFC 9530 §2: `Content-Digest: sha-256=:BASE64:` (the only algorithm the relay takes). */
const CONTENT_DIGEST = /^sha-256=:([A-Za-z0-9+/]{43}=):$/;

/** The media type of a request, lower case, without parameters. */
export function mediaType(value: string | undefined): string {
  return (value ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * docs/api.md §8.2.1: a body of `streamed.type` is left for the route to stream (at most
 * `streamed.maxBytes`, refused at once from Content-Length); the signature (§4.2) covers
 * the SHA-256 it declares in Content-Digest, which the route checks as the bytes come.
 * Any other body is read whole, as readBody.
 */
export function readBodyOrStream(maxBytes: number, streamed: { readonly type: string; readonly maxBytes: number }): MiddlewareHandler<RelayEnv> {
  const whole = readBody(maxBytes);
  return async (c, next) => {
    if (mediaType(c.req.header('content-type')) !== streamed.type) return whole(c, next);
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > streamed.maxBytes) throw tooLarge(streamed.maxBytes);
    const digest = CONTENT_DIGEST.exec(c.req.header('content-digest') ?? '')?.[1];
    if (digest === undefined) throw new RelayHttpError(400, 'invalid_request', 'a streamed body needs the header Content-Digest: sha-256=:BASE64:');
    c.set('body', new Uint8Array(0));
    c.set('bodyDigest', Uint8Array.from(Buffer.from(digest, 'base64')));
    await next();
  };
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

async function readWebStream(stream: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const piece of bodyPieces(stream, maxBytes)) {
    chunks.push(piece);
    total += piece.byteLength;
  }
  return concat(chunks, total);
}

/** The whole body from node's request (`declared`: its Content-Length header): 413 at once when it says too large, else as readIncoming. */
export function readIncomingBody(incoming: IncomingMessage, declared: string | undefined, maxBytes: number): Promise<Uint8Array> {
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return readIncoming(incoming, maxBytes);
}

/** The same bounds as bodyPieces (413 past maxBytes, 408 when too slow), read from node's own stream. */
function readIncoming(incoming: IncomingMessage, maxBytes: number, now: () => number = () => performance.now()): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    const started = now();
    let total = 0;
    const done = (error?: Error) => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
      if (error === undefined) resolve(concat(chunks, total));
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        incoming.pause();
        done(tooLarge(maxBytes));
        return;
      }
      const elapsed = now() - started;
      if (elapsed > BODY_GRACE_MS && total < (elapsed / 1000) * MIN_BODY_BYTES_PER_SECOND) {
        incoming.pause();
        done(new RelayHttpError(408, 'body_too_slow', `the request body came slower than ${MIN_BODY_BYTES_PER_SECOND} bytes per second`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new Error('the client closed the connection before the end of the request body'));
    if (incoming.readableEnded) {
      resolve(new Uint8Array(0));
      return;
    }
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}
