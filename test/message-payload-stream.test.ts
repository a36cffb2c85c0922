// docs/message-payload.md §2.1: the streamed payload (caliop send --attach, issue 9) is the
// same bytes as formatPayload, whatever the files' sizes (around the 57-byte base64 line)
// and however the files' bytes arrive.

import { describe, expect, it } from 'vitest';
import { formatPayload, formatPayloadStream, type OutgoingAttachment } from '../src/core/message-payload.js';
import { buildPgpMimeMessage, buildPgpMimeMessageStream, buildPlainMessage, buildPlainMessageStream } from '../src/core/outgoing-mime.js';

const base = { from: 'Ana <ana@example.test>', to: ['bob@example.test'], subject: 'Files', date: '2026-12-01T00:00:00.000Z', messageId: 'm1@example.test', body: 'Here.\nTwo lines.\n', boundary: '=_caliop_0123' };

async function streamed(attachments: readonly OutgoingAttachment[], piece: number): Promise<string> {
  let text = '';
  const parts = attachments.map((attachment) => ({
    name: attachment.name,
    type: attachment.type,
    size: attachment.content.length,
    async *open() {
      for (let at = 0; at < attachment.content.length; at += piece) yield attachment.content.subarray(at, at + piece);
    },
  }));
  for await (const part of formatPayloadStream({ ...base, attachments: parts })) text += typeof part === 'string' ? part : Buffer.from(part).toString('latin1');
  return text;
}

const bytes = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) % 256);

describe('formatPayloadStream', () => {
  it.each([0, 1, 56, 57, 58, 114, 1000, 100_003])('a file of %i bytes: the same bytes as formatPayload, in pieces of 1, 7, 57 and 65536', async (size) => {
    const attachments = [{ name: 'a.bin', type: 'application/octet-stream', content: bytes(size, 1) }, { name: 'é.txt', type: 'text/plain', content: bytes(size % 97, 2) }];
    const whole = formatPayload({ ...base, attachments });
    for (const piece of size > 2000 ? [57, 65_536] : [1, 7, 57, 65_536]) expect(await streamed(attachments, piece)).toBe(whole);
  });

  it('without files: the text message', async () => {
    expect(await streamed([], 10)).toBe(formatPayload({ ...base, attachments: [] }));
  });
});

// docs/store.md §5.1: a large message to the outside is built as a stream into its blob; the same bytes as the whole builders.
describe('buildPgpMimeMessageStream, buildPlainMessageStream', () => {
  const outer = { from: 'Ana Ésa <ana@example.test>', to: ['carol@outside.test'], date: base.date, messageId: base.messageId, autocryptHeader: null };
  const armored = `-----BEGIN PGP MESSAGE-----\n\n${'wcBMA'.repeat(40).match(/.{1,64}/g)!.join('\n')}\n=abcd\n-----END PGP MESSAGE-----\n`;
  async function joined(pieces: AsyncIterable<string | Uint8Array>): Promise<string> {
    let text = '';
    for await (const piece of pieces) text += typeof piece === 'string' ? piece : Buffer.from(piece).toString('latin1');
    return text;
  }
  it.each([1, 2, 7, 64, 100_000])('PGP/MIME: the armored part in pieces of %i bytes', async (piece) => {
    const bytes = Buffer.from(armored, 'latin1');
    async function* pieces() {
      for (let at = 0; at < bytes.length; at += piece) yield bytes.subarray(at, at + piece);
    }
    expect(await joined(buildPgpMimeMessageStream({ ...outer, armoredEncryptedPart: pieces() }))).toBe(buildPgpMimeMessage({ ...outer, armoredEncryptedPart: armored }));
  });
  it.each([1, 2, 3, 64, 100_000])('PGP/MIME: CRLF and LF mixed, white space around and at line ends, in pieces of %i bytes (bytes in, bytes out)', async (piece) => {
    const messy = ' \r\n\t' + armored.replace(/\n/g, (_, at: number) => (at % 3 === 0 ? '\r\n' : at % 3 === 1 ? ' \n' : '\n')) + '\r\n \n\t';
    const bytes = Buffer.from(messy, 'latin1');
    async function* pieces() {
      for (let at = 0; at < bytes.length; at += piece) yield bytes.subarray(at, at + piece);
    }
    expect(await joined(buildPgpMimeMessageStream({ ...outer, armoredEncryptedPart: pieces() }))).toBe(buildPgpMimeMessage({ ...outer, armoredEncryptedPart: messy }));
  });
  it.each([0, 57, 100_003])('readable: files of %i bytes', async (size) => {
    const attachments = [{ name: 'a.bin', type: 'application/octet-stream', content: bytes(size, 1) }, { name: 'é.txt', type: 'text/plain', content: bytes(size % 97, 2) }];
    const streamedFiles = attachments.map((attachment) => ({ name: attachment.name, type: attachment.type, size: attachment.content.length, async *open() { yield attachment.content; } }));
    const whole = buildPlainMessage({ ...outer, subject: 'Hé', body: base.body, attachments, boundary: base.boundary });
    expect(await joined(buildPlainMessageStream({ ...outer, subject: 'Hé', body: base.body, attachments: streamedFiles, boundary: base.boundary }))).toBe(whole);
    expect(await joined(buildPlainMessageStream({ ...outer, subject: 'Hé', body: base.body, attachments: [], boundary: base.boundary }))).toBe(buildPlainMessage({ ...outer, subject: 'Hé', body: base.body, attachments: [], boundary: base.boundary }));
  });
});
