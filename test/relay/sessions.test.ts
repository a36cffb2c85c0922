// Relay sessions (docs/api.md §4.6) on the real relay over HTTPS on loopback: a session
// opened and used for a sync on SQLite and on PostgreSQL, the attacks a session must resist
// (a MAC over a changed line, a replay at another process, a session on a route that needs
// the device's signature, a revoked device's session at another process, an expired one),
// and the client's rules (one renewal after session_expired, a relay without sessions).
// The PostgreSQL cases need CALIOP_TEST_POSTGRES (.ci/postgres start prints it).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayClient } from '../../src/edges/relay-client.js';
import { isCaliopError } from '../../src/errors.js';
import { createRelayListener } from '../../src/relay/app.js';
import { ensureDevTls } from '../../src/relay/dev-tls.js';
import { DEFAULT_LIMITS } from '../../src/relay/relay-deps.js';
import { RelaySessions } from '../../src/relay/session-keys.js';
import { SESSION_LIFETIME_SECONDS } from '../../src/api/relay-session.js';
import { failure, relayCode } from './helpers/relay-errors.js';
import { rawRequest, signedHeaders } from './helpers/raw-request.js';
import { errorCode, openRawSession, sessionHeaders, sessionRequest } from './helpers/raw-session.js';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { sharedDkimArgs } from './helpers/shared-dkim.js';
import { clientFor, encryptTo, enrolled, enrolmentProof, makeIdentity, type TestIdentity } from './helpers/test-identity.js';
import { dropDatabase, ensureDatabase, openTestStore, POSTGRES_URL, TEST_STORE } from './helpers/test-store.js';

const DOMAIN = 'example.test';
const STORES = POSTGRES_URL === undefined ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);
/** vitest.config.ts runs this file again with CALIOP_TEST_STORE=postgres: only the in-process part (its store) then; the relay processes pick their stores here. */
const PROCESS_RUN = TEST_STORE === 'sqlite';

/** One request in `session` sent to `first` (answered), then the very same bytes to `second`: refused as a replay. */
async function expectReplayRefused(session: Parameters<typeof sessionHeaders>[0], first: string, second: string): Promise<void> {
  const request = { method: 'GET', path: '/v1/messages' };
  const headers = sessionHeaders(session, DOMAIN, request);
  expect((await rawRequest(first, { ...request, headers })).status).toBe(200);
  const replayed = await rawRequest(second, { ...request, headers });
  expect([replayed.status, errorCode(replayed)]).toEqual([401, 'replayed_nonce']);
}

