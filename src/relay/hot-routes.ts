// The routes of a stick's send and sync (docs/api.md §8.2 JSON submit, §8.8 mailbox page,
// §8.9 acknowledgement: what `caliop sync` uses) and of the first wave's sync (§8.4 list,
// §8.5 fetch, §8.6 delete) served straight on node:http's request and response, every
// other request handed to the Hono app (app.ts). Same checks in the same order as the
// app's middleware (read-body, device-auth, rate-limit: the same functions), the same
// log line, and the same bytes on the wire: status, headers (Hono's, lower case and
// sorted, then Content-Length) and JSON bodies (test: relay/hot-routes compares the two
// byte for byte). Why: Hono's compose, context, Request and Response objects were 5-8%
// of the relay's CPU under the bench (issue 14, docs/decisions/relay.md).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { getQueryParam } from 'hono/utils/url';
import { STREAMED_CIPHERTEXT_TYPE } from '../api/schemas.js';
import { errorAnswer } from './http-error.js';
import { authenticateRequest, authFor, type DeviceAuthOptions } from './middleware/device-auth.js';
import { takeToken, type TokenBuckets } from './middleware/rate-limit.js';
import { mediaType, readIncomingBody } from './middleware/read-body.js';
import type { RequestLogLine } from './middleware/request-log.js';
import type { RelayDeps } from './relay-deps.js';
import type { SignedDevice } from './relay-env.js';
import {
  acknowledgeMailbox,
  deleteMessage,
  fetchMessage,
  listMessages,
  pageMailbox,
  SMALL_BODY_BYTES,
  SUBMIT_OVERHEAD_BYTES,
  submitMessage,
} from './routes/messages.js';
import { API_ROUTES } from '../api/routes.js';
import { REPLAY_HEADER } from './idempotency.js';

type HotName = 'submit' | 'list' | 'fetch' | 'delete' | 'mailboxPage' | 'mailboxAck';

interface Answer {
  readonly status: number;
  /** undefined: no body (and no Content-Type). */
  readonly json: unknown;
  readonly headers: Record<string, string>;
}

const MESSAGES = API_ROUTES.list.path;
const MESSAGE_PREFIX = `${MESSAGES}/`;
const MAILBOX = API_ROUTES.mailboxPage.path;
const MAILBOX_ACK = API_ROUTES.mailboxAck.path;
/** A path segment the router takes as it is (no percent-decoding, no second segment). */
const PLAIN_SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Which hot route a request is, or undefined for the Hono app (streamed submissions, HEAD, any other form of path). */
function hotRoute(request: IncomingMessage): { name: HotName; id: string } | undefined {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const method = request.method;
  if (path === MESSAGES) {
    if (method === 'GET') return { name: 'list', id: '' };
    if (method === 'POST' && mediaType(header(request, 'content-type')) !== STREAMED_CIPHERTEXT_TYPE) return { name: 'submit', id: '' };
    return undefined;
  }
  if (path === MAILBOX) return method === 'GET' ? { name: 'mailboxPage', id: '' } : undefined;
  if (path === MAILBOX_ACK) return method === 'POST' ? { name: 'mailboxAck', id: '' } : undefined;
  if ((method === 'GET' || method === 'DELETE') && path.startsWith(MESSAGE_PREFIX)) {
    const id = path.slice(MESSAGE_PREFIX.length);
    if (PLAIN_SEGMENT.test(id)) return { name: method === 'GET' ? 'fetch' : 'delete', id };
  }
  return undefined;
}

/** Hono's own query parser (c.req.query()): the same decoding, the same first-value rule. */
function queryOf(url: string): Record<string, string> {
  return url.includes('?') ? (getQueryParam(`http://relay${url}`) as Record<string, string>) : {};
}

const headerMaps = new WeakMap<IncomingMessage, Map<string, string>>();

/** A header as the Web Headers object gives it (the app's c.req.header): repeated ones joined with ", ". */
function header(request: IncomingMessage, name: string): string | undefined {
  let headers = headerMaps.get(request);
  if (headers === undefined) {
    headers = new Map();
    const raw = request.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = (raw[i] as string).toLowerCase();
      const earlier = headers.get(key);
      headers.set(key, earlier === undefined ? (raw[i + 1] as string) : `${earlier}, ${raw[i + 1] as string}`);
    }
    headerMaps.set(request, headers);
  }
  return headers.get(name);
}

/**
 * The headers of the answers that add none of their own (all but a replay, a 429 and a
 * 401's), as writeHead's flat list: Hono's order already, built once, not per answer
 * (an object, a sort and a second object per request; issue 14).
 */
const JSON_HEADERS = ['cache-control', 'no-store', 'content-type', 'application/json', 'x-content-type-options', 'nosniff', 'Content-Length'] as const;
const BARE_HEADERS = ['cache-control', 'no-store', 'x-content-type-options', 'nosniff'];

/** Hono's answer: its headers lower case, sorted (Web Headers order), then Content-Length. */
function writeAnswer(response: ServerResponse, answer: Answer): void {
  let own = false;
  for (const _ in answer.headers) {
    own = true;
    break;
  }
  if (!own) {
    if (answer.json === undefined) {
      response.writeHead(answer.status, BARE_HEADERS);
      response.end();
      return;
    }
    const body = JSON.stringify(answer.json);
    response.writeHead(answer.status, [...JSON_HEADERS, Buffer.byteLength(body)]);
    response.end(body);
    return;
  }
  const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  if (answer.json !== undefined) headers['content-type'] = 'application/json';
  for (const name in answer.headers) headers[name.toLowerCase()] = answer.headers[name] as string;
  const sorted: Record<string, string | number> = {};
  for (const name of Object.keys(headers).sort()) sorted[name] = headers[name] as string;
  if (answer.json === undefined) {
    response.writeHead(answer.status, sorted);
    response.end();
    return;
  }
  const body = JSON.stringify(answer.json);
  sorted['Content-Length'] = Buffer.byteLength(body);
  response.writeHead(answer.status, sorted);
  response.end(body);
}

