// docs/api.md §8.2-§8.9 through src/relay/hot-routes.ts: submit (JSON), list, fetch,
// delete, the mailbox page and its acknowledgement are served straight on node:http; they must answer exactly what the Hono app
// answers. Two relays with the same clock and ids, one the bare Hono app, one the relay's
// listener (hot routes + the app), get the same requests; status line, raw headers (but
// Date), body bytes and request log lines must be equal, for answers and refusals alike.
// Runs on SQLite and, with CALIOP_TEST_POSTGRES, on PostgreSQL.

import { getRequestListener } from '@hono/node-server';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { createRelayApp, createRelayListener } from '../../src/relay/app.js';
import type { RequestLogLine } from '../../src/relay/middleware/request-log.js';
import { DEFAULT_LIMITS, type RelayDeps } from '../../src/relay/relay-deps.js';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
import { signedHeaders } from './helpers/raw-request.js';
import { encryptTo, makeIdentity, type TestIdentity } from './helpers/test-identity.js';
import { openTestStore, TEST_STORE } from './helpers/test-store.js';

const NOW = new Date(Date.now() + 60_000);
const DOMAIN = 'example.test';

interface Side {
  store: RelayStore & { dispose?: () => Promise<void> };
  server: Server;
  port: number;
  logs: RequestLogLine[];
}

async function side(listener: (deps: RelayDeps) => Parameters<typeof createServer>[1]): Promise<Side> {
  const store = await openTestStore();
  const logs: RequestLogLine[] = [];
  let counter = 0;
  const deps: RelayDeps = {
    store,
    domain: DOMAIN,
    limits: { ...DEFAULT_LIMITS, maxMessageBytes: 4000, rateBurst: 40, maxPageSize: 3 },
    inviteTokenDigests: null,
    clock: () => NOW,
    randomId: () => `id${String(++counter).padStart(20, '0')}`,
    logRequest: (line) => logs.push(line),
    logInternalError: () => {},
  };
  const server = createServer(listener(deps));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { store, server, port: (server.address() as AddressInfo).port, logs };
}

let hono: Side;
let hot: Side;
let ana: TestIdentity;
let bob: TestIdentity;

