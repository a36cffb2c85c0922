// docs/gateway.md §4.7: what the smarthost defers waits in the relay's store and is
// tried again (exponential backoff); refused for good, or still deferred at the
// give-up time, it comes back to the sender's mailbox as a bounce (RFC 3464) with its
// exposure. The real relay (SQLite, or PostgreSQL in the postgres project), a real
// SMTP sink over STARTTLS that answers per recipient, real gpg-readable PGP/MIME.

import { EventEmitter, once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as openpgp from 'openpgp';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrivalFactsSchema } from '../../src/api/facts.js';
import { assessReceived } from '../../src/core/exposure.js';
import { buildPgpMimeMessage } from '../../src/core/outgoing-mime.js';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { ensureDevTls } from '../../src/relay/dev-tls.js';
import { retryDelayMs, DEFAULT_RETRY } from '../../src/relay/gateway/outbound-queue.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { clientFor, enrolled, type TestIdentity } from '../relay/helpers/test-identity.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { nextMatchingLine } from '../helpers/events.js';

type Answer = 'accept' | 'defer' | 'refuse';

/** A real SMTP server over STARTTLS whose answer at RCPT depends on the recipient and the attempt. */
async function startScriptedSink(tls: { cert: string; key: string }, script: (recipient: string, attempt: number) => Answer) {
  const attempts = new Map<string, number>();
  const delivered: { to: string[]; raw: string; secure: boolean }[] = [];
  const events = new EventEmitter();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH'],
    cert: tls.cert,
    key: tls.key,
    logger: false,
    onRcptTo(address, _session, callback) {
      const recipient = address.address.toLowerCase();
      const attempt = (attempts.get(recipient) ?? 0) + 1;
      attempts.set(recipient, attempt);
      const answer = script(recipient, attempt);
      events.emit('attempt', recipient, answer);
      if (answer === 'defer') callback(Object.assign(new Error('4.3.2 Try again later'), { responseCode: 451 }));
      else if (answer === 'refuse') callback(Object.assign(new Error('5.1.1 <' + recipient + '>: Recipient address rejected: User unknown'), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        delivered.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address), raw: Buffer.concat(chunks).toString('utf8'), secure: session.secure });
        events.emit('delivered');
        callback(null, 'Ok: queued as TEST');
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as { port: number }).port;
  return { port, attempts, delivered, events, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let scratch: TemporaryFolder;
let sink: Awaited<ReturnType<typeof startScriptedSink>>;
let relay: RelayProcess;
let alice: { identity: TestIdentity; client: RelayClient };
let caFile: string;
/** 'held@' defers while this is true (the restart case). */
let holding = true;
const relayLines = new EventEmitter();

function script(recipient: string, attempt: number): Answer {
  if (recipient.startsWith('later@')) return attempt <= 2 ? 'defer' : 'accept';
  if (recipient.startsWith('gone@')) return attempt === 1 ? 'defer' : 'refuse';
  if (recipient.startsWith('never@')) return 'defer';
  if (recipient.startsWith('held@')) return holding ? 'defer' : 'accept';
  return 'accept';
}

async function startRelay(dataDir?: string): Promise<RelayProcess> {
  const started = await startRelayProcess({
    ...(dataDir === undefined ? {} : { dataDir }),
    extraArgs: ['--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-ca', caFile, '--smarthost-tls', 'starttls', '--outbound-retry-seconds', '1', '--outbound-give-up-seconds', '6'],
  });
  createInterface({ input: started.child.stderr! }).on('line', (line) => {
    try {
      const event = (JSON.parse(line) as { event?: string }).event;
      if (event !== undefined) relayLines.emit(event, line);
    } catch {
      // not a log line
    }
  });
  return started;
}

/** Resolves on the relay's log event whose line matches; generous, no fixed sleep. */
const logEvent = (event: string, match: (line: string) => boolean): Promise<string> => nextMatchingLine(relayLines, event, match);

function deliveryTo(recipient: string): Promise<{ raw: string; secure: boolean }> {
  return new Promise((resolve, reject) => {
    const find = () => sink.delivered.find((delivery) => delivery.to.includes(recipient));
    const timer = setTimeout(() => reject(new Error(`nothing delivered to ${recipient} in time`)), 90_000);
    const check = () => {
      const found = find();
      if (found === undefined) return;
      clearTimeout(timer);
      sink.events.off('delivered', check);
      resolve(found);
    };
    sink.events.on('delivered', check);
    check();
  });
}

async function pgpMime(to: string, messageId: string): Promise<string> {
  const armoredEncryptedPart = await openpgp.encrypt({
    message: await openpgp.createMessage({ text: 'Content-Type: text/plain\r\nSubject: inner secret subject\r\n\r\ninner secret body\r\n' }),
    encryptionKeys: [alice.identity.privateKey.toPublic()],
    config: { aeadProtect: false },
  });
  return buildPgpMimeMessage({ from: alice.identity.address, to: [to], date: '2026-11-30T18:00:00.000Z', messageId, armoredEncryptedPart, autocryptHeader: null });
}

beforeAll(async () => {
  scratch = temporaryFolder('outbound-queue');
  const tls = ensureDevTls(scratch.path, 'smarthost.test');
  caFile = join(scratch.path, 'dev-tls-cert.pem');
  sink = await startScriptedSink(tls, script);
  relay = await startRelay();
  alice = await enrolled(relay, 'alice');
}, 120_000);

afterAll(async () => {
  await relay?.dispose();
  await sink?.close();
  scratch?.remove();
});

describe('the outbound queue', () => {
  it('backs off exponentially, bounded, and gives up after the set time', () => {
    expect([1, 2, 3, 4, 7, 8, 40].map((n) => retryDelayMs(n, DEFAULT_RETRY) / 1000)).toEqual([60, 120, 240, 480, 3600, 3600, 3600]);
  });

  it('a message the smarthost defers twice is answered 202, kept, and delivered on the third attempt (no bounce)', async () => {
    const delivered = deliveryTo('later@outside.test');
    const reported = logEvent('outbound_sent', (line) => line.includes('"queued":true'));
    const receipt = await alice.client.submitOutbound({ envelopeTo: ['later@outside.test'], rawMessage: await pgpMime('later@outside.test', 'q1@example.test'), exposed: false });
    expect('queued' in receipt && receipt.queued.reason).toMatch(/^451 4\.3\.2 Try again later/);
    expect('queuedIds' in receipt && receipt.queuedIds).toEqual([receipt.id]);
    const got = await delivered;
    // docs/api.md §8.12: the later delivery's facts, for the sender's stick only.
    await reported;
    const status = await alice.client.outboundStatus(receipt.id);
    expect(status).toMatchObject({ id: receipt.id, state: 'delivered', facts: { route: 'smtp-outbound', sentEncrypted: true, relayHeldPlaintext: false, deliveries: [{ recipients: ['later@outside.test'], via: 'smarthost', tlsPolicy: 'opportunistic', tls: { version: expect.stringMatching(/^TLSv1\.[23]$/) } }] } });
    const bob = await enrolled(relay, 'bob-queue');
    expect(await bob.client.outboundStatus(receipt.id)).toBeNull();
    expect(got.secure).toBe(true);
    expect(sink.attempts.get('later@outside.test')).toBe(3);
    expect(got.raw).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;/);
    expect(got.raw).toContain('Message-ID: <q1@example.test>');
    expect((await alice.client.list()).messages).toEqual([]);
  });

  it('refused for good on a retry: a bounce (RFC 3464) sealed to the sender, with its exposure', async () => {
    const bounced = logEvent('outbound_bounced', (line) => line.includes('"refused":true'));
    const receipt = await alice.client.submitOutbound({ envelopeTo: ['gone@outside.test'], rawMessage: await pgpMime('gone@outside.test', 'q2@example.test'), exposed: false });
    expect('queued' in receipt).toBe(true);
    await bounced;
    expect(await alice.client.outboundStatus(receipt.id)).toMatchObject({ state: 'bounced', reason: expect.stringMatching(/^550 5\.1\.1 <gone@outside\.test>/) });
    const [summary] = (await alice.client.list()).messages;
    expect(summary?.from).toBe('mailer-daemon@example.test');
    const stored = await alice.client.fetch(summary?.id ?? '');
    const opened = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: stored.armoredMessage }), decryptionKeys: alice.identity.privateKey, format: 'binary' });
    const report = Buffer.from(opened.data as Uint8Array).toString('latin1');
    expect(report).toMatch(/^From: Mail Delivery System <mailer-daemon@example\.test>\r\n/);
    expect(report).toContain('Content-Type: multipart/report; report-type=delivery-status;');
    expect(report).toContain('Final-Recipient: rfc822; gone@outside.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <gone@outside.test>: Recipient address rejected: User unknown');
    // The original's header section, as it left (outer headers: the subject is protected inside).
    expect(report).toContain('Message-ID: <q2@example.test>');
    expect(report).toContain('Subject: ...');
    expect(report).not.toContain('inner secret');
    const facts = ArrivalFactsSchema.parse(stored.facts);
    expect(facts).toMatchObject({ route: 'smtp-inbound', relayHeldPlaintext: true, arrivedEncrypted: false, peer: { host: '127.0.0.1' } });
    const exposure = assessReceived({ stick: { encryptedToMe: false, signature: 'absent', senderKey: 'unknown', headersProtected: false }, relay: facts });
    expect(['tls-only', 'cleartext', 'exposed']).toContain(exposure.level);
    await alice.client.delete(summary?.id ?? '');
  });

  it('still deferred at the give-up time: bounced with 5.4.7 after the last attempt', async () => {
    const bounced = logEvent('outbound_bounced', (line) => line.includes('"refused":false'));
    await alice.client.submitOutbound({ envelopeTo: ['never@outside.test'], rawMessage: await pgpMime('never@outside.test', 'q3@example.test'), exposed: false });
    // 1 s, then 2 s, then 4 s would pass the 6 s give-up time: 3 attempts (2 when the machine is slow).
    const { attempts } = JSON.parse(await bounced) as { attempts: number };
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(3);
    const [summary] = (await alice.client.list()).messages;
    const stored = await alice.client.fetch(summary?.id ?? '');
    const opened = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: stored.armoredMessage }), decryptionKeys: alice.identity.privateKey, format: 'binary' });
    const report = Buffer.from(opened.data as Uint8Array).toString('latin1');
    expect(report).toContain('Final-Recipient: rfc822; never@outside.test\r\nAction: failed\r\nStatus: 5.4.7\r\n');
    expect(report).toContain(`tried ${attempts} times`);
    expect(sink.delivered.some((delivery) => delivery.to.includes('never@outside.test'))).toBe(false);
    await alice.client.delete(summary?.id ?? '');
  });

  it('the queue is durable: a relay killed with SIGKILL after its 202 delivers the message once restarted', async () => {
    // Killed right after a deferred retry, when no attempt holds a claim (a claim of a killed process lasts its lease).
    const retried = logEvent('outbound_deferred', () => true);
    await alice.client.submitOutbound({ envelopeTo: ['held@outside.test'], rawMessage: await pgpMime('held@outside.test', 'q4@example.test'), exposed: false });
    await retried;
    const exited = once(relay.child, 'exit');
    relay.child.kill('SIGKILL');
    await exited;
    holding = false;
    const delivered = deliveryTo('held@outside.test');
    const restarted = await startRelay(relay.dataDir);
    try {
      const got = await delivered;
      expect(got.raw).toContain('Message-ID: <q4@example.test>');
      expect(sink.delivered.filter((delivery) => delivery.to.includes('held@outside.test'))).toHaveLength(1);
      // The same account on the restarted process sees no bounce.
      expect((await clientFor(restarted, alice.identity).list()).messages).toEqual([]);
    } finally {
      await restarted.stop();
    }
  });
});
