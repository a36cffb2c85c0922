// The relay app in-process (app.request, no socket): the error shape, the default
// handler that never leaks internals, body limits, and one log line per request.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { ErrorBodySchema, ListResponseSchema, RelayInfoSchema } from '../../src/api/schemas.js';
import { createRelayApp } from '../../src/relay/app.js';
import type { RequestLogLine } from '../../src/relay/middleware/request-log.js';
import { DEFAULT_LIMITS, type RelayDeps } from '../../src/relay/relay-deps.js';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
import { openTestStore } from './helpers/test-store.js';
import { randomDeviceKey, signedHeaders } from './helpers/raw-request.js';
import { makeIdentity } from './helpers/test-identity.js';
import * as openpgp from 'openpgp';

// A fixed clock, after the test keys' creation (a key is not valid before it exists).
const NOW = new Date(Date.now() + 60_000);
let store: RelayStore & { dispose?: () => Promise<void> };
let logs: RequestLogLine[];
let internalErrors: unknown[];
let app: ReturnType<typeof createRelayApp>;

function deps(overrides: Partial<RelayDeps> = {}): RelayDeps {
  let counter = 0;
  return {
    store,
    domain: 'example.test',
    limits: { ...DEFAULT_LIMITS, maxMessageBytes: 1000 },
    inviteTokenDigests: null,
    clock: () => NOW,
    randomId: () => `id${String(++counter).padStart(20, '0')}`,
    logRequest: (line) => logs.push(line),
    logInternalError: (error) => internalErrors.push(error),
    ...overrides,
  };
}

beforeEach(async () => {
  store = await openTestStore();
  logs = [];
  internalErrors = [];
  app = createRelayApp(deps());
});
afterEach(async () => {
  await store.dispose?.();
});

async function signed(method: string, path: string, secretKey: Uint8Array, body?: string, headers: Record<string, string> = {}) {
  return app.request(path, {
    method,
    ...(body === undefined ? {} : { body }),
    headers: { ...signedHeaders(secretKey, 'example.test', { method, path, ...(body === undefined ? {} : { body }) }, { now: NOW }), ...headers },
  });
}

async function enrol(localPart: string) {
  const identity = await makeIdentity(`${localPart}@example.test`);
  const statement = buildEnrolmentStatement({ address: identity.address, devicePublicKey: identity.devicePublicKey, domain: 'example.test' });
  const proofSignature = await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: identity.privateKey, detached: true });
  const response = await signed('POST', '/v1/enrolment', identity.deviceSecretKey, JSON.stringify({ address: identity.address, armoredCert: identity.armoredCert, proofSignature }));
  expect(response.status).toBe(201);
  return identity;
}

describe('relay app in-process', () => {
  it('GET /v1/relay describes the relay', async () => {
    const response = await app.request('/v1/relay');
    expect(response.status).toBe(200);
    expect(RelayInfoSchema.parse(await response.json())).toEqual({
      apiVersion: 1,
      domain: 'example.test',
      inviteRequired: false,
      limits: {
        maxMessageBytes: 1000,
        maxRecipients: DEFAULT_LIMITS.maxRecipients,
        maxPageSize: DEFAULT_LIMITS.maxPageSize,
        maxBatchBytes: 16 * 1024 * 1024,
        rateBurst: DEFAULT_LIMITS.rateBurst,
        ratePerMinute: DEFAULT_LIMITS.ratePerMinute,
      },
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('enrols and lists an empty mailbox; the log line names the route pattern and device prefix only', async () => {
    const user = await enrol('alice');
    const response = await signed('GET', '/v1/messages?limit=10', user.deviceSecretKey);
    expect(ListResponseSchema.parse(await response.json())).toEqual({ messages: [], nextCursor: null });
    expect(logs.at(-1)).toMatchObject({ event: 'request', method: 'GET', route: '/v1/messages', status: 200, device: expect.stringMatching(/^[0-9a-f]{12}$/) });
  });

  it('every error has the one shape { error: { code, message } }', async () => {
    const user = await enrol('bob');
    const answers = [
      await app.request('/nowhere'),
      await app.request('/v1/messages'),
      await signed('GET', '/v1/messages', randomDeviceKey()),
      await signed('POST', '/v1/messages', user.deviceSecretKey, '{"to":'),
      await signed('POST', '/v1/messages', user.deviceSecretKey, JSON.stringify({ to: ['bob@example.test'], armoredMessage: 'x', cc: [] })),
      await signed('GET', '/v1/messages?limit=0', user.deviceSecretKey),
      await signed('GET', '/v1/messages?cursor=1', user.deviceSecretKey),
      await signed('GET', '/v1/messages/not-an-id', user.deviceSecretKey),
    ];
    expect(answers.map((a) => a.status)).toEqual([404, 401, 401, 400, 400, 400, 400, 404]);
    for (const answer of answers) expect(ErrorBodySchema.strict().safeParse(await answer.json()).success).toBe(true);
  });

  it('413 from Content-Length alone, before reading the body', async () => {
    const user = await enrol('carol');
    const response = await signed('POST', '/v1/messages', user.deviceSecretKey, '{}', { 'content-length': String(10_000_000) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: { code: 'body_too_large', message: expect.stringContaining('bytes') } });
  });

  it('internal errors: a bare 500, the cause only in the relay\'s own log', async () => {
    const user = await enrol('dave');
    await store.close(); // every query now throws (the connection is closed)
    const response = await signed('GET', '/v1/messages', user.deviceSecretKey);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'the relay failed to handle this request' } });
    expect(text).not.toMatch(/database|sqlite|stack|\.js/i);
    expect(internalErrors).toHaveLength(1);
    expect(logs.at(-1)).toMatchObject({ status: 500 });
  });

  it('messages are answered only to a signature over this relay\'s domain', async () => {
    const user = await enrol('erin');
    const path = '/v1/messages';
    const response = await app.request(path, { headers: signedHeaders(user.deviceSecretKey, 'evil.test', { method: 'GET', path }, { now: NOW }) });
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('bad_signature');
  });
});
