// src/core/base64-lines.ts: MIME's and the armor's base64 lines, written as bytes in one pass,
// against node's encoder cut into lines, and the armor (ArmorWriter) against openpgp.js's own.
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { base64Lines, Crc24 } from '../src/core/base64-lines.js';
import { ArmorWriter, dearmored } from '../src/core/openpgp-armor-stream.js';

const reference = (bytes: Uint8Array, lineChars: number, eol: string, leading = false, trailing = false) =>
  (leading ? eol : '') + (Buffer.from(bytes).toString('base64').match(new RegExp(`.{1,${lineChars}}`, 'g')) ?? []).join(eol) + (trailing ? eol : '');

describe('base64Lines', () => {
  it('node\'s base64 cut into lines, at every length around the line and group edges', () => {
    const data = randomBytes(400);
    for (let length = 0; length <= 400; length++) {
      const bytes = data.subarray(0, length);
      for (const [lineChars, eol] of [[76, '\r\n'], [60, '\n'], [4, '\n']] as const) {
        for (const leading of [false, true]) {
          for (const trailing of [false, true]) {
            expect(base64Lines(bytes, { lineChars, eol, leading, trailing }).toString('latin1'), `${length} ${lineChars} ${leading} ${trailing}`).toBe(reference(bytes, lineChars, eol, leading, trailing));
          }
        }
      }
    }
    const big = randomBytes(1_000_003);
    expect(base64Lines(big, { lineChars: 76, eol: '\r\n' }).toString('latin1')).toBe(reference(big, 76, '\r\n'));
  });

  it('CRC24 (RFC 9580 §6.1): the checksum openpgp.js writes', async () => {
    const data = randomBytes(100_000);
    const crc = new Crc24();
    for (let at = 0; at < data.length; at += 777) crc.update(data.subarray(at, at + 777));
    const armored = openpgp.armor(openpgp.enums.armor.message, data, undefined, undefined, undefined, true);
    expect(/\n=([A-Za-z0-9+/]{4})\n/.exec(armored)?.[1]).toBe(Buffer.from(crc.digest()).toString('base64'));
  });
});

describe('ArmorWriter: a message armored as openpgp.js armors it, byte for byte', () => {
  async function armoredByUs(binary: Uint8Array, piece: number): Promise<string> {
    const writer = new ArmorWriter();
    const out: Buffer[] = [];
    for (let at = 0; at < binary.length; at += piece) out.push(Buffer.from(writer.push(binary.subarray(at, at + piece))));
    out.push(Buffer.from(writer.finish()));
    return Buffer.concat(out).toString('latin1');
  }

  it('SEIPD v1 (with its CRC24) and v2 (without, RFC 9580 §6.1), whatever the pieces', async () => {
    for (const v6Keys of [false, true]) {
      const { privateKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email: 'a@example.org' }], format: 'object', config: { v6Keys, aeadProtect: v6Keys } });
      for (const size of [0, 44, 45, 46, 5000]) {
        const message = await openpgp.createMessage({ binary: randomBytes(size) });
        const theirs = await openpgp.encrypt({ message, encryptionKeys: privateKey.toPublic(), format: 'armored', config: { aeadProtect: v6Keys } });
        const binary = (await openpgp.unarmor(theirs)).data as Uint8Array;
        expect(/\n=[A-Za-z0-9+/]{4}\n/.test(theirs), `v6 ${v6Keys}`).toBe(!v6Keys);
        for (const piece of [1, 7, 45, 64, 100_000]) expect(await armoredByUs(binary, piece), `v6 ${v6Keys} ${size} ${piece}`).toBe(theirs);
        // And our own dearmor gives the binary back.
        const back: Buffer[] = [];
        for await (const chunk of dearmored((async function* () { yield Buffer.from(theirs, 'latin1'); })())) back.push(Buffer.from(chunk));
        expect(Buffer.concat(back).equals(Buffer.from(binary))).toBe(true);
      }
    }
  });
});
