// Issue 9, docs/message-payload.md §4.5-§4.7, §6.6-§6.7: text parts as other mail services
// send them where the charset is missing or wrong, in UTF-7, or flowed (RFC 3676), plain and
// signed: the mail is Python's email package's, the signatures gpg 2.2's, the PGP/MIME one
// NeoMutt's (test/vectors/mail-text/make.sh). Both receive paths (whole: postal-mime;
// streamed: src/core/mime-stream.ts), `caliop read --json`'s facts compared.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SmtpInboundArrivalFactsSchema, type SmtpInboundArrivalFacts } from '../src/api/facts.js';
import { parseHeaderFields, splitHeaderAndBody } from '../src/api/mime-fields.js';
import { readMailContent } from '../src/core/mail-content.js';
import { charsetDetectorLoaded } from '../src/api/undeclared-text.js';
import type { StoredMessage } from '../src/core/vault-contents.js';
import { readOuterHeaders } from '../src/relay/gateway/inbound-mime.js';
import { openStoredMessage } from '../src/service/mail-read.js';
import { incoming, readBothPaths, readerSession, type ReadFacts } from './helpers/read-both-paths.js';
import { textModeReaderFor } from './helpers/text-mode-reader.js';

const VECTORS = join(import.meta.dirname, 'vectors', 'mail-text');
const vector = (name: string) => readFileSync(join(VECTORS, name));
const peer = textModeReaderFor('mail-text-charset');

/** The texts of test/vectors/charset/ (Latin-1 and windows-1252 there), as they must be shown. */
const LATIN1 = 'Grüße aus Köln: café, Straße, naïve.\nZweite Zeile é ß';
const CP1252 = 'Prix : 20 € – « déjà vu »\nFin.';

/** A vector (its file name) or a message, read on both paths, which must agree. */
async function read(message: string | Buffer): Promise<ReadFacts> {
  const bytes = typeof message === 'string' ? vector(message) : message;
  const { whole, streamed } = await readBothPaths(peer.reader, await peer.sealed(bytes), [peer.contact], [peer.cert], [peer.cert]);
  expect(streamed, typeof message === 'string' ? message : 'changed').toEqual(whole);
  return whole;
}

describe('a text part without a charset, or US-ASCII, over 8-bit bytes (§4.5)', { timeout: 300_000 }, () => {
  it('not UTF-8: shown as windows-1252 (é ß € – « »), and said to be a guess', async () => {
    for (const [file, text] of [
      ['nocharset-latin1.8bit.eml', LATIN1],
      ['nocharset-cp1252.base64.eml', CP1252],
      ['usascii-cp1252.8bit.eml', CP1252],
      ['nomime-latin1.eml', LATIN1],
    ] as const) {
      const facts = await read(file);
      expect(facts.body, file).toContain(text);
      expect(facts.body, file).not.toContain('\ufffd');
      expect(facts.charsetGuess, file).toBe('windows-1252');
      expect(facts.signature, file).toBe('unsigned');
    }
  });

  it('a From name and Subject in Latin-1 bytes (no encoded-word): read the same way, a guess; an encoded-word beside decoded', async () => {
    const facts = await read('nomime-latin1-headers.eml');
    expect(facts.subject).toBe("Rapport d'activité ß");
    expect(facts.from).toBe('Renée Dupré <text@example.org>');
    expect(facts.body).toContain(LATIN1);
    expect(facts.charsetGuess).toBe('windows-1252');
  });

  it('UTF-8 without a charset: read as UTF-8, no guess', async () => {
    const facts = await read('nocharset-utf8.8bit.eml');
    expect(facts.body).toContain(LATIN1);
    expect(facts.charsetGuess).toBeNull();
  });

  it('signed: gpg --clearsign, --sign, --sign --textmode of Latin-1 and windows-1252 text: good, shown as windows-1252, a guess', async () => {
    for (const [file, text] of [
      ['nocharset-latin1.gpg-clear.8bit.eml', LATIN1],
      ['nocharset-latin1.gpg-clear.base64.eml', LATIN1],
      ['usascii-cp1252.gpg-clear.8bit.eml', CP1252],
      ['nocharset-latin1.gpg-inline.7bit.eml', LATIN1],
      ['nocharset-cp1252.gpg-inline-text.7bit.eml', CP1252],
    ] as const) {
      const facts = await read(file);
      expect(facts.signature, file).toBe('good');
      expect(facts.body, file).toContain(text);
      expect(facts.body, file).not.toContain('BEGIN PGP');
      expect(facts.charsetGuess, file).toBe('windows-1252');
    }
  });

  it('a byte of the signed Latin-1 text changed (é 0xE9 -> ê 0xEA): bad, shown as changed', async () => {
    const changed = await read(Buffer.from(vector('nocharset-latin1.gpg-clear.8bit.eml').toString('latin1').replace('caf\xe9', 'caf\xea'), 'latin1'));
    expect(changed.signature).toBe('bad');
    expect(changed.body).toContain('cafê');
  });
});

