// docs/exposure.md §4.1.1: a message whose (protected) inner From names a contact but which is
// unsigned, or which another account submitted, is never shown as coming from that contact.
// Before: PGP/MIME encrypted to Bob, unsigned, inner From Alice (Bob's contact), outer From
// Mallory: the inbox and `read` said "From: Alice Test <alice@caliop.test>" and JSON gave
// `senderKey: "unverified"` (Alice's key state). Now the sender the relay vouches for comes
// first, the claimed From is marked "not proven", `senderKey` is `unsigned`, the level capped.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contact, StoredMessage } from '../src/core/vault-contents.js';
import { fitSender, senderLine, UNPROVEN_MARK } from '../src/core/mailbox-fit.js';
import { listInbox, readOne } from '../src/service/mailbox-view.js';
import { MessageStore } from '../src/service/message-store.js';
import type { StickSession } from '../src/service/stick-session.js';
import { translator } from '../src/ui/i18n/index.js';
import { rowsOf } from '../src/ui/screens/ReadScreen.js';
import { temporaryFolder } from './helpers/temp-folder.js';

const scratch = temporaryFolder('from-unproven');
let bob: { privateKey: openpgp.PrivateKey; publicKey: openpgp.PublicKey };
let alice: { privateKey: openpgp.PrivateKey; publicKey: openpgp.PublicKey };
let store: MessageStore;
let contacts: Contact[];
const ids = new Map<string, string>();

const smtpFacts = (outerFrom: string) => ({
  route: 'smtp-inbound', receivedAt: '2026-12-01T10:00:00Z', peer: { host: 'mx.elsewhere.test', ip: '192.0.2.25' },
  hops: [{ from: 'mx.elsewhere.test', by: 'relay.caliop.test', tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, verifiedByRelay: true }],
  auth: { dkim: [{ domain: 'elsewhere.test', result: 'pass' }], spf: { domain: 'elsewhere.test', result: 'pass' }, dmarc: { domain: 'elsewhere.test', result: 'pass' } },
  relayHeldPlaintext: false, arrivedEncrypted: true,
  outerHeaders: { subject: '...', from: outerFrom, to: ['bob@caliop.test'], date: null, messageId: null },
});
const internalFacts = (submittedBy: string) => ({ route: 'internal', receivedAt: '2026-12-01T10:00:00Z', submittedBy, transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } });

async function sealed(inner: string, signed: boolean): Promise<string> {
  const message = await openpgp.createMessage({ binary: Buffer.from(inner) });
  return (await openpgp.encrypt({ message, encryptionKeys: bob.publicKey, ...(signed ? { signingKeys: alice.privateKey } : {}) })) as string;
}

function session(): StickSession {
  return {
    contents: { identity: { email: 'bob@caliop.test', fingerprint: bob.privateKey.getFingerprint().toUpperCase() }, contacts },
    identity: async () => ({ privateKey: bob.privateKey, publicKey: bob.publicKey }),
    store,
  } as unknown as StickSession;
}

const inner = (subject: string) => `Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\nFrom: Alice Test <alice@caliop.test>\r\nTo: bob@caliop.test\r\nSubject: ${subject}\r\n\r\nPlease pay the invoice.\r\n`;

beforeAll(async () => {
  bob = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Bob', email: 'bob@caliop.test' }], format: 'object' });
  alice = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Alice Test', email: 'alice@caliop.test' }], format: 'object' });
  contacts = [{ address: 'alice@caliop.test', fingerprint: alice.publicKey.getFingerprint().toUpperCase(), armoredCert: alice.publicKey.armor(), verification: 'unverified', source: 'imported', addedAt: '2026-12-01T00:00:00.000Z' }];
  store = await MessageStore.create(join(scratch.path, 'store'), randomBytes(32), randomBytes);
  const base = { id: '', direction: 'in' as const, from: 'Alice Test <alice@caliop.test>', to: ['bob@caliop.test'], date: '2026-12-01T10:00:00.000Z', storedAt: '2026-12-01T10:00:00.000Z', unread: true };
  const stored = await store.put([
    { message: { ...base, relayId: 'r1', subject: 'unsigned, outer Mallory', armoredMessage: await sealed(inner('unsigned, outer Mallory'), false), relayFacts: smtpFacts('Mallory <mallory@elsewhere.test>') } as StoredMessage, blobs: [] },
    { message: { ...base, relayId: 'r2', subject: 'internal, submitted by mallory', armoredMessage: await sealed(inner('internal, submitted by mallory'), false), relayFacts: internalFacts('mallory@caliop.test') } as StoredMessage, blobs: [] },
    { message: { ...base, relayId: 'r3', subject: 'signed by alice', armoredMessage: await sealed(inner('signed by alice'), true), relayFacts: smtpFacts('Alice Test <alice@caliop.test>') } as StoredMessage, blobs: [] },
  ]);
  for (const message of stored) ids.set(message.subject, message.id);
}, 120_000);

