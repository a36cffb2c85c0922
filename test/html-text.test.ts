// docs/message-payload.md §4.2, docs/fuzzing.md: HTML made readable (src/core/html-text.ts)
// reads tags only up to the last ">" and links only up to the last "</a>", in one pass; the
// same text as the expressions it had before (kept here as the oracle), on random HTML.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeEntities, htmlToReadableText } from '../src/core/html-text.js';

/** The reading before the change (src/core/html-text.ts at 42918f3), the oracle. */
function before(html: string): string {
  const attribute = (tag: string, name: string) => {
    const match = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
    return match ? decodeEntities(match[1] ?? match[2] ?? match[3] ?? '').trim() : undefined;
  };
  let text = html.replace(/<!--[\s\S]*?(?:-->|$)/g, ' ').replace(/<(script|style|head|title|template|noscript)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ').replace(/[\r\n\t]+/g, ' ');
  text = text.replace(/<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi, (_, attributes: string, inner: string) => {
    const href = attribute(attributes, 'href');
    const label = inner.replace(/<[^>]*>/g, '').trim();
    if (href === undefined || href === '' || href.startsWith('#')) return label;
    const shown = decodeEntities(label);
    const target = `\u0001${href.replace(/[<>\u0001\u0002]/g, '')}\u0002`;
    return shown === '' || shown === href || `mailto:${shown}` === href ? target : `${label} ${target}`;
  });
  text = text.replace(/<img\b([^>]*)>/gi, (_, attributes: string) => (attribute(attributes, 'alt') ? `[image: ${attribute(attributes, 'alt')}]` : '[image]'))
    .replace(/<br\b[^>]*>/gi, '\n').replace(/<li\b[^>]*>/gi, '\n• ').replace(/<hr\b[^>]*>/gi, '\n----------\n')
    .replace(/<\/?(p|div|table|tr|h[1-6]|ul|ol|blockquote|pre|section|article|header|footer)\b[^>]*>/gi, '\n\n')
    .replace(/<\/t[dh]\s*>/gi, '\t').replace(/<[^>]*>/g, '').replace(/\u0001/g, '<').replace(/\u0002/g, '>');
  return `${decodeEntities(text).replace(/[ \t\u00a0]+/g, ' ').replace(/ *\n */g, '\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

const PIECES = ['<', '>', '<a ', '<a href="https://x.test">', "<A HREF='mailto:m@x.test'>", '</a>', '</A >', '</a', '<img alt="i&gt;">', '<img>', '<br>', '<p>', '</p>', '<li>', '<hr/>', '</td>', '<b>', '</b>', '<!--', '-->', '<script>', '</script>', 'x', ' ', 'link', '&amp;', '&gt;', '\n', '<p', '<a'];

describe('HTML made readable, in one pass (src/core/html-text.ts)', () => {
  it('the same text as before on 5,000 random documents of up to 24 pieces', () => {
    for (let round = 0; round < 5000; round += 1) {
      const random = randomBytes(1 + (round % 24));
      const html = [...random].map((byte) => PIECES[byte % PIECES.length]).join('');
      expect(htmlToReadableText(html), JSON.stringify(html)).toBe(before(html));
    }
  });

  it('attack: 1 MiB of "<", "<a ", links never closed, a label of "<p" runs: linear', () => {
    const MIB = 1024 * 1024;
    for (const html of [
      '<'.repeat(MIB),
      '<a '.repeat(MIB / 3),
      '<a href="x">'.repeat(MIB / 12),
      `<a href="x">${'<p'.repeat(MIB / 2)}</a>`,
      `${'<br'.repeat(MIB / 3)}>`,
    ]) {
      const start = process.cpuUsage();
      htmlToReadableText(html);
      const used = process.cpuUsage(start);
      // The expressions tried each "<" to the end: 32,000 "<a " 7.1 s, 32,000 "<" 1.3 s; 1 MiB, minutes.
      expect((used.user + used.system) / 1000, html.slice(0, 20)).toBeLessThan(5_000);
    }
  });
});

describe('HTML made readable: <pre> and <blockquote> (docs/message-payload.md §4.2)', () => {
  it('a webmail reply: the quoted message quoted with "> ", one per level', () => {
    const html = '<div dir="ltr">Hi Bob,<div>Thanks.</div></div><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Alice &lt;alice@example.org&gt; wrote:<br></div>'
      + '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex"><p>First line<br>second</p><blockquote>deeper &amp; older</blockquote><p>back</p></blockquote></div><p>Bye</p>';
    expect(htmlToReadableText(html)).toBe('Hi Bob,\n\nThanks.\n\nOn Mon, Alice <alice@example.org> wrote:\n\n> First line\n> second\n>\n> > deeper & older\n>\n> back\n\nBye\n');
  });

  it('a <pre> block keeps its spaces and line breaks, its references decoded once, inside a quote too', () => {
    expect(htmlToReadableText('<p>Code:</p><PRE class="x">  if (a &lt; b) {\r\n    x(&amp;lt;);\n\n  }\n</PRE><p>after</p>'))
      .toBe('Code:\n\n  if (a < b) {\n    x(&lt;);\n\n  }\n\nafter\n');
    expect(htmlToReadableText('<blockquote><pre>a\n  <b>b</b><br>c</pre></blockquote>')).toBe('> a\n>   b\n> c\n');
    expect(htmlToReadableText('x<pre>never closed\n  y')).toBe('x\n\nnever closed\n  y\n');
    expect(htmlToReadableText('<preface>not a block</preface>')).toBe('not a block\n');
  });

  it('attack: the reader\'s own markers sent as bytes or as references are never markers', () => {
    expect(htmlToReadableText('<pre>A</pre>&#5;0&#6; &#3;x &#1;y&#2; \u00050\u0006 \u0003z')).toBe('A\n\n\uFFFD0\uFFFD \uFFFDx \uFFFDy\uFFFD 0 z\n');
  });

  it('attack: 1 MiB of nested quotes, of unclosed <pre>, of blank lines in a <pre>: linear, the text bounded', () => {
    const MIB = 1024 * 1024;
    for (const html of [
      '<blockquote>x'.repeat(MIB / 13),
      '<pre>'.repeat(MIB / 5),
      '<pre x'.repeat(MIB / 6),
      `<pre>${'\n'.repeat(MIB)}</pre>`,
      '<blockquote><pre>x\n</pre>'.repeat(MIB / 25),
    ]) {
      const start = process.cpuUsage();
      const text = htmlToReadableText(html);
      const used = process.cpuUsage(start);
      expect((used.user + used.system) / 1000, html.slice(0, 20)).toBeLessThan(5_000);
      // At most 8 levels of "> " a line: never more than ~17 bytes a line of the HTML.
      expect(text.length, html.slice(0, 20)).toBeLessThan(4 * MIB);
    }
    expect(htmlToReadableText('<blockquote>'.repeat(20) + 'deep').trimEnd()).toBe(`${'> '.repeat(8)}deep`);
  });
});
