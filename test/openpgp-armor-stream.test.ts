// RFC 9580 §6: src/core/openpgp-armor-stream.ts removes the armor chunk by chunk. The armor
// that gpg, sq and openpgp.js write (test/vectors/streamed-decryption/, make.sh) gives the
// bytes their own base64 gives, whatever the pieces; LF, CRLF, trailing whitespace, headers,
// a padding line and a missing checksum are read; damaged armor is bad_input naming the
// fault and its line; a line without end is refused within MAX_ARMOR_LINE bytes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dearmor, MAX_ARMOR_LINE } from '../src/core/openpgp-armor-stream.js';
import { CaliopError } from '../src/errors.js';

const VECTORS = join(import.meta.dirname, 'vectors', 'streamed-decryption');
const text = (name: string) => readFileSync(join(VECTORS, name), 'latin1');

/** What the armor's own lines say, read the simple way: the base64 lines between the blank line and the checksum. */
function reference(armored: string): Buffer {
  const lines = armored.split(/\r?\n/).map((line) => line.trimEnd());
  const begin = lines.findIndex((line) => line.startsWith('-----BEGIN'));
  const body = lines.slice(lines.indexOf('', begin) + 1, lines.findIndex((line) => line.startsWith('-----END')));
  return Buffer.from(body.filter((line) => !/^=[A-Za-z0-9+/]{4}$/.test(line)).join(''), 'base64');
}

function dearmor(armored: string, size: number): Buffer {
  const bytes = Buffer.from(armored, 'latin1');
  const armor = new Dearmor();
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(new Uint8Array(armor.push(bytes.subarray(at, at + size))));
  out.push(new Uint8Array(armor.finish()));
  return Buffer.concat(out);
}

function refused(armored: string, size = 4096): CaliopError {
  try {
    dearmor(armored, size);
  } catch (error) {
    expect(error).toBeInstanceOf(CaliopError);
    expect((error as CaliopError).code).toBe('bad_input');
    return error as CaliopError;
  }
  throw new Error('the armor was accepted');
}

const gpg = text('gpg-signed.asc');
const lines = gpg.split('\n');

describe('armor as gpg, sq and openpgp.js write it', () => {
  const variants: [string, string][] = [
    ['gpg (lines of 64, checksum)', gpg],
    ['sq (lines of 64, checksum, a short line)', text('sq-signed.asc')],
    ['gpg, compressed (a last line of 32 then the checksum and END line: 64 bytes in all)', text('gpg-default.asc')],
    ['CRLF line ends', gpg.replace(/\n/g, '\r\n')],
    ['trailing spaces and tabs on every line', gpg.replace(/\n/g, ' \t\n')],
    ['armor headers', gpg.replace('-----BEGIN PGP MESSAGE-----\n', '-----BEGIN PGP MESSAGE-----\nVersion: GnuPG v2\nComment: https://example.org/ä\n')],
    ['no checksum line', lines.filter((line) => !/^=[A-Za-z0-9+/]{4}$/.test(line)).join('\n')],
    ['lines of 76 re-wrapped', (() => {
      const body = lines.slice(2, lines.findIndex((line) => line.startsWith('=')));
      const joined = body.join('');
      const wrapped = joined.match(/.{1,76}/g)!;
      return ['-----BEGIN PGP MESSAGE-----', '', ...wrapped, '-----END PGP MESSAGE-----', ''].join('\n');
    })()],
    ['no newline after the END line, blank lines around', `\n\n${gpg.trimEnd()}`],
  ];
  for (const [name, armored] of variants) {
    it(name, () => {
      const expected = reference(armored);
      expect(expected.length).toBeGreaterThan(40_000);
      for (const size of [1, 2, 3, 63, 64, 65, 66, 1000, 65_536, 1 << 20]) {
        expect(dearmor(armored, size).equals(expected), `pieces of ${size}`).toBe(true);
      }
    });
  }

  it('RFC 9580 §6.1: a checksum that disagrees is not a reason to refuse (the MDC checks integrity)', () => {
    const bad = gpg.replace(/\n=[A-Za-z0-9+/]{4}\n/, '\n=AAAA\n');
    expect(bad).not.toBe(gpg);
    expect(dearmor(bad, 4096).equals(reference(gpg))).toBe(true);
  });

  it('unpadded data and a padding line of its own are read', () => {
    const data = Buffer.from('caliop armor, 22 bytes');
    const base64 = data.toString('base64');
    expect(dearmor(`-----BEGIN PGP MESSAGE-----\n\n${base64.replace(/=+$/, '')}\n-----END PGP MESSAGE-----\n`, 3).equals(data)).toBe(true);
    expect(dearmor(`-----BEGIN PGP MESSAGE-----\n\n${base64.replace(/=+$/, '')}\n==\n-----END PGP MESSAGE-----\n`, 5).equals(data)).toBe(true);
  });
});