/**
 * What @hono/node-server does with a request body left unread once answered (an early 413):
 * read and dropped, at most 64 MiB for 500 ms, then the connection is closed.
 */
function drainAfterAnswer(request: IncomingMessage, response: ServerResponse): void {
  if (request.method === 'GET' || request.readableEnded) return;
  response.once('finish', () => {
    if (request.readableEnded || request.destroyed) return;
    let read = 0;
    const forceClose = () => {
      cleanup();
      if (!request.socket.destroyed) request.socket.destroySoon();
    };
    const timer = setTimeout(forceClose, 500);
    timer.unref();
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > 64 * 1024 * 1024) forceClose();
    };
    const cleanup = () => {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', cleanup);
      request.off('error', cleanup);
    };
    request.on('data', onData);
    request.on('end', cleanup);
    request.on('error', cleanup);
    request.resume();
  });
}

/** The node:http listener: the hot routes here, everything else to `fallback` (the Hono app's listener). */
export function hotRoutesListener(
  deps: RelayDeps,
  buckets: TokenBuckets,
  fallback: (request: IncomingMessage, response: ServerResponse) => unknown,
): (request: IncomingMessage, response: ServerResponse) => void {
  // The hot routes are alike in the table: enrolled devices, sessions accepted (docs/api.md §2).
  const auth: DeviceAuthOptions = authFor(deps, 'submit');
  const submitMax = deps.limits.maxMessageBytes + SUBMIT_OVERHEAD_BYTES;

  async function run(name: HotName, id: string, request: IncomingMessage, signed: (device: SignedDevice) => void): Promise<Answer> {
    const url = request.url as string;
    // The app's middleware, in its order: read-body, device-auth, rate-limit.
    const body = await readIncomingBody(request, header(request, 'content-length'), name === 'submit' ? submitMax : SMALL_BODY_BYTES);
    const device = await authenticateRequest(auth, { method: request.method as string, pathWithQuery: url, body, bodyDigest: undefined, header: (n) => header(request, n) });
    signed(device);
    takeToken(buckets, device.fingerprint, deps.clock().getTime());
    switch (name) {
      case 'submit': {
        const { answer, replayed } = await submitMessage(deps, device, {
          body,
          bodyDigest: undefined,
          url,
          pathWithQuery: () => url,
          rawBody: () => null,
          incoming: request,
        });
        return { status: 201, json: answer, headers: replayed ? { [REPLAY_HEADER]: 'true' } : {} };
      }
      case 'list':
        return { status: 200, json: await listMessages(deps, device, queryOf(url)), headers: {} };
      case 'mailboxPage':
        return { status: 200, json: await pageMailbox(deps, device, queryOf(url)), headers: {} };
      case 'mailboxAck':
        return { status: 200, json: await acknowledgeMailbox(deps, device, body), headers: {} };
      case 'fetch':
        return { status: 200, json: await fetchMessage(deps, device, id), headers: {} };
      case 'delete':
        await deleteMessage(deps, device, id);
        return { status: 204, json: undefined, headers: {} };
    }
  }

  async function serve(name: HotName, id: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    let device: SignedDevice | undefined;
    let answer: Answer;
    try {
      answer = await run(name, id, request, (signed) => (device = signed));
    } catch (error) {
      const failed = errorAnswer(error, deps.logInternalError);
      answer = { status: failed.status, json: failed.body, headers: failed.headers };
    }
    // Logged before the answer goes out, as the app's request-log does; the lines of one turn
    // in one write (writeTurn).
    turn.push({
      request,
      response,
      answer,
      line: {
        time: deps.clock().toISOString(),
        event: 'request',
        method: request.method as string,
        route: API_ROUTES[name].path,
        status: answer.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        device: device?.fingerprint ?? null,
      },
    });
    if (turn.length === 1) setImmediate(writeTurn);
  }

  /**
   * The answers of this event-loop turn, held until the end of the turn: their log lines go
   * out first, together (one write on stderr instead of one per request: 4% of the relay's
   * CPU in the bench, issue 14), then the answers, so a line is still out before its answer.
   */
  let turn: { request: IncomingMessage; response: ServerResponse; answer: Answer; line: RequestLogLine }[] = [];
  function writeTurn(): void {
    const answers = turn;
    turn = [];
    const lines = answers.map((held) => held.line);
    if (deps.logRequests !== undefined) deps.logRequests(lines);
    else for (const line of lines) deps.logRequest(line);
    for (const { request, response, answer } of answers) {
      try {
        drainAfterAnswer(request, response);
        writeAnswer(response, answer);
      } catch (error) {
        deps.logInternalError(error);
        response.destroy();
      }
    }
  }

  return (request, response) => {
    const hot = hotRoute(request);
    if (hot === undefined) {
      void fallback(request, response);
      return;
    }
    serve(hot.name, hot.id, request, response).catch((error: unknown) => {
      deps.logInternalError(error);
      response.destroy();
    });
  };
}