describe('HTML-only mail with no MIME charset whose markup declares one (§4.5)', { timeout: 300_000 }, () => {
  const RUSSIAN = 'Привет, мир! Съешь же ещё этих мягких французских булок.';

  it('<meta charset>, <meta http-equiv content> (KOI8-R, windows-1251, Shift_JIS, as Python writes them): read in that charset, not a guess', async () => {
    for (const [file, text] of [
      ['html-meta-koi8r.8bit.eml', RUSSIAN],
      ['html-meta-cp1251.base64.eml', RUSSIAN],
      ['html-meta-sjis.base64.eml', '日本語のメール、テキストです。'],
    ] as const) {
      const facts = await read(file);
      expect(facts.body, file).toContain(text);
      expect(facts.charsetGuess, file).toBeNull();
    }
  });

  it('the <meta> after the first 1,024 bytes is not read (the standard\'s bound): the charset is guessed (the detector: KOI8-R), not declared', async () => {
    const facts = await read('html-meta-late.8bit.eml');
    expect(facts.body).toContain(RUSSIAN);
    expect(facts.charsetGuess).toBe('koi8-r');
  });

  it('<meta charset="utf-8"> over Latin-1 bytes: believed, as a browser does (U+FFFD for each such byte), no guess and no detector asked', async () => {
    const facts = await read('html-meta-utf8-latin1.8bit.eml');
    expect(facts.body).toContain('D\ufffdj\ufffd vu, caf\ufffd, Stra\ufffde');
    expect(facts.charsetGuess).toBeNull();
  });

  it('a MIME charset wins over the markup: charset=iso-8859-1 with <meta charset="utf-8"> is read as windows-1252', async () => {
    const facts = await read('html-mime-wins.qp.eml');
    expect(facts.body).toContain('Déjà vu, 20 EUR');
    expect(facts.charsetGuess).toBeNull();
  });
});

describe('the outer headers of mail that arrived encrypted, in 8-bit bytes that are not UTF-8 (§7, docs/gateway.md §3.8)', { timeout: 300_000 }, () => {
  /** The facts the gateway records for the vector (src/relay/gateway/inbound-mime.ts), as the stick gets them. */
  async function arrivalFacts(raw: Buffer): Promise<SmtpInboundArrivalFacts> {
    const outerHeaders = await readOuterHeaders(parseHeaderFields(splitHeaderAndBody(raw.toString('latin1')).headerText));
    return SmtpInboundArrivalFactsSchema.parse({
      route: 'smtp-inbound', receivedAt: '2026-12-01T10:00:01.000Z', peer: { host: 'mail.example.org', ip: '127.0.0.1' }, hops: [],
      auth: { dkim: [], spf: { domain: 'example.org', result: 'none' }, dmarc: { domain: 'example.org', result: 'none' } },
      relayHeldPlaintext: false, arrivedEncrypted: true, outerHeaders,
    });
  }

  /** The message as sync stores it (src/service/mail-sync.ts): the outer Subject and From where the encrypted part has none. */
  async function opened(inner: Buffer | null, outer = 'outer-8bit-headers.pgpmime.eml') {
    const facts = await arrivalFacts(vector(outer));
    const armoredMessage = inner === null ? '-----BEGIN PGP MESSAGE-----\n\nnot one\n-----END PGP MESSAGE-----\n' : await peer.sealed(inner);
    const message = { ...incoming, id: 'outer', relayId: 'r-outer', from: facts.outerHeaders!.from, subject: facts.outerHeaders!.subject, armoredMessage, relayFacts: facts } as unknown as StoredMessage;
    return openStoredMessage(readerSession(peer.reader, [peer.contact]), message, [peer.cert]);
  }

  it('shown from the relay\'s record (no protected headers): the relay read them by §4.5\'s rule, so the message says the guess', async () => {
    const facts = await arrivalFacts(vector('outer-8bit-headers.pgpmime.eml'));
    expect(facts.outerHeaders?.charsetGuess).toEqual({ charset: 'windows-1252', fields: ['subject', 'from'] });
    expect(facts.outerHeaders?.charsetDetected).toBeUndefined();
    expect(facts.outerHeaders?.subject).toBe('Facture réglée – 20 €, c’est payé ß');
    expect(facts.outerHeaders?.from).toBe('Renée Dupré <text@example.org>');
    const read = await opened(Buffer.from('Content-Type: text/plain; charset=utf-8\r\n\r\nEncrypted, no protected headers.\r\n'));
    expect(read.body).toContain('Encrypted, no protected headers.');
    expect(read.content?.subject).toBeUndefined();
    expect(read.charsetGuess).toBe('windows-1252');
    // Undecryptable: the outer subject is all that is shown, still a guess.
    expect((await opened(null)).charsetGuess).toBe('windows-1252');
  });

  it('in KOI8-R: the relay reads them in the charset the detector names (`charsetDetected`), and the message says that guess', async () => {
    const facts = await arrivalFacts(vector('outer-koi8r-headers.pgpmime.eml'));
    expect(facts.outerHeaders?.subject).toBe('Счёт за декабрь оплачен');
    expect(facts.outerHeaders?.from).toBe('Иван Петров <text@example.org>');
    expect(facts.outerHeaders?.charsetDetected).toEqual({ charset: 'koi8-r', fields: ['subject', 'from'] });
    expect(facts.outerHeaders?.charsetGuess).toBeUndefined();
    const read = await opened(Buffer.from('Content-Type: text/plain; charset=utf-8\r\n\r\nEncrypted, no protected headers.\r\n'), 'outer-koi8r-headers.pgpmime.eml');
    expect(read.charsetGuess).toBe('koi8-r');
    expect((await opened(null, 'outer-koi8r-headers.pgpmime.eml')).charsetGuess).toBe('koi8-r');
  });

  it('the encrypted part carries its own Subject and From (protected headers): the outer ones are not shown, no guess', async () => {
    const read = await opened(Buffer.from('Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\nSubject: Facture\r\nFrom: Text Peer <text@example.org>\r\n\r\nInside.\r\n'));
    expect(read.content?.subject).toBe('Facture');
    expect(read.charsetGuess).toBeUndefined();
  });
});

