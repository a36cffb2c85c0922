// docs/api.md §8.7.1: the relay checks a streamed message to the outside as it arrives
// (OutboundMessageScanner): PGP/MIME around one encrypted OpenPGP message, whatever the
// pieces' sizes. Issue 9: the lines of the encrypted part go to the armor scanner in runs,
// not one by one; a boundary, a bad byte or a cut inside the part must still be seen.

import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPgpMimeMessage } from '../../src/core/outgoing-mime.js';
import { OutboundMessageScanner } from '../../src/relay/gateway/outbound-stream.js';

let message: string;
const BOUNDARY = 'b0und4ry';
beforeAll(async () => {
  const keys = await openpgp.generateKey({ userIDs: [{ email: 'gina@elsewhere.test' }], format: 'object' });
  const data = Uint8Array.from({ length: 400_000 }, (_, i) => (i * 7919) % 251);
  const armored = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data }), encryptionKeys: keys.publicKey })) as string;
  message = buildPgpMimeMessage({ from: 'Ana <ana@caliop.example>', to: ['gina@elsewhere.test'], date: '2026-12-01T00:00:00.000Z', messageId: 'x@caliop.example', autocryptHeader: null, armoredEncryptedPart: armored, boundary: BOUNDARY });
});

function scan(text: string, piece: number): boolean {
  const scanner = new OutboundMessageScanner();
  const bytes = Buffer.from(text, 'latin1');
  for (let at = 0; at < bytes.length; at += piece) scanner.push(bytes.subarray(at, at + piece));
  return scanner.end();
}

/** The message with its armor's body lines edited. */
function edited(edit: (lines: string[], middle: number) => string[]): string {
  const lines = message.split('\r\n');
  const first = lines.findIndex((line) => line === '') + 1;
  const begin = lines.indexOf('-----BEGIN PGP MESSAGE-----');
  const end = lines.indexOf('-----END PGP MESSAGE-----');
  const body = lines.slice(begin + 2, end - 1);
  expect(first).toBeGreaterThan(0);
  return [...lines.slice(0, begin + 2), ...edit(body, Math.floor(body.length / 2)), ...lines.slice(end - 1)].join('\r\n');
}

describe('OutboundMessageScanner', () => {
  it('accepts PGP/MIME in pieces of any size, and refuses a bad byte, a boundary, a line too many or too few inside the encrypted part', () => {
    for (const piece of [1, 61, 4096, 65_536, 1 << 20]) expect(scan(message, piece)).toBe(true);
    for (const piece of [7, 4096, 65_536]) {
      expect(scan(edited((body) => body), piece)).toBe(true);
      expect(scan(edited((body, middle) => body.map((line, i) => (i === middle ? `${line.slice(0, 9)}*${line.slice(10)}` : line))), piece)).toBe(false);
      expect(scan(edited((body, middle) => [...body.slice(0, middle), `--${BOUNDARY}`, ...body.slice(middle)]), piece)).toBe(false);
      expect(scan(edited((body, middle) => [...body.slice(0, middle), `--${BOUNDARY}--`, ...body.slice(middle)]), piece)).toBe(false);
      expect(scan(edited((body, middle) => [...body.slice(0, middle), 'AAAA', ...body.slice(middle)]), piece)).toBe(false);
      expect(scan(edited((body, middle) => [...body.slice(0, middle), ...body.slice(middle + 1)]), piece)).toBe(false);
      expect(scan(edited((body, middle) => body.map((line, i) => (i === middle ? 'A'.repeat(70_000) : line))), piece)).toBe(false);
      expect(scan(message.replace(`--${BOUNDARY}--`, ''), piece)).toBe(false);
    }
  });
});
