// Messages (docs/api.md §8): submit, list, fetch, delete. Every route is signed by
// an enrolled device and only ever touches that device's own mailbox.

import type { InternalArrivalFacts } from '../../api/facts.js';
import {
  ListQuerySchema,
  MailboxAckRequestSchema,
  PROTOCOL_LIMITS,
  type MailboxAckResponse,
  type MailboxPageResponse,
  MessageIdSchema,
  STREAMED_CIPHERTEXT_TYPE,
  SubmitRequestSchema,
  SubmitStreamQuerySchema,
  type SubmitStreamQuery,
  type ListResponse,
  type MessageResponse,
  type SubmitResponse,
} from '../../api/schemas.js';
import { isEncryptedArmoredMessage } from '../ciphertext-check.js';
import { RelayHttpError } from '../http-error.js';
import { REPLAY_HEADER, replayAnswer, requestSha256 } from '../idempotency.js';
import { parseJsonBody, parseWithSchema } from '../json-body.js';
import { authFor, deviceAuth } from '../middleware/device-auth.js';
import type { ApiRouteName } from '../../api/routes.js';
import { rateLimit, type TokenBuckets } from '../middleware/rate-limit.js';
import { bodyPieces, readBody, readBodyOrStream, requestBody, type RequestBody } from '../middleware/read-body.js';
import type { RelayDeps } from '../relay-deps.js';
import { pathParam, routeOf, type RelayRoutes } from '../relay-routes.js';
import type { SubmissionRecord } from '../store/relay-store.js';
import type { RelayEnv, SignedDevice } from '../relay-env.js';
import { observeTransport } from '../transport-facts.js';
import { discard, storeStreamedCiphertext } from './streamed-ciphertext.js';
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';

/** JSON framing and the recipient list around armoredMessage (docs/api.md §5.3). */
export const SUBMIT_OVERHEAD_BYTES = 64 * 1024;
/** Requests other than submit carry no body worth the name. */
export const SMALL_BODY_BYTES = 1024;

const messageNotFound = () => new RelayHttpError(404, 'message_not_found', 'no message with this id in your mailbox');

/** docs/api.md §4.2: the request target as sent (as device-auth signs it). */
function pathAndQuery(c: Context<RelayEnv>): string {
  const url = new URL(c.req.url);
  return c.env?.incoming?.url ?? url.pathname + url.search;
}

/** docs/api.md §8.2.1: the envelope of a streamed submission, from its query (strict: an unknown parameter is a 400). */
function streamQuery(url: string): SubmitStreamQuery {
  const params = new URL(url).searchParams;
  const value: Record<string, unknown> = {};
  for (const name of new Set(params.keys())) value[name] = name === 'to' ? params.getAll('to') : params.get(name);
  return parseWithSchema(value, SubmitStreamQuerySchema);
}

function ownAddress(device: SignedDevice): string {
  // deviceAuth({ requireEnrolled: true }) guarantees the account.
  if (device.account === undefined) throw new Error('deviceAuth let an unenrolled device through');
  return device.account.address;
}

/** docs/api.md §8.9: entries this device acknowledged stay for the account's other devices, but not for it. */
function ownAckedCursor(device: SignedDevice): number {
  return device.enrolment?.ackedCursor ?? 0;
}

/** docs/api.md §8.1: this relay's cursors are mailbox sequence numbers. */
function parseCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  if (!/^[0-9]{1,15}$/.test(cursor)) throw new RelayHttpError(400, 'invalid_request', 'after: must be a cursor returned by this relay');
  return Number(cursor);
}

