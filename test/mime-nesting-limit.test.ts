// docs/limits.md §2.7, §1: a message whose multiparts nest deeper than postal-mime reads
// (a 2 KB message of 51 nested multipart/mixed made `inbox`, `inbox --json` and `read` exit 1
// with postal-mime's "Maximum MIME nesting depth of 50 levels exceeded", and the interface's
// inbox empty). Now it stays sealed as `nested-too-deep` on both receive paths, listed with its
// outer headers and its reason, deletable; the other messages list as before.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailboxPageEntry } from '../src/api/schemas.js';
import type { RelayClient } from '../src/edges/relay-client.js';
import { readMailContent } from '../src/core/mail-content.js';
import { checkMessageLimits } from '../src/core/mime-stream.js';
import { MESSAGE_LIMITS, overLimitText } from '../src/core/message-limits.js';
import type { StoredMessage } from '../src/core/vault-contents.js';
import { receiveStreamed } from '../src/service/mail-arrival-stream.js';
import { openArrival } from '../src/service/mail-open.js';
import { listInbox, readOne } from '../src/service/mailbox-view.js';
import { MessageStore } from '../src/service/message-store.js';
import type { StickSession } from '../src/service/stick-session.js';
import { temporaryFolder } from './helpers/temp-folder.js';
import { overLimitReason } from './helpers/over-limit.js';

const scratch = temporaryFolder('mime-nesting-limit');
let bob: { privateKey: openpgp.PrivateKey; publicKey: openpgp.PublicKey };
let store: MessageStore;

/** `levels` multipart/mixed entities, each the only part of the one above (the top is the first), a text part inside the last. */
function nested(levels: number, subject: string): Uint8Array {
  const head = `From: Mallory Deep <mallory@elsewhere.test>\r\nTo: bob@caliop.test\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n`;
  let open = '';
  let close = '';
  for (let level = 0; level < levels; level += 1) {
    const inner = level + 1 < levels ? `Content-Type: multipart/mixed; boundary="b${level + 1}"` : 'Content-Type: text/plain; charset=utf-8';
    open += `--b${level}\r\n${inner}\r\n\r\n`;
    close = `\r\n--b${level}--\r\n${close}`;
  }
  return Buffer.from(`${head}${open}the innermost text${close}`, 'latin1');
}

async function encrypted(mime: Uint8Array): Promise<string> {
  return (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: mime }), encryptionKeys: bob.publicKey })) as string;
}


function relayGiving(armored: string): RelayClient {
  const bytes = Buffer.from(armored);
  return {
    async fetchCiphertext<T>(_id: string, _size: number, consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>): Promise<T> {
      return consume((async function* () {
        yield bytes;
      })());
    },
  } as unknown as RelayClient;
}

function session(): StickSession {
  return {
    contents: { identity: { email: 'bob@caliop.test', fingerprint: bob.privateKey.getFingerprint().toUpperCase() }, contacts: [] },
    identity: async () => ({ privateKey: bob.privateKey, publicKey: bob.publicKey }),
    store,
  } as unknown as StickSession;
}

const max = MESSAGE_LIMITS.maxMimeDepth;

beforeAll(async () => {
  bob = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Bob', email: 'bob@caliop.test' }], format: 'object' });
  store = await MessageStore.create(join(scratch.path, 'store'), randomBytes(32), randomBytes);
}, 120_000);

afterAll(() => scratch.remove());