describe.skipIf(!PROCESS_RUN).each(STORES)('sessions on %s', (store) => {
  let relay: RelayProcess;
  let alice: { identity: TestIdentity; client: RelayClient };

  beforeAll(async () => {
    relay = await startRelayProcess({ store, extraArgs: ['--rate-burst', '1000'] });
    alice = await enrolled(relay, 'alice');
  });
  afterAll(async () => {
    alice?.client.close();
    await relay?.dispose();
  });

  it('a session opened and used for a sync: send, a mailbox page, fetch, acknowledge, all in one session', async () => {
    const client = clientFor(relay, alice.identity, { sessions: true });
    try {
      expect((await client.info()).sessions).toEqual({ lifetimeSeconds: SESSION_LIFETIME_SECONDS });
      await client.submit({ to: [alice.identity.address], armoredMessage: await encryptTo('in a session', [alice.identity]) });
      const session = client.sessionId;
      expect(session).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const page = await client.mailboxPage();
      expect(page.messages).toHaveLength(1);
      const id = page.messages[0]!.id;
      expect((await client.fetch(id)).id).toBe(id);
      await client.ackMailbox(page.through!);
      expect((await client.list()).messages).toEqual([]);
      // One session for all of it.
      expect(client.sessionId).toBe(session);
      // The same session by hand: the relay takes the MAC on the mail routes.
      await client.endSession();
      expect(client.sessionId).toBeUndefined();
      const raw = await openRawSession(relay.url, alice.identity.deviceSecretKey, DOMAIN);
      const listed = await sessionRequest(relay.url, raw, DOMAIN, { method: 'GET', path: '/v1/messages?limit=5' });
      expect([listed.status, listed.json]).toEqual([200, { messages: [], nextCursor: null }]);
    } finally {
      client.close();
    }
  });

  it('forged_mac_changed_line: a MAC made over another path, method or body is refused (bad_mac) and the request does nothing', async () => {
    const session = await openRawSession(relay.url, alice.identity.deviceSecretKey, DOMAIN);
    const path = '/v1/messages?limit=1';
    const otherPath = await sessionRequest(relay.url, session, DOMAIN, { method: 'GET', path }, { macOver: { method: 'GET', path: '/v1/messages?limit=2' } });
    expect([otherPath.status, errorCode(otherPath)]).toEqual([401, 'bad_mac']);
    const body = JSON.stringify({ to: [alice.identity.address], armoredMessage: await encryptTo('changed body', [alice.identity]) });
    const otherBody = await sessionRequest(relay.url, session, DOMAIN, { method: 'POST', path: '/v1/messages', body }, { macOver: { method: 'POST', path: '/v1/messages', body: body.replace('alice', 'alicf') } });
    expect([otherBody.status, errorCode(otherBody)]).toEqual([401, 'bad_mac']);
    expect((await alice.client.list()).messages).toEqual([]);
    // The same request with its own MAC goes through (the session itself is good).
    const good = await sessionRequest(relay.url, session, DOMAIN, { method: 'GET', path });
    expect(good.status).toBe(200);
  });

  it('signature_required: enrolment, revoking a device, a new certificate and opening a session refuse a session', async () => {
    const session = await openRawSession(relay.url, alice.identity.deviceSecretKey, DOMAIN);
    const attempts = [
      { method: 'POST', path: '/v1/session', body: JSON.stringify({ clientShare: 'A'.repeat(43) }) },
      { method: 'DELETE', path: '/v1/devices/stick-1' },
      { method: 'PUT', path: `/v1/certs/${alice.identity.address}`, body: JSON.stringify({ armoredCert: alice.identity.armoredCert }) },
      { method: 'POST', path: '/v1/enrolment', body: JSON.stringify({ address: alice.identity.address, armoredCert: alice.identity.armoredCert, proofSignature: 'x' }) },
    ];
    for (const request of attempts) {
      const answer = await sessionRequest(relay.url, session, DOMAIN, request);
      expect([request.path, answer.status, errorCode(answer)]).toEqual([request.path, 401, 'signature_required']);
    }
    expect((await alice.client.devices()).devices.map((device) => device.revokedAt)).toEqual([null]);
  });

  it('a session request that also carries Caliop-Device and Caliop-Signature is malformed', async () => {
    const session = await openRawSession(relay.url, alice.identity.deviceSecretKey, DOMAIN);
    const path = '/v1/messages';
    const headers = { ...signedHeaders(alice.identity.deviceSecretKey, DOMAIN, { method: 'GET', path }), ...sessionHeaders(session, DOMAIN, { method: 'GET', path }) };
    const answer = await rawRequest(relay.url, { method: 'GET', path, headers });
    expect([answer.status, errorCode(answer)]).toEqual([401, 'malformed_signature']);
  });

  it('a closed session is unknown at once; a replayed session request is refused', async () => {
    const session = await openRawSession(relay.url, alice.identity.deviceSecretKey, DOMAIN);
    const path = '/v1/messages';
    await expectReplayRefused(session, relay.url, relay.url);
    expect((await sessionRequest(relay.url, session, DOMAIN, { method: 'DELETE', path: '/v1/session' })).status).toBe(204);
    const after = await sessionRequest(relay.url, session, DOMAIN, { method: 'GET', path });
    expect([after.status, errorCode(after)]).toEqual([401, 'session_unknown']);
  });
});

describe.skipIf(!PROCESS_RUN)('a relay without sessions (--no-sessions)', () => {
  let relay: RelayProcess;
  let bob: { identity: TestIdentity; client: RelayClient };
  beforeAll(async () => {
    relay = await startRelayProcess({ extraArgs: ['--no-sessions'] });
    bob = await enrolled(relay, 'bob');
  });
  afterAll(async () => {
    bob?.client.close();
    await relay?.dispose();
  });

  it('announces none, answers POST /v1/session 404, and a client that wants sessions signs every request', async () => {
    expect((await bob.client.info()).sessions).toBeUndefined();
    const body = JSON.stringify({ clientShare: 'A'.repeat(43) });
    const open = await rawRequest(relay.url, { method: 'POST', path: '/v1/session', body, headers: { 'content-type': 'application/json', ...signedHeaders(bob.identity.deviceSecretKey, DOMAIN, { method: 'POST', path: '/v1/session', body }) } });
    expect([open.status, errorCode(open)]).toEqual([404, 'not_found']);
    const client = clientFor(relay, bob.identity, { sessions: true });
    try {
      await client.submit({ to: [bob.identity.address], armoredMessage: await encryptTo('signed', [bob.identity]) });
      const [message] = (await client.list()).messages;
      await client.delete(message!.id);
      expect(client.sessionId).toBeUndefined();
    } finally {
      client.close();
    }
  });
});

