// docs/api.md §8.7.1, a message to the outside streamed to POST /v1/outbound: the
// envelope in the signed query, the body the RFC 5322 message, its SHA-256 in
// Content-Digest. Stored in chunks as it arrives, DKIM-signed from the stream (verified
// here by mailauth), handed to the transport as a stream; deferred, it waits in the
// queue in its chunks and is sent from them. A body cut off, one whose digest is not the
// declared one, one over the limit, a readable one sent as encrypted or a From: that is
// not the sender's leaves no chunk and nothing queued or delivered.
// Runs on SQLite and, with CALIOP_TEST_POSTGRES, PostgreSQL.

import { createHash, generateKeyPairSync } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { authenticate } from 'mailauth';
import * as openpgp from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { signRequest } from '../../src/api/request-signing.js';
import { buildPgpMimeMessage, buildPlainMessage } from '../../src/core/outgoing-mime.js';
import { createRelayApp } from '../../src/relay/app.js';
import { dkimKeyFrom } from '../../src/relay/gateway/dkim.js';
import { resolverFromRecords } from '../../src/relay/gateway/dns-records.js';
import { DEFAULT_RETRY, OutboundQueue } from '../../src/relay/gateway/outbound-queue.js';
import { DeliveryError, messageBody, type OutboundTransport } from '../../src/relay/gateway/outbound-transport.js';
import { DEFAULT_LIMITS, type RelayDeps } from '../../src/relay/relay-deps.js';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';
import { freshNonce, signedHeaders } from './helpers/raw-request.js';
import { makeIdentity, type TestIdentity } from './helpers/test-identity.js';
import { openTestStore, TEST_STORE } from './helpers/test-store.js';

const DOMAIN = 'example.test';
const NOW = new Date(Date.now() + 3_600_000);
const MAX = 4 * 1024 * 1024;
const dkim = dkimKeyFrom('sel', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

let ana: TestIdentity;
let pgpMime: Buffer;
beforeAll(async () => {
  ana = await makeIdentity(`ana@${DOMAIN}`);
  // An encrypted part over several 1 MiB chunks: 2 MB of data, about 2.7 MB armored.
  const data = Uint8Array.from({ length: 2_000_000 }, (_, i) => (i * 7919 + (i >> 9)) % 251);
  const armoredEncryptedPart = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data }), encryptionKeys: ana.privateKey.toPublic() })) as string;
  pgpMime = Buffer.from(buildPgpMimeMessage({ from: `Ana <${ana.address}>`, to: ['carol@outside.test'], date: NOW.toISOString(), messageId: 'm1@example.test', autocryptHeader: null, armoredEncryptedPart }), 'utf8');
});

let store: RelayStore & { dispose?: () => Promise<void> };
let app: ReturnType<typeof createRelayApp>;
let folder: string | undefined;
let deliveries: Buffer[];
let mode: 'deliver' | 'defer' | 'refuse';
let transport: OutboundTransport;
let counter: number;
/** 'start' and 'done' of each discardCiphertextChunks (id); `discardGate` holds a discard between them. */
let discardEvents: EventEmitter;
let discardGate: Promise<void> | null;

async function readAll(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const pieces: Buffer[] = [];
  for await (const piece of body) pieces.push(piece as Buffer);
  return Buffer.concat(pieces);
}

beforeEach(async () => {
  if (TEST_STORE === 'sqlite') {
    folder = mkdtempSync(join(tmpdir(), 'caliop-streamed-out-'));
    store = SqliteRelayStore.open(join(folder, 'relay.sqlite'));
  } else {
    store = await openTestStore();
  }
  discardEvents = new EventEmitter();
  discardGate = null;
  const discard = store.discardCiphertextChunks.bind(store);
  store.discardCiphertextChunks = async (id, before) => {
    discardEvents.emit('start', id);
    if (discardGate !== null) await discardGate;
    await discard(id, before);
    discardEvents.emit('done', id);
  };
  deliveries = [];
  mode = 'deliver';
  counter = 0;
  transport = {
    kind: 'smarthost',
    split: (recipients) => [[...recipients]],
    async deliver(envelope, message) {
      const bytes = await readAll(messageBody(message));
      if (mode === 'defer') throw new DeliveryError('unreachable', 'try later', '451 4.3.2 try later');
      if (mode === 'refuse') throw new DeliveryError('refused', 'no', '550 5.1.1 no');
      deliveries.push(bytes);
      return { recipients: [...envelope.to], peerHost: 'sink.test', peerIp: '127.0.0.1', tls: null, tlsPolicy: 'absent', requireTls: false, response: '250 ok' };
    },
    policyOf: async (domain) => ({ domain, policy: 'none', tlsGuaranteed: false, via: 'smarthost' }),
  };
  const deps: RelayDeps = {
    store,
    domain: DOMAIN,
    limits: { ...DEFAULT_LIMITS, maxMessageBytes: MAX },
    inviteTokenDigests: null,
    clock: () => NOW,
    randomId: () => `id${String(++counter).padStart(20, '0')}`,
    logRequest: () => {},
    logInternalError: () => {},
  };
  app = createRelayApp(deps, { transport, encryptedOnly: false, hostname: DOMAIN, log: () => {}, dkim, queue: { retry: DEFAULT_RETRY, wake: () => {} } });
  const statement = buildEnrolmentStatement({ address: ana.address, devicePublicKey: ana.devicePublicKey, domain: DOMAIN });
  const proofSignature = await openpgp.sign({ message: await openpgp.createMessage({ text: statement }), signingKeys: ana.privateKey, detached: true });
  const body = JSON.stringify({ address: ana.address, armoredCert: ana.armoredCert, proofSignature });
  const response = await app.request('/v1/enrolment', { method: 'POST', body, headers: signedHeaders(ana.deviceSecretKey, DOMAIN, { method: 'POST', path: '/v1/enrolment', body }, { now: NOW }) });
  expect(response.status).toBe(201);
});
afterEach(async () => {
  if (store.dispose) await store.dispose();
  else await store.close();
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  folder = undefined;
});