/** docs/api.md §8.5.1: a streamed ciphertext, a slice at a time, as a Web stream the server pulls (backpressure). */
function byteStream(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/** What POST /v1/messages reads of its request (docs/api.md §8.2, §8.2.1). */
export interface SubmitInput {
  /** The body as read (empty when streamed). */
  readonly body: Uint8Array;
  /** docs/api.md §8.2.1: set when the body is streamed (the digest it declared). */
  readonly bodyDigest: Uint8Array | undefined;
  /** The full URL (a streamed submission's envelope is its query). */
  readonly url: string;
  /** The request target as sent (docs/api.md §4.2). */
  readonly pathWithQuery: () => string;
  /** The streamed body, still to read. */
  readonly rawBody: () => RequestBody;
  readonly incoming: IncomingMessage | undefined;
}

/** docs/api.md §8.2: stores a submission (or finds the one its idempotency key recorded); the 201's body, and whether it is a replay. */
export async function submitMessage(deps: RelayDeps, device: SignedDevice, input: SubmitInput): Promise<{ answer: SubmitResponse; replayed: boolean }> {
  const sender = ownAddress(device);
  const digest = input.bodyDigest;
  const streamed = digest !== undefined;
  const json = streamed ? undefined : parseJsonBody(input.body, SubmitRequestSchema);
  const request: SubmitStreamQuery = json ?? streamQuery(input.url);
  // docs/api.md §8.10: a retry of a submission already stored is answered again, not stored twice.
  // Streamed: the envelope (path and query) and the body's digest, both signed, stand for the body.
  const sha256 =
    request.idempotencyKey === undefined ? '' : streamed ? requestSha256(new TextEncoder().encode(`${input.pathWithQuery()}\n${Buffer.from(digest).toString('hex')}`)) : requestSha256(input.body);
  const replay = (record: SubmissionRecord) => ({ answer: replayAnswer(record, sha256) as SubmitResponse, replayed: true });
  const earlier = request.idempotencyKey === undefined ? undefined : await deps.store.submissionByKey(sender, request.idempotencyKey);
  if (earlier !== undefined) {
    if (streamed) for await (const _piece of bodyPieces(input.rawBody(), deps.limits.maxMessageBytes)); // read, not kept: the answer is the recorded one
    return replay(earlier);
  }
  const armoredMessage = json?.armoredMessage ?? '';
  if (!streamed) {
    const size = Buffer.byteLength(armoredMessage, 'utf8');
    if (size > deps.limits.maxMessageBytes) {
      throw new RelayHttpError(413, 'message_too_large', `the message is ${size} bytes; this relay accepts at most ${deps.limits.maxMessageBytes}`);
    }
  }
  const recipients = [...new Set(request.to)];
  if (recipients.length > deps.limits.maxRecipients) {
    throw new RelayHttpError(400, 'too_many_recipients', `at most ${deps.limits.maxRecipients} recipients per message`);
  }
  const unknown = await deps.store.unknownAddresses(recipients);
  if (unknown.length > 0) {
    throw new RelayHttpError(422, 'unknown_recipients', `no such recipient on this relay: ${unknown.join(', ')}`);
  }
  const id = deps.randomId();
  const nowSeconds = () => Math.floor(deps.clock().getTime() / 1000);
  // docs/api.md §8.2.1: the streamed ciphertext goes to the store chunk by chunk, checked on the way.
  const stored = streamed
    ? await storeStreamedCiphertext(deps.store, input.rawBody(), { messageId: id, digest, maxBytes: deps.limits.maxMessageBytes, nowSeconds })
    : { size: Buffer.byteLength(armoredMessage, 'utf8'), chunks: 0 };
  if (!streamed && !(await isEncryptedArmoredMessage(armoredMessage))) {
    throw new RelayHttpError(400, 'not_encrypted', 'armoredMessage must be an ASCII-armored encrypted OpenPGP message');
  }
  const receivedAt = deps.clock().toISOString();
  const facts: InternalArrivalFacts = {
    route: 'internal',
    receivedAt,
    submittedBy: sender,
    transport: observeTransport(input.incoming),
  };
  const body: SubmitResponse = { id, recipients, size: stored.size, receivedAt };
  // Accepted means durable: the 201 goes out only after the commit (docs/decisions/relay-store.md),
  // and the idempotency key commits with the message (docs/api.md §8.10).
  let taken: SubmissionRecord | undefined;
  try {
    taken = await deps.store.storeMessage(
      {
        id,
        sender,
        recipients,
        size: stored.size,
        facts,
        armoredMessage,
        entryIds: recipients.map(() => deps.randomId()),
        chunks: stored.chunks,
      },
      request.idempotencyKey === undefined
        ? undefined
        : { sender, key: request.idempotencyKey, requestSha256: sha256, response: JSON.stringify(body), createdAt: nowSeconds() },
    );
  } catch (error) {
    if (streamed) await discard(deps.store, id, nowSeconds());
    throw error;
  }
  if (taken !== undefined) {
    if (streamed) await discard(deps.store, id, nowSeconds()); // a concurrent twin was stored first
    return replay(taken);
  }
  return { answer: body, replayed: false };
}

/** docs/api.md §8.4: a page of the mailbox's summaries (`query`: the request's query parameters). */
export async function listMessages(deps: RelayDeps, device: SignedDevice, query: Record<string, string>): Promise<ListResponse> {
  const me = ownAddress(device);
  const parsed = parseWithSchema(query, ListQuerySchema);
  const after = Math.max(parseCursor(parsed.after), ownAckedCursor(device));
  // docs/api.md §8.4: a larger limit is lowered to the relay's page size.
  const limit = Math.min(parsed.limit === undefined ? deps.limits.maxPageSize : Number(parsed.limit), deps.limits.maxPageSize);
  const rows = await deps.store.listMailbox(me, after, limit + 1);
  const page = rows.slice(0, limit);
  return {
    messages: page.map(({ cursor: _cursor, ...summary }) => summary),
    nextCursor: rows.length > limit ? (page.at(-1)?.cursor ?? null) : null,
  };
}

/**
 * docs/api.md §8.8: a page of the mailbox that carries the ciphertexts, one request instead of
 * one per message (`query`: the request's query parameters).
 */
export async function pageMailbox(deps: RelayDeps, device: SignedDevice, query: Record<string, string>): Promise<MailboxPageResponse> {
  const me = ownAddress(device);
  const parsed = parseWithSchema(query, ListQuerySchema);
  const after = Math.max(parseCursor(parsed.after), ownAckedCursor(device));
  const limit = Math.min(parsed.limit === undefined ? deps.limits.maxPageSize : Number(parsed.limit), deps.limits.maxPageSize);
  // A ciphertext above inlineCiphertextBytes is listed by its size only: fetched as a stream (§8.5.1).
  const { entries, more } = await deps.store.mailboxPage(me, after, limit, PROTOCOL_LIMITS.maxBatchBytes, PROTOCOL_LIMITS.inlineCiphertextBytes);
  const last = entries.at(-1);
  return {
    messages: entries.map(({ cursor: _cursor, ...message }) => message),
    nextCursor: more && last !== undefined ? last.cursor : null,
    through: last?.cursor ?? null,
  };
}

/** docs/api.md §8.9: this device holds everything up to a cursor; what every device holds is deleted (`body`: the request body, JSON). */
export async function acknowledgeMailbox(deps: RelayDeps, device: SignedDevice, body: Uint8Array): Promise<MailboxAckResponse> {
  const me = ownAddress(device);
  const request = parseJsonBody(body, MailboxAckRequestSchema);
  const through = parseCursor(request.through);
  return { deleted: await deps.store.ackMailbox(me, device.publicKey, through) };
}

/** docs/api.md §8.5: one message of this device's mailbox, or the 404. */
export async function fetchMessage(deps: RelayDeps, device: SignedDevice, id: string): Promise<MessageResponse> {
  const me = ownAddress(device);
  if (!MessageIdSchema.safeParse(id).success) throw messageNotFound();
  const entry = await deps.store.mailboxEntry(me, id);
  if (!entry) throw messageNotFound();
  const { cursor: _cursor, ...message } = entry;
  return message;
}

/** docs/api.md §8.6: deletes one entry of this device's mailbox, or the 404. */
export async function deleteMessage(deps: RelayDeps, device: SignedDevice, id: string): Promise<void> {
  const me = ownAddress(device);
  if (!MessageIdSchema.safeParse(id).success || !(await deps.store.deleteMailboxEntry(me, id))) throw messageNotFound();
}

export function messagesRoutes(deps: RelayDeps, buckets: TokenBuckets): Pick<RelayRoutes, 'submit' | 'list' | 'mailboxPage' | 'mailboxAck' | 'fetch' | 'ciphertext' | 'delete'> {
  const signed = (maxBody: number, route: ApiRouteName) =>
    [
      readBody(maxBody),
      deviceAuth(authFor(deps, route)),
      rateLimit(buckets, deps.clock),
    ] as const;

  // docs/api.md §8.2 (JSON, the ciphertext in armoredMessage) or §8.2.1 (streamed body, envelope in the query).
  const submitMiddleware = [
    readBodyOrStream(deps.limits.maxMessageBytes + SUBMIT_OVERHEAD_BYTES, { type: STREAMED_CIPHERTEXT_TYPE, maxBytes: deps.limits.maxMessageBytes }),
    deviceAuth(authFor(deps, 'submit')),
    rateLimit(buckets, deps.clock),
  ] as const;
  const submit = routeOf(...submitMiddleware, async (c) => {
    const { answer, replayed } = await submitMessage(deps, c.get('device'), {
      body: c.get('body'),
      bodyDigest: c.get('bodyDigest'),
      url: c.req.url,
      pathWithQuery: () => pathAndQuery(c),
      rawBody: () => requestBody(c),
      incoming: c.env?.incoming,
    });
    if (replayed) c.header(REPLAY_HEADER, 'true');
    return c.json(answer, 201);
  });

  const list = routeOf(...signed(SMALL_BODY_BYTES, 'list'), async (c) => c.json(await listMessages(deps, c.get('device'), c.req.query())));

  const mailboxPage = routeOf(...signed(SMALL_BODY_BYTES, 'mailboxPage'), async (c) => c.json(await pageMailbox(deps, c.get('device'), c.req.query())));

  const mailboxAck = routeOf(...signed(SMALL_BODY_BYTES, 'mailboxAck'), async (c) => c.json(await acknowledgeMailbox(deps, c.get('device'), c.get('body'))));

  const fetchOne = routeOf(...signed(SMALL_BODY_BYTES, 'fetch'), async (c) => c.json(await fetchMessage(deps, c.get('device'), pathParam(c, 'id'))));

  // docs/api.md §8.5.1: the ciphertext as a binary body of exactly Content-Length bytes, streamed.
  const ciphertext = routeOf(...signed(SMALL_BODY_BYTES, 'ciphertext'), async (c) => {
    const me = ownAddress(c.get('device'));
    const id = pathParam(c, 'id');
    if (!MessageIdSchema.safeParse(id).success) throw messageNotFound();
    const found = await deps.store.mailboxCiphertext(me, id);
    if (!found) throw messageNotFound();
    return c.body(byteStream(found.chunks), 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(found.size),
      'Cache-Control': 'no-store',
    });
  });

  const deleteOne = routeOf(...signed(SMALL_BODY_BYTES, 'delete'), async (c) => {
    await deleteMessage(deps, c.get('device'), pathParam(c, 'id'));
    return c.body(null, 204);
  });
  return { submit, list, mailboxPage, mailboxAck, fetch: fetchOne, ciphertext, delete: deleteOne };
}
