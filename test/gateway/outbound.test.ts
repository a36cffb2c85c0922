// docs/gateway.md §4, §6: POST /v1/outbound through the real relay to a real SMTP
// sink (smtp-server in this process, loopback), with a message built by
// src/core/outgoing-mime.ts and opened by real gpg.

import { ensureDevTls } from '../../src/relay/dev-tls.js';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessReceived } from '../../src/core/exposure.js';
import { findArrivedCiphertext } from '../../src/relay/gateway/inbound-mime.js';
import { buildAutocryptHeader, buildInnerMimeEntity, buildPgpMimeMessage, buildPlainMessage } from '../../src/core/outgoing-mime.js';
import { RelayErrorResponse, type RelayClient } from '../../src/edges/relay-client.js';
import type { OutboundAnswer } from '../../src/api/outbound.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { enrolled, type TestIdentity } from '../relay/helpers/test-identity.js';
import { makeGpg } from '../helpers/gpg.js';
import { startSink, type Sink } from '../helpers/smtp.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';

/** The answer for a message the smarthost took (not one left queued): its facts and the smarthost's reply. */
function delivered(answer: OutboundAnswer): Extract<OutboundAnswer, { smarthostResponse: string }> {
  expect(answer).toHaveProperty('smarthostResponse');
  return answer as Extract<OutboundAnswer, { smarthostResponse: string }>;
}

let scratch: TemporaryFolder;
let gpg: ReturnType<typeof makeGpg>;
let tlsSink: Sink;
let plainSink: Sink;
let relay: RelayProcess;
let plainRelay: RelayProcess;
let alice: { identity: TestIdentity; client: RelayClient };
let aliceOnPlainRelay: { identity: TestIdentity; client: RelayClient };
let carolCert: openpgp.Key;

beforeAll(async () => {
  scratch = temporaryFolder('gateway-out');
  const sinkTls = ensureDevTls(scratch.path, 'smarthost.test');
  const caFile = join(scratch.path, 'dev-tls-cert.pem');
  tlsSink = await startSink(sinkTls);
  plainSink = await startSink(null);
  relay = await startRelayProcess({ extraArgs: ['--smarthost', `127.0.0.1:${tlsSink.port}`, '--smarthost-ca', caFile] });
  plainRelay = await startRelayProcess({ extraArgs: ['--smarthost', `127.0.0.1:${plainSink.port}`, '--smarthost-tls', 'none', '--outbound-encrypted-only'] });
  alice = await enrolled(relay, 'alice');
  aliceOnPlainRelay = await enrolled(plainRelay, 'alice');
  gpg = makeGpg(scratch.path, { trustAlways: true });
  gpg.run(['--quick-gen-key', 'carol@outside.test', 'default', 'default', 'never']);
  carolCert = await openpgp.readKey({ armoredKey: gpg.run(['--armor', '--export', 'carol@outside.test']).toString('utf8') });
}, 60_000);

afterAll(async () => {
  gpg?.kill();
  await relay?.dispose();
  await plainRelay?.dispose();
  await tlsSink?.close();
  await plainSink?.close();
  scratch?.remove();
});

const DATE = '2026-11-26T20:00:00.000Z';

async function pgpMimeFrom(identity: TestIdentity, messageId: string): Promise<{ raw: string; inner: string }> {
  const inner = buildInnerMimeEntity({ from: identity.address, to: ['carol@outside.test'], subject: 'Hello Carol', date: DATE, messageId, body: 'The plan is on.\n' });
  const armoredEncryptedPart = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: new TextEncoder().encode(inner) }),
    encryptionKeys: [carolCert, identity.privateKey.toPublic()],
    signingKeys: identity.privateKey,
    config: { aeadProtect: false },
  });
  const autocryptHeader = buildAutocryptHeader({ address: identity.address, keydata: identity.privateKey.toPublic().write(), preferEncrypt: 'mutual' });
  return { raw: buildPgpMimeMessage({ from: identity.address, to: ['carol@outside.test'], date: DATE, messageId, armoredEncryptedPart, autocryptHeader }), inner };
}

async function relayError(promise: Promise<unknown>): Promise<RelayErrorResponse> {
  try {
    await promise;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof RelayErrorResponse) return cause;
    throw error;
  }
  throw new Error('the relay accepted it');
}

