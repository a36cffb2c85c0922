// docs/gateway.md §5, §6: the real relay with --smtp-listen, real swaks, real gpg.
// Every case ends in RelayClient fetching the stored message and assessReceived
// judging the stored facts.

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrivalFactsSchema, type SmtpInboundArrivalFacts } from '../../src/api/facts.js';
import { assessReceived, type StickFacts } from '../../src/core/exposure.js';
import { findArrivedCiphertext } from '../../src/relay/gateway/inbound-mime.js';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { enrolled, type TestIdentity } from '../relay/helpers/test-identity.js';
import { makeGpg } from '../helpers/gpg.js';
import { deliverBySwaks } from '../helpers/smtp.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { makeDkimKey, rfc5322, signDkim, txt, writeJson } from './helpers.js';

const MAX_BYTES = 100_000;
const SEALED_PLAINTEXT: StickFacts = { encryptedToMe: false, signature: 'absent', senderKey: 'unknown', headersProtected: false };

let scratch: TemporaryFolder;
let relay: RelayProcess;
let smtpPort: number;
let bob: { identity: TestIdentity; client: RelayClient };
let carol: { identity: TestIdentity; client: RelayClient };
const dkimKey = makeDkimKey();
/** The key an outbound path of our own domain signs with (docs/gateway.md §3.9). */
const ownDkimKey = makeDkimKey();
let gpg: ReturnType<typeof makeGpg>;


beforeAll(async () => {
  scratch = temporaryFolder('gateway-in');
  const records = writeJson(join(scratch.path, 'dns.json'), {
    'sel._domainkey.signed.test': { TXT: txt(dkimKey.txtRecord) },
    'signed.test': { TXT: txt('v=spf1 ip4:127.0.0.1 -all') },
    '_dmarc.signed.test': { TXT: txt('v=DMARC1; p=reject') },
    // DKIM only: no SPF record, so DMARC rests on DKIM alone (docs/gateway.md §5).
    'sel._domainkey.tampered.test': { TXT: txt(dkimKey.txtRecord) },
    '_dmarc.tampered.test': { TXT: txt('v=DMARC1; p=reject') },
    'spffail.test': { TXT: txt('v=spf1 ip4:192.0.2.1 -all') },
    '_dmarc.spffail.test': { TXT: txt('v=DMARC1; p=reject') },
    // docs/gateway.md §3.9: the relay's own domain, as its operator publishes it (DKIM key and DMARC policy).
    'own._domainkey.example.test': { TXT: txt(ownDkimKey.txtRecord) },
    '_dmarc.example.test': { TXT: txt('v=DMARC1; p=reject') },
  });
  relay = await startRelayProcess({
    extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', records, '--smtp-max-message-bytes', String(MAX_BYTES), '--smtp-max-clients', '3'],
  });
  if (relay.smtp === undefined) throw new Error('the ready line has no smtp address');
  smtpPort = relay.smtp.port;
  bob = await enrolled(relay, 'bob');
  carol = await enrolled(relay, 'carol');
  gpg = makeGpg(scratch.path, { trustAlways: true });
}, 60_000);

afterAll(async () => {
  gpg?.kill();
  await relay?.dispose();
  scratch?.remove();
});

async function deliver(message: string, options: { from: string; helo: string; to?: string[]; tls: boolean }): Promise<string> {
  const result = await deliverBySwaks({ port: smtpPort, from: options.from, helo: options.helo, to: options.to ?? ['bob@example.test'], tls: options.tls, message, folder: scratch.path });
  return result.output;
}

async function latest(client: RelayClient): Promise<{ facts: SmtpInboundArrivalFacts; armoredMessage: string; from: string }> {
  const list = await client.list();
  const summary = list.messages.at(-1);
  if (summary === undefined) throw new Error('empty mailbox');
  const message = await client.fetch(summary.id);
  await client.delete(summary.id);
  const facts = ArrivalFactsSchema.parse(message.facts);
  if (facts.route !== 'smtp-inbound') throw new Error(`route ${facts.route}`);
  return { facts, armoredMessage: message.armoredMessage, from: message.from };
}

