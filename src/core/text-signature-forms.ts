// docs/message-payload.md §6.4-§6.5: what a text-mode signature (type 0x01, RFC 9580
// §5.2.1.2, §5.2.4) may have hashed. The RFC form (openpgp.js: a LF not after a CR gets
// one) and GnuPG's form (gpg, RNP: the CRs at the end of a line are dropped, then LF is
// CRLF) differ only where a line ends in two CRs or more, or the data ends in a CR.
// Pure: bytes in, bytes out; the hashes are the caller's.

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Uint8Array.from([CR, LF]);
const LF_ONLY = Uint8Array.from([LF]);
const NOTHING = new Uint8Array(0);
/** CRs handed out as views of this (a run of CRs may be as long as the data: never copied). */
const CRS = new Uint8Array(64 * 1024).fill(CR);

/** Where the two forms of streamed data go, in order. */
export interface TextFormSink {
  /** Bytes that both forms hash. */
  both(bytes: Uint8Array): void;
  /** Bytes on which the forms differ: each form's own (either may be empty). */
  apart(rfc: Uint8Array, gnupg: Uint8Array): void;
}

/**
 * docs/message-payload.md §6.4: data written in pieces, told to `sink` as both forms hash
 * it. The CRs at the end of a piece wait (as a count: a hostile run of CRs costs nothing)
 * until what follows says whether they end a line.
 */
export class TextForms {
  #crs = 0;

  constructor(private readonly sink: TextFormSink) {}

  write(piece: Uint8Array): void {
    let from = 0;
    if (this.#crs > 0) {
      let leading = 0;
      while (leading < piece.length && piece[leading] === CR) leading += 1;
      if (leading === piece.length) {
        this.#crs += leading;
        return;
      }
      if (piece[leading] === LF) {
        this.#lineEnd(this.#crs + leading);
        from = leading + 1;
      } else {
        this.#crsBoth(this.#crs); // CRs inside a line: the same in both forms
      }
      this.#crs = 0;
    }
    let span = from; // the first byte not yet told
    let line = from;
    for (let lf = piece.indexOf(LF, from); lf !== -1; lf = piece.indexOf(LF, lf + 1)) {
      let run = lf;
      while (run > line && piece[run - 1] === CR) run -= 1;
      const crs = lf - run;
      if (crs !== 1) {
        // A bare LF (both forms CRLF), or two CRs or more before it (the forms differ).
        if (run > span) this.sink.both(piece.subarray(span, run));
        this.#lineEnd(crs, piece.subarray(run, lf + 1));
        span = lf + 1;
      }
      line = lf + 1;
    }
    let tail = piece.length;
    while (tail > line && piece[tail - 1] === CR) tail -= 1;
    if (tail > span) this.sink.both(piece.subarray(span, tail));
    this.#crs = piece.length - tail;
  }

  /** The end of the data: GnuPG drops the CRs it ends with. */
  end(): void {
    for (let left = this.#crs; left > 0; left -= CRS.length) this.sink.apart(CRS.subarray(0, Math.min(left, CRS.length)), NOTHING);
    this.#crs = 0;
  }

  /** A LF after `crs` CRs (`raw`: those bytes, when they are at hand in one piece). */
  #lineEnd(crs: number, raw?: Uint8Array): void {
    if (crs === 0) return this.sink.both(CRLF);
    if (crs === 1) return this.sink.both(CRLF);
    if (raw !== undefined) return this.sink.apart(raw, CRLF);
    for (let left = crs; left > 0; left -= CRS.length) this.sink.apart(CRS.subarray(0, Math.min(left, CRS.length)), NOTHING);
    this.sink.apart(LF_ONLY, CRLF);
  }

  #crsBoth(crs: number): void {
    for (let left = crs; left > 0; left -= CRS.length) this.sink.both(CRS.subarray(0, Math.min(left, CRS.length)));
  }
}

function concat(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/**
 * docs/message-payload.md §6.4: GnuPG's form of `data`, or null when it is the RFC form
 * (then a second check would check the same bytes).
 */
export function gnupgTextForm(data: Uint8Array): Uint8Array | null {
  const pieces: Uint8Array[] = [];
  let differs = false;
  const forms = new TextForms({
    both: (bytes) => pieces.push(bytes),
    apart: (_rfc, gnupg) => {
      differs = true;
      pieces.push(gnupg);
    },
  });
  forms.write(data);
  forms.end();
  return differs ? concat(pieces) : null;
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';

/**
 * RFC 9580 §7.2: a line without the spaces and tabs at its end (and, as GnuPG reads it, CRs),
 * trimmed from the end in one pass: /[ \t\r]+$/ cost the square of a run of blanks inside a
 * line (a run of 64 Ki: 13.8 s of CPU to verify one clear-signed block found bad).
 */
export function withoutTrailingWhite(line: string): string {
  let end = line.length;
  while (end > 0) {
    const code = line.charCodeAt(end - 1);
    if (code !== 0x20 && code !== 0x09 && code !== 0x0d) break;
    end -= 1;
  }
  return line.slice(0, end);
}

/**
 * docs/message-payload.md §6.5, RFC 9580 §7: the text of a clear-signed block as GnuPG and
 * RNP sign it: each line (cut at LF) without its dash-escape and its trailing spaces, tabs
 * and CRs, the lines joined by CRLF, the line end before the signature not included. A CR
 * inside a line is kept (openpgp.js drops it). `signed`: those bytes; `text`: the same lines
 * joined by LF, as shown. Null when the block has no text section.
 */
export function gnupgCleartext(block: Uint8Array): { readonly signed: Uint8Array; readonly text: Uint8Array } | null {
  // Latin-1: one character per byte, so the bytes come back as they were (UTF-8 or not).
  const lines = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('latin1').split('\n');
  const begin = lines.findIndex((line) => withoutTrailingWhite(line) === BEGIN_SIGNED);
  if (begin === -1) return null;
  let at = begin + 1;
  while (at < lines.length && withoutTrailingWhite(lines[at]!) !== '') at += 1; // the armor headers (Hash:)
  const first = at + 1;
  const last = lines.findIndex((line, index) => index >= first && withoutTrailingWhite(line) === BEGIN_SIGNATURE);
  if (at >= lines.length || last === -1) return null;
  const text = lines.slice(first, last).map((line) => withoutTrailingWhite(line.replace(/^- /, '')));
  return { signed: Buffer.from(text.join('\r\n'), 'latin1'), text: Buffer.from(text.join('\n'), 'latin1') };
}
