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

/**
 * `text` without its tags, as `text.replace(/<[^>]*>/g, '')` gives it, in one pass: the
 * expression tried every "<" that has no ">" after it, each to the end of the text.
 */
function withoutTags(text: string): string {
  const kept: string[] = [];
  let at = 0;
  for (let open = text.indexOf('<'); open !== -1; open = text.indexOf('<', at)) {
    const close = text.indexOf('>', open);
    if (close === -1) break;
    kept.push(text.slice(at, open));
    at = close + 1;
  }
  kept.push(text.slice(at));
  return kept.join('');
}

/**
 * Links: the text the sender shows, then the real target, so a deceptive link is visible.
 * Read up to the end of the last `</a>` only: an opening whose close never comes made the lazy
 * scan run to the end of the text, at every opening (32,000 `<a href="x">`: 6.8 s).
 */
function linksOf(text: string): string {
  let end = 0;
  for (const match of text.matchAll(/<\/a\s*>/gi)) end = match.index + match[0].length;
  return text.slice(0, end).replace(/<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi, (_, attributes: string, inner: string) => {
    const href = attribute(attributes, 'href');
    const label = withoutTags(inner).trim();
    if (href === undefined || href === '' || href.startsWith('#')) return label;
    const shownLabel = decodeEntities(label);
    const target = `\u0001${href.replace(/[<>\u0001\u0002]/g, '')}\u0002`;
    return shownLabel === '' || shownLabel === href || `mailto:${shownLabel}` === href ? target : `${label} ${target}`;
  }) + text.slice(end);
}

/**
 * `read` applied to `text` up to its last ">" only, the rest kept as it is: no tag ends after
 * it. Within, every scan of a tag expression (`<…[^>]*>`) stops at the next ">" and matches,
 * consuming what it scanned; tried at a "<" with no ">" after it, it would scan to the end of
 * the text, at every such "<" (32,000 `<a ` cost 7.1 s).
 */
function upToLastTag(text: string, read: (tags: string) => string): string {
  const end = text.lastIndexOf('>') + 1;
  return read(text.slice(0, end)) + text.slice(end);
}

/** Every regular expression here is linear, read as upToLastTag and linksOf say. */
export function htmlToReadableText(html: string): string {
  let text = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style|head|title|template|noscript)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ')
    .replace(/[\r\n\t]+/g, ' ');
  text = upToLastTag(text, linksOf);
  text = upToLastTag(text, (tags) => withoutTags(tags
    .replace(/<img\b([^>]*)>/gi, (_, attributes: string) => {
      const alt = attribute(attributes, 'alt');
      return alt ? `[image: ${alt}]` : '[image]';
    })
    .replace(/<br\b[^>]*>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n• ')
    .replace(/<hr\b[^>]*>/gi, '\n----------\n')
    .replace(/<\/?(p|div|table|tr|h[1-6]|ul|ol|blockquote|pre|section|article|header|footer)\b[^>]*>/gi, '\n\n')
    .replace(/<\/t[dh]\s*>/gi, '\t')))
    .replace(/\u0001/g, '<')
    .replace(/\u0002/g, '>');
  return `${decodeEntities(text)
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}
