// docs/message-payload.md §4.5: the charset an HTML part declares in its markup, for a part
// whose MIME header declares none. WHATWG HTML §13.2.3.2, "prescan a byte stream to determine
// its encoding" (with "get an attribute") and "extracting a character encoding from a meta
// element", over the first 1,024 bytes only (the standard's bound). No package: jsdom's
// html-encoding-sniffer 7 needs Node 22.13+, its 4.x brings iconv-lite's tables
// (docs/decisions/mime.md item 5). Pure: bytes in, a label out.

/** The standard's bound on the prescan. */
export const PRESCAN_BYTES = 1024;

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const BANG = 0x21;
const QUESTION = 0x3f;
const DASH = 0x2d;

/** 0x09, 0x0A, 0x0C, 0x0D, 0x20: the standard's ASCII whitespace. */
const isSpace = (byte: number | undefined): boolean => byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d || byte === 0x20;
const isAsciiLetter = (byte: number | undefined): boolean => byte !== undefined && ((byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a));
/** A byte as a code point, A-Z lowercased (the standard's "append … + 0x20"). */
const lowered = (byte: number): string => String.fromCharCode(byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte);

/** WHATWG Encoding "get an encoding": the canonical name of a label, or undefined (failure) for one TextDecoder does not know. */
function getAnEncoding(label: string): string | undefined {
  // WHATWG Encoding's one label Node's TextDecoder does not know; the prescan maps it to windows-1252.
  if (label.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '') === 'x-user-defined') return 'x-user-defined';
  try {
    return new TextDecoder(label).encoding; // TextDecoder strips the label's ASCII whitespace, as "get an encoding" does
  } catch {
    return undefined;
  }
}

/** The end of input: every step that reads past it ends the prescan with no result. */
class EndOfInput extends Error {}

class Prescan {
  position = 0;
  constructor(private readonly bytes: Uint8Array) {}

  byte(at = this.position): number {
    if (at >= this.bytes.length) throw new EndOfInput();
    return this.bytes[at]!;
  }

  startsWith(text: string, caseInsensitive = false): boolean {
    for (let index = 0; index < text.length; index += 1) {
      const byte = this.bytes[this.position + index];
      if (byte === undefined) return false;
      const char = caseInsensitive ? lowered(byte) : String.fromCharCode(byte);
      if (char !== text[index]) return false;
    }
    return true;
  }

  /** Advances to the first byte from here on that `predicate` accepts. */
  toNext(predicate: (byte: number) => boolean): void {
    while (!predicate(this.byte())) this.position += 1;
  }

  /** "Get an attribute": [name, value], or undefined when there is none (at `>`). */
  attribute(): [string, string] | undefined {
    while (isSpace(this.byte()) || this.byte() === SLASH) this.position += 1;
    if (this.byte() === GT) return undefined;
    let name = '';
    let value = '';
    for (;;) {
      const byte = this.byte();
      if (byte === EQUALS && name !== '') {
        this.position += 1;
        return [name, this.value()];
      }
      if (isSpace(byte)) break;
      if (byte === SLASH || byte === GT) return [name, value];
      name += lowered(byte);
      this.position += 1;
    }
    while (isSpace(this.byte())) this.position += 1;
    if (this.byte() !== EQUALS) return [name, value];
    this.position += 1;
    return [name, this.value()];
  }

  /** "Get an attribute", from its step "value". */
  private value(): string {
    while (isSpace(this.byte())) this.position += 1;
    let value = '';
    const first = this.byte();
    if (first === 0x22 || first === 0x27) {
      for (;;) {
        this.position += 1;
        const byte = this.byte();
        if (byte === first) {
          this.position += 1;
          return value;
        }
        value += lowered(byte);
      }
    }
    if (first === GT) return value;
    value += lowered(first);
    this.position += 1;
    for (;;) {
      const byte = this.byte();
      if (isSpace(byte) || byte === GT) return value;
      value += lowered(byte);
      this.position += 1;
    }
  }