describe('multiparts nested past the depth the parser reads (docs/limits.md §2.7)', { timeout: 120_000 }, () => {
  it(`${max} levels are read; ${max + 1} and 200 stay sealed as nested-too-deep, on both receive paths`, async () => {
    const under = await readMailContent(nested(max, 'fifty'));
    expect(under.body.trim()).toBe('the innermost text');
    expect(await overLimitReason(checkMessageLimits(nested(max, 'fifty')))).toBe(null);
    for (const levels of [max + 1, 200]) {
      expect(await overLimitReason(readMailContent(nested(levels, 'deep'))), `whole, ${levels}`).toBe('nested-too-deep');
      expect(await overLimitReason(checkMessageLimits(nested(levels, 'deep'))), `streamed splitter, ${levels}`).toBe('nested-too-deep');
      const armored = await encrypted(nested(levels, 'deep'));
      // sync's whole path (src/service/mail-open.ts) and its streamed one (a large message).
      expect(await openArrival(bob.privateKey, armored), `arrival, ${levels}`).toEqual({ sealed: 'nested-too-deep' });
      const streamed = await receiveStreamed(store, relayGiving(armored), { id: `r-${levels}`, size: armored.length } as MailboxPageEntry, bob.privateKey, []);
      expect(streamed.sealed, `streamed arrival, ${levels}`).toBe('nested-too-deep');
    }
  });

  it('a message forwarded inside a message is bounded the same way (the parser\'s own limit, mapped)', async () => {
    const inner = Buffer.from(nested(max + 1, 'forwarded deep')).toString('latin1');
    const outer = Buffer.from(
      `From: a@example.org\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--o\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n${inner}\r\n--o--\r\n`,
      'latin1',
    );
    expect(await overLimitReason(readMailContent(outer))).toBe('nested-too-deep');
  });

  it('the inbox lists such a message with its outer headers and reason beside the others, and read says why (stored before this limit too)', async () => {
    const base = { direction: 'in' as const, to: ['bob@caliop.test'], storedAt: '2026-12-01T03:00:00.000Z', unread: true };
    const at = (minute: number) => `2026-12-01T03:0${minute}:00.000Z`;
    const stored = await store.put([
      { message: { ...base, id: '', relayId: 'r1', from: 'ana@caliop.test', subject: 'before', date: at(1), armoredMessage: await encrypted(Buffer.from('From: ana@caliop.test\r\nSubject: before\r\n\r\nhello before\r\n')) } as StoredMessage, blobs: [] },
      // As sync stores it now: sealed at arrival, its From and Subject the outer ones the relay kept.
      { message: { ...base, id: '', relayId: 'r2', from: 'Mallory Deep <mallory@elsewhere.test>', subject: 'deep 51', date: at(2), armoredMessage: await encrypted(nested(max + 1, 'deep 51')), sealed: { reason: 'nested-too-deep', at: at(2) } } as StoredMessage, blobs: [] },
      // As sync stored it before the limit was one: not sealed, found at each reading.
      { message: { ...base, id: '', relayId: 'r3', from: 'Mallory Deep <mallory@elsewhere.test>', subject: 'deep 200', date: at(3), armoredMessage: await encrypted(nested(200, 'deep 200')) } as StoredMessage, blobs: [] },
      { message: { ...base, id: '', relayId: 'r4', from: 'ana@caliop.test', subject: 'after', date: at(4), armoredMessage: await encrypted(Buffer.from('From: ana@caliop.test\r\nSubject: after\r\n\r\nhello after\r\n')) } as StoredMessage, blobs: [] },
    ]);
    const inbox = await listInbox(session());
    expect(inbox.map((entry) => [entry.subject, entry.from, entry.sealed?.reason ?? null])).toEqual([
      ['after', 'ana@caliop.test', null],
      ['deep 200', 'Mallory Deep <mallory@elsewhere.test>', 'nested-too-deep'],
      ['deep 51', 'Mallory Deep <mallory@elsewhere.test>', 'nested-too-deep'],
      ['before', 'ana@caliop.test', null],
    ]);
    expect(inbox[1]!.sealed!.text).toBe(overLimitText('nested-too-deep'));
    expect(overLimitText('nested-too-deep')).toBe(`its MIME parts are nested more than ${max} levels deep`);
    const ids = new Map(stored.map((message) => [message.subject, message.id]));
    for (const subject of ['deep 51', 'deep 200']) {
      const view = await readOne(session(), ids.get(subject)!);
      expect(view.sealed?.reason, subject).toBe('nested-too-deep');
      expect(view.body).toBe(null);
    }
    expect((await readOne(session(), ids.get('after')!)).body?.trim()).toBe('hello after');
  });
});
