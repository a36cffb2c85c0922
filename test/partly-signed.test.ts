// docs/message-payload.md §6.8, docs/exposure.md §4.1: a clear-signed or inline-signed block
// with text around it. The signature covers the block only: anyone can write text before or
// after a real signature, so such a message is `partly-signed` (unsigned as a whole for the
// exposure rules, `signature-partial` saying why), and the signed text is marked in the body.
// Before, the whole body read as signed: "Signature: good". Real gpg output, both receive paths.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNED_TEXT_MARKS } from '../src/core/mail-content.js';
import type { Contact } from '../src/core/vault-contents.js';
import { MessageStore } from '../src/service/message-store.js';
import { encryptData } from '../src/service/pgp.js';
import { makeGpg, type Gpg } from './helpers/gpg.js';
import { readBothPaths, type Reader } from './helpers/read-both-paths.js';
import { temporaryFolder } from './helpers/temp-folder.js';

const scratch = temporaryFolder('partly-signed');
let gpg: Gpg;
let reader: Reader;
let cert: openpgp.PublicKey;
let contact: Contact;
let bobPublic: openpgp.PublicKey;

function mail(body: string | Buffer, subject: string): Buffer {
  const head = ['From: Sig Peer <peer@example.org>', 'To: bob@caliop.test', 'Date: Tue, 01 Dec 2026 10:00:00 +0000', 'MIME-Version: 1.0', `Subject: ${subject}`, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', ''];
  return Buffer.concat([Buffer.from(head.join('\r\n')), Buffer.from(body)]);
}

async function read(body: string | Buffer, subject: string) {
  const armored = Buffer.from(await encryptData({ data: mail(body, subject), recipients: [bobPublic], armor: true })).toString();
  const { whole, streamed } = await readBothPaths(reader, armored, [contact], [cert], [cert]);
  expect(streamed, subject).toEqual(whole);
  return whole;
}

const clearSigned = () => gpg.run(['--clearsign', '--local-user', 'peer@example.org'], 'The signed part.\nIts second line.\n').toString();
const inlineSigned = () => gpg.run(['--sign', '--armor', '--local-user', 'peer@example.org'], 'The signed part.\nIts second line.\n').toString();
const codes = (facts: { exposure: { reasons: ReadonlyArray<{ code: string }> } }) => facts.exposure.reasons.map((reason) => reason.code);

beforeAll(async () => {
  gpg = makeGpg(scratch.path, { trustAlways: true });
  gpg.run(['--quick-gen-key', 'Sig Peer <peer@example.org>', 'ed25519', 'sign', 'never']);
  cert = await openpgp.readKey({ armoredKey: gpg.run(['--armor', '--export', 'peer@example.org']).toString() });
  contact = { address: 'peer@example.org', fingerprint: cert.getFingerprint().toUpperCase(), armoredCert: cert.armor(), verification: 'unverified', source: 'imported', addedAt: new Date().toISOString() };
  const bob = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Bob', email: 'bob@caliop.test' }], format: 'object' });
  bobPublic = bob.publicKey;
  reader = { bobKey: bob.privateKey, store: await MessageStore.create(join(scratch.path, 'store'), randomBytes(32), randomBytes) };
}, 120_000);

afterAll(() => {
  gpg?.kill();
  scratch.remove();
});

describe('text around a signed block is not signed (docs/message-payload.md §6.8)', { timeout: 120_000 }, () => {
  it('a clear-signed block alone (blank lines around it): good, the text shown unmarked', async () => {
    const facts = await read(`\n${clearSigned()}\n\n`, 'alone');
    expect(facts.signature).toBe('good');
    expect(facts.body?.trim()).toBe('The signed part.\nIts second line.');
    expect(codes(facts)).toContain('signature-valid');
  });

  it('text before and after a clear-signed block: partly-signed, unsigned as a whole, the signed text marked', async () => {
    const facts = await read(`Some text before.\n${clearSigned()}Text after.\n`, 'around clear');
    const unsigned = await read('Some text before.\nThe signed part.\nText after.\n', 'unsigned');
    expect(facts.signature).toBe('partly-signed');
    expect(facts.body).toBe(`Some text before.\n${SIGNED_TEXT_MARKS.begins}\nThe signed part.\nIts second line.\n${SIGNED_TEXT_MARKS.ends}\nText after.\n`);
    expect(codes(facts)).toContain('signature-partial');
    expect(codes(facts)).not.toContain('signature-valid');
    expect(codes(facts)).not.toContain('signature-absent');
    // The exposure rules read it as unsigned: the same level and score as the same text unsigned.
    expect(unsigned.signature).toBe('unsigned');
    expect([facts.exposure.level, facts.exposure.score]).toEqual([unsigned.exposure.level, unsigned.exposure.score]);
  });

  it('text before an inline-signed block (gpg --sign -a), or after it only: partly-signed', async () => {
    for (const [subject, body] of [['before inline', `Some text before.\n\n${inlineSigned()}`], ['after inline', `${inlineSigned()}\nText after.\n`]] as const) {
      const facts = await read(body, subject);
      expect(facts.signature, subject).toBe('partly-signed');
      expect(facts.body, subject).toContain(`${SIGNED_TEXT_MARKS.begins}\nThe signed part.\nIts second line.\n${SIGNED_TEXT_MARKS.ends}`);
      expect(codes(facts), subject).toContain('signature-partial');
    }
  });

  it('two clear-signed blocks: the second is text the first does not cover: partly-signed', async () => {
    const facts = await read(`${clearSigned()}\n${clearSigned()}`, 'two blocks');
    expect(facts.signature).toBe('partly-signed');
  });

  it('a changed byte in a block with text around it is still bad (the alarm), never merely partly signed', async () => {
    const facts = await read(`Some text before.\n${clearSigned().replace('The signed part.', 'The signed pArt.')}`, 'changed');
    expect(facts.signature).toBe('bad');
  });
});
