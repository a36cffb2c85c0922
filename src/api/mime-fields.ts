// Mail header fields (RFC 5322 §2.2, §3.6) and multipart bodies (RFC 2045 §5.1, RFC 2046
// §5.1.1), read the same way by both ends: the relay's SMTP gateway (src/relay/gateway/
// inbound-mime.ts) and the stick (src/core/mail-content.ts). Pure: strings in, values out.
// Only the shapes we need are read; anything else is "not there", never guessed.

export interface HeaderField {
  /** As written, e.g. `Content-Type`. Compare case-insensitively. */
  readonly name: string;
  /** Unfolded (RFC 5322 §2.2.3), trimmed. */
  readonly value: string;
}

/** Splits a message (or a MIME part) at its first empty line. Line ends may be CRLF or LF. */
export function splitHeaderAndBody(raw: string): { headerText: string; body: string } {
  const match = /\r?\n\r?\n/.exec(raw);
  if (match === null) return { headerText: raw, body: '' };
  return { headerText: raw.slice(0, match.index), body: raw.slice(match.index + match[0].length) };
}

/** The header fields in order, unfolded. Lines that are not fields are skipped. */
export function parseHeaderFields(headerText: string): HeaderField[] {
  const fields: HeaderField[] = [];
  let current: { name: string; value: string } | null = null;
  for (const line of headerText.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current !== null) {
      current.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0 && /^[!-9;-~]+$/.test(line.slice(0, colon))) {
      if (current !== null) fields.push({ name: current.name, value: current.value.trim() });
      current = { name: line.slice(0, colon), value: line.slice(colon + 1) };
    }
  }
  if (current !== null) fields.push({ name: current.name, value: current.value.trim() });
  return fields;
}

/** The first field named `name` (case-insensitive). */
export function headerValue(fields: readonly HeaderField[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  return fields.find((field) => field.name.toLowerCase() === wanted)?.value;
}

/** A Content-Type value: the lower-case type/subtype and its parameters (names lower-case, quotes removed). */
export function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (value === undefined) return { type: 'text/plain', params: {} };
  const [typePart, ...rest] = splitOutsideQuotes(value, ';');
  const params: Record<string, string> = {};
  for (const piece of rest) {
    const equals = piece.indexOf('=');
    if (equals <= 0) continue;
    let paramValue = piece.slice(equals + 1).trim();
    if (paramValue.startsWith('"') && paramValue.endsWith('"') && paramValue.length >= 2) {
      paramValue = paramValue.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    params[piece.slice(0, equals).trim().toLowerCase()] = paramValue;
  }
  return { type: (typePart ?? '').trim().toLowerCase(), params };
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (char === '\\' && quoted && i + 1 < text.length) {
      current += char + (text[i + 1] as string);
      i += 1;
    } else if (char === '"') {
      quoted = !quoted;
      current += char;
    } else if (char === separator && !quoted) {
      pieces.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  pieces.push(current);
  return pieces;
}

/**
 * `line` without its trailing spaces and tabs (RFC 2046 §5.1.1 transport padding), in one pass
 * from the end: /[ \t]+$/ backtracks in the square of a run of blanks that does not end the
 * line, and a sender chooses the line (docs/fuzzing.md: 1 MiB of them held the relay).
 */
export function trimEndSpaceTab(line: string): string {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09)) end -= 1;
  return end === line.length ? line : line.slice(0, end);
}

/** The parts of a multipart body (RFC 2046 §5.1.1), without preamble and epilogue; null when the closing delimiter is missing. */
export function splitMultipart(body: string, boundary: string): string[] | null {
  const lines = body.split(/\r?\n/);
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    const trimmed = trimEndSpaceTab(line);
    if (trimmed === `--${boundary}--`) {
      if (current !== null) parts.push(current.join('\r\n'));
      return parts;
    }
    if (trimmed === `--${boundary}`) {
      if (current !== null) parts.push(current.join('\r\n'));
      current = [];
    } else if (current !== null) {
      current.push(line);
    }
  }
  return null;
}
