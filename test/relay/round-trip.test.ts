// The real caliop-relay process over HTTPS (--dev-tls, pinned), driven by RelayClient:
// docs/api.md §6-§8 end to end.

import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../src/api/routes.js';
import { isCaliopError } from '../../src/errors.js';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { rawRequest } from './helpers/raw-request.js';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { encryptTo, enrolled, type TestIdentity } from './helpers/test-identity.js';

let relay: RelayProcess;
let alice: { identity: TestIdentity; client: RelayClient };
let bob: { identity: TestIdentity; client: RelayClient };
let carol: { identity: TestIdentity; client: RelayClient };

beforeAll(async () => {
  relay = await startRelayProcess({ extraArgs: ['--max-page-size', '5'] });
  [alice, bob, carol] = await Promise.all([enrolled(relay, 'alice'), enrolled(relay, 'bob'), enrolled(relay, 'carol')]);
});

afterAll(async () => {
  for (const user of [alice, bob, carol]) user?.client.close();
  await relay?.dispose();
});

describe('caliop-relay round trip', () => {
  it('submit -> list -> fetch -> delete, with the facts the relay observed', async () => {
    const armored = await encryptTo('hello bob', [bob.identity]);
    const submitted = await alice.client.submit({ to: [bob.identity.address], armoredMessage: armored });
    expect(submitted.recipients).toEqual([bob.identity.address]);
    expect(submitted.size).toBe(Buffer.byteLength(armored));

    const page = await bob.client.list();
    expect(page.messages).toHaveLength(1);
    const [summary] = page.messages;
    expect(summary).toMatchObject({ from: alice.identity.address, to: [bob.identity.address], size: submitted.size });
    expect(summary!.facts).toEqual({
      route: 'internal',
      receivedAt: submitted.receivedAt,
      submittedBy: alice.identity.address,
      transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: expect.stringMatching(/^TLS_/) },
    });

    const message = await bob.client.fetch(summary!.id);
    expect(message.armoredMessage).toBe(armored);
    const decrypted = await openpgp.decrypt({
      message: await openpgp.readMessage({ armoredMessage: message.armoredMessage }),
      decryptionKeys: bob.identity.privateKey,
    });
    expect(decrypted.data).toBe('hello bob');

    await bob.client.delete(summary!.id);
    expect((await bob.client.list()).messages).toEqual([]);
    await expect(bob.client.fetch(summary!.id)).rejects.toSatisfy((e) => isCaliopError(e, 'message_not_found'));
    await expect(bob.client.delete(summary!.id)).rejects.toSatisfy((e) => isCaliopError(e, 'message_not_found'));
  });

  it('one submission to several recipients gives each their own mailbox entry', async () => {
    const armored = await encryptTo('to both', [bob.identity, carol.identity]);
    await alice.client.submit({ to: [bob.identity.address, carol.identity.address, bob.identity.address], armoredMessage: armored });
    const [forBob] = (await bob.client.list()).messages;
    const [forCarol] = (await carol.client.list()).messages;
    expect(forBob!.id).not.toBe(forCarol!.id);
    expect(forBob!.to).toEqual([bob.identity.address, carol.identity.address]);
    await bob.client.delete(forBob!.id);
    // Carol's copy survives Bob's delete.
    expect((await carol.client.fetch(forCarol!.id)).armoredMessage).toBe(armored);
    await carol.client.delete(forCarol!.id);
  });

  it('paginates with a cursor and caps the page size', async () => {
    const armored = await encryptTo('page', [carol.identity]);
    for (let i = 0; i < 7; i++) await alice.client.submit({ to: [carol.identity.address], armoredMessage: armored });
    const first = await carol.client.list({ limit: 1000 });
    expect(first.messages).toHaveLength(5); // --max-page-size 5
    expect(first.nextCursor).not.toBeNull();
    const second = await carol.client.list({ after: first.nextCursor!, limit: 3 });
    expect(second.messages).toHaveLength(2);
    expect(second.nextCursor).toBeNull();
    const ids = [...first.messages, ...second.messages].map((m) => m.id);
    expect(new Set(ids).size).toBe(7);
    const two = await carol.client.list({ limit: 2 });
    expect(two.messages.map((m) => m.id)).toEqual(ids.slice(0, 2));
    for (const id of ids) await carol.client.delete(id);
  });

  it('lists unknown recipients in a clear 4xx and stores nothing', async () => {
    const armored = await encryptTo('nobody', [bob.identity]);
    const error = await alice.client
      .submit({ to: [bob.identity.address, 'nobody@example.test', 'ghost@example.test'], armoredMessage: armored })
      .catch((e: unknown) => e);
    expect(isCaliopError(error, 'unknown_recipient')).toBe(true);
    expect((error as Error).message).toContain('nobody@example.test, ghost@example.test');
    expect((await bob.client.list()).messages).toEqual([]);
  });

  it('the client checks a request with the relay\'s schema before sending it', async () => {
    const before = relay.stderrLines.length;
    const error = await alice.client.submit({ to: ['not an address'], armoredMessage: 'x' }).catch((e: unknown) => e);
    expect(isCaliopError(error, 'usage')).toBe(true);
    expect((error as Error).message).toMatch(/^to\.0: /);
    // A marker request on a route no other test here uses: the relay logs in order, so once the
    // marker's line is read, a POST sent before it would have been read too. (Counting all lines
    // would also count an earlier test's line that reached the pipe late.)
    expect((await rawRequest(relay.url, { method: 'GET', path: API_ROUTES.relayInfo.path })).status).toBe(200);
    const requests = () =>
      relay.stderrLines
        .slice(before)
        .filter((l) => l.includes('"event":"request"'))
        .map((l) => JSON.parse(l) as { method: string; route: string });
    const marked = () => requests().some((line) => line.route === API_ROUTES.relayInfo.path);
    for (let polls = 0; !marked() && polls < 6000; polls++) await new Promise((r) => setTimeout(r, 20));
    expect(marked()).toBe(true);
    expect(requests().filter((line) => line.method === 'POST')).toEqual([]);
  });

  it('refuses a message that is not encrypted (plaintext never reaches the database)', async () => {
    const signedOnly = await openpgp.sign({ message: await openpgp.createMessage({ text: 'in the clear' }), signingKeys: alice.identity.privateKey });
    await expect(alice.client.submit({ to: [bob.identity.address], armoredMessage: signedOnly })).rejects.toSatisfy((e) =>
      isCaliopError(e, 'relay_bad_request'),
    );
  });

  it('serves certificates from the directory', async () => {
    const cert = await alice.client.lookupCert('Alice@Example.test');
    const key = await openpgp.readKey({ armoredKey: cert! });
    expect(key.getFingerprint()).toBe((await openpgp.readKey({ armoredKey: alice.identity.armoredCert })).getFingerprint());
    expect(await alice.client.lookupCert('nobody@example.test')).toBeNull();
  });

  it('logs one JSON line per request without content, paths or signatures', async () => {
    const requests = relay.stderrLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.event === 'request');
    expect(requests.length).toBeGreaterThan(10);
    for (const line of requests) expect(Object.keys(line).sort()).toEqual(['device', 'durationMs', 'event', 'method', 'route', 'status', 'time']);
    expect(requests.some((l) => l.route === '/v1/messages/:id' && l.method === 'DELETE' && l.status === 204)).toBe(true);
    const all = relay.stderrLines.join('\n');
    expect(all).not.toContain('BEGIN PGP');
    expect(all).not.toContain(bob.client.devicePublicKey);
    expect(all).not.toContain('alice@');
  });
});
