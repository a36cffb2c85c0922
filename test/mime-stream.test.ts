// docs/message-payload.md §3.1: the streamed splitter gives the same attachments, byte for
// byte, and the same text as postal-mime reading the whole message, whatever the chunks.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { attachmentNameIn, readMailContent } from '../src/core/mail-content.js';
import { MimeStreamSplitter, type StreamedPartHead } from '../src/core/mime-stream.js';
import { MESSAGE_LIMITS } from '../src/core/message-limits.js';
import { cpuMs } from './helpers/cpu-time.js';
import { overLimitReason } from './helpers/over-limit.js';

const bytes = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

interface Split { readonly kept: Uint8Array; readonly parts: { head: StreamedPartHead; data: Buffer }[] }

async function split(message: Uint8Array, chunk: number, maxTextBytes?: number): Promise<Split> {
  const parts: Split['parts'] = [];
  const splitter = new MimeStreamSplitter({
    ...(maxTextBytes === undefined ? {} : { maxTextBytes }),
    openAttachment: async (head) => {
      const pieces: Buffer[] = [];
      return { write: async (data) => void pieces.push(Buffer.from(data)), end: async () => void parts.push({ head, data: Buffer.concat(pieces) }) };
    },
  });
  for (let offset = 0; offset < message.length; offset += chunk) await splitter.write(message.subarray(offset, offset + chunk));
  return { kept: await splitter.end(), parts };
}

function wrap(text: string, width = 76): string {
  return text.replace(new RegExp(`(.{${width}})`, 'g'), '$1\r\n');
}

const pdf = randomBytes(5000);
const eol = (text: string, lf: boolean) => (lf ? text.replace(/\r\n/g, '\n') : text);

function mixed(lf: boolean): Uint8Array {
  return bytes(eol([
    'From: Ana <ana@example.org>',
    'To: bob@example.org',
    'Subject: =?UTF-8?Q?r=C3=A9sum=C3=A9?=',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    'preamble, not shown',
    '--outer',
    'Content-Type: multipart/alternative; boundary=inner',
    '',
    '--inner',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Bonjour =C3=A0 toi,',
    'la pi=C3=A8ce est jointe.',
    '--inner',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Bonjour</p>',
    '--inner--',
    '--outer',
    'Content-Type: application/pdf; name="report.pdf"',
    'Content-Disposition: attachment; filename*=UTF-8\'\'r%C3%A9sum%C3%A9.pdf',
    'Content-Transfer-Encoding: base64',
    '',
    wrap(pdf.toString('base64')),
    '--outer',
    'Content-Type: text/plain; name="notes.txt"',
    'Content-Disposition: attachment; filename="notes.txt"',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'line one',
    'line two =3D',
    '=C3=BCber',
    '',
    '--outer',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename="empty.bin"',
    '',
    '',
    '--outer--',
    'epilogue',
    '',
  ].join('\r\n'), lf));
}