describe('damaged or hostile armor: bad_input, naming the fault', () => {
  const dataLine = 10;
  const edit = (line: number, change: (text: string) => string) => lines.map((text, index) => (index === line ? change(text) : text)).join('\n');
  const cases: [string, () => string, RegExp][] = [
    ['a character outside the base64 alphabet', () => edit(dataLine, (text) => `${text.slice(0, 20)}!${text.slice(21)}`), /outside the base64 alphabet \(line 11\)/],
    ['a base64url character (Node would take it)', () => edit(dataLine, (text) => `${text.slice(0, 20)}-${text.slice(21)}`), /expected|outside the base64 alphabet/],
    ['a non-ASCII character', () => edit(dataLine, (text) => `${text.slice(0, 20)}é${text.slice(21)}`), /outside the base64 alphabet/],
    ['padding in the middle of the data', () => edit(dataLine, (text) => `${text.slice(0, 62)}==`), /padding/],
    ['a line of 80 base64 characters (RFC 9580 §6.3: at most 76)', () => edit(dataLine, (text) => text + lines[dataLine + 1]!.slice(0, 16)), /longer than 76/],
    ['two lines joined into one of 128', () => lines.slice(0, dataLine).concat([lines[dataLine]! + lines[dataLine + 1]!], lines.slice(dataLine + 2)).join('\n'), /longer than 76/],
    ['cut in the middle of the data', () => gpg.slice(0, gpg.length / 2), /ends before its "-----END PGP MESSAGE-----" line/],
    ['cut before the END line', () => gpg.slice(0, gpg.indexOf('-----END')), /ends before/],
    ['no blank line after the BEGIN line', () => gpg.replace('-----BEGIN PGP MESSAGE-----\n\n', '-----BEGIN PGP MESSAGE-----\n'), /blank line after the headers is missing/],
    ['text after the END line', () => `${gpg}and more\n`, /text after the END line/],
    ['a second message after the END line', () => gpg + gpg, /text after the END line/],
    ['another armor type', () => gpg.replace(/PGP MESSAGE/g, 'PGP SIGNATURE'), /not an OpenPGP message but armored "PGP SIGNATURE"/],
    ['base64 after the checksum', () => gpg.replace(/(\n=[A-Za-z0-9+/]{4}\n)/, '$1AAAA\n'), /expected after the checksum/],
    ['base64 after padding', () => `-----BEGIN PGP MESSAGE-----\n\nQUI=\nQUJD\n-----END PGP MESSAGE-----\n`, /after its padding/],
    ['one base64 character left at the end', () => `-----BEGIN PGP MESSAGE-----\n\nQUJDR\n-----END PGP MESSAGE-----\n`, /middle of a byte/],
  ];
  for (const [name, armored, message] of cases) {
    it(name, () => {
      for (const size of [1, 65, 4096, 1 << 20]) expect(refused(armored(), size).message, `pieces of ${size}`).toMatch(message);
    });
  }

  it(`a line without end is refused once it passes ${MAX_ARMOR_LINE} bytes, not held`, () => {
    const armor = new Dearmor();
    armor.push(Buffer.from('-----BEGIN PGP MESSAGE-----\n\n'));
    let thrown: unknown;
    let pushed = 0;
    try {
      for (; pushed < 1 << 20; pushed += 100) armor.push(Buffer.alloc(100, 0x41));
    } catch (error) {
      thrown = error;
    }
    expect((thrown as CaliopError).message).toMatch(/longer than 1024 bytes/);
    expect(pushed).toBeLessThanOrEqual(MAX_ARMOR_LINE);
    // The same for header lines.
    expect(refused(`-----BEGIN PGP MESSAGE-----\nComment: ${'x'.repeat(2000)}\n\n${lines.slice(2).join('\n')}`).message).toMatch(/longer than 1024/);
  });
});
