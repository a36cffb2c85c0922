// docs/message-payload.md §4.5, docs/decisions/mime.md item 6: text in no declared charset that
// is not UTF-8 is shown in the charset the detector names when the rule believes it
// (src/api/charset-detector.ts), else windows-1252; the detector is loaded only when such text
// is met. Known answers made by Python's codecs (test/vectors/charset-detect/make-vectors.py),
// one case each.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DETECTED_CHARSETS } from '../src/api/charset-detector.js';
import { charsetDetectorLoaded, decodeUndeclared, decodeUndeclaredFields, detectorWanted, loadCharsetDetector } from '../src/api/undeclared-text.js';
import { readMailContent } from '../src/core/mail-content.js';

interface Case {
  readonly name: string;
  readonly codec: string;
  readonly expect: string;
  readonly text: string;
  readonly bytes: string;
}

const VECTORS = join(import.meta.dirname, 'vectors');
const CASES = JSON.parse(readFileSync(join(VECTORS, 'charset-detect', 'undeclared.json'), 'utf8')) as Case[];
const mail = (name: string) => readFileSync(join(VECTORS, 'mail-text', name));

// The tests of this file run in order, in one process: the first ones before anything loads the detector.
describe('the detector is loaded only for undeclared text that is not UTF-8', () => {
  it('UTF-8, ASCII, declared charsets and UTF-7 never load it', async () => {
    for (const name of ['nocharset-utf8.8bit.eml', 'utf7.base64.eml', 'html-meta-koi8r.8bit.eml', 'html-mime-wins.qp.eml', 'flowed.gpg-clear.eml']) {
      await readMailContent(mail(name));
      expect(charsetDetectorLoaded(), name).toBe(false);
    }
    expect(decodeUndeclared(Buffer.from('plain ASCII')).guessed).toBeUndefined();
    expect(detectorWanted(Buffer.from('café, UTF-8'))).toBe(false);
    expect(decodeUndeclaredFields(['Subject in ASCII', Buffer.from('Ren\u00e9e', 'utf8').toString('latin1')]).guessed).toBeUndefined();
    expect(charsetDetectorLoaded()).toBe(false);
  });

  it('before it is loaded, the guess is windows-1252 (the synchronous fallback); a message read loads it and is read again', async () => {
    const koi8 = Buffer.from(CASES.find((item) => item.codec === 'koi8-r')!.bytes, 'base64');
    expect(detectorWanted(koi8)).toBe(true);
    expect(decodeUndeclared(koi8).guessed).toBe('windows-1252');
    const content = await readMailContent(mail('nocharset-koi8r.8bit.eml'));
    expect(charsetDetectorLoaded()).toBe(true);
    expect(content.charsetGuess).toBe('koi8-r');
    expect(content.body).toBe(mail('undeclared-ru.txt').toString());
  });
});

describe('known answers (Python codecs)', () => {
  it.each(CASES.map((item) => [item.name, item] as const))('%s', async (_name, item) => {
    await loadCharsetDetector();
    const bytes = Buffer.from(item.bytes, 'base64');
    const decoded = decodeUndeclared(bytes);
    expect(decoded.guessed).toBe(item.expect);
    // Believed: the text exactly. Western text: exactly, as the fixed guess read it.
    if (item.expect !== 'windows-1252' || item.codec === 'cp1252' || item.codec === 'latin-1') expect(decoded.text).toBe(item.text);
    else expect(decoded.text).not.toBe(item.text); // not believed: read as before, a guess shown as one
  });

  it('every charset the detector may name is one TextDecoder knows', () => {
    for (const charset of DETECTED_CHARSETS) expect(() => new TextDecoder(charset), charset).not.toThrow();
  });

  it('a header field too short to tell is read in the charset guessed over the fields beside it', async () => {
    await loadCharsetDetector();
    const from = encodeLegacy('Иван Петров <ivan@example.org>', 'windows-1251');
    // Alone, the name is too short for the rule to believe the detector.
    expect(decodeUndeclared(Buffer.from(from, 'latin1')).guessed).toBe('windows-1252');
    const fields = decodeUndeclaredFields([encodeLegacy('Счёт за декабрь оплачен', 'windows-1251'), from]);
    expect(fields.guessed).toBe('windows-1251');
    expect(fields.texts).toEqual(['Счёт за декабрь оплачен', 'Иван Петров <ivan@example.org>']);
  });

  it('attack: 4 MiB of undeclared 8-bit bytes: the detector sees its first 64 KiB, the whole read in bounded time', async () => {
    await loadCharsetDetector();
    const bytes = Buffer.alloc(4 * 1024 * 1024);
    for (let index = 0; index < bytes.length; index += 1) bytes[index] = 0x80 + ((index * 7919) % 128);
    const start = process.cpuUsage();
    decodeUndeclared(bytes);
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000).toBeLessThan(3000);
  });
});

/** Text in a legacy single-byte charset of the tests, as latin1 characters (one a byte): the Cyrillic letters only. */
function encodeLegacy(text: string, codec: 'koi8-r' | 'windows-1251'): string {
  const table = new TextDecoder(codec).decode(Uint8Array.from({ length: 128 }, (_, index) => 0x80 + index));
  return [...text].map((char) => (char.charCodeAt(0) < 0x80 ? char : String.fromCharCode(0x80 + table.indexOf(char)))).join('');
}
