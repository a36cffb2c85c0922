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
      // C0 controls other than tab and line ends come out as U+FFFD: never this reader's markers.
      const control = code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d;
      return code > 0 && !control && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\uFFFD';
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

/** The markers this reader puts in the text; a sender's own are removed first. */
const MARKERS = /[\u0001-\u0006]/g;
const QUOTE_OPEN = '\u0003';
const QUOTE_CLOSE = '\u0004';
/** A `<pre>` block's place in the text while the rest is folded: `\u0005N\u0006`. */
const PRE_PLACE = /\u0005(\d+)\u0006/g;

/**
 * The `<pre>` blocks of `html` taken out before white space is folded, each replaced by its
 * place (PRE_PLACE); their text keeps its line breaks and spaces (tags removed, `<br>` a line
 * break, links as everywhere). One scan with indexOf: an opening never closed runs to the end
 * of the text once, not at every opening.
 */
function takePreBlocks(html: string): { text: string; blocks: string[] } {
  const lower = html.toLowerCase();
  const blocks: string[] = [];
  const kept: string[] = [];
  let at = 0;
  for (let open = lower.indexOf('<pre', at); open !== -1; open = lower.indexOf('<pre', at)) {
    const after = lower[open + 4];
    const openEnd = lower.indexOf('>', open);
    if (openEnd === -1) break;
    if (after !== '>' && after !== ' ' && after !== '\t' && after !== '\n' && after !== '\r' && after !== '/') {
      kept.push(html.slice(at, openEnd + 1));
      at = openEnd + 1;
      continue;
    }
    const close = lower.indexOf('</pre', openEnd);
    const closeEnd = close === -1 ? lower.length : lower.indexOf('>', close);
    const inner = html.slice(openEnd + 1, close === -1 ? lower.length : close);
    kept.push(html.slice(at, open), `\u0005${blocks.length}\u0006`);
    blocks.push(upToLastTag(upToLastTag(inner.replace(/\r\n?/g, '\n'), linksOf), (tags) => withoutTags(tags.replace(/<br\b[^>]*>/gi, '\n'))));
    at = closeEnd === -1 ? lower.length : closeEnd + 1;
  }
  kept.push(html.slice(at));
  return { text: kept.join(''), blocks };
}

/**
 * Quote levels drawn at most: deeper ones are drawn at this level, so the text grows by a
 * bounded prefix a line (each of 80,000 lines one level deeper would be gigabytes of "> ").
 */
export const MAX_QUOTE_LEVELS = 8;

/** The prefix of a line quoted `depth` times, as mail writes it ("> > "); a blank line's without the last space. */
function quotePrefix(depth: number, blank: boolean): string {
  const prefix = '> '.repeat(Math.min(depth, MAX_QUOTE_LEVELS));
  return blank ? prefix.trimEnd() : prefix;
}

/**
 * Quoted blocks (`<blockquote>`, the markers QUOTE_OPEN and QUOTE_CLOSE) as mail quotes them:
 * each line inside begins with "> ", one per level. A line of markers alone is dropped; blank
 * lines are folded to one, and one stands between two levels, at the lower of them.
 */
function quoteBlocks(text: string): string {
  let depth = 0;
  const out: string[] = [];
  let lastDepth: number | undefined;
  let blankWaiting = false;
  for (const line of text.split('\n')) {
    let shown = '';
    let lineDepth: number | undefined;
    for (const char of line) {
      if (char === QUOTE_OPEN) depth += 1;
      else if (char === QUOTE_CLOSE) depth = Math.max(0, depth - 1);
      else {
        lineDepth ??= depth;
        shown += char;
      }
    }
    if (lineDepth === undefined || shown.trim() === '') {
      blankWaiting ||= line === '' || shown !== '';
      continue;
    }
    if (lastDepth !== undefined && (blankWaiting || lastDepth !== lineDepth)) out.push(quotePrefix(Math.min(lastDepth, lineDepth), true));
    out.push(`${quotePrefix(lineDepth, false)}${shown}`);
    lastDepth = lineDepth;
    blankWaiting = false;
  }
  return out.join('\n');
}

/** Each line that holds only a `<pre>` block's place (after its quote prefix): the block's lines, each with that prefix. */
function putPreBlocks(text: string, blocks: readonly string[]): string {
  return text.replace(/^((?:> )*)\u0005(\d+)\u0006$/gm, (_, prefix: string, index: string) => {
    const depth = prefix.length / 2;
    // Decoded once, after the rest: its "&amp;lt;" stays "&lt;".
    return decodeEntities(blocks[Number(index)] ?? '')
      .replace(/^\n+|\s+$/g, '')
      .split('\n')
      .map((line) => (line.trim() === '' ? quotePrefix(depth, true) : `${quotePrefix(depth, false)}${line}`))
      .join('\n');
  });
}

/** Every regular expression here is linear, read as upToLastTag and linksOf say. */
export function htmlToReadableText(html: string): string {
  const { text: withoutPre, blocks } = takePreBlocks(html
    .replace(MARKERS, '')
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style|head|title|template|noscript)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, ' '));
  let text = withoutPre.replace(/[\r\n\t]+/g, ' ');
  text = upToLastTag(text, linksOf);
  text = upToLastTag(text, (tags) => withoutTags(tags
    .replace(/<img\b([^>]*)>/gi, (_, attributes: string) => {
      const alt = attribute(attributes, 'alt');
      return alt ? `[image: ${alt}]` : '[image]';
    })
    .replace(/<br\b[^>]*>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n• ')
    .replace(/<hr\b[^>]*>/gi, '\n----------\n')
    .replace(/<blockquote\b[^>]*>/gi, `\n\n${QUOTE_OPEN}\n\n`)
    .replace(/<\/blockquote\b[^>]*>/gi, `\n\n${QUOTE_CLOSE}\n\n`)
    .replace(/<\/?(p|div|table|tr|h[1-6]|ul|ol|pre|section|article|header|footer)\b[^>]*>/gi, '\n\n')
    .replace(/<\/t[dh]\s*>/gi, '\t')))
    .replace(PRE_PLACE, '\n\n$&\n\n');
  const folded = decodeEntities(text)
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  const readable = blocks.length === 0 && !folded.includes(QUOTE_OPEN) ? folded : putPreBlocks(quoteBlocks(folded), blocks);
  return `${readable.replace(/\u0001/g, '<').replace(/\u0002/g, '>').trim()}\n`;
}
