// docs/api.md §8.2.1, a ciphertext streamed to POST /v1/messages: the envelope in the
// signed query, the body the armored ciphertext, its SHA-256 in Content-Digest (what the
// signature covers). It is stored in chunks as it arrives; a body larger than the limit,
// one whose digest is not the declared one, or one that is not encrypted is refused and
// leaves nothing behind (no mailbox entry, no chunk). Idempotency (§8.10) holds.
// Runs on SQLite (chunk rows counted in the file) and, with CALIOP_TEST_POSTGRES, PostgreSQL.

import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { signRequest } from '../../src/api/request-signing.js';
import { createRelayApp, createRelayListener } from '../../src/relay/app.js';
import { DEFAULT_LIMITS, type RelayDeps } from '../../src/relay/relay-deps.js';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';
import { freshNonce, signedHeaders } from './helpers/raw-request.js';
import { makeIdentity, type TestIdentity } from './helpers/test-identity.js';
import { openTestStore, TEST_STORE } from './helpers/test-store.js';

const identities = new Map<string, TestIdentity>();
let big: string;
beforeAll(async () => {
  for (const localPart of ['ana', 'bob']) identities.set(localPart, await makeIdentity(`${localPart}@example.test`));
  // A ciphertext over two chunks (1 MiB each): 1.2 MB of data, about 1.6 MB armored.
  const data = Uint8Array.from({ length: 1_200_000 }, (_, i) => (i * 7919 + (i >> 9)) % 251);
  big = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data }), encryptionKeys: await openpgp.readKey({ armoredKey: identities.get('bob')!.armoredCert }) })) as string;
});
const NOW = new Date(Date.now() + 3_600_000);
const MAX = 2 * 1024 * 1024;
let store: RelayStore & { dispose?: () => Promise<void> };
let app: ReturnType<typeof createRelayApp>;
let deps: RelayDeps;
let folder: string | undefined;

beforeEach(async () => {
  if (TEST_STORE === 'sqlite') {
    folder = mkdtempSync(join(tmpdir(), 'caliop-streamed-'));
    store = SqliteRelayStore.open(join(folder, 'relay.sqlite'));
  } else {
    store = await openTestStore();
  }
  let counter = 0;
  deps = {
    store,
    domain: 'example.test',
    limits: { ...DEFAULT_LIMITS, maxMessageBytes: MAX },
    inviteTokenDigests: null,
    clock: () => NOW,
    randomId: () => `id${String(++counter).padStart(20, '0')}`,
    logRequest: () => {},
    logInternalError: () => {},
  };
  app = createRelayApp(deps);
});
afterEach(async () => {
  if (store.dispose) await store.dispose();
  else await store.close();
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  folder = undefined;
});

/** Chunk rows in the database (SQLite only: read beside the relay, WAL lets a reader in). */
function chunkRows(): number | undefined {
  if (folder === undefined) return undefined;
  const db = new Database(join(folder, 'relay.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) FROM message_chunks').pluck().get() as number);
  } finally {
    db.close();
  }
}

async function enrol(localPart: string): Promise<TestIdentity> {
  const identity = identities.get(localPart)!;
  const statement = buildEnrolmentStatement({ address: identity.address, devicePublicKey: identity.devicePublicKey, domain: 'example.test' });
  const proofSignature = await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: identity.privateKey, detached: true });
  const body = JSON.stringify({ address: identity.address, armoredCert: identity.armoredCert, proofSignature });
  const response = await app.request('/v1/enrolment', { method: 'POST', body, headers: signedHeaders(identity.deviceSecretKey, 'example.test', { method: 'POST', path: '/v1/enrolment', body }, { now: NOW }) });
  expect(response.status).toBe(201);
  return identity;
}

/** The body as a stream of 64 KiB pieces, no Content-Length (as a chunked upload). */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + 65_536));
      at += 65_536;
    },
  });
}

function streamed(sender: TestIdentity, query: string, body: Uint8Array, options: { digestOf?: Uint8Array; origin?: string } = {}) {
  const path = `/v1/messages?${query}`;
  const sha256 = createHash('sha256').update(options.digestOf ?? body).digest();
  const headers = {
    ...signRequest({ method: 'POST', pathWithQuery: path, body: { sha256 }, domain: 'example.test' }, sender.deviceSecretKey, NOW, freshNonce()),
    'content-type': 'application/octet-stream',
    'content-digest': `sha-256=:${sha256.toString('base64')}:`,
  };
  const init = { method: 'POST', body: streamOf(body), headers, duplex: 'half' } as RequestInit;
  return options.origin === undefined ? app.request(path, init) : fetch(`${options.origin}${path}`, init);
}