/** Whether any chunk is stored under `id` (both stores: the chunk reader throws on a missing one). */
async function hasChunks(id: string): Promise<boolean> {
  try {
    for await (const _chunk of store.uploadChunks(id, 1)) return true;
  } catch {
    return false;
  }
  return false;
}

/** The body as a stream of 64 KiB pieces, no Content-Length; `cutAfter`: the stream fails after that many bytes. */
function streamOf(bytes: Uint8Array, cutAfter?: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (cutAfter !== undefined && at >= cutAfter) return controller.error(new Error('connection cut'));
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + 65_536));
      at += 65_536;
    },
  });
}

function streamed(query: string, body: Uint8Array, options: { digestOf?: Uint8Array; cutAfter?: number } = {}) {
  const path = `/v1/outbound?${query}`;
  const sha256 = createHash('sha256').update(options.digestOf ?? body).digest();
  const headers = {
    ...signRequest({ method: 'POST', pathWithQuery: path, body: { sha256 }, domain: DOMAIN }, ana.deviceSecretKey, NOW, freshNonce()),
    'content-type': 'message/rfc822',
    'content-digest': `sha-256=:${sha256.toString('base64')}:`,
  };
  return app.request(path, { method: 'POST', body: streamOf(body, options.cutAfter), headers, duplex: 'half' } as RequestInit);
}

async function dkimResult(message: Buffer): Promise<string[][]> {
  const result = await authenticate(message, {
    ip: '127.0.0.1',
    helo: 'relay.test',
    sender: ana.address,
    mta: 'mx.outside.test',
    resolver: resolverFromRecords({ [`sel._domainkey.${DOMAIN}`]: { TXT: [[dkim.txtRecord]] } }),
    disableArc: true,
    disableBimi: true,
  });
  return (result.dkim.results ?? []).map((row) => [row.signingDomain as string, row.status.result as string]);
}

const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;
/** The first id the route draws is the upload's. */
const UPLOAD = `id${String(1).padStart(20, '0')}`;