describe('the streamed MIME splitter (docs/message-payload.md §3.1)', () => {
  for (const lf of [false, true]) {
    it(`gives postal-mime's attachments and text, ${lf ? 'LF' : 'CRLF'} line ends, at every chunk size`, async () => {
      const message = mixed(lf);
      const whole = await readMailContent(message);
      expect(whole.attachments.map((part) => part.name)).toEqual(['résumé.pdf', 'notes.txt', 'empty.bin']);
      for (const chunk of [65536, 1000, 64, 7, 3, 2, 1]) {
        const { kept, parts } = await split(message, chunk);
        expect(parts.map((part) => part.head.type)).toEqual(whole.attachments.map((part) => part.type));
        expect(parts.map((part) => sha(part.data))).toEqual(whole.attachments.map((part) => part.sha256));
        expect(await Promise.all(parts.map((part) => attachmentNameIn(part.head.headerText)))).toEqual(['résumé.pdf', 'notes.txt', 'empty.bin']);
        const reduced = await readMailContent(kept);
        expect(reduced.body).toBe(whole.body);
        expect(reduced.subject).toBe('résumé');
        expect(reduced.from).toBe(whole.from);
        expect(reduced.attachments).toEqual([]);
      }
    });
  }

  it('a text part over the bound leaves as an attachment, whole', async () => {
    const long = 'x'.repeat(3000);
    const message = bytes(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'short', '--b', 'Content-Type: text/plain', '', long, '--b--', ''].join('\r\n'));
    const { kept, parts } = await split(message, 100, 1000);
    expect(parts.map((part) => part.data.toString())).toEqual([long]);
    expect((await readMailContent(kept)).body).toBe((await readMailContent(bytes(['Content-Type: text/plain', '', 'short', ''].join('\r\n')))).body);
  });

  it('a message that is not MIME is all text; a top-level attachment is one part', async () => {
    const plain = await split(bytes('just words\nand more\n'), 3);
    expect(plain.parts).toEqual([]);
    expect((await readMailContent(plain.kept)).body).toBe('just words\nand more\n');
    const single = await split(bytes(['Content-Type: application/zip', 'Content-Transfer-Encoding: base64', '', wrap(pdf.toString('base64')), ''].join('\r\n')), 50);
    expect(single.parts.map((part) => sha(part.data))).toEqual([sha(pdf)]);
  });

  it('a line that only starts like the boundary is content', async () => {
    const message = bytes(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: application/octet-stream', '', '--bx not the end', 'tail', '--b--', ''].join('\r\n'));
    const { parts } = await split(message, 5);
    // 7bit: its line ends as postal-mime gives them reading the whole message (LF).
    const whole = await readMailContent(message);
    expect(parts.map((part) => part.data.toString())).toEqual(whole.attachments.map((part) => Buffer.from(part.content).toString()));
    expect(parts.map((part) => part.data.toString())).toEqual(['--bx not the end\ntail']);
  });

  it('attack: parts after the close delimiter (the epilogue) are never read, at every chunk size', async () => {
    // Found by scripts/fuzz (mime): when the close delimiter ended a chunk, a `--b` line in the
    // epilogue opened a part the whole message has not (postal-mime ignores the epilogue): text
    // or attachments shown that no other reader shows, e.g. after a signed message's end.
    const message = bytes(['Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'first', '--b--', 'epilogue', '--b', 'Content-Type: application/octet-stream', '', 'after the end', '--b--', ''].join('\r\n'));
    const whole = await readMailContent(message);
    expect(whole.attachments).toEqual([]);
    for (let chunk = 1; chunk <= message.length; chunk++) {
      const { kept, parts } = await split(message, chunk);
      expect(parts, `chunks of ${chunk}`).toEqual([]);
      expect(Buffer.from(kept).toString('latin1'), `chunks of ${chunk}`).not.toContain('after the end');
      expect((await readMailContent(kept)).body, `chunks of ${chunk}`).toBe(whole.body);
    }
  });

  it('PGP/MIME signed (RFC 3156 §5): the bytes hashed are those the whole path checks, canonical CRLF, at every chunk size', async () => {
    const first = ['Content-Type: multipart/mixed; boundary=in', '', '--in', 'Content-Type: text/plain', '', 'line one\r', 'line two', '', '--in', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', wrap(pdf.toString('base64')), '--in--', ''].join('\n');
    for (const eolText of ['\n', '\r\n']) {
      const message = bytes([
        'Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary=sig', '', 'preamble', '--sig',
        first.replace(/\r?\n/g, eolText),
        '--sig', 'Content-Type: application/pgp-signature', '', '-----BEGIN PGP SIGNATURE-----', 'abc', '-----END PGP SIGNATURE-----', '--sig--', '',
      ].join(eolText));
      const whole = await readMailContent(message);
      expect(whole.signed?.kind).toBe('pgp-mime');
      const expected = whole.signed?.kind === 'pgp-mime' ? Buffer.from(whole.signed.signedBytes) : Buffer.alloc(0);
      for (const chunk of [1, 2, 3, 7, 64, 65536]) {
        const hashed: Buffer[] = [];
        const splitter = new MimeStreamSplitter({
          openAttachment: async () => ({ write: async () => undefined, end: async () => undefined }),
          openSignedData: () => ({ update: (canonical) => void hashed.push(Buffer.from(canonical)) }),
        });
        for (let offset = 0; offset < message.length; offset += chunk) await splitter.write(message.subarray(offset, offset + chunk));
        const result = await splitter.finish();
        expect(Buffer.concat(hashed).equals(expected), `${JSON.stringify(eolText)} ${chunk}`).toBe(true);
        expect(result.pgpMime?.signature).toContain('-----BEGIN PGP SIGNATURE-----');
      }
    }
  });

  it('7bit, 8bit and binary parts: line ends as postal-mime reads them, CRs before a LF or at the end dropped, at every chunk size', async () => {
    const body = 'a\r\nb\r\r\nc\rd\n\r\ne\r\r';
    for (const encoding of ['7bit', '8bit', 'binary']) {
      const message = bytes(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: application/octet-stream', `Content-Transfer-Encoding: ${encoding}`, '', body, '--b--', ''].join('\r\n'));
      const whole = (await readMailContent(message)).attachments.map((part) => Buffer.from(part.content).toString('latin1'));
      for (const chunk of [1, 2, 3, 64]) {
        const { parts } = await split(message, chunk);
        expect(parts.map((part) => part.data.toString('latin1')), `${encoding} ${chunk}`).toEqual(whole);
      }
    }
  });

  // Its bound is no time it should take (about 0.3 s): held CRs were joined again to each next
  // chunk, so 32 MiB of CRs in sync's 64 KiB chunks took over a minute of CPU (4 MiB: 1.1 s, 8x
  // the cost for 2x the bytes; a 64 MiB body, which deflates to 64 KiB, minutes).
  it('attack: a 7bit body of 32 MiB of CRs costs time in its length, not in its square', async () => {
    // A bound on CPU time (test/helpers/cpu-time.ts), not the 30 s of wall time it was: a loaded
    // machine (load 20-32 in issue 16's loop) stretched the wall time 7-15x.
    const ms = await cpuMs(async () => {
      const size = 32 * 1024 * 1024;
      const message = Buffer.concat([bytes('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n'), Buffer.alloc(size, 0x0d), bytes('x\r\n--b--\r\n')]);
      let stored = 0;
      let last = Buffer.alloc(0);
      const splitter = new MimeStreamSplitter({ openAttachment: async () => ({ write: async (data) => void ((stored += data.byteLength), (last = Buffer.from(data.subarray(-2)))), end: async () => undefined }) });
      for (let offset = 0; offset < message.length; offset += 65536) {
        await splitter.write(message.subarray(offset, offset + 65536));
        // The timeout can fire only between tasks: a slow write then fails the test instead of holding the run.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await splitter.finish();
      expect(stored).toBe(size + 1);
      expect(last).toEqual(Buffer.from('\rx', 'latin1'));
    });
    expect(ms).toBeLessThan(15_000);
  });
});

// docs/message-payload.md §3.1: hostile base64 decodes as postal-mime decodes the whole message
// (RFC 2045 §6.8: what is outside the alphabet is ignored, '=' ends a unit), through the fast
// path (node's decoder on whole chunks) and the careful one, at every chunk size.
describe('base64 content, hostile or not, as postal-mime reads it', () => {
  const data = randomBytes(120_000);
  const attachment = (body: string, lf = false) =>
    bytes(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'hi', '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', body, '--b--', ''].join(lf ? '\n' : '\r\n'));
  async function sameAsWhole(message: Uint8Array, label: string): Promise<Buffer> {
    const whole = (await readMailContent(message)).attachments.map((part) => Buffer.from(part.content));
    expect(whole.length, label).toBe(1);
    for (const chunk of [65536, 4096, 300, 257, 61]) {
      const { parts } = await split(message, chunk);
      expect(parts.length, `${label} ${chunk}`).toBe(1);
      expect(parts[0]!.data.equals(whole[0]!), `${label}, chunks of ${chunk}`).toBe(true);
    }
    return whole[0]!;
  }
  /** Inserts `what` every `every` characters, from `from` on. */
  const sprinkle = (text: string, what: string, every: number, from = 10) => {
    let out = '';
    for (let at = 0; at < text.length; at += every) out += text.slice(at, at + every) + (at >= from ? what : '');
    return out;
  };

  it('well formed: lines of 76 (CRLF, LF), of other lengths, one line of 160 KB', async () => {
    const text = data.toString('base64');
    expect((await sameAsWhole(attachment(wrap(text)), 'CRLF 76')).equals(data)).toBe(true);
    expect((await sameAsWhole(attachment(wrap(text).replace(/\r\n/g, '\n'), true), 'LF 76')).equals(data)).toBe(true);
    expect((await sameAsWhole(attachment(wrap(text, 61)), 'CRLF 61')).equals(data)).toBe(true);
    expect((await sameAsWhole(attachment(text), 'one line')).equals(data)).toBe(true);
  });

  it('characters outside the alphabet are ignored, wherever they stand (space, tab, *, NUL, 8-bit, -, _, a lone CR)', async () => {
    const text = wrap(data.toString('base64'));
    for (const junk of [' ', '\t', '*', '\x00', '\xff', '\xe9', '-', '_', '.', '\r', '!!', '-_']) {
      for (const every of [997, 4]) {
        const decoded = await sameAsWhole(attachment(sprinkle(text, junk, every)), `${JSON.stringify(junk)} every ${every}`);
        expect(decoded.equals(data), `${JSON.stringify(junk)} every ${every}`).toBe(true);
      }
    }
    // One bad character alone in a chunk of well-formed lines.
    const one = text.slice(0, 70_000) + '*' + text.slice(70_000);
    expect((await sameAsWhole(attachment(one), 'one *')).equals(data)).toBe(true);
  });

  it("'=' ends a unit: padding on every line, '=' inside a group, padding then more data", async () => {
    // A mailer that encodes each line on its own: 56 bytes per line, each line padded.
    const lines: string[] = [];
    for (let at = 0; at < data.length; at += 56) lines.push(data.subarray(at, at + 56).toString('base64'));
    expect((await sameAsWhole(attachment(lines.join('\r\n')), 'padded lines')).equals(data)).toBe(true);
    const text = wrap(data.toString('base64'));
    await sameAsWhole(attachment(sprinkle(text, '=', 4003)), "'=' every 4003");
    await sameAsWhole(attachment(sprinkle(text, '==\r\n', 5000)), "'==' every 5000");
    await sameAsWhole(attachment('QUJD=' + text), "'=' after a group");
  });

  it('truncated: the content ends 1, 2 or 3 characters into a group, or the message ends inside the attachment', async () => {
    const text = data.subarray(0, 99_999).toString('base64').replace(/=+$/, '');
    for (const drop of [0, 1, 2, 3]) await sameAsWhole(attachment(wrap(text.slice(0, text.length - drop))), `${drop} dropped`);
    const message = attachment(wrap(text));
    for (const cut of [20_000, 20_001, 20_002, 60_003]) await sameAsWhole(message.subarray(0, cut), `cut at ${cut}`);
  });

  it('a line of any length: the decoded bytes go out as the chunks come, nothing waits for a line end', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const message = attachment(big.toString('base64'));
    const pieces: number[] = [];
    const splitter = new MimeStreamSplitter({ openAttachment: async () => ({ write: async (decoded) => void pieces.push(decoded.byteLength), end: async () => undefined }) });
    for (let offset = 0; offset < message.length; offset += 65536) await splitter.write(message.subarray(offset, offset + 65536));
    await splitter.end();
    expect(pieces.reduce((sum, length) => sum + length, 0)).toBe(big.length);
    expect(Math.max(...pieces)).toBeLessThanOrEqual((65536 * 3) / 4 + 3);
  });
});

describe('docs/limits.md §2.4: what one message stores is bounded', () => {
  // Each forwarded message is stored whole beside what it holds: nested 23 deep, a 24 MiB
  // message would store its 16 MiB attachment 24 times (384 MiB) without the bound.
  function nestedForwards(levels: number, innerBytes: number): Uint8Array {
    let message = Buffer.concat([
      Buffer.from('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
      Buffer.alloc(innerBytes, 'a\r\n'),
    ]);
    for (let level = 0; level < levels; level += 1) {
      message = Buffer.concat([Buffer.from('Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n'), message]);
    }
    return message;
  }

  async function storedBy(message: Uint8Array): Promise<number> {
    let stored = 0;
    const splitter = new MimeStreamSplitter({ openAttachment: async () => ({ write: async (data) => void (stored += data.byteLength), end: async () => undefined }) });
    for (let offset = 0; offset < message.length; offset += 1 << 20) await splitter.write(message.subarray(offset, offset + (1 << 20)));
    await splitter.finish();
    return stored;
  }

  it('forwards nested 23 deep around a 16 MiB attachment stay sealed (message_over_limit); 3 deep are stored', async () => {
    // 'a' CR LF read as 8bit: 'a' LF, 16 MiB of the 24 given.
    const kept = await storedBy(nestedForwards(3, 24 * 1024 * 1024));
    expect(kept).toBeGreaterThanOrEqual(4 * 16 * 1024 * 1024);
    await expect(storedBy(nestedForwards(23, 24 * 1024 * 1024))).rejects.toMatchObject({ code: 'message_over_limit' });
  }, 300_000); // a hang guard: 48 MiB through the splitter, 10.2 s quiet (CI), 74 s at load ~20 (issue 16's loop, run 1)
});

describe('docs/limits.md §2.6: the MIME parts of one message are bounded, on both receive paths', () => {
  const max = MESSAGE_LIMITS.maxMimeParts;
  /** `parts` empty parts (10 bytes each: the fuzz's case), then `tail` bytes of text in one more part. */
  function emptyParts(parts: number, tail = 0): Buffer {
    return Buffer.concat([
      bytes('From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'),
      Buffer.from('--b\r\n\r\nx\r\n'.repeat(parts), 'latin1'),
      tail > 0 ? Buffer.concat([bytes('--b\r\nContent-Type: application/octet-stream\r\n\r\n'), Buffer.alloc(tail, 'y'), CRLF_]) : Buffer.alloc(0),
      bytes('--b--\r\n'),
    ]);
  }
  const CRLF_ = Buffer.from('\r\n');
  /** Each case races a timer that names it (the splitter yields between pieces, so the timer can fire). */
  async function bounded<T>(label: string, work: Promise<T>, ms = 60_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${label}: still running after ${ms} ms`)), ms)));
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }
  async function splitted(message: Uint8Array, piece = 65536): Promise<Uint8Array> {
    const splitter = new MimeStreamSplitter({ openAttachment: async () => ({ write: async () => undefined, end: async () => undefined }) });
    for (let offset = 0; offset < message.length; offset += piece) {
      await splitter.write(message.subarray(offset, offset + piece));
      await new Promise((resolve) => setImmediate(resolve));
    }
    return splitter.end();
  }

  it(`${max} empty parts are read on both paths; ${max + 1} stay sealed as too-many-parts on both`, async () => {
    const under = emptyParts(max);
    const kept = await bounded('split, just under', splitted(under));
    expect(Buffer.from(kept).toString('latin1').split('--b\r\n').length - 1).toBe(max);
    expect((await bounded('whole, just under', readMailContent(under))).attachments).toEqual([]);
    const over = emptyParts(max + 1);
    expect(await bounded('split, just over', overLimitReason(splitted(over))), 'streamed splitter').toBe('too-many-parts');
    expect(await bounded('whole, just over', overLimitReason(readMailContent(over))), 'readMailContent').toBe('too-many-parts');
  }, 120_000);

  it('the parts of a forwarded message count with its parent\'s, on both paths', async () => {
    const inner = emptyParts(max / 2).toString('latin1');
    const message = bytes(
      `From: a@example.org\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n${'--o\r\n\r\nx\r\n'.repeat(max / 2 - 1)}--o\r\nContent-Type: message/rfc822\r\n\r\n${inner}\r\n--o--\r\n`,
    );
    // max / 2 - 1 + 1 outer parts, max / 2 inner ones: exactly max; one more outer part passes it.
    expect(await bounded('split, forwarded, at the bound', overLimitReason(splitted(message)))).toBe(null);
    expect(await bounded('whole, forwarded, at the bound', overLimitReason(readMailContent(message)))).toBe(null);
    const more = bytes(Buffer.from(message).toString('latin1').replace('--o\r\n', '--o\r\n\r\nx\r\n--o\r\n'));
    expect(await bounded('split, forwarded, over', overLimitReason(splitted(more)))).toBe('too-many-parts');
    expect(await bounded('whole, forwarded, over', overLimitReason(readMailContent(more)))).toBe('too-many-parts');
  }, 120_000);

  // The splitter joined a '\n' before the rest of its piece at each part: copied once per part,
  // quadratic in the parts of a piece (1 MiB of empty parts in 64 KiB pieces: 2.5 s). Counted in
  // bytes copied, not in time: the whole message once or twice, never once per part.
  it('parts in a large piece: the piece is not copied once per part', async () => {
    const message = emptyParts(max - 1, 64 * 1024);
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      await bounded('split, one piece', splitted(message, message.byteLength));
      const copied = concat.mock.results.reduce((sum, result) => sum + (result.value as Buffer).byteLength, 0);
      expect(copied, `bytes copied for a message of ${message.byteLength}`).toBeLessThan(8 * message.byteLength);
    } finally {
      concat.mockRestore();
    }
  }, 120_000);
});