describe('streamed submission (docs/api.md §8.2.1)', () => {
  it('a ciphertext over several chunks arrives byte for byte, through both reading paths', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const response = await streamed(ana, `to=${bob.address}`, Buffer.from(big, 'latin1'));
    expect(response.status).toBe(201);
    const answer = (await response.json()) as { id: string; size: number; recipients: string[] };
    expect(answer).toMatchObject({ size: big.length, recipients: [bob.address] });
    const [entry] = await store.listMailbox(bob.address, 0, 10);
    expect((await store.mailboxEntry(bob.address, entry!.id))?.armoredMessage).toBe(big);
    const pieces: Uint8Array[] = [];
    for await (const piece of store.ciphertextChunks(answer.id)) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(Buffer.concat(pieces).toString('latin1')).toBe(big);
    // Deleting the last mailbox entry erases the chunks with the message.
    await store.deleteMailboxEntry(bob.address, entry!.id);
    expect(chunkRows() ?? 0).toBe(0);
  });

  it('streamed_body_over_limit: cut at the limit, 413, nothing stored', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const tooBig = Buffer.concat([Buffer.from(big, 'latin1'), Buffer.alloc(MAX, 0x41)]);
    const response = await streamed(ana, `to=${bob.address}`, tooBig);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('body_too_large');
    expect(await store.listMailbox(bob.address, 0, 10)).toEqual([]);
    expect(chunkRows() ?? 0).toBe(0);
  });

  it('a Content-Length over the limit is refused before the body is read', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const path = `/v1/messages?to=${bob.address}`;
    const response = await app.request(path, {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(MAX + 1), 'content-digest': `sha-256=:${'A'.repeat(43)}=:` },
    });
    expect(response.status).toBe(413);
    void ana;
  });

  it('streamed_digest_mismatch: a body other than the one signed is refused, nothing stored', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const body = Buffer.from(big, 'latin1');
    const other = Buffer.from(body);
    other[other.length - 100] = (other[other.length - 100] ?? 0) ^ 1;
    const response = await streamed(ana, `to=${bob.address}`, other, { digestOf: body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('digest_mismatch');
    expect(await store.listMailbox(bob.address, 0, 10)).toEqual([]);
    expect(chunkRows() ?? 0).toBe(0);
  });

  it('a body that is not an encrypted message is refused; an unknown query parameter too', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const signed = (await openpgp.sign({ message: await openpgp.createMessage({ text: 'readable' }), signingKeys: ana.privateKey })) as string;
    const response = await streamed(ana, `to=${bob.address}`, Buffer.from(signed));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_encrypted');
    expect(chunkRows() ?? 0).toBe(0);
    const unknown = await streamed(ana, `to=${bob.address}&cc=${ana.address}`, Buffer.from(big, 'latin1'));
    expect(unknown.status).toBe(400);
    expect(await store.listMailbox(bob.address, 0, 10)).toEqual([]);
  });

  it('idempotency: a streamed retry with the same key is answered again and stored once', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    const query = `to=${bob.address}&idempotencyKey=${'k'.repeat(22)}`;
    const first = await streamed(ana, query, Buffer.from(big, 'latin1'));
    expect(first.status).toBe(201);
    const again = await streamed(ana, query, Buffer.from(big, 'latin1'));
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect(await store.listMailbox(bob.address, 0, 10)).toHaveLength(1);
  });
});

describe('streamed submission through node:http, as the relay serves it', () => {
  let server: Server | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    server = undefined;
  });

  it('the body is read from node\'s request stream, no web stream made over it (issue 9); byte for byte; a mismatched digest leaves nothing', async () => {
    const [ana, bob] = [await enrol('ana'), await enrol('bob')];
    server = createServer(createRelayListener(deps, undefined));
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // @hono/node-server makes the web stream of a request's body with Readable.toWeb.
    const toWeb = vi.spyOn(Readable, 'toWeb');
    const response = await streamed(ana, `to=${bob.address}`, Buffer.from(big, 'latin1'), { origin });
    expect(response.status).toBe(201);
    const answer = (await response.json()) as { id: string; size: number };
    expect(answer.size).toBe(big.length);
    const pieces: Uint8Array[] = [];
    for await (const piece of store.ciphertextChunks(answer.id)) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(Buffer.concat(pieces).toString('latin1')).toBe(big);
    const body = Buffer.from(big, 'latin1');
    const other = Buffer.from(body);
    other[other.length >> 1]! ^= 1;
    const refused = await streamed(ana, `to=${bob.address}`, other, { digestOf: body, origin });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('digest_mismatch');
    expect(await store.listMailbox(bob.address, 0, 10)).toHaveLength(1);
    expect(chunkRows() ?? pieces.length).toBe(pieces.length);
    expect(toWeb).not.toHaveBeenCalled();
  });
});
