// Issue 9, docs/message-payload.md §4.4-§4.5: the charsets and encodings real mailers produce,
// read on both receive paths (whole: postal-mime; streamed: src/core/mime-stream.ts, attachment
// names from their header sections) and by the relay for the outer headers (docs/gateway.md §3.8).
// Node 20.18.3+ decodes windows-1252 (also the decoder of iso-8859-1, latin1 and us-ascii)
// 0x80-0x9F as C1 controls (nodejs/node#60888): € – “ ” ’ must be shown as such.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHeaderFields, splitHeaderAndBody } from '../src/api/mime-fields.js';
import { readMailContent } from '../src/core/mail-content.js';
import { outerHeadersOf } from '../src/relay/gateway/inbound-mime.js';
import { MessageStore } from '../src/service/message-store.js';
import { encryptData } from '../src/service/pgp.js';
import { readBothPaths, type Reader } from './helpers/read-both-paths.js';
import { temporaryFolder } from './helpers/temp-folder.js';

const scratch = temporaryFolder('mail-charsets');
let reader: Reader;

beforeAll(async () => {
  const bob = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Bob', email: 'bob@caliop.test' }], format: 'object' });
  reader = { bobKey: bob.privateKey, store: await MessageStore.create(join(scratch.path, 'store'), randomBytes(32), randomBytes) };
}, 120_000);

afterAll(() => scratch.remove());

/** A message: header lines, then a body given as Latin-1 characters (one per byte) or bytes. */
function message(head: readonly string[], body: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([...head, '', ''].join('\r\n'), 'latin1'), typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

async function bothPaths(bytes: Buffer) {
  const armored = Buffer.from(await encryptData({ data: bytes, recipients: [reader.bobKey.toPublic()], armor: true })).toString();
  const { whole, streamed } = await readBothPaths(reader, armored, [], [], []);
  expect(streamed).toEqual(whole);
  return whole;
}

const SUBJECT = 'Subject: =?iso-8859-1?Q?caf=E9?= and =?windows-1252?Q?=80_=96_=93ok=94?= and =?utf-8?B?w58=?= and =?iso-2022-jp?B?GyRCRnxLXDhsGyhC?= and =?shift_jis?B?k/qWe4zq?=';

describe('charsets and encodings as mailers send them (docs/message-payload.md §4.4-§4.5)', { timeout: 180_000 }, () => {
  it('a subject of RFC 2047 encoded-words in five charsets, a quoted-printable windows-1252 text, RFC 2231 names in Latin-1 and windows-1252: € – “ ” decoded on both paths', async () => {
    const bytes = message(['From: =?windows-1252?Q?Ren=E9e_=80?= <renee@outside.test>', 'To: bob@caliop.test', SUBJECT, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=b'], [
      '--b', 'Content-Type: text/plain; charset=windows-1252', 'Content-Transfer-Encoding: quoted-printable', '', 'Prix : 20 =80 =96 =93d=E9j=E0 vu=94 =92s', '',
      '--b', 'Content-Type: application/pdf', "Content-Disposition: attachment; filename*=iso-8859-1''r%E9sum%E9.pdf", 'Content-Transfer-Encoding: base64', '', 'JVBERg==', '',
      '--b', 'Content-Type: application/pdf', "Content-Disposition: attachment; filename*=windows-1252''facture%20%80%20%96%20d%E9c.pdf", 'Content-Transfer-Encoding: base64', '', 'JVBERg==', '',
      '--b--', '',
    ].join('\r\n'));
    const read = await bothPaths(bytes);
    expect(read.subject).toBe('café and € – “ok” and ß and 日本語 and 日本語');
    expect(read.from).toBe('Renée € <renee@outside.test>');
    expect(read.body?.trimEnd()).toBe('Prix : 20 € – “déjà vu” ’s');
    expect(read.attachments.map((attachment) => attachment.name)).toEqual(['résumé.pdf', 'facture € – déc.pdf']);
  });

  it('the relay decodes the outer subject the same way (docs/gateway.md §3.8)', () => {
    const head = splitHeaderAndBody(message(['From: a@outside.test', 'Subject: =?windows-1252?Q?=80_=96?= =?iso-8859-1?Q?caf=E9?='], 'x').toString('latin1')).headerText;
    expect(outerHeadersOf(parseHeaderFields(head)).subject).toBe('€ –café');
  });

  it('a text part in an unknown charset is read as windows-1252 (postal-mime\'s fallback), € included', async () => {
    const read = await readMailContent(message(['From: a@outside.test', 'Subject: s', 'Content-Type: text/plain; charset=x-unknown-thing', 'Content-Transfer-Encoding: 8bit'], 'caf\xe9 \x80'));
    expect(read.body).toBe('café €\n');
  });

  // What we show where the sender's declaration is missing or wrong (§4.5-§4.6).
  it('no charset declared (or US-ASCII) but 8-bit bytes, a wrong charset, UTF-7: what is shown', async () => {
    const read = async (type: string, body: string | Buffer) => readMailContent(message(['From: a@outside.test', 'Subject: s', `Content-Type: ${type}`, 'Content-Transfer-Encoding: 8bit'], body));
    const shown = async (type: string, body: string | Buffer) => (await read(type, body)).body;
    expect(await read('text/plain', 'caf\xe9 Stra\xdfe \x80')).toMatchObject({ body: 'café Straße €\n', charsetGuess: 'windows-1252' }); // not UTF-8: windows-1252, a guess
    expect(await read('text/plain; charset=us-ascii', 'caf\xe9')).toMatchObject({ body: 'café\n', charsetGuess: 'windows-1252' });
    expect((await read('text/plain; charset=us-ascii', Buffer.from('café'))).charsetGuess).toBeUndefined(); // UTF-8: UTF-8, no guess
    expect(await shown('text/plain; charset=us-ascii', Buffer.from('café'))).toBe('café\n');
    expect(await shown('text/plain; charset=utf-8', 'caf\xe9')).toBe('caf\ufffd\n'); // declared: believed
    expect(await shown('text/plain; charset=iso-8859-1', Buffer.from('café'))).toBe('cafÃ©\n'); // UTF-8 declared Latin-1: as declared
    expect(await shown('text/plain; charset=utf-7', 'caf+AOk- +IKw-')).toBe('café €\n'); // RFC 2152 (src/core/utf7.ts)
  });

  it('a Subject in UTF-7 encoded-words (Q and B, adjacent words joined, beside a UTF-8 one) is decoded like a UTF-7 body', async () => {
    const subject = async (value: string) => (await readMailContent(message(['From: a@outside.test', `Subject: ${value}`, 'Content-Type: text/plain; charset=utf-8'], 'x'))).subject;
    expect(await subject('=?utf-7?Q?Hi_Mom_-+Jjo--!?=')).toBe('Hi Mom -\u263a-!');
    expect(await subject(`=?UTF-7?B?${Buffer.from('caf+AOk-').toString('base64')}?= =?utf-7?Q?_+IKw-?=`)).toBe('café €');
    expect(await subject('=?utf-7?Q?caf+AOk-?= and =?utf-8?Q?cr=C3=A8me?=')).toBe('café and crème');
  });
});
