// docs/api.md §8.10, exactly-once submission: a retry carrying the same idempotency
// key is answered what the first attempt was answered and stored once; the same key
// with another body is refused; keys are per sender. Runs on SQLite and, with
// CALIOP_TEST_POSTGRES, on PostgreSQL (vitest.config.ts).

import * as openpgp from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { createRelayApp } from '../../src/relay/app.js';
import { DEFAULT_LIMITS, type RelayDeps } from '../../src/relay/relay-deps.js';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
import { signedHeaders } from './helpers/raw-request.js';
import { makeIdentity, type TestIdentity } from './helpers/test-identity.js';
import { openTestStore } from './helpers/test-store.js';

// The test keys are made once, before NOW (a key is not valid before it exists).
const identities = new Map<string, TestIdentity>();
beforeAll(async () => {
  for (const localPart of ['ana', 'bob', 'cy']) identities.set(localPart, await makeIdentity(`${localPart}@example.test`));
});
const NOW = new Date(Date.now() + 3_600_000);
let store: RelayStore & { dispose?: () => Promise<void> };
let app: ReturnType<typeof createRelayApp>;

beforeEach(async () => {
  store = await openTestStore();
  let counter = 0;
  const deps: RelayDeps = {
    store,
    domain: 'example.test',
    limits: { ...DEFAULT_LIMITS },
    inviteTokenDigests: null,
    clock: () => NOW,
    randomId: () => `id${String(++counter).padStart(20, '0')}`,
    logRequest: () => {},
    logInternalError: () => {},
  };
  app = createRelayApp(deps);
});
afterEach(async () => {
  await store.dispose?.();
});

function post(user: TestIdentity, path: string, body: string) {
  return app.request(path, { method: 'POST', body, headers: signedHeaders(user.deviceSecretKey, 'example.test', { method: 'POST', path, body }, { now: NOW }) });
}

async function enrol(localPart: string): Promise<TestIdentity> {
  const identity = identities.get(localPart)!;
  const statement = buildEnrolmentStatement({ address: identity.address, devicePublicKey: identity.devicePublicKey, domain: 'example.test' });
  const proofSignature = await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: identity.privateKey, detached: true });
  const response = await post(identity, '/v1/enrolment', JSON.stringify({ address: identity.address, armoredCert: identity.armoredCert, proofSignature }));
  expect(response.status).toBe(201);
  return identity;
}

async function ciphertextFor(recipient: TestIdentity, text: string): Promise<string> {
  return (await openpgp.encrypt({ message: await openpgp.createMessage({ text }), encryptionKeys: await openpgp.readKey({ armoredKey: recipient.armoredCert }) })) as string;
}

const KEY = 'k'.repeat(22);

describe('idempotent submission (docs/api.md §8.10)', () => {
  it('duplicate_submission_retry: the same key is answered again and stored once', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const body = JSON.stringify({ to: [bob.address], armoredMessage: await ciphertextFor(bob, 'once'), idempotencyKey: KEY });
    const first = await post(ana, '/v1/messages', body);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const firstBody = await first.json();
    // The retry is signed afresh (a new nonce), as the stick's retry is.
    const again = await post(ana, '/v1/messages', body);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(firstBody);
    expect(await store.listMailbox(bob.address, 0, 100)).toHaveLength(1);
  });

  it('idempotency_key_reused: the same key with another body is refused and stores nothing', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    expect((await post(ana, '/v1/messages', JSON.stringify({ to: [bob.address], armoredMessage: await ciphertextFor(bob, 'one'), idempotencyKey: KEY }))).status).toBe(201);
    const other = await post(ana, '/v1/messages', JSON.stringify({ to: [bob.address], armoredMessage: await ciphertextFor(bob, 'two'), idempotencyKey: KEY }));
    expect(other.status).toBe(422);
    expect(await other.json()).toEqual({ error: { code: 'idempotency_key_reused', message: expect.any(String) } });
    expect(await store.listMailbox(bob.address, 0, 100)).toHaveLength(1);
  });

  it('keys are per sender, and submissions without a key are stored each time', async () => {
    const [ana, bob, cy] = [await enrol('ana'), await enrol('bob'), await enrol('cy')];
    const armoredMessage = await ciphertextFor(bob, 'same bytes');
    expect((await post(ana, '/v1/messages', JSON.stringify({ to: [bob.address], armoredMessage, idempotencyKey: KEY }))).status).toBe(201);
    expect((await post(cy, '/v1/messages', JSON.stringify({ to: [bob.address], armoredMessage, idempotencyKey: KEY }))).status).toBe(201);
    // Without a key the relay cannot tell a retry: this is what the key prevents.
    for (let i = 0; i < 2; i += 1) expect((await post(ana, '/v1/messages', JSON.stringify({ to: [bob.address], armoredMessage }))).status).toBe(201);
    expect(await store.listMailbox(bob.address, 0, 100)).toHaveLength(4);
  });

  it('concurrent retries of one submission store it once and all get the same answer', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const body = JSON.stringify({ to: [bob.address], armoredMessage: await ciphertextFor(bob, 'racing'), idempotencyKey: KEY });
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(ana, '/v1/messages', body)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(201));
    const bodies = await Promise.all(answers.map((answer) => answer.json()));
    expect(new Set(bodies.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(await store.listMailbox(bob.address, 0, 100)).toHaveLength(1);
  });

  it('a malformed key is an invalid request', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const response = await post(ana, '/v1/messages', JSON.stringify({ to: [bob.address], armoredMessage: await ciphertextFor(bob, 'x'), idempotencyKey: 'short' }));
    expect(response.status).toBe(400);
    expect(await store.listMailbox(bob.address, 0, 100)).toHaveLength(0);
  });

  it('the store: rememberSubmission keeps the first record of a key', async () => {
    const record = { sender: 'ana@example.test', key: KEY, requestSha256: 'aa', response: '{"id":1}', createdAt: 1_800_000_000 };
    expect(await store.rememberSubmission(record)).toBeUndefined();
    expect(await store.rememberSubmission({ ...record, requestSha256: 'bb', response: '{"id":2}' })).toEqual(record);
    expect(await store.submissionByKey('ana@example.test', KEY)).toEqual(record);
    expect(await store.submissionByKey('bob@example.test', KEY)).toBeUndefined();
  });
});