interface Wire {
  status: string;
  headers: string[];
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = res.rawHeaders.flatMap((value, index, all) => (index % 2 === 0 ? [`${value}: ${all[index + 1]}`] : []));
        resolve({ status: `${res.statusCode} ${res.statusMessage}`, headers: raw.filter((line) => !line.startsWith('Date:')), body: Buffer.concat(chunks).toString('latin1') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The same request (same headers, same nonce) to both relays: the same bytes back, and the same log line. */
async function both(method: string, path: string, options: { signer?: TestIdentity; body?: string; headers?: Record<string, string> } = {}): Promise<Wire> {
  const { signer, body } = options;
  const headers: Record<string, string> = {
    ...(signer === undefined ? {} : signedHeaders(signer.deviceSecretKey, DOMAIN, { method, path, ...(body === undefined ? {} : { body }) }, { now: NOW })),
    ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
    ...options.headers,
  };
  const fromHono = await send(hono.port, method, path, headers, body);
  const fromHot = await send(hot.port, method, path, headers, body);
  expect(fromHot, `${method} ${path}`).toEqual(fromHono);
  const withoutDuration = (line: RequestLogLine | undefined) => ({ ...line, durationMs: 0 });
  expect(withoutDuration(hot.logs.at(-1))).toEqual(withoutDuration(hono.logs.at(-1)));
  expect(hot.logs.length).toBe(hono.logs.length);
  return fromHot;
}

async function enrol(identity: TestIdentity): Promise<void> {
  const statement = buildEnrolmentStatement({ address: identity.address, devicePublicKey: identity.devicePublicKey, domain: DOMAIN });
  const proofSignature = (await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: identity.privateKey, detached: true })) as string;
  const answer = await both('POST', '/v1/enrolment', { signer: identity, body: JSON.stringify({ address: identity.address, armoredCert: identity.armoredCert, proofSignature }) });
  expect(answer.status).toBe('201 Created');
}

beforeAll(async () => {
  hono = await side((deps) => getRequestListener(createRelayApp(deps).fetch, { hostname: '127.0.0.1' }));
  hot = await side((deps) => createRelayListener(deps, undefined, { hostname: '127.0.0.1' }));
  [ana, bob] = await Promise.all([makeIdentity(`ana@${DOMAIN}`), makeIdentity(`bob@${DOMAIN}`)]);
  await enrol(ana);
  await enrol(bob);
});
afterAll(async () => {
  for (const s of [hono, hot]) {
    s?.server.close();
    await s?.store.dispose?.();
  }
});

it(`hot_routes_same_bytes (${TEST_STORE}): submit, list, fetch, delete, mailbox page, acknowledgement and their refusals answer byte for byte what the Hono app answers`, async () => {
  const armoredMessage = await encryptTo('hello', [ana]);
  const submit = (body: unknown, signer = bob) => both('POST', '/v1/messages', { signer, body: JSON.stringify(body) });
  // Submissions: accepted, replayed by idempotency key, and each refusal of docs/api.md §8.2.
  expect((await submit({ to: [ana.address], armoredMessage })).status).toBe('201 Created');
  expect((await submit({ to: [ana.address, bob.address], armoredMessage, idempotencyKey: 'idempotency-key-number-1' })).status).toBe('201 Created');
  const replay = await submit({ to: [ana.address, bob.address], armoredMessage, idempotencyKey: 'idempotency-key-number-1' });
  expect(replay.headers).toContain('idempotent-replayed: true');
  expect((await submit({ to: [ana.address], armoredMessage: 'not encrypted' })).status).toBe('400 Bad Request');
  expect((await submit({ to: ['nobody@example.test'], armoredMessage })).status).toBe('422 Unprocessable Entity');
  expect((await submit({ to: [ana.address], armoredMessage, extra: 1 })).status).toBe('400 Bad Request');
  expect((await submit({ to: [ana.address], armoredMessage: 'x'.repeat(5000) })).status).toBe('413 Payload Too Large');
  expect((await both('POST', '/v1/messages', { signer: bob, body: '{"to": [' })).status).toBe('400 Bad Request');
  expect((await both('POST', '/v1/messages', { signer: bob, body: 'x'.repeat(70 * 1024) })).status).toBe('413 Payload Too Large');
  for (let i = 0; i < 3; i++) await submit({ to: [ana.address], armoredMessage });

  // Lists: pages, cursors, Hono's query decoding, bad parameters.
  const first = await both('GET', '/v1/messages', { signer: ana });
  const page = JSON.parse(first.body) as { messages: { id: string }[]; nextCursor: string };
  expect(page.messages).toHaveLength(3);
  await both('GET', `/v1/messages?after=${page.nextCursor}`, { signer: ana });
  await both('GET', `/v1/messages?limit=1&limit=2`, { signer: ana });
  await both('GET', `/v1/messages?li%6Dit=2&after=`, { signer: ana });
  expect((await both('GET', '/v1/messages?limit=many', { signer: ana })).status).toBe('400 Bad Request');
  expect((await both('GET', '/v1/messages?unknown=1', { signer: ana })).status).toBe('400 Bad Request');
  expect((await both('GET', '/v1/messages?after=%zz', { signer: ana })).status).toBe('400 Bad Request');

  // Fetch and delete: found, not found, not an id, someone else's.
  const id = page.messages[0]!.id;
  expect((await both('GET', `/v1/messages/${id}`, { signer: ana })).status).toBe('200 OK');
  expect((await both('GET', `/v1/messages/${id}`, { signer: bob })).status).toBe('404 Not Found');
  expect((await both('GET', '/v1/messages/short', { signer: ana })).status).toBe('404 Not Found');
  expect((await both('GET', `/v1/messages/${'A'.repeat(22)}`, { signer: ana })).status).toBe('404 Not Found');
  expect((await both('GET', `/v1/messages/${id}?x=1`, { signer: ana })).status).toBe('200 OK');
  expect((await both('DELETE', `/v1/messages/${id}`, { signer: ana })).status).toBe('204 No Content');
  expect((await both('DELETE', `/v1/messages/${id}`, { signer: ana })).status).toBe('404 Not Found');
  expect((await both('DELETE', `/v1/messages/${id}`, { signer: ana, body: 'x'.repeat(2000) })).status).toBe('413 Payload Too Large');

  // The stick's sync (docs/api.md §8.8-§8.9): pages that carry the ciphertexts, acknowledgements, refusals.
  const firstMailbox = await both('GET', '/v1/mailbox?limit=2', { signer: ana });
  const mailbox = JSON.parse(firstMailbox.body) as { messages: { armoredMessage?: string }[]; nextCursor: string | null; through: string | null };
  expect(mailbox.messages).toHaveLength(2);
  expect(mailbox.messages[0]!.armoredMessage).toBe(armoredMessage);
  expect(mailbox.nextCursor).not.toBeNull();
  const rest = JSON.parse((await both('GET', `/v1/mailbox?after=${mailbox.nextCursor}`, { signer: ana })).body) as { nextCursor: string | null; through: string | null };
  expect(rest.nextCursor).toBeNull();
  await both('GET', '/v1/mailbox?limit=1&limit=2', { signer: bob });
  expect((await both('GET', '/v1/mailbox?limit=many', { signer: ana })).status).toBe('400 Bad Request');
  expect((await both('GET', '/v1/mailbox?after=%zz', { signer: ana })).status).toBe('400 Bad Request');
  const ack = (body: string, signer = ana) => both('POST', '/v1/mailbox/ack', { signer, body });
  expect((await ack(JSON.stringify({ through: mailbox.through }))).body).toBe('{"deleted":2}');
  expect((await ack(JSON.stringify({ through: mailbox.through }))).body).toBe('{"deleted":0}');
  expect((await ack('{"through":')).status).toBe('400 Bad Request');
  expect((await ack(JSON.stringify({ through: rest.through, extra: 1 }))).status).toBe('400 Bad Request');
  expect((await ack(JSON.stringify({ through: 'not a cursor' }))).status).toBe('400 Bad Request');
  expect((await ack('x'.repeat(2000))).status).toBe('413 Payload Too Large');
  expect((await both('POST', '/v1/mailbox/ack', { signer: ana })).status).toBe('400 Bad Request');
  expect((await ack(JSON.stringify({ through: rest.through }))).body).toBe('{"deleted":2}');
  expect(JSON.parse((await both('GET', '/v1/mailbox', { signer: ana })).body)).toEqual({ messages: [], nextCursor: null, through: null });
  expect((await both('GET', '/v1/mailbox')).status).toBe('401 Unauthorized');
  await both('HEAD', '/v1/mailbox', { signer: ana });
  await both('GET', '/v1/mailbox/ack', { signer: ana });
  await both('DELETE', '/v1/mailbox', { signer: ana });
  await both('GET', '/v1/mailbox/', { signer: ana });

  // Signatures: missing, wrong, replayed; a body on a GET counts in what is signed.
  expect((await both('GET', '/v1/messages')).status).toBe('401 Unauthorized');
  const headers = signedHeaders(ana.deviceSecretKey, DOMAIN, { method: 'GET', path: '/v1/messages' }, { now: NOW });
  expect((await both('GET', '/v1/messages?after=1', { headers })).status).toBe('401 Unauthorized');
  expect((await both('GET', '/v1/messages', { headers })).status).toBe('200 OK');
  expect((await both('GET', '/v1/messages', { headers })).status).toBe('401 Unauthorized');
  expect((await both('GET', '/v1/messages', { headers: { ...headers, 'caliop-nonce': 'a, b' } })).status).toBe('401 Unauthorized');

  // Paths the hot routes leave to the app: a HEAD, a trailing slash, an encoded id, the streamed type.
  await both('HEAD', '/v1/messages', { signer: ana });
  await both('GET', '/v1/messages/', { signer: ana });
  await both('GET', `/v1/messages/${id.slice(0, 21)}%41`, { signer: ana });
  await both('POST', '/v1/messages', { signer: bob, headers: { 'content-type': 'application/octet-stream', 'content-length': '0' } });

  // The rate limit (docs/api.md §5.3): one bucket per device, the 429 with its Retry-After.
  let limited: Wire | undefined;
  for (let i = 0; i < 45 && limited === undefined; i++) {
    const answer = await both('GET', '/v1/messages?limit=1', { signer: bob });
    if (answer.status.startsWith('429')) limited = answer;
  }
  expect(limited?.headers.some((line) => line.startsWith('retry-after: '))).toBe(true);
});
