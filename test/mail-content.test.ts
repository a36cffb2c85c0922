// docs/message-payload.md §3-§6 on crafted messages: what the reader shows, lists and
// how attachment names are made safe. The real senders are in test/cli-real-mail.test.ts.
import { describe, expect, it } from 'vitest';
import { safeAttachmentName, uniqueAttachmentNames } from '../src/core/attachment-name.js';
import { htmlToReadableText } from '../src/core/html-text.js';
import { readMailContent } from '../src/core/mail-content.js';
import { cpuMs } from './helpers/cpu-time.js';

const bytes = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);

describe('attachment names (docs/message-payload.md §5.2)', () => {
  it.each([
    ['../../etc/passwd', '_.._etc_passwd'],
    ['..\\..\\boot.ini', '_.._boot.ini'],
    ['.bashrc', 'bashrc'],
    ['...', 'attachment-3'],
    ['', 'attachment-3'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['CON .txt', '_CON .txt'],
    ['aux  .tar.gz', '_aux  .tar.gz'],
    ['control.txt', 'control.txt'],
    ['com1.pdf', '_com1.pdf'],
    ['report.pdf. ', 'report.pdf'],
    ['a\u0000b\u202ecod.exe', 'abcod.exe'],
    ['C:evil', 'C_evil'],
    ['résumé.pdf', 'résumé.pdf'],
  ])('%j is saved as %j', (name, expected) => {
    expect(safeAttachmentName(name, 3)).toBe(expected);
  });

  it('cuts long names at 200 UTF-8 bytes and keeps the extension', () => {
    const safe = safeAttachmentName(`${'é'.repeat(300)}.pdf`, 1);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(200);
    expect(safe.endsWith('.pdf')).toBe(true);
  });

  it('two equal names saved together get (2)', () => {
    expect(uniqueAttachmentNames([{ name: 'a.txt', index: 1 }, { name: 'A.txt', index: 2 }, { name: 'a.txt', index: 3 }])).toEqual(['a.txt', 'A (2).txt', 'a (3).txt']);
  });
});

describe('HTML made readable (docs/message-payload.md §4)', () => {
  it('keeps link targets visible, drops scripts, styles and remote images', () => {
    const text = htmlToReadableText('<html><head><title>t</title><style>a{}</style></head><body><p>Pay <a href="https://evil.test/x">at your bank</a>.</p><script>x()</script><img src="http://t.test/p.gif" alt="logo"><br>Tom &amp; Jerry &#233;&#x20AC;</body></html>');
    expect(text).toBe('Pay at your bank <https://evil.test/x>.\n\n[image: logo]\nTom & Jerry é€\n');
  });

  it('is linear on hostile input (unclosed tags, thousands of anchors)', () => {
    const text = htmlToReadableText(`${'<a href="x">'.repeat(20_000)}<script>${'<'.repeat(50_000)}`);
    expect(text.length).toBeLessThan(200_000);
  });
});

describe('the reader (docs/message-payload.md §3-§6)', () => {
  it('decodes parts exactly: the line break before a boundary is not part of the content', async () => {
    const parts: Array<[string, string, string]> = [
      ['7bit', 'a\r\nb', 'a\nb'],
      ['quoted-printable', 'a=0Ab=00=FF', 'a\nb\u0000\u00ff'],
      ['quoted-printable', 'ab=', 'ab'],
      ['base64', 'YWIK', 'ab\n'],
    ];
    let message = 'From: x@y.test\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n';
    for (const [encoding, body] of parts) message += `--z\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=f\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n${body}\r\n`;
    message += '--z--\r\n';
    const content = await readMailContent(bytes(message));
    expect(content.attachments.map((attachment) => Buffer.from(attachment.content).toString('latin1'))).toEqual(parts.map((part) => part[2]));
  });

  it('prefers the text part; shows HTML only when there is no text', async () => {
    const alternative = 'Subject: alt\r\nContent-Type: multipart/alternative; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nplain\r\n--q\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--q--\r\n';
    expect((await readMailContent(bytes(alternative))).body.trim()).toBe('plain');
    const html = 'Subject: h\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>only <b>html</b></p>\r\n';
    const content = await readMailContent(bytes(html));
    expect(content.bodySource).toBe('html');
    expect(content.body).toBe('only html\n');
  });

  it('finds the PGP/MIME signed part as it stands, CRLF joined', async () => {
    const message = 'Subject: s\r\nContent-Type: multipart/signed; protocol="application/pgp-signature"; boundary=s\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nhello\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n\r\nAA==\r\n-----END PGP SIGNATURE-----\r\n--s--\r\n';
    const content = await readMailContent(bytes(message));
    expect(content.signed?.kind).toBe('pgp-mime');
    expect(content.signed && 'signedBytes' in content.signed ? Buffer.from(content.signed.signedBytes).toString('latin1') : '').toBe('Content-Type: text/plain\r\n\r\nhello');
    expect(content.attachments).toEqual([]);
  });

  it('text that does not start with headers is all body', async () => {
    const content = await readMailContent(bytes('Just a line: with a colon later\n'));
    expect(content.subject).toBeUndefined();
    expect(content.body).toBe('Just a line: with a colon later\n');
  });
});

// docs/fuzzing.md: the sender writes the file name (up to the 1 MiB of docs/limits.md §2.3); a
// run of spaces or dots inside it cost the square of the run. Each size in its own task.
describe('attack: an attachment name of up to 1 MiB costs time in its length, not in its square', () => {
  it('runs of spaces, dots and tabs inside the name', async () => {
    // A bound on CPU time (test/helpers/cpu-time.ts), not the wall time a loaded machine stretches.
    const ms = await cpuMs(async () => {
      for (let size = 32 * 1024; size <= 1024 * 1024; size *= 2) {
        for (const name of [`a${' '.repeat(size)}b.pdf`, `a${'.'.repeat(size)}b`, `a${'\t. '.repeat(size / 3)}b .. `]) {
          const safe = safeAttachmentName(name, 1);
          expect(safe.startsWith('a'), `${size}`).toBe(true);
          expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(255);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    });
    expect(ms).toBeLessThan(15_000);
  });
});

// docs/fuzzing.md: a forwarded message is shown below the text, after its trailing empty lines
// are cut: /\n*$/ cost the square of any run of empty lines in the text (40,000: 0.9 s), which the
// sender writes. Each size in its own task. The text is sent in base64 (as a mailer may), so the
// parser sees 57 empty lines per line of input and the test's cost stays in the trimming.
const base64Lines = (text: string): string => (Buffer.from(text).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
describe('attack: empty lines before a forwarded message cost time in their number, not in its square', () => {
  it('up to 256 Ki empty lines in the text of a message that forwards one', async () => {
    // A bound on CPU time (test/helpers/cpu-time.ts), not the wall time a loaded machine stretches.
    const ms = await cpuMs(async () => {
      for (let size = 32 * 1024; size <= 256 * 1024; size *= 2) {
        const raw = ['From: a@x.test', 'To: b@y.test', 'Subject: fwd', 'Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', 'Content-Transfer-Encoding: base64', '', base64Lines(`a${'\n'.repeat(size)}b`), '--b', 'Content-Type: message/rfc822', 'Content-Disposition: attachment', '', 'From: c@z.test', 'Subject: inner', '', 'inner text', '--b--', ''].join('\r\n');
        const content = await readMailContent(new TextEncoder().encode(raw));
        expect(content.body, `${size}`).toContain('---------- Forwarded message ----------');
        expect(content.body).toContain('inner text');
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    expect(ms).toBeLessThan(15_000);
  });
});