describe('8-bit text of other scripts with no charset, or US-ASCII: the detector\'s charset when the rule believes it (§4.5, docs/decisions/mime.md item 6)', { timeout: 300_000 }, () => {
  it('KOI8-R, Shift_JIS (base64), windows-1250, windows-1251 under us-ascii: shown right, the charset said as a guess', async () => {
    for (const [file, text, charset] of [
      ['nocharset-koi8r.8bit.eml', 'undeclared-ru.txt', 'koi8-r'],
      ['nocharset-sjis.base64.eml', 'undeclared-ja.txt', 'shift_jis'],
      ['nocharset-cp1250.8bit.eml', 'undeclared-pl.txt', 'windows-1250'],
      ['usascii-cp1251.8bit.eml', 'undeclared-ru.txt', 'windows-1251'],
    ] as const) {
      const facts = await read(file);
      expect(facts.body, file).toContain(vector(text).toString().trimEnd());
      expect(facts.charsetGuess, file).toBe(charset);
    }
  });

  it('no MIME, Subject and From name in raw windows-1251 bytes: one charset guessed over both (the name alone is too short)', async () => {
    const facts = await read('nomime-cp1251-headers.eml');
    expect(facts.subject).toBe('Счёт за декабрь оплачен');
    expect(facts.from).toBe('Иван Петров <text@example.org>');
    expect(facts.body).toContain(vector('undeclared-ru.txt').toString().trimEnd());
    expect(facts.charsetGuess).toBe('windows-1251');
  });

  it('Western text read once the detector is loaded: windows-1252 still (é ß € – « »)', async () => {
    for (const [file, text] of [['nocharset-latin1.8bit.eml', LATIN1], ['nocharset-cp1252.base64.eml', CP1252], ['nomime-latin1.eml', LATIN1]] as const) {
      const facts = await read(file);
      expect(facts.body, file).toContain(text);
      expect(facts.charsetGuess, file).toBe('windows-1252');
    }
    expect(charsetDetectorLoaded()).toBe(true);
  });
});

describe('UTF-7 (RFC 2152, §4.6)', { timeout: 300_000 }, () => {
  it('as Python writes it (base64) and as 7bit: decoded', async () => {
    const text = vector('utf7.txt').toString();
    for (const file of ['utf7.base64.eml', 'utf7.7bit.eml']) {
      const facts = await read(file);
      expect(facts.body, file).toBe(text);
      expect(facts.charsetGuess, file).toBeNull();
    }
  });
});