describe('streamed outbound (docs/api.md §8.7.1)', () => {
  it('PGP/MIME over several chunks: delivered byte for byte after its DKIM-Signature, which verifies; no chunk left', async () => {
    const discarded = once(discardEvents, 'done');
    const response = await streamed('to=carol%40outside.test&exposed=false', pgpMime);
    expect(response.status).toBe(200);
    expect(deliveries).toHaveLength(1);
    const sent = deliveries[0]!;
    expect(sent.subarray(0, 16).toString()).toBe('DKIM-Signature: ');
    expect(sent.subarray(sent.length - pgpMime.length).equals(pgpMime)).toBe(true);
    expect(await dkimResult(sent)).toEqual([[DOMAIN, 'pass']]);
    expect(await discarded).toEqual([UPLOAD]);
    expect(await hasChunks(UPLOAD)).toBe(false);
  });

  it('delivered: answered before the chunks are erased (issue 9/13, off the answer\'s path), then erased', async () => {
    let open = () => {};
    discardGate = new Promise<void>((resolve) => (open = resolve));
    try {
      const erasing = once(discardEvents, 'start').then(() => 'erasing');
      const discarded = once(discardEvents, 'done');
      const answer = Promise.resolve(streamed('to=carol%40outside.test&exposed=false', pgpMime));
      expect(await Promise.race([answer.then(() => 'answered'), erasing])).toBe('answered');
      expect((await answer).status).toBe(200);
      expect(deliveries).toHaveLength(1);
      expect(await erasing).toBe('erasing');
      expect(await hasChunks(UPLOAD)).toBe(true);
      open();
      expect(await discarded).toEqual([UPLOAD]);
      expect(await hasChunks(UPLOAD)).toBe(false);
    } finally {
      open();
    }
  });

  it('deferred: queued in its chunks (durable before the 202), sent from them by the queue, the chunks then gone', async () => {
    mode = 'defer';
    const response = await streamed('to=carol%40outside.test&exposed=false', pgpMime);
    expect(response.status).toBe(202);
    const [queued] = await store.queuedOutboundOf(ana.address);
    expect(queued).toMatchObject({ id: UPLOAD, chunks: 3 });
    expect(Buffer.from(queued!.message).subarray(0, 16).toString()).toBe('DKIM-Signature: ');
    expect(await hasChunks(UPLOAD)).toBe(true);
    mode = 'deliver';
    const queue = new OutboundQueue({ store, transport, domain: DOMAIN, hostname: DOMAIN, retry: { ...DEFAULT_RETRY, firstDelayMs: 0 }, clock: () => new Date(NOW.getTime() + 120_000), randomId: () => 'bounce', log: () => {}, smarthostHost: 'sink.test' });
    queue.wake();
    await queue.stop();
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.subarray(deliveries[0]!.length - pgpMime.length).equals(pgpMime)).toBe(true);
    expect(await dkimResult(deliveries[0]!)).toEqual([[DOMAIN, 'pass']]);
    expect(await store.queuedOutboundOf(ana.address)).toEqual([]);
    expect(await hasChunks(UPLOAD)).toBe(false);
  });

  it('hostile: a cut upload, a mismatched digest, an oversized body leave no chunk, nothing queued or delivered', async () => {
    const cut = await Promise.resolve(streamed('to=carol%40outside.test&exposed=false', pgpMime, { cutAfter: 1_500_000 })).catch((error: unknown) => error);
    if (cut instanceof Response) expect(cut.status).toBeGreaterThanOrEqual(400);
    const other = Buffer.from(pgpMime);
    other[other.length - 200] = (other[other.length - 200] ?? 0) ^ 1;
    const mismatch = await streamed('to=carol%40outside.test&exposed=false', other, { digestOf: pgpMime });
    expect(mismatch.status).toBe(400);
    expect(await errorCode(mismatch)).toBe('digest_mismatch');
    const tooBig = Buffer.concat([pgpMime, Buffer.alloc(MAX, 0x41)]);
    const oversized = await streamed('to=carol%40outside.test&exposed=false', tooBig);
    expect(oversized.status).toBe(413);
    expect(await errorCode(oversized)).toBe('body_too_large');
    // Refused from Content-Length, before the body is read.
    const declared = await app.request('/v1/outbound?to=carol%40outside.test&exposed=false', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'message/rfc822', 'content-length': String(MAX + 1), 'content-digest': `sha-256=:${'A'.repeat(43)}=:` },
    });
    expect(declared.status).toBe(413);
    for (let n = 1; n <= counter; n++) expect(await hasChunks(`id${String(n).padStart(20, '0')}`)).toBe(false);
    expect(counter).toBeGreaterThanOrEqual(3);
    expect(deliveries).toEqual([]);
    expect(await store.queuedOutboundOf(ana.address)).toEqual([]);
  });

  it('the checks of §8.7 on the stream: readable as encrypted, encrypted as readable, another From:, refused; no chunk left', async () => {
    const readable = Buffer.from(buildPlainMessage({ from: ana.address, to: ['carol@outside.test'], date: NOW.toISOString(), messageId: 'm2@example.test', autocryptHeader: null, subject: 'Hi', body: 'x'.repeat(1_500_000) }));
    const notEncrypted = await streamed('to=carol%40outside.test&exposed=false', readable);
    expect(await errorCode(notEncrypted)).toBe('not_encrypted');
    const mismatch = await streamed('to=carol%40outside.test&exposed=true', pgpMime);
    expect(await errorCode(mismatch)).toBe('exposed_mismatch');
    const forged = Buffer.from(pgpMime.toString('latin1').replace(`From: Ana <${ana.address}>`, 'From: Bob <bob@example.test>'), 'latin1');
    const sender = await streamed('to=carol%40outside.test&exposed=false', forged);
    expect(sender.status).toBe(403);
    expect(await errorCode(sender)).toBe('sender_mismatch');
    const upload = `id${String(counter + 1).padStart(20, '0')}`; // the first id the route draws
    const discarded = new Promise((resolve) => discardEvents.on('done', (id) => id === upload && resolve(id)));
    const delivered = await streamed('to=carol%40outside.test&exposed=true', readable);
    expect(delivered.status).toBe(200);
    expect(deliveries).toHaveLength(1);
    await discarded; // erased after the answer (issue 9/13)
    for (let n = 1; n <= counter; n++) expect(await hasChunks(`id${String(n).padStart(20, '0')}`)).toBe(false);
  });

  it('refused for good: 502, no chunk; an unknown query parameter: 400', async () => {
    mode = 'refuse';
    const refused = await streamed('to=carol%40outside.test&exposed=false', pgpMime);
    expect(refused.status).toBe(502);
    expect(await hasChunks(UPLOAD)).toBe(false);
    const unknown = await streamed('to=carol%40outside.test&exposed=false&cc=x%40y.test', pgpMime);
    expect(unknown.status).toBe(400);
    expect(await store.queuedOutboundOf(ana.address)).toEqual([]);
  });
});