  /** The `<meta` steps: a charset, or undefined to go on at the next byte. */
  meta(): string | undefined {
    this.position += 5; // past "<meta", at the space or slash after it
    const seen = new Set<string>();
    let gotPragma = false;
    let needPragma: boolean | null = null;
    let charset: string | undefined | null = null;
    for (let attribute = this.attribute(); attribute !== undefined; attribute = this.attribute()) {
      const [name, value] = attribute;
      if (seen.has(name)) continue;
      seen.add(name);
      if (name === 'http-equiv') {
        if (value === 'content-type') gotPragma = true;
      } else if (name === 'content') {
        const found = charsetInContent(value);
        if (found !== undefined && charset === null) {
          charset = found;
          needPragma = true;
        }
      } else if (name === 'charset') {
        charset = getAnEncoding(value);
        needPragma = false;
      }
    }
    if (needPragma === null || (needPragma && !gotPragma) || charset === null || charset === undefined) return undefined;
    if (charset === 'utf-16le' || charset === 'utf-16be') return 'utf-8';
    if (charset === 'x-user-defined') return 'windows-1252';
    return charset;
  }

  run(): string | undefined {
    for (;; this.position += 1) {
      if (this.byte() !== LT) continue;
      if (this.startsWith('<!--')) {
        // To the first `>` preceded by `--`, the dashes of `<!--` counted (`<!-->` ends it).
        this.position += 2;
        while (!(this.byte() === GT && this.byte(this.position - 1) === DASH && this.byte(this.position - 2) === DASH)) this.position += 1;
      } else if (this.startsWith('<meta', true) && (isSpace(this.bytes[this.position + 5]) || this.bytes[this.position + 5] === SLASH)) {
        const charset = this.meta();
        if (charset !== undefined) return charset;
      } else if (isAsciiLetter(this.bytes[this.position + 1]) || (this.bytes[this.position + 1] === SLASH && isAsciiLetter(this.bytes[this.position + 2]))) {
        this.toNext((byte) => isSpace(byte) || byte === GT);
        while (this.attribute() !== undefined);
      } else if (this.bytes[this.position + 1] === BANG || this.bytes[this.position + 1] === SLASH || this.bytes[this.position + 1] === QUESTION) {
        this.toNext((byte) => byte === GT);
      }
    }
  }
}

/** WHATWG HTML "algorithm for extracting a character encoding from a meta element", over a `content` value (lowercased by "get an attribute"). */
function charsetInContent(content: string): string | undefined {
  let position = 0;
  for (;;) {
    const found = content.indexOf('charset', position);
    if (found < 0) return undefined;
    position = found + 7;
    while (/[\t\n\f\r ]/.test(content[position] ?? '')) position += 1;
    if (content[position] !== '=') continue;
    position += 1;
    while (/[\t\n\f\r ]/.test(content[position] ?? '')) position += 1;
    const next = content[position];
    if (next === undefined) return undefined;
    if (next === '"' || next === "'") {
      const end = content.indexOf(next, position + 1);
      return end < 0 ? undefined : getAnEncoding(content.slice(position + 1, end));
    }
    const rest = content.slice(position);
    return getAnEncoding(rest.slice(0, rest.search(/[\t\n\f\r ;]|$/)));
  }
}

/**
 * docs/message-payload.md §4.5: the encoding an HTML document's `<meta>` declares in its first
 * 1,024 bytes (TextDecoder's name for it: `utf-8`, `shift_jis`, `windows-1251` …), or undefined.
 */
export function htmlMetaCharset(bytes: Uint8Array): string | undefined {
  try {
    return new Prescan(bytes.subarray(0, PRESCAN_BYTES)).run();
  } catch (error) {
    if (error instanceof EndOfInput) return undefined;
    throw error;
  }
}