async function openSeal(armoredMessage: string, identity: TestIdentity): Promise<string> {
  const { data } = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage }), decryptionKeys: identity.privateKey, format: 'binary' });
  return Buffer.from(data).toString('latin1');
}

function dated(headers: Record<string, string>): Record<string, string> {
  return { Date: new Date().toUTCString().replace('GMT', '+0000'), 'Message-ID': `<${randomBytes(8).toString('hex')}@test>`, ...headers };
}

describe('inbound SMTP gateway', () => {
  it('STARTTLS, DKIM, SPF and DMARC pass: sealed to the recipient, tls-only', async () => {
    const marker = `plaintext-${randomBytes(8).toString('hex')}`;
    const message = await signDkim(
      rfc5322(
        dated({
          Received: 'from client.signed.test (client.signed.test [192.0.2.7]) by mail.signed.test (Postfix) with ESMTPS id 4Xyz; Thu, 26 Nov 2026 10:00:00 +0000',
          From: 'Alice <alice@signed.test>',
          To: 'bob@example.test',
          Subject: `subject ${marker}`,
        }),
        `Hello Bob,\n\nthe secret is ${marker}.\n`,
      ),
      dkimKey,
      'signed.test',
      'sel',
    );
    const output = await deliver(message, { from: 'alice@signed.test', helo: 'mail.signed.test', tls: true });
    expect(output).toMatch(/<~ {2}250 2\.0\.0 Ok: sealed and stored/);

    const { facts, armoredMessage, from } = await latest(bob.client);
    expect(from).toBe('alice@signed.test');
    expect(facts.peer).toEqual({ host: 'mail.signed.test', ip: '127.0.0.1' });
    expect(facts.auth).toEqual({
      dkim: [{ domain: 'signed.test', result: 'pass' }],
      spf: { domain: 'signed.test', result: 'pass' },
      dmarc: { domain: 'signed.test', result: 'pass' },
    });
    expect(facts.relayHeldPlaintext).toBe(true);
    expect(facts.arrivedEncrypted).toBe(false);
    expect(facts.hops).toHaveLength(2);
    expect(facts.hops[0]).toEqual({ from: 'client.signed.test', by: 'mail.signed.test', tls: { version: null, cipher: null }, verifiedByRelay: false });
    expect(facts.hops[1]).toMatchObject({ from: 'mail.signed.test [127.0.0.1]', by: 'example.test', verifiedByRelay: true });
    expect(facts.hops[1]?.tls?.version).toMatch(/^TLSv1\.[23]$/);
    expect(facts.hops[1]?.tls?.cipher).toMatch(/^TLS_/);

    // The stored message is the seal: only bob's key opens it, and inside is the message as received.
    expect(armoredMessage).not.toContain(marker);
    const inner = await openSeal(armoredMessage, bob.identity);
    expect(inner).toMatch(/^Received: from mail\.signed\.test \(\[127\.0\.0\.1\]\)\r\n\tby example\.test \(caliop-relay\) with ESMTPS/);
    expect(inner).toContain(`the secret is ${marker}.`);
    expect(inner).toContain('DKIM-Signature:');

    const assessment = assessReceived({ stick: SEALED_PLAINTEXT, relay: facts });
    expect(assessment.level).toBe('tls-only');
    const codes = assessment.reasons.map((reason) => reason.code);
    expect(codes).toEqual(expect.arrayContaining(['arrived-readable', 'relay-held-plaintext', 'payload-not-encrypted']));

    // docs/gateway.md §6: neither the body nor the subject rests in the database or its WAL.
    for (const file of ['relay.sqlite', 'relay.sqlite-wal']) {
      const path = join(relay.dataDir, file);
      if (!existsSync(path)) continue;
      expect(readFileSync(path).includes(Buffer.from(marker)), file).toBe(false);
    }
    expect(relay.stderrLines.join('\n')).not.toContain(marker);
  });

  it('no STARTTLS: cleartext, the relay hop without TLS', async () => {
    const message = rfc5322(
      dated({ 'Authentication-Results': 'example.test; dkim=pass header.d=bank.test', From: 'someone@plain.test', To: 'bob@example.test', Subject: 'hi' }),
      'plain\n',
    );
    const output = await deliver(message, { from: 'someone@plain.test', helo: 'mx.plain.test', tls: false });
    expect(output).toContain('250 2.0.0 Ok');
    const { facts, armoredMessage } = await latest(bob.client);
    // RFC 8601 §5: a forged result under our authserv-id is removed before sealing.
    const inner = await openSeal(armoredMessage, bob.identity);
    expect(inner).toContain('plain');
    expect(inner).not.toContain('header.d=bank.test');
    expect(facts.hops).toEqual([{ from: 'mx.plain.test [127.0.0.1]', by: 'example.test', tls: null, verifiedByRelay: true }]);
    expect(facts.auth).toEqual({ dkim: [], spf: { domain: 'plain.test', result: 'none' }, dmarc: { domain: 'plain.test', result: 'none' } });
    const assessment = assessReceived({ stick: SEALED_PLAINTEXT, relay: facts });
    expect(assessment.level).toBe('cleartext');
    expect(assessment.reasons.map((reason) => reason.code)).toContain('hop-no-tls');
  });

  it('DKIM body altered after signing, DMARC p=reject, no SPF: dkim fail, dmarc fail, alarm', async () => {
    const signed = await signDkim(rfc5322(dated({ From: 'ceo@tampered.test', To: 'bob@example.test', Subject: 'pay' }), 'Pay 100 EUR.\n'), dkimKey, 'tampered.test', 'sel');
    const tampered = signed.replace('Pay 100 EUR.', 'Pay 900 EUR.');
    await deliver(tampered, { from: 'ceo@tampered.test', helo: 'mx.tampered.test', tls: true });
    const { facts } = await latest(bob.client);
    expect(facts.auth).toEqual({
      dkim: [{ domain: 'tampered.test', result: 'fail' }],
      spf: { domain: 'tampered.test', result: 'none' },
      dmarc: { domain: 'tampered.test', result: 'fail' },
    });
    const assessment = assessReceived({ stick: SEALED_PLAINTEXT, relay: facts });
    expect(assessment.level).toBe('alarm');
  });

  it('SPF fail and DMARC fail from an address the domain does not allow: alarm', async () => {
    const message = rfc5322(dated({ From: 'boss@spffail.test', To: 'bob@example.test', Subject: 'x' }), 'x\n');
    await deliver(message, { from: 'boss@spffail.test', helo: 'mx.elsewhere.test', tls: false });
    const { facts } = await latest(bob.client);
    expect(facts.auth.spf).toEqual({ domain: 'spffail.test', result: 'fail' });
    expect(facts.auth.dmarc).toEqual({ domain: 'spffail.test', result: 'fail' });
    expect(assessReceived({ stick: SEALED_PLAINTEXT, relay: facts }).level).toBe('alarm');
  });

  it('our own domain from outside (docs/gateway.md §3.9): 550 unless DMARC passes for it; a DKIM-aligned copy is accepted', async () => {
    const own = (subject: string) => rfc5322(dated({ From: 'Alice <alice@example.test>', To: 'bob@example.test', Subject: subject }), `${subject}\n`);
    // Signed by our domain's key (d= aligned with From): DMARC pass, accepted and stored.
    const aligned = await signDkim(own('own domain, aligned'), ownDkimKey, 'example.test', 'own');
    expect(await deliver(aligned, { from: 'alice@example.test', helo: 'out.example.test', tls: false })).toMatch(/<[-~] +250 2\.0\.0 Ok/);
    const { facts, armoredMessage } = await latest(bob.client);
    expect(facts.auth.dkim).toEqual([{ domain: 'example.test', result: 'pass' }]);
    expect(facts.auth.dmarc).toEqual({ domain: 'example.test', result: 'pass' });
    expect(await openSeal(armoredMessage, bob.identity)).toContain('own domain, aligned');

    // The same claim without a signature, with another domain's valid signature (not aligned),
    // and with our key but the body changed after signing: DMARC does not pass, 550, nothing stored.
    const unsigned = own('own domain, unsigned');
    const otherDomain = await signDkim(own('own domain, signed by another'), dkimKey, 'signed.test', 'sel');
    const altered = (await signDkim(own('own domain, altered'), ownDkimKey, 'example.test', 'own')).replace(/altered\r\n$/, 'changed\r\n');
    for (const message of [unsigned, otherDomain, altered]) {
      const output = await deliver(message, { from: 'alice@example.test', helo: 'mx.evil.test', tls: false });
      expect(output).toMatch(/<\*\* +550 5\.7\.1 Mail from outside claiming to be from example\.test/);
    }
    expect((await bob.client.list()).messages).toEqual([]);
  });

  it('our own domain written as readers read it is refused too; a name that only looks like our address is delivered; two From fields are refused (audit, 2026-12-02)', async () => {
    const message = (from: string, subject: string, extra: Record<string, string> = {}) => rfc5322(dated({ From: from, ...extra, To: 'bob@example.test', Subject: subject }), `${subject}\n`);
    // Spaces around the @, a comment in the domain, a domain literal: still example.test to a reader.
    for (const from of ['alice @ example.test', 'Alice <alice@(x)example.test>', 'alice@[example.test]']) {
      const output = await deliver(message(from, 'disguised'), { from: 'alice@spffail.test', helo: 'mx.evil.test', tls: false });
      expect(output, from).toMatch(/<\*\* +550 5\.7\.1 Mail from outside claiming to be from example\.test/);
    }
    const twoFroms = rfc5322(dated({ From: 'mallory@elsewhere.test', To: 'bob@example.test', Subject: 'two' }), 'two\n').replace(/^(From: [^\r\n]*)(\r?\n)/m, '$1$2From: alice@example.test$2');
    expect(await deliver(twoFroms, { from: 'mallory@elsewhere.test', helo: 'mx.evil.test', tls: false })).toMatch(/<\*\* +550 5\.7\.1 A message has exactly one From field/);
    expect((await bob.client.list()).messages).toEqual([]);
    // A display name that looks like our address is a name: the address is elsewhere's, delivered.
    const lookalike = message('"alice@example.test" <boss@spffail.test>', 'look-alike name');
    expect(await deliver(lookalike, { from: 'boss@spffail.test', helo: 'mx.elsewhere.test', tls: false })).toMatch(/<[-~] +250 2\.0\.0 Ok/);
    const { facts } = await latest(bob.client);
    expect(facts.auth.dmarc.domain).toBe('spffail.test');
  });

  it('PGP/MIME made by real gpg: stored as is, pgp-external', async () => {
    gpg.run(['--quick-gen-key', 'alice@signed.test', 'default', 'default', 'never']);
    gpg.run(['--import'], bob.identity.armoredCert);
    const inner = 'Content-Type: text/plain; charset=utf-8\r\n\r\nSecret from gpg.\r\n';
    const armored = gpg.run(['--armor', '--encrypt', '--sign', '--local-user', 'alice@signed.test', '--recipient', 'bob@example.test'], inner).toString('utf8');
    const boundary = 'gpgmime-boundary-1';
    const message = rfc5322(
      dated({
        From: 'alice@signed.test',
        To: 'bob@example.test',
        Subject: '...',
        'MIME-Version': '1.0',
        'Content-Type': `multipart/encrypted; protocol="application/pgp-encrypted";\r\n boundary="${boundary}"`,
      }),
      `--${boundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--${boundary}\nContent-Type: application/octet-stream; name="encrypted.asc"\n\n${armored}\n--${boundary}--\n`,
    );
    await deliver(message, { from: 'alice@signed.test', helo: 'mail.signed.test', tls: true });
    const { facts, armoredMessage } = await latest(bob.client);
    expect(facts.arrivedEncrypted).toBe(true);
    expect(facts.relayHeldPlaintext).toBe(false);
    // Stored as is: the ciphertext gpg made, byte for byte.
    expect(armoredMessage).toBe(armored);

    const alicePublic = await openpgp.readKey({ armoredKey: gpg.run(['--armor', '--export', 'alice@signed.test']).toString('utf8') });
    const opened = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage }), decryptionKeys: bob.identity.privateKey, verificationKeys: alicePublic, format: 'binary' });
    expect(Buffer.from(opened.data).toString('utf8')).toBe(inner);
    await expect(opened.signatures[0]?.verified).resolves.toBe(true);
    const assessment = assessReceived({
      stick: { encryptedToMe: true, signature: 'valid', senderKey: 'tofu', headersProtected: false },
      relay: facts,
    });
    expect(assessment.level).toBe('pgp-external');
  });

  it('without --smarthost, POST /v1/outbound answers 503 outbound_disabled', async () => {
    const refused = await bob.client.submitOutbound({ envelopeTo: ['x@outside.test'], rawMessage: 'From: bob@example.test\r\n\r\nx\r\n', exposed: true }).catch((error: unknown) => error);
    expect((refused as { cause?: { status?: number; code?: string } }).cause).toMatchObject({ status: 503, code: 'outbound_disabled' });
  });

  it('one sealed copy per recipient: each opens only with its own key', async () => {
    const message = rfc5322(dated({ From: 'someone@plain.test', To: 'bob@example.test, carol@example.test', Subject: 'both' }), 'to both\n');
    await deliver(message, { from: 'someone@plain.test', helo: 'mx.plain.test', to: ['bob@example.test', 'carol@example.test'], tls: true });
    const toBob = await latest(bob.client);
    const toCarol = await latest(carol.client);
    expect(await openSeal(toBob.armoredMessage, bob.identity)).toContain('to both');
    expect(await openSeal(toCarol.armoredMessage, carol.identity)).toContain('to both');
    await expect(openSeal(toBob.armoredMessage, carol.identity)).rejects.toThrow();
  });

  it('refuses during the session: other domain (no open relay), unknown user, too large, too many connections', async () => {
    const message = rfc5322(dated({ From: 'x@plain.test', To: 'y@elsewhere.test', Subject: 'x' }), 'x\n');
    expect(await deliver(message, { from: 'x@plain.test', helo: 'mx.plain.test', to: ['y@elsewhere.test'], tls: false })).toContain('550 5.7.1');
    expect(await deliver(message, { from: 'x@plain.test', helo: 'mx.plain.test', to: ['nobody@example.test'], tls: false })).toContain('550 5.1.1');
    const big = rfc5322(dated({ From: 'x@plain.test', To: 'bob@example.test', Subject: 'big' }), `${'A'.repeat(76)}\n`.repeat(Math.ceil(MAX_BYTES / 77) + 10));
    expect(await deliver(big, { from: 'x@plain.test', helo: 'mx.plain.test', tls: false })).toContain('552 5.3.4');

    const held = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const socket = connect(smtpPort, '127.0.0.1');
            socket.once('data', () => resolve(socket));
          }),
      ),
    );
    try {
      const refused = await deliver(message, { from: 'x@plain.test', helo: 'mx.plain.test', tls: false });
      expect(refused).toContain('421');
    } finally {
      for (const socket of held) socket.destroy();
    }
    const list = await bob.client.list();
    expect(list.messages).toHaveLength(0);
  });
});
