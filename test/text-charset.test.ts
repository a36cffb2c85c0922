// docs/message-payload.md §4.5-§4.7: the rule that turns a text part's bytes into the text
// shown (src/core/text-charset.ts) and the UTF-7 decoder (src/core/utf7.ts, RFC 2152):
// known answers (RFC 2152's own examples, Python's codec as an independent encoder), what a
// sender gets wrong, and the cost of hostile input (a few MiB, linear).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readMailContent } from '../src/core/mail-content.js';
import { decodeText, undeclaredCharset } from '../src/core/text-charset.js';
import { decodeUtf7 } from '../src/core/utf7.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const MIB = 1024 * 1024;

/** CPU time of `run`, in ms (the machine is shared: wall time would measure the others). */
function cpuMs(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

describe('UTF-7, RFC 2152 (src/core/utf7.ts)', () => {
  it('RFC 2152\'s examples', () => {
    expect(decodeUtf7(bytes('Hi Mom -+Jjo--!'))).toBe('Hi Mom -☺-!');
    expect(decodeUtf7(bytes('A+ImIDkQ.'))).toBe('A≢Α.');
    expect(decodeUtf7(bytes('+ZeVnLIqe-'))).toBe('日本語');
    expect(decodeUtf7(bytes('Item 3 is +AKM-1.'))).toBe('Item 3 is £1.');
    expect(decodeUtf7(bytes('+-'))).toBe('+');
  });

  it('a pair of surrogates (U+1F600), runs ended by "-", by another character, by the end', () => {
    expect(decodeUtf7(bytes('+2D3eAA-'))).toBe('😀');
    expect(decodeUtf7(bytes('caf+AOk.'))).toBe('café.');
    expect(decodeUtf7(bytes('caf+AOk'))).toBe('café');
    expect(decodeUtf7(bytes('a+AOk--b'))).toBe('aé-b'); // only the first "-" is absorbed
  });

  it('what senders get wrong is shown, never refused: a plus before no base64, a cut unit, a lone surrogate, 8-bit bytes', () => {
    expect(decodeUtf7(bytes('1 + 1 = 2'))).toBe('1 + 1 = 2');
    expect(decodeUtf7(bytes('a+'))).toBe('a+');
    expect(decodeUtf7(bytes('+AO-x'))).toBe('\ufffdx'); // 12 bits: a cut unit
    expect(decodeUtf7(bytes('+AOkA-x'))).toBe('é\ufffdx'); // 6 bits left over, more than RFC 2152 allows
    expect(decodeUtf7(bytes('+2D0-'))).toBe('\ufffd'); // a high surrogate alone
    expect(decodeUtf7(bytes('caf\xe9'))).toBe('caf\ufffd');
  });

  it('the same text as Python\'s codec encodes (an independent encoder), on 300 random strings', () => {
    const alphabet = [...'abc +-/=~\\!"#&*;<>@[]^_`{|}\t\n\r', 'é', '€', '☺', '日', '本', '😀', '\u0391', '\u00a3'];
    const texts = Array.from({ length: 300 }, (_, index) => {
      const random = randomBytes(1 + (index % 40));
      return [...random].map((byte) => alphabet[byte % alphabet.length]).join('');
    });
    const python = spawnSync('python3', ['-c', 'import sys, json\nfor text in json.load(sys.stdin): sys.stdout.write(text.encode("utf-7").hex() + "\\n")'], { input: JSON.stringify(texts) });
    expect(python.status, python.stderr?.toString()).toBe(0);
    const encoded = python.stdout.toString().trim().split('\n');
    texts.forEach((text, index) => expect(decodeUtf7(Buffer.from(encoded[index]!, 'hex')), encoded[index]).toBe(text));
  });

  it('attack: 4 MiB of hostile UTF-7 (one long run, pluses alone, cut units) costs linear time', () => {
    const inputs = [
      Buffer.concat([bytes('+'), Buffer.alloc(4 * MIB, 'A')]), // one run of base64: 3 MiB of U+0000
      Buffer.alloc(4 * MIB, '+'), // a plus before a plus before a plus…
      Buffer.from('+A-'.repeat((4 * MIB) / 3)), // a cut unit every 3 bytes
      Buffer.from('+2D0-'.repeat((4 * MIB) / 5)), // lone surrogates
    ];
    for (const input of inputs) {
      let text = '';
      const used = cpuMs(() => {
        text = decodeUtf7(input);
      });
      expect(text.length).toBeGreaterThan(0);
      expect(used, `${input.subarray(0, 8).toString()}…`).toBeLessThan(3_000); // ~30-60 ms of CPU when linear
    }
  });
});

describe('the charset rule (src/core/text-charset.ts, docs/message-payload.md §4.5)', () => {
  it('no charset, or US-ASCII: UTF-8 when the bytes are UTF-8, else windows-1252, a guess', () => {
    expect(decodeText(bytes('caf\xe9 \x80 \x96 \x93ok\x94'), undefined)).toEqual({ text: 'café € – “ok”', guessed: 'windows-1252' });
    expect(decodeText(bytes('caf\xe9'), 'US-ASCII')).toEqual({ text: 'café', guessed: 'windows-1252' });
    expect(decodeText(bytes('caf\xe9'), 'ansi_x3.4-1968')).toEqual({ text: 'café', guessed: 'windows-1252' });
    expect(decodeText(bytes('caf\xe9'), 'unknown-8bit')).toEqual({ text: 'café', guessed: 'windows-1252' }); // RFC 1428
    expect(decodeText(Buffer.from('café'), 'unknown-8bit')).toEqual({ text: 'café' });
    expect(decodeText(Buffer.from('café €'), undefined)).toEqual({ text: 'café €' });
    expect(decodeText(Buffer.from('café €'), 'us-ascii')).toEqual({ text: 'café €' });
    expect(decodeText(bytes('plain ascii'), '')).toEqual({ text: 'plain ascii' });
    expect(undeclaredCharset(' US-ASCII ')).toBe(true);
    expect(undeclaredCharset('utf-8')).toBe(false);
  });

  it('a declared charset is believed: UTF-8 over Latin-1 is U+FFFD, Latin-1 over UTF-8 is as declared; unknown labels windows-1252; aliases as postal-mime', () => {
    expect(decodeText(bytes('caf\xe9'), 'utf-8')).toEqual({ text: 'caf\ufffd' });
    expect(decodeText(Buffer.from('café'), 'iso-8859-1')).toEqual({ text: 'cafÃ©' });
    expect(decodeText(bytes('caf\xe9 \x80'), 'x-unknown-thing')).toEqual({ text: 'café €' });
    expect(decodeText(Buffer.from('93fa967b8cea', 'hex'), 'cp932')).toEqual({ text: '日本語' }); // postal-mime's alias of shift_jis
    expect(decodeText(bytes('caf+AOk-'), 'UTF-7')).toEqual({ text: 'café' });
  });

  it('attack: 4 MiB of 8-bit text without a charset, and in UTF-7, read whole in linear time', async () => {
    for (const [type, body] of [
      ['text/plain', Buffer.alloc(4 * MIB, 'caf\xe9 \x80\n', 'latin1')],
      ['text/plain; charset=utf-7', Buffer.alloc(4 * MIB, '+AOk-+\n', 'latin1')],
      ['text/plain; format=flowed; delsp=yes', Buffer.alloc(4 * MIB, 'caf\xe9 \r\n', 'latin1')],
    ] as const) {
      const message = Buffer.concat([bytes(`From: a@outside.test\r\nSubject: s\r\nContent-Type: ${type}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`), body]);
      const start = process.cpuUsage();
      const read = await readMailContent(message);
      const used = process.cpuUsage(start);
      expect(read.body.length, type).toBeGreaterThan(MIB);
      expect((used.user + used.system) / 1000, type).toBeLessThan(30_000);
    }
  }, 120_000);
});
