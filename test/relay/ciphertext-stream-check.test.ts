// docs/api.md §8.2.1: the relay checks a streamed ciphertext as it arrives, without
// holding it: EncryptedMessageScanner must agree with the whole-text check
// (isEncryptedOpenPgpMessage) on real openpgp.js output, whatever the pieces' sizes,
// and refuse what is not one encrypted message (a signed message, a cut one, junk).

import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { EncryptedMessageScanner, isEncryptedArmoredMessage, isEncryptedOpenPgpMessage } from '../../src/relay/ciphertext-check.js';

let keys: { privateKey: openpgp.PrivateKey; publicKey: openpgp.PublicKey };
beforeAll(async () => {
  keys = await openpgp.generateKey({ userIDs: [{ email: 'ana@example.test' }], format: 'object' });
});

function scan(text: string, piece: number): boolean {
  const scanner = new EncryptedMessageScanner();
  const bytes = Buffer.from(text, 'latin1');
  for (let at = 0; at < bytes.length; at += piece) scanner.push(bytes.subarray(at, at + piece));
  return scanner.end();
}

const data = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7919) % 251);

describe('EncryptedMessageScanner', () => {
  it.each([0, 100, 70_000, 1_500_000])('accepts an encrypted message of %i bytes, in pieces of any size', async (size) => {
    const armored = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data(size) }), encryptionKeys: keys.publicKey, signingKeys: keys.privateKey })) as string;
    expect(await isEncryptedOpenPgpMessage(armored)).toBe(true);
    for (const piece of size > 100_000 ? [13, 65_536, 1 << 20] : [1, 13, 65_536]) expect(scan(armored, piece)).toBe(true);
  });

  it('accepts a message streamed by openpgp.js (partial body lengths)', async () => {
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(data(100_000));
        controller.close();
      },
    });
    const stream = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: source }), encryptionKeys: keys.publicKey })) as unknown as ReadableStream<string>;
    let armored = '';
    for await (const part of stream as unknown as AsyncIterable<string>) armored += part;
    expect(scan(armored, 4096)).toBe(true);
  });

  // Issue 9: whole lines inside the data packet are counted, not decoded; a bad byte, a line
  // too many or too few deep inside it must still be refused, CRLF and trailing blanks kept.
  it('checks every line of a large data packet, whatever the line ends', async () => {
    const armored = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data(300_000) }), encryptionKeys: keys.publicKey })) as string;
    const lines = armored.trimEnd().split('\n');
    const middle = Math.floor(lines.length / 2);
    const edited = (edit: (body: string[]) => string[]) => [...lines.slice(0, 4), ...edit(lines.slice(4, -2)), ...lines.slice(-2)].join('\n') + '\n';
    for (const piece of [7, 4096, 65_536]) {
      expect(scan(edited((body) => body), piece)).toBe(true);
      expect(scan(armored.replace(/\n/g, '\r\n'), piece)).toBe(true);
      expect(scan(edited((body) => body.map((line) => `${line} \t`)), piece)).toBe(true);
      expect(scan(edited((body) => body.map((line, i) => (i === middle ? `${line.slice(0, 10)}*${line.slice(11)}` : line))), piece)).toBe(false);
      expect(scan(edited((body) => body.map((line, i) => (i === middle ? `${line.slice(0, 10)}=${line.slice(11)}` : line))), piece)).toBe(false);
      expect(scan(edited((body) => [...body.slice(0, middle), 'AAAA', ...body.slice(middle)]), piece)).toBe(false);
      expect(scan(edited((body) => [...body.slice(0, middle), ...body.slice(middle + 1)]), piece)).toBe(false);
    }
  });

  it('refuses a signed (not encrypted) message, a cut one, junk after it, and no armor at all', async () => {
    const signed = (await openpgp.sign({ message: await openpgp.createMessage({ binary: data(500) }), signingKeys: keys.privateKey })) as string;
    expect(scan(signed, 64)).toBe(false);
    const armored = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data(5000) }), encryptionKeys: keys.publicKey })) as string;
    const lines = armored.trimEnd().split('\n');
    const cut = [...lines.slice(0, 4), ...lines.slice(-2)].join('\n');
    expect(scan(cut, 64)).toBe(false);
    expect(scan(`${armored}trailing words\n`, 64)).toBe(false);
    expect(scan('hello world\n', 64)).toBe(false);
    expect(scan('', 64)).toBe(false);
    expect(scan(`-----BEGIN PGP MESSAGE-----\n\n${'A'.repeat(10_000)}\n-----END PGP MESSAGE-----\n`, 64)).toBe(false);
  });

  // Issue 14: the JSON submit asks the scanner first and openpgp.readMessage only when the
  // scanner refuses, so the answer must be readMessage's on every case: the scanner must never
  // accept what readMessage refuses. Real openpgp.js output of each kind, its armor varied, and
  // the 100-byte message with every line removed and characters replaced in every line.
  it('the JSON submit\'s check answers as openpgp.readMessage on every case (scanner first)', async () => {
    const other = await openpgp.generateKey({ userIDs: [{ email: 'bo@example.test' }], format: 'object', type: 'rsa', rsaBits: 2048 });
    const plain = async () => openpgp.createMessage({ binary: data(100) });
    const one = (await openpgp.encrypt({ message: await plain(), encryptionKeys: keys.publicKey })) as string;
    const cases: [string, string][] = [
      ['one recipient', one],
      ['two recipients, signed', (await openpgp.encrypt({ message: await plain(), encryptionKeys: [keys.publicKey, other.publicKey], signingKeys: keys.privateKey })) as string],
      ['password', (await openpgp.encrypt({ message: await plain(), passwords: ['x'] })) as string],
      ['AEAD', (await openpgp.encrypt({ message: await plain(), encryptionKeys: keys.publicKey, config: { aeadProtect: true } })) as string],
      ['empty plaintext', (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data(0) }), encryptionKeys: keys.publicKey })) as string],
      ['signed only', (await openpgp.sign({ message: await plain(), signingKeys: keys.privateKey })) as string],
      ['CRLF', one.replace(/\n/g, '\r\n')],
      ['a comment header', one.replace('-----BEGIN PGP MESSAGE-----\n', '-----BEGIN PGP MESSAGE-----\nComment: hi there\n')],
      ['blank lines before', `\n\n${one}`],
      ['text before', `hello\n${one}`],
      ['blank lines after', `${one}\n\n`],
      ['no last line end', one.trimEnd()],
      ['junk', 'hello world'],
    ];
    const lines = one.trimEnd().split('\n');
    for (let i = 0; i < lines.length; i++) {
      cases.push([`line ${i} removed`, [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n') + '\n']);
      const line = lines[i] as string;
      for (const at of [0, 5, 40]) {
        if (at >= line.length) continue;
        for (const c of ['A', '/', '=', ' ', '*']) cases.push([`line ${i} char ${at} -> '${c}'`, [...lines.slice(0, i), line.slice(0, at) + c + line.slice(at + 1), ...lines.slice(i + 1)].join('\n') + '\n']);
      }
    }
    const bounded = <T>(label: string, work: Promise<T>) =>
      Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`case "${label}" took over 20 s`)), 20_000).unref())]);
    let accepted = 0;
    let refusedByScannerOnly = 0;
    for (const [label, text] of cases) {
      const openpgpSays = await bounded(label, isEncryptedOpenPgpMessage(text));
      const scanner = new EncryptedMessageScanner();
      scanner.push(Buffer.from(text, 'utf8'));
      const scannerSays = scanner.end();
      if (scannerSays && !openpgpSays) throw new Error(`${label}: the scanner accepts what openpgp.readMessage refuses`);
      expect([label, await bounded(label, isEncryptedArmoredMessage(text))]).toEqual([label, openpgpSays]);
      if (openpgpSays) accepted += 1;
      if (openpgpSays && !scannerSays) refusedByScannerOnly += 1;
    }
    // Both answers reached, and the fallback is needed (text before the armor, a damaged END line).
    expect(accepted).toBeGreaterThan(12);
    expect(cases.length - accepted).toBeGreaterThan(50);
    expect(refusedByScannerOnly).toBeGreaterThan(0);
  }, 120_000);
});