afterAll(() => scratch.remove());

describe('an unproven From naming a contact is never shown as that contact (docs/exposure.md §4.1.1)', { timeout: 120_000 }, () => {
  it('read (the view `read --json` prints): the outer sender first, the claim marked, senderKey unsigned, the level capped', async () => {
    const view = await readOne(session(), ids.get('unsigned, outer Mallory')!);
    expect(view.signature).toBe('unsigned');
    expect(view.from).toBe('Mallory <mallory@elsewhere.test> (not proven: Alice Test <alice@caliop.test>)');
    expect(view.fromUnproven).toEqual({ reason: 'contact-unproven', claimed: 'Alice Test <alice@caliop.test>', outer: 'Mallory <mallory@elsewhere.test>' });
    expect(view.senderKey).toBe('unsigned');
    expect(view.exposure.reasons.map((reason) => reason.code)).toContain('from-contact-unproven');
    expect(view.exposure.level).toBe('tls-only');
  });

  it('an internal message another account submitted: that account first, the claim marked', async () => {
    const view = await readOne(session(), ids.get('internal, submitted by mallory')!);
    expect(view.from).toBe('mallory@caliop.test (not proven: Alice Test <alice@caliop.test>)');
    expect(view.fromUnproven?.reason).toBe('not-submitter');
    expect(view.senderKey).toBe('unsigned');
    expect(view.exposure.level).toBe('alarm');
  });

  it('the inbox: the same fields; its column (CLI and interface) marks the sender and shows the outer one, never the contact alone', async () => {
    const inbox = await listInbox(session());
    const bySubject = new Map(inbox.map((entry) => [entry.subject, entry]));
    const mallory = bySubject.get('unsigned, outer Mallory')!;
    expect(mallory.from).toBe('Mallory <mallory@elsewhere.test> (not proven: Alice Test <alice@caliop.test>)');
    expect(mallory.senderKey).toBe('unsigned');
    expect(fitSender(mallory.from, mallory.fromUnproven, 28)).toBe(`${UNPROVEN_MARK} mallory@elsewhere.test`.padEnd(28));
    expect(fitSender(mallory.from, mallory.fromUnproven, 28).startsWith(`${UNPROVEN_MARK} `)).toBe(true);
    expect(fitSender(mallory.from, mallory.fromUnproven, 28)).toContain('mallory@elsewhere.test');
    expect(fitSender(mallory.from, mallory.fromUnproven, 28)).not.toContain('alice');
    // Signed by Alice's key: shown as Alice, unmarked, her key state.
    const signed = bySubject.get('signed by alice')!;
    expect([signed.signature, signed.from, signed.fromUnproven, signed.senderKey]).toEqual(['good', 'Alice Test <alice@caliop.test>', null, 'unverified']);
    expect(fitSender(signed.from, signed.fromUnproven, 28)).toBe('Alice T… <alice@caliop.test>'.padEnd(28));
    expect(fitSender(signed.from, signed.fromUnproven, 28).startsWith(UNPROVEN_MARK)).toBe(false);
  });

  it('the reading screen says "not proven" in its language, the outer sender first', async () => {
    const view = await readOne(session(), ids.get('unsigned, outer Mallory')!);
    const en = rowsOf(view, translator('en'), 'en').map((row) => row.text).join('\n');
    expect(en).toContain('Mallory <mallory@elsewhere.test> (not proven: Alice Test');
    const fr = rowsOf(view, translator('fr'), 'fr').map((row) => row.text).join(' ').replace(/\s+/g, ' ');
    expect(fr).toContain('Mallory <mallory@elsewhere.test> (non prouvé : Alice Test <alice@caliop.test>)');
    expect(senderLine('x@y.test', null)).toBe('x@y.test');
  });
});
