// docs/message-payload.md §2.1: the streamed payload (caliop send --attach, issue 9) is the
// same bytes as formatPayload, whatever the files' sizes (around the 57-byte base64 line)
// and however the files' bytes arrive.

import { describe, expect, it } from 'vitest';
import { formatPayload, formatPayloadStream, type OutgoingAttachment } from '../src/core/message-payload.js';

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
  for await (const part of formatPayloadStream({ ...base, attachments: parts })) text += part;
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