describe('outbound through the smarthost', () => {
  it('PGP/MIME over STARTTLS: the sink gets what gpg decrypts, the facts say TLS', async () => {
    const { raw, inner } = await pgpMimeFrom(alice.identity, 'out-1@example.test');
    const receipt = delivered(await alice.client.submitOutbound({ envelopeTo: ['carol@outside.test'], rawMessage: raw, exposed: false }));
    expect(receipt.facts).toMatchObject({
      route: 'smtp-outbound',
      peer: { host: '127.0.0.1', ip: '127.0.0.1' },
      relayHeldPlaintext: false,
      sentEncrypted: true,
    });
    expect(receipt.facts.hops).toHaveLength(1);
    expect(receipt.facts.hops[0]).toMatchObject({ from: 'example.test', by: '127.0.0.1', verifiedByRelay: true });
    expect(receipt.facts.hops[0]?.tls?.version).toMatch(/^TLSv1\.[23]$/);
    expect(receipt.smarthostResponse).toContain('queued as TEST');

    const got = tlsSink.received.at(-1);
    expect(got?.secure).toBe(true);
    expect(got?.from).toBe('alice@example.test');
    expect(got?.to).toEqual(['carol@outside.test']);
    // The message as the stick made it, under the relay's DKIM signature (docs/gateway.md §4.6).
    expect(got?.raw).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;/);
    expect(got?.raw.replace(/^DKIM-Signature:.*\r\n(?:[ \t].*\r\n)*/, '').replace(/\r\n$/, '')).toBe(raw.replace(/\r\n$/, ''));
    const ciphertext = findArrivedCiphertext(got?.raw ?? '');
    expect(ciphertext?.kind).toBe('pgp-mime');
    gpg.run(['--import'], alice.identity.armoredCert);
    const decrypted = gpg.run(['--decrypt'], ciphertext?.armoredMessage ?? '').toString('utf8');
    expect(decrypted).toBe(inner);
    expect(decrypted).toContain('protected-headers="v1"');
    expect(decrypted).toContain('Subject: Hello Carol');
    expect(got?.raw).toContain('Subject: ...');
    expect(got?.raw).not.toContain('Hello Carol');

    const assessment = assessReceived({ stick: { encryptedToMe: true, signature: 'valid', senderKey: 'verified-in-person', headersProtected: true }, relay: receipt.facts });
    expect(assessment.level).toBe('pgp-external');
  });

  it('duplicate_outbound_retry: the same idempotency key is handed to the smarthost once (docs/api.md §8.10)', async () => {
    const { raw } = await pgpMimeFrom(alice.identity, 'out-once@example.test');
    const before = tlsSink.received.length;
    const request = { envelopeTo: ['carol@outside.test'], rawMessage: raw, exposed: false, idempotencyKey: 'outbound-key-0123456789' };
    const first = await alice.client.submitOutbound(request);
    const again = await alice.client.submitOutbound(request);
    expect(again).toEqual(first);
    expect(tlsSink.received.length).toBe(before + 1);
    const reused = await relayError(alice.client.submitOutbound({ ...request, envelopeTo: ['dave@outside.test'] }));
    expect([reused.status, reused.code]).toEqual([422, 'idempotency_key_reused']);
    expect(tlsSink.received.length).toBe(before + 1);
  });

  it('a readable message without exposed: true is refused, and the sink gets nothing', async () => {
    const before = tlsSink.received.length;
    const raw = buildPlainMessage({ from: 'alice@example.test', to: ['dave@outside.test'], subject: 'plain', date: DATE, messageId: 'out-2@example.test', body: 'readable\n', autocryptHeader: null });
    const refused = await relayError(alice.client.submitOutbound({ envelopeTo: ['dave@outside.test'], rawMessage: raw, exposed: false }));
    expect(refused.status).toBe(400);
    expect(refused.code).toBe('not_encrypted');
    expect(tlsSink.received.length).toBe(before);
  });

  it('refuses a From that is not the caller, and addresses of this relay', async () => {
    const raw = buildPlainMessage({ from: 'mallory@example.test', to: ['dave@outside.test'], subject: 'x', date: DATE, messageId: 'out-3@example.test', body: 'x\n', autocryptHeader: null });
    const spoofed = await relayError(alice.client.submitOutbound({ envelopeTo: ['dave@outside.test'], rawMessage: raw, exposed: true }));
    expect([spoofed.status, spoofed.code]).toEqual([403, 'sender_mismatch']);
    const { raw: encrypted } = await pgpMimeFrom(alice.identity, 'out-4@example.test');
    const inside = await relayError(alice.client.submitOutbound({ envelopeTo: ['bob@example.test'], rawMessage: encrypted, exposed: false }));
    expect([inside.status, inside.code]).toEqual([422, 'internal_recipients']);
  });

  it('refuses a second From, a Sender or Resent-From naming someone else, and "From :": the DKIM signature would carry them (RFC 5322 §3.6)', async () => {
    const before = tlsSink.received.length;
    const raw = buildPlainMessage({ from: 'alice@example.test', to: ['dave@outside.test'], subject: 'x', date: DATE, messageId: 'out-6@example.test', body: 'x\n', autocryptHeader: null });
    const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
    expect(text).toMatch(/^From: alice@example\.test\r?$/m);
    const withHeader = (extra: string) => text.replace(/^(From: alice@example\.test)(\r?)$/m, `$1$2\n${extra}$2`);
    for (const extra of ['From: bob@example.test', 'Sender: ceo@bank.test', 'Resent-From: bob@example.test', 'From : bob@example.test', 'Sender: alice@example.test\nSender: alice@example.test']) {
      const refused = await relayError(alice.client.submitOutbound({ envelopeTo: ['dave@outside.test'], rawMessage: withHeader(extra), exposed: true }));
      expect([refused.status, refused.code], extra).toEqual([403, 'sender_mismatch']);
    }
    // The account's own address as Sender is allowed.
    delivered(await alice.client.submitOutbound({ envelopeTo: ['dave@outside.test'], rawMessage: withHeader('Sender: Alice <alice@example.test>'), exposed: true }));
    expect(tlsSink.received.length).toBe(before + 1);
  });

  it('exposed: true is delivered readable, with an Autocrypt header gpg imports; the facts say TLS was used', async () => {
    const keydata = alice.identity.privateKey.toPublic().write();
    const autocryptHeader = buildAutocryptHeader({ address: 'alice@example.test', keydata, preferEncrypt: 'mutual' });
    const raw = buildPlainMessage({ from: 'alice@example.test', to: ['dave@outside.test'], subject: 'Café', date: DATE, messageId: 'out-5@example.test', body: 'readable on purpose\n', autocryptHeader });
    const receipt = delivered(await alice.client.submitOutbound({ envelopeTo: ['dave@outside.test'], rawMessage: raw, exposed: true }));
    expect(receipt.facts).toMatchObject({ relayHeldPlaintext: true, sentEncrypted: false });
    expect(receipt.facts.hops[0]?.tls?.version).toMatch(/^TLSv1\.[23]$/);
    const got = tlsSink.received.at(-1);
    expect(got?.raw).toContain('readable on purpose');
    expect(got?.raw).toContain('Subject: =?UTF-8?B?');
    const folded = /^Autocrypt: (.*(?:\r\n .*)*)/m.exec(got?.raw ?? '')?.[1] ?? '';
    const keydataBase64 = /keydata=([\s\S]*)$/.exec(folded)?.[1]?.replace(/\s+/g, '') ?? '';
    expect(Buffer.from(keydataBase64, 'base64')).toEqual(Buffer.from(keydata));
    const imported = temporaryFolder('autocrypt');
    const importer = makeGpg(imported.path, { trustAlways: true });
    try {
      importer.run(['--import'], Buffer.from(keydataBase64, 'base64'));
      expect(importer.run(['--list-keys', '--with-colons']).toString()).toContain('alice@example.test');
    } finally {
      importer.kill();
      imported.remove();
    }
    const assessment = assessReceived({ stick: { encryptedToMe: false, signature: 'absent', senderKey: 'verified-in-person', headersProtected: false }, relay: receipt.facts });
    expect(assessment.level).toBe('tls-only');
  });

  it('a smarthost without TLS (loopback, --smarthost-tls none): the facts say no TLS', async () => {
    const { raw } = await pgpMimeFrom(aliceOnPlainRelay.identity, 'out-6@example.test');
    const receipt = delivered(await aliceOnPlainRelay.client.submitOutbound({ envelopeTo: ['carol@outside.test'], rawMessage: raw, exposed: false }));
    expect(receipt.facts.hops[0]?.tls).toBeNull();
    expect(plainSink.received.at(-1)?.secure).toBe(false);
  });

  it('--outbound-encrypted-only refuses readable mail even with exposed: true', async () => {
    const before = plainSink.received.length;
    const raw = buildPlainMessage({ from: 'alice@example.test', to: ['dave@outside.test'], subject: 'x', date: DATE, messageId: 'out-7@example.test', body: 'x\n', autocryptHeader: null });
    const refused = await relayError(aliceOnPlainRelay.client.submitOutbound({ envelopeTo: ['dave@outside.test'], rawMessage: raw, exposed: true }));
    expect([refused.status, refused.code]).toEqual([403, 'exposed_refused']);
    expect(plainSink.received.length).toBe(before);
  });
});
