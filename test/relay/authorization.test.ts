// Attacks on the narrow API's authentication and authorization (docs/api.md §4, §8):
// each test is named after what it defends against.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../src/api/routes.js';
import { isCaliopError, type CaliopError } from '../../src/errors.js';
import { RelayErrorResponse, type RelayClient } from '../../src/edges/relay-client.js';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { randomDeviceKey, rawRequest, signedHeaders } from './helpers/raw-request.js';
import { clientFor, encryptTo, enrolled, type TestIdentity } from './helpers/test-identity.js';

let relay: RelayProcess;
let alice: { identity: TestIdentity; client: RelayClient };
let bob: { identity: TestIdentity; client: RelayClient };
let bobMessageId: string;

function relayCode(error: unknown): string | undefined {
  const cause = (error as CaliopError).cause;
  return cause instanceof RelayErrorResponse ? cause.code : undefined;
}

beforeAll(async () => {
  relay = await startRelayProcess({ extraArgs: ['--max-message-bytes', '20000'] });
  [alice, bob] = await Promise.all([enrolled(relay, 'alice'), enrolled(relay, 'bob')]);
  await alice.client.submit({ to: [bob.identity.address], armoredMessage: await encryptTo('for bob only', [bob.identity]) });
  bobMessageId = (await bob.client.list()).messages[0]!.id;
});

afterAll(async () => {
  alice?.client.close();
  bob?.client.close();
  await relay?.dispose();
});

describe('mailbox isolation', () => {
  it('cross_account_list: an account never lists another account\'s mail', async () => {
    expect((await alice.client.list()).messages).toEqual([]);
  });

  it('cross_account_fetch: fetching another account\'s message id is a plain 404', async () => {
    const error = await alice.client.fetch(bobMessageId).catch((e: unknown) => e);
    expect(isCaliopError(error, 'message_not_found')).toBe(true);
  });

  it('cross_account_delete: deleting another account\'s message id is a 404 and deletes nothing', async () => {
    const error = await alice.client.delete(bobMessageId).catch((e: unknown) => e);
    expect(isCaliopError(error, 'message_not_found')).toBe(true);
    expect((await bob.client.fetch(bobMessageId)).id).toBe(bobMessageId);
  });

  it('unknown_device: a key that never enrolled gets nothing', async () => {
    const stranger = clientFor(relay, { deviceSecretKey: randomDeviceKey() });
    const error = await stranger.list().catch((e: unknown) => e);
    stranger.close();
    expect(isCaliopError(error, 'relay_refused')).toBe(true);
    expect(relayCode(error)).toBe('unknown_device');
  });
});

describe('request signatures', () => {
  const path = '/v1/messages';

  it('unsigned_request: refused with 401', async () => {
    const answer = await rawRequest(relay.url, { method: 'GET', path });
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: { code: 'unsigned', message: expect.stringContaining('Caliop-Signature') } });
  });

  it('signature_bit_flip: a signature with one bit changed is refused', async () => {
    const headers = signedHeaders(bob.identity.deviceSecretKey, relay.domain, { method: 'GET', path });
    const signature = Buffer.from(headers['caliop-signature']!, 'base64url');
    signature[10]! ^= 1;
    headers['caliop-signature'] = signature.toString('base64url');
    const answer = await rawRequest(relay.url, { method: 'GET', path, headers });
    expect([answer.status, (answer.json as { error: { code: string } }).error.code]).toEqual([401, 'bad_signature']);
  });

  it('body_substitution: a valid signature over another body is refused', async () => {
    const signedBody = JSON.stringify({ to: [bob.identity.address], armoredMessage: 'x' });
    const headers = signedHeaders(alice.identity.deviceSecretKey, relay.domain, { method: 'POST', path, body: signedBody });
    const answer = await rawRequest(relay.url, { method: 'POST', path, body: signedBody.replace('x', 'y'), headers });
    expect((answer.json as { error: { code: string } }).error.code).toBe('bad_signature');
  });

  it('path_substitution: a signature for the list cannot delete', async () => {
    const headers = signedHeaders(bob.identity.deviceSecretKey, relay.domain, { method: 'GET', path });
    const answer = await rawRequest(relay.url, { method: 'DELETE', path: `${path}/${bobMessageId}`, headers });
    expect(answer.status).toBe(401);
    expect((await bob.client.fetch(bobMessageId)).id).toBe(bobMessageId);
  });

  it('cross_relay_replay: a request signed for another relay domain is refused', async () => {
    const other = clientFor(relay, bob.identity, { domain: 'other.test' });
    const error = await other.list().catch((e: unknown) => e);
    other.close();
    expect(isCaliopError(error, 'relay_refused')).toBe(true);
    expect(relayCode(error)).toBe('bad_signature');
  });

  it('stale_timestamp: 10 minutes in the past or in the future is refused', async () => {
    for (const offset of [-600_000, 600_000]) {
      const skewed = clientFor(relay, bob.identity, { now: () => new Date(Date.now() + offset), domain: relay.domain });
      const error = await skewed.list().catch((e: unknown) => e);
      skewed.close();
      expect(relayCode(error)).toBe('stale_timestamp');
    }
    // 4 minutes of skew is within the ±5 min window.
    const late = clientFor(relay, bob.identity, { now: () => new Date(Date.now() - 240_000) });
    expect((await late.list()).messages).toHaveLength(1);
    late.close();
  });

  it('replayed_nonce: the same signed request sent twice is refused the second time', async () => {
    const headers = signedHeaders(bob.identity.deviceSecretKey, relay.domain, { method: 'GET', path });
    const first = await rawRequest(relay.url, { method: 'GET', path, headers });
    const second = await rawRequest(relay.url, { method: 'GET', path, headers });
    expect(first.status).toBe(200);
    expect([second.status, (second.json as { error: { code: string } }).error.code]).toEqual([401, 'replayed_nonce']);
  });

  it('replayed_nonce: a client that repeats its nonce is refused', async () => {
    const repeating = clientFor(relay, bob.identity, { randomNonce: () => 'always-the-same-nonce' });
    await repeating.list();
    const error = await repeating.list().catch((e: unknown) => e);
    repeating.close();
    expect(relayCode(error)).toBe('replayed_nonce');
  });

  it('nonces are remembered per device: another device may use the same nonce', async () => {
    const a = clientFor(relay, alice.identity, { randomNonce: () => 'shared-nonce-value-1' });
    const b = clientFor(relay, bob.identity, { randomNonce: () => 'shared-nonce-value-1' });
    // The second use of the nonce is another device's: both are answered (a replay would be refused, 401).
    await expect(a.list()).resolves.toHaveProperty('messages');
    await expect(b.list()).resolves.toHaveProperty('messages');
    a.close();
    b.close();
  });
});

