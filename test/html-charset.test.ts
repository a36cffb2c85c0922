// docs/message-payload.md §4.5: the charset an HTML part's markup declares, read as WHATWG HTML
// §13.2.3.2's prescan reads it (src/core/html-charset.ts). Known answers, one rule of the
// standard each; the mail around them is in test/mail-text-charset.test.ts.
import { describe, expect, it } from 'vitest';
import { htmlMetaCharset, PRESCAN_BYTES } from '../src/core/html-charset.js';

const sniff = (html: string) => htmlMetaCharset(Buffer.from(html, 'latin1'));

describe('prescan a byte stream to determine its encoding (WHATWG HTML §13.2.3.2)', () => {
  it.each([
    ['<meta charset>', '<meta charset="koi8-r">', 'koi8-r'],
    ['a label with blanks and capitals, as TextDecoder names it', '<meta charset=" Shift_JIS ">', 'shift_jis'],
    ['an alias label', '<meta charset="latin1">', 'windows-1252'],
    ['unquoted, after a slash', '<meta/charset=euc-jp>', 'euc-jp'],
    ['http-equiv and content, in capitals', '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=windows-1251">', 'windows-1251'],
    ['content first, then http-equiv', '<meta content="text/html;charset=gbk" http-equiv="content-type">', 'gbk'],
    ['content with a quoted charset', `<meta http-equiv=content-type content='text/html;charset="big5"'>`, 'big5'],
    ['content with blanks around =', '<meta http-equiv="content-type" content="text/html; charset = iso-8859-2 ; x">', 'iso-8859-2'],
    ['a label TextDecoder does not know: the next meta', '<meta charset="bogus"><meta charset="iso-8859-7">', 'iso-8859-7'],
    ['UTF-16 is read as UTF-8', '<meta charset="utf-16le">', 'utf-8'],
    ['x-user-defined is read as windows-1252', '<meta charset="x-user-defined">', 'windows-1252'],
    ['a comment skipped', '<!-- <meta charset="koi8-r"> --><meta charset=utf-8>', 'utf-8'],
    ['<!--> ends its comment', '<!--><meta charset=koi8-r>', 'koi8-r'],
    ['a meta inside another tag\'s attribute skipped', '<p title="<meta charset=koi8-r>">x</p><meta charset=gbk>', 'gbk'],
    ['the first charset attribute counts', '<meta charset=koi8-r charset=gbk>', 'koi8-r'],
    ['charset wins over content', '<meta http-equiv=content-type content="text/html; charset=gbk" charset=koi8-r>', 'koi8-r'],
  ])('%s', (_name, html, expected) => {
    expect(sniff(html)).toBe(expected);
  });

  it.each([
    ['content without http-equiv', '<meta content="text/html; charset=windows-1251">'],
    ['no blank or slash after <meta', '<metacharset=koi8-r>'],
    ['cut at the end of the input', '<meta charset'],
    ['an unmatched quote in content', '<meta http-equiv=content-type content="text/html; charset=\'koi8-r">'],
    ['a processing instruction and an end tag skipped, no meta', '<?xml version="1.0"?></p><p>text'],
    ['no markup', 'Grüße'],
  ])('nothing: %s', (_name, html) => {
    expect(sniff(html)).toBeUndefined();
  });

  it(`reads the first ${PRESCAN_BYTES} bytes only`, () => {
    const meta = '<meta charset="koi8-r">';
    expect(sniff(' '.repeat(PRESCAN_BYTES - meta.length) + meta)).toBe('koi8-r');
    expect(sniff(' '.repeat(PRESCAN_BYTES - meta.length + 1) + meta)).toBeUndefined();
    // A comment, a quote or a tag left open: the scan ends at the bound, whatever follows.
    const start = process.cpuUsage();
    for (const open of ['<!--', '<p title="', '<meta charset="', '<!']) expect(sniff(open + 'x'.repeat(4 * 1024 * 1024))).toBeUndefined();
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000).toBeLessThan(2_000);
  });
});