describe(`an expired session, the relay's clock injected (${TEST_STORE})`, () => {
  let server: Server;
  let url: string;
  let pin: string;
  let folder: string;
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let relayNow = Date.now();
  let carol: TestIdentity;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'caliop-sessions-'));
    const tls = ensureDevTls(folder, DOMAIN);
    pin = tls.pin;
    store = await openTestStore();
    const listener = createRelayListener({
      store,
      sessions: new RelaySessions(new Uint8Array(randomBytes(32)), DOMAIN),
      domain: DOMAIN,
      limits: { ...DEFAULT_LIMITS, rateBurst: 1000 },
      inviteTokenDigests: null,
      clock: () => new Date(relayNow),
      randomId: () => randomBytes(16).toString('base64url'),
      logRequest: () => {},
      logInternalError: () => {},
    }, undefined);
    server = createServer({ cert: tls.cert, key: tls.key }, listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    carol = await makeIdentity(`carol@${DOMAIN}`);
    relayNow = Date.now(); // after the certificate was made: not in the relay's future
    const client = new RelayClient({ url, pin, deviceSecretKey: carol.deviceSecretKey });
    await client.enrol({ address: carol.address, armoredCert: carol.armoredCert, proofSignature: await enrolmentProof(carol, DOMAIN) });
    client.close();
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await store?.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  it('session_expired: a session is refused from its expiresAt on, however it was used', async () => {
    relayNow = Date.now();
    const session = await openRawSession(url, carol.deviceSecretKey, DOMAIN, new Date(relayNow));
    expect(Date.parse(session.expiresAt)).toBe(Math.floor(relayNow / 1000) * 1000 + SESSION_LIFETIME_SECONDS * 1000);
    const path = '/v1/messages';
    relayNow += (SESSION_LIFETIME_SECONDS - 1) * 1000;
    expect((await sessionRequest(url, session, DOMAIN, { method: 'GET', path }, { now: new Date(relayNow) })).status).toBe(200);
    relayNow += 1000;
    const expired = await sessionRequest(url, session, DOMAIN, { method: 'GET', path }, { now: new Date(relayNow) });
    expect([expired.status, errorCode(expired)]).toEqual([401, 'session_expired']);
  });

  it('a client whose session expired at the relay opens a new one once and goes on', async () => {
    relayNow = Date.now();
    let clientNow = relayNow;
    const client = new RelayClient({ url, pin, deviceSecretKey: carol.deviceSecretKey, sessions: true, now: () => new Date(clientNow) });
    try {
      await client.list();
      const first = client.sessionId;
      expect(first).toBeDefined();
      // The relay's clock runs ahead: for the relay the session is over, for the client
      // (more than a fifth of the lifetime left) it is not, and the skew is inside the window.
      relayNow += (SESSION_LIFETIME_SECONDS + 1) * 1000;
      clientNow += (SESSION_LIFETIME_SECONDS - 200) * 1000;
      expect((await client.list()).messages).toEqual([]);
      expect(client.sessionId).toBeDefined();
      expect(client.sessionId).not.toBe(first);
    } finally {
      await client.endSession(); // the process holds sessions across clients: none left for the next test
      client.close();
    }
  });

  it('a session still refused after the one renewal is reported (relay_session_failed), not retried again', async () => {
    relayNow = Date.now();
    let clientNow = relayNow;
    const client = new RelayClient({ url, pin, deviceSecretKey: carol.deviceSecretKey, sessions: true, now: () => new Date(clientNow) });
    try {
      await client.list();
      relayNow += (SESSION_LIFETIME_SECONDS + 1) * 1000;
      clientNow += (SESSION_LIFETIME_SECONDS - 200) * 1000;
      let opened = 0;
      const original = store.openSession.bind(store);
      // The next session the relay opens is closed as soon as it is stored (as by a ninth opening elsewhere).
      store.openSession = async (record, max) => {
        opened += 1;
        await original(record, max);
        await store.closeSession(record.id, record.devicePublicKey, record.openedAt);
      };
      try {
        const error = await failure(client.list());
        expect(isCaliopError(error, 'relay_session_failed'), String(error)).toBe(true);
        expect(relayCode(error)).toBe('session_unknown');
        expect(opened).toBe(1);
      } finally {
        store.openSession = original;
      }
    } finally {
      await client.endSession();
      client.close();
    }
  });
  it('a relay that cannot record a session (disk full: 507) is used without one: the client signs every request', async () => {
    relayNow = Date.now();
    const client = new RelayClient({ url, pin, deviceSecretKey: carol.deviceSecretKey, sessions: true, now: () => new Date(relayNow) });
    const original = store.openSession.bind(store);
    let tried = 0;
    store.openSession = async () => {
      tried += 1;
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    try {
      // docs/api.md §4.6.4: the opening's 507 is not the sync's failure.
      expect((await client.list()).messages).toEqual([]);
      expect((await client.list()).messages).toEqual([]);
      expect(client.sessionId).toBeUndefined();
      expect(tried).toBe(1);
    } finally {
      store.openSession = original;
      client.close();
    }
  });
});

