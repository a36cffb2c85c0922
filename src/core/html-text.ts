// docs/message-payload.md §4: HTML-only mail made readable as text. Nothing is
// fetched and nothing runs: the HTML is never given to a renderer, only read here
// as text. Links stay visible with their target ("text <https://…>"), images are
// named by their alt text, head, style and script are dropped whole.
// postal-mime renders text only when a text part exists beside the HTML, so this
// small reader fills that one gap (docs/decisions/mime.md).

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', hellip: '…',
  mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', euro: '€', laquo: '«', raquo: '»',
  eacute: 'é', egrave: 'è', ecirc: 'ê', agrave: 'à', acirc: 'â', ccedil: 'ç', ocirc: 'ô', ucirc: 'û', ugrave: 'ù', icirc: 'î', iuml: 'ï', euml: 'ë',
  Eacute: 'É', Egrave: 'È', Agrave: 'À', Ccedil: 'Ç', uuml: 'ü', ouml: 'ö', auml: 'ä', szlig: 'ß', bull: '•', middot: '·', times: '×', deg: '°',
};

/** HTML character references (named ones of the list above, decimal and hex) to text. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z][a-z0-9]{1,30});/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\uFFFD';
    }
    return NAMED_ENTITIES[ref] ?? whole;
  });
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!match) return undefined;
  return decodeEntities(match[1] ?? match[2] ?? match[3] ?? '').trim();
}

/** Every regular expression here is linear: no nested quantifiers over the same characters. */
export function htmlToReadableText(html: string): string {
  let text = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style|head|title|template|noscript)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ')
    .replace(/[\r\n\t]+/g, ' ');
  // Links: the text the sender shows, then the real target, so a deceptive link is visible.
  text = text.replace(/<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi, (_, attributes: string, inner: string) => {
    const href = attribute(attributes, 'href');
    const label = inner.replace(/<[^>]*>/g, '').trim();
    if (href === undefined || href === '' || href.startsWith('#')) return label;
    const shownLabel = decodeEntities(label);
    const target = `\u0001${href.replace(/[<>\u0001\u0002]/g, '')}\u0002`;
    return shownLabel === '' || shownLabel === href || `mailto:${shownLabel}` === href ? target : `${label} ${target}`;
  });
  text = text
    .replace(/<img\b([^>]*)>/gi, (_, attributes: string) => {
      const alt = attribute(attributes, 'alt');
      return alt ? `[image: ${alt}]` : '[image]';
    })
    .replace(/<br\b[^>]*>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n• ')
    .replace(/<hr\b[^>]*>/gi, '\n----------\n')
    .replace(/<\/?(p|div|table|tr|h[1-6]|ul|ol|blockquote|pre|section|article|header|footer)\b[^>]*>/gi, '\n\n')
    .replace(/<\/t[dh]\s*>/gi, '\t')
    .replace(/<[^>]*>/g, '')
    .replace(/\u0001/g, '<')
    .replace(/\u0002/g, '>');
  return `${decodeEntities(text)
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}