describe('bad input', () => {
  const path = '/v1/messages';
  const post = (body: string) =>
    rawRequest(relay.url, {
      method: 'POST',
      path,
      body,
      headers: { 'content-type': 'application/json', ...signedHeaders(alice.identity.deviceSecretKey, relay.domain, { method: 'POST', path, body }) },
    });

  it('malformed_json: 400 with the one error shape', async () => {
    const answer = await post('{"to": [');
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: { code: 'malformed_json', message: expect.any(String) } });
  });

  it('unknown_fields: 400 naming the field', async () => {
    const answer = await post(JSON.stringify({ to: [bob.identity.address], armoredMessage: 'x', subject: 'leaked subject' }));
    expect(answer.status).toBe(400);
    expect((answer.json as { error: { code: string; message: string } }).error).toEqual({
      code: 'invalid_request',
      message: expect.stringContaining('unknown field(s) subject'),
    });
  });

  it('oversize_message: 413 message_too_large maps to relay_too_large', async () => {
    const error = await alice.client.submit({ to: [bob.identity.address], armoredMessage: 'A'.repeat(30_000) }).catch((e: unknown) => e);
    expect(isCaliopError(error, 'relay_too_large')).toBe(true);
    expect(relayCode(error)).toBe('message_too_large');
  });

  it('oversize_body: 413 body_too_large before the body is read', async () => {
    const body = JSON.stringify({ to: [bob.identity.address], armoredMessage: 'A'.repeat(200_000) });
    const answer = await post(body);
    expect(answer.status).toBe(413);
    expect((answer.json as { error: { code: string } }).error.code).toBe('body_too_large');
  });

  it('unknown_route: 404 in the one error shape', async () => {
    const answer = await rawRequest(relay.url, { method: 'GET', path: '/v2/nothing' });
    expect(answer).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
  });
});

describe('the client\'s pin', () => {
  it('pin_mismatch: refuses a relay whose key is not the pinned one, before sending the request', async () => {
    const before = relay.stderrLines.length;
    const wrongPin = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;
    const pinned = clientFor({ url: relay.url, pin: wrongPin }, bob.identity, { domain: relay.domain });
    const error = await pinned.delete(bobMessageId).catch((e: unknown) => e);
    pinned.close();
    expect(isCaliopError(error, 'relay_pin_mismatch')).toBe(true);
    expect((await bob.client.fetch(bobMessageId)).id).toBe(bobMessageId);
    // The relay logs each request it answers: once the fetch's line is there (an event, not a pause),
    // it is the only request on this message's route since the refusal (the pinned client sent no
    // DELETE). Only this route's lines count: an earlier test's line may reach the pipe after
    // `before` was taken (the relay writes it before answering, but the test reads the socket and
    // the pipe in whatever order they arrive; seen once in CI under load).
    const requests = () =>
      relay.stderrLines
        .slice(before)
        .filter((l) => l.includes('"event":"request"'))
        .map((l) => JSON.parse(l) as { method: string; route: string; status: number })
        .filter((line) => line.route === API_ROUTES.fetch.path);
    for (let polls = 0; requests().length === 0 && polls < 6000; polls++) await new Promise((r) => setTimeout(r, 20));
    expect(requests()).toEqual([expect.objectContaining({ method: 'GET', status: 200 })]);
  });

  it('no pin and an untrusted certificate: refused', async () => {
    const unpinned = clientFor({ url: relay.url, pin: undefined }, bob.identity, { domain: relay.domain });
    const error = await unpinned.list().catch((e: unknown) => e);
    unpinned.close();
    expect(isCaliopError(error, 'relay_pin_mismatch')).toBe(true);
  });

  it('relay_unreachable: a port where nothing listens', async () => {
    const closed = await startRelayProcess();
    await closed.dispose();
    const client = clientFor(closed, bob.identity, { domain: relay.domain });
    const error = await client.list().catch((e: unknown) => e);
    client.close();
    expect(isCaliopError(error, 'relay_unreachable')).toBe(true);
  });
});