describe('flowed text (RFC 3676, §4.7, §6.7)', { timeout: 300_000 }, () => {
  it('NeoMutt, PGP/MIME signed, format=flowed quoted-printable: good, shown unflowed', async () => {
    const facts = await read('neomutt-flowed.pgpmime.eml');
    expect(facts.signature).toBe('good');
    expect(facts.body).toContain('each line but the last ends in a space, a soft break. Café, Straße, naïve. End of the paragraph.\n');
    expect(facts.body).toContain('\nFrom the second paragraph');
  });

  it('clear-signed by gpg, sent format=flowed (and delsp=yes): good over the bytes as sent; the lines shown as signed, space-stuffing undone', async () => {
    const facts = await read('flowed.gpg-clear.eml');
    expect(facts.signature).toBe('good');
    // Soft line breaks are trailing blanks, which a clear signature does not cover (RFC 9580 §7.2): not joined.
    expect(facts.body).toContain('each line but\nthe last ends in a space, a soft break. Café, Straße, naïve.\nEnd of the paragraph.\n\nFrom the second paragraph, a line that starts with From.\n> quoted line\n leading space line\n--\nSignature');
    expect(facts.body).not.toContain('BEGIN PGP');
    const delsp = await read('flowed-delsp.gpg-clear.eml');
    expect(delsp.signature).toBe('good');
    expect(delsp.body).toContain('日本語の\nテキスト。\nNext line.');
  });

  it('inline-signed by gpg (--textmode), sent format=flowed (and delsp=yes): good; the signed text unflowed', async () => {
    const facts = await read('flowed.gpg-inline-text.eml');
    expect(facts.signature).toBe('good');
    expect(facts.body).toContain('each line but the last ends in a space, a soft break. Café, Straße, naïve. End of the paragraph.\n\nFrom the second paragraph, a line that starts with From.\n> quoted line\n leading space line\n-- \nSignature');
    const delsp = await read('flowed-delsp.gpg-inline-text.eml');
    expect(delsp.signature).toBe('good');
    expect(delsp.body).toContain('日本語のテキスト。\nNext line.');
  });

  it('a byte of the flowed clear-signed text changed: bad', async () => {
    const changed = await read(Buffer.from(vector('flowed.gpg-clear.eml').toString('latin1').replace('soft break', 'soft brake'), 'latin1'));
    expect(changed.signature).toBe('bad');
  });
});

describe('attack: begin lines without an end (§6.2-§6.3)', { timeout: 300_000 }, () => {
  it('1 MiB of clear-signed and inline begin lines, no end line: no block, read in linear time', async () => {
    for (const begin of ['-----BEGIN PGP SIGNED MESSAGE-----\n', '-----BEGIN PGP MESSAGE-----\r\n']) {
      const text = begin.repeat(Math.floor((1024 * 1024) / begin.length));
      const start = process.cpuUsage();
      const read = await readMailContent(Buffer.from(`From: a@outside.test\r\nSubject: s\r\nContent-Type: text/plain\r\n\r\n${text}`));
      const used = process.cpuUsage(start);
      expect(read.signed).toBeNull();
      // /BEGIN\r?\n[\s\S]*?END/ looked for the end from each begin line: 8,000 of them 0.46 s, these ~30,000 21 s of CPU.
      expect((used.user + used.system) / 1000, begin).toBeLessThan(3_000);
    }
  });
});

describe('attack: long runs of blanks in flowed signed text (§6.7)', { timeout: 300_000 }, () => {
  /** The flowed clear-signed block of the vectors in an 8bit format=flowed part, `change` applied to its text. */
  function flowedPart(change: (block: string) => string): Buffer {
    const head = ['From: Text Peer <text@example.org>', 'To: bob@caliop.test', 'Subject: blanks', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8; format=flowed', 'Content-Transfer-Encoding: 8bit', '', ''].join('\r\n');
    return Buffer.concat([Buffer.from(head), Buffer.from(change(vector('flowed.gpg-clear.asc').toString()))]);
  }

  it('900 KiB of blanks at the end of a signed line (not signed, RFC 9580 §7.2): still good, shown without them; in the middle of a line: bad; both read in linear time', async () => {
    const blanks = ' \t'.repeat(450 * 1024);
    const start = process.cpuUsage();
    const trailing = await read(flowedPart((block) => block.replace('End of the paragraph.', `End of the paragraph.${blanks}`)));
    expect(trailing.signature).toBe('good');
    expect(trailing.body).toContain('naïve.\nEnd of the paragraph.\n');
    const inside = await read(flowedPart((block) => block.replace('End of the paragraph.', `End of${blanks}the paragraph.`)));
    expect(inside.signature).toBe('bad');
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000).toBeLessThan(60_000); // a few seconds when linear; a square of 900 Ki is hours
  });
});