describe.skipIf(POSTGRES_URL === undefined || !PROCESS_RUN)('sessions across two relay processes on one PostgreSQL', () => {
  const database = `caliop_test_sessions_${process.pid}`;
  const relays: RelayProcess[] = [];
  let a: RelayProcess;
  let b: RelayProcess;
  let secretFolder: string;
  let dave: { identity: TestIdentity; client: RelayClient };

  beforeAll(async () => {
    const storeUrl = await ensureDatabase(database);
    secretFolder = mkdtempSync(join(tmpdir(), 'caliop-session-secret-'));
    const secretFile = join(secretFolder, 'session.key');
    writeFileSync(secretFile, randomBytes(32), { mode: 0o600 });
    // docs/gateway.md §4.6: one DKIM key for every process of the store, as one session secret.
    const dkimArgs = sharedDkimArgs(secretFolder);
    const start = () => startRelayProcess({ store: 'sqlite', extraArgs: ['--store', storeUrl, '--session-secret', secretFile, '--rate-burst', '1000', ...dkimArgs] });
    [a, b] = await Promise.all([start(), start()]);
    relays.push(a, b);
    dave = await enrolled(a, 'dave');
  });
  afterAll(async () => {
    dave?.client.close();
    for (const started of relays) await started.dispose();
    rmSync(secretFolder, { recursive: true, force: true });
    await dropDatabase(database);
  });

  it('replayed_nonce_across_processes: a session opened at one process works at the other, and a request replayed there is refused', async () => {
    const session = await openRawSession(a.url, dave.identity.deviceSecretKey, DOMAIN);
    const path = '/v1/messages';
    await expectReplayRefused(session, b.url, a.url);
    // A nonce used signed is used for the session too (one device, one nonce space).
    const signed = signedHeaders(dave.identity.deviceSecretKey, DOMAIN, { method: 'GET', path }, { nonce: 'shared-nonce-space-0001' });
    expect((await rawRequest(a.url, { method: 'GET', path, headers: signed })).status).toBe(200);
    const sameNonce = await sessionRequest(b.url, session, DOMAIN, { method: 'GET', path }, { nonce: 'shared-nonce-space-0001' });
    expect([sameNonce.status, errorCode(sameNonce)]).toEqual([401, 'replayed_nonce']);
  });

  it("revoked_device_session: revoking a device at one process ends its session at the other at the commit", async () => {
    const deviceSecretKey = ed25519.utils.randomSecretKey();
    const spare = { ...dave.identity, deviceSecretKey, devicePublicKey: ed25519.getPublicKey(deviceSecretKey) };
    const atA = clientFor(a, spare);
    try {
      await atA.enrol({ address: spare.address, armoredCert: spare.armoredCert, proofSignature: await enrolmentProof(spare, DOMAIN), deviceName: 'spare' });
    } finally {
      atA.close();
    }
    const session = await openRawSession(a.url, deviceSecretKey, DOMAIN);
    const path = '/v1/messages';
    // B has derived and cached the session's key.
    expect((await sessionRequest(b.url, session, DOMAIN, { method: 'GET', path })).status).toBe(200);
    await dave.client.revokeDevice('spare'); // at A
    for (const relay of [b, a]) {
      const after = await sessionRequest(relay.url, session, DOMAIN, { method: 'GET', path });
      expect([after.status, errorCode(after)]).toEqual([401, 'device_revoked']);
    }
  });

  it('a ninth session of a device ends its oldest, at every process', async () => {
    const sessions = [];
    for (let i = 0; i < 9; i++) sessions.push(await openRawSession(i % 2 === 0 ? a.url : b.url, dave.identity.deviceSecretKey, DOMAIN));
    const path = '/v1/messages';
    const oldest = await sessionRequest(b.url, sessions[0]!, DOMAIN, { method: 'GET', path });
    expect([oldest.status, errorCode(oldest)]).toEqual([401, 'session_unknown']);
    for (const session of sessions.slice(1)) expect((await sessionRequest(a.url, session, DOMAIN, { method: 'GET', path })).status).toBe(200);
  });
});
