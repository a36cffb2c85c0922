// docs/api.md §8.2: the relay stores internal mail only as the ciphertext the sender
// made, so it refuses anything that is not an encrypted OpenPGP message: session
// key packets followed by one integrity-protected encrypted data packet.

import * as openpgp from 'openpgp';

const SESSION_KEY_PACKETS = new Set<number>([openpgp.enums.packet.publicKeyEncryptedSessionKey, openpgp.enums.packet.symEncryptedSessionKey]);
const ENCRYPTED_DATA_PACKETS = new Set<number>([openpgp.enums.packet.symEncryptedIntegrityProtectedData, openpgp.enums.packet.aeadEncryptedData]);

export async function isEncryptedOpenPgpMessage(armoredMessage: string): Promise<boolean> {
  let message: openpgp.Message<Uint8Array>;
  try {
    message = await openpgp.readMessage({ armoredMessage });
  } catch {
    return false;
  }
  const tags = Array.from(message.packets, (packet) => (packet.constructor as unknown as { tag: number }).tag);
  const last = tags.at(-1);
  return (
    tags.length >= 2 &&
    last !== undefined &&
    ENCRYPTED_DATA_PACKETS.has(last) &&
    tags.slice(0, -1).every((tag) => SESSION_KEY_PACKETS.has(tag))
  );
}

/**
 * docs/api.md §8.2, the JSON submit (issue 14): the streamed path's scanner first, on the
 * text's UTF-8 bytes as a streamed body would carry them; what it refuses goes to
 * isEncryptedOpenPgpMessage, which decides as before. openpgp.readMessage cost ~66 µs of CPU
 * on the bench's 5.8 KB message against ~14 µs for the scanner, in-process, warmed, load ~20.
 * On 2,100 cases (openpgp.js output: 1-2 recipients, password, AEAD, CRLF, comments, blank
 * lines; every line removed; characters replaced in every line) the scanner never accepted one
 * that readMessage refused (it is the stricter of the two: text before the armor, a damaged
 * END line); test/relay/ciphertext-stream-check keeps ~130 of them. What the scanner accepts
 * is judged by packet tags and lengths, as on the streamed path, not by the packets' contents.
 */
export async function isEncryptedArmoredMessage(armoredMessage: string): Promise<boolean> {
  const scanner = new EncryptedMessageScanner();
  scanner.push(Buffer.from(armoredMessage, 'utf8'));
  if (scanner.end()) return true;
  return isEncryptedOpenPgpMessage(armoredMessage);
}

/** RFC 9580 §6.2: armor lines are short; a line longer than this is no armor. */
const MAX_ARMOR_LINE = 4096;
/** Bytes of the base64 alphabet (RFC 4648 §4, without '='): 1. */
const BASE64_ALPHABET = new Uint8Array(256);
for (const byte of Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1')) BASE64_ALPHABET[byte] = 1;
/** What the line-by-line path strips from a line's end (`[\r \t]+$`): 1. */
const TRAILING_SPACE = new Uint8Array(256);
for (const byte of [0x0d, 0x20, 0x09]) TRAILING_SPACE[byte] = 1;
/** Session-key packets one message may carry before its data (100 recipients, several keys each). */
const MAX_PACKETS = 1024;

/**
 * docs/api.md §8.2.1: the same check as isEncryptedOpenPgpMessage, on a ciphertext that
 * streams in: `push` each piece as it arrives, `end` says whether the whole was one
 * ASCII-armored encrypted message (RFC 9580 §6.2 armor; §4.2 packet headers: session-key
 * packets, then one integrity-protected data packet reaching the end). Holds one armor
 * line and a few bytes, whatever the size; the packet bodies are skipped, not kept.
 */
export class EncryptedMessageScanner {
  #line = '';
  #armor: 'begin' | 'headers' | 'body' | 'end' | 'bad' = 'begin';
  #base64 = '';
  // Packet walker over the decoded bytes.
  #header: number[] = [];
  #skip = 0;
  /** The body being skipped is a partial length (RFC 9580 §4.2.1.4): another length follows it. */
  #partial = false;
  /** Old-format indeterminate length: the packet runs to the end. */
  #toEnd = false;
  readonly #tags: number[] = [];
  #bad = false;

  push(bytes: Uint8Array): void {
    if (this.#armor === 'bad') return;
    for (let start = 0; start < bytes.length; ) {
      if (this.#armor === 'body' && this.#line === '') {
        start = this.#bodyLines(bytes, start);
        if (start >= bytes.length) break;
      }
      const newline = bytes.indexOf(0x0a, start);
      const stop = newline === -1 ? bytes.length : newline;
      this.#line += Buffer.from(bytes.subarray(start, stop)).toString('latin1');
      if (this.#line.length > MAX_ARMOR_LINE) {
        this.#armor = 'bad';
        return;
      }
      if (newline === -1) break;
      this.#onLine(this.#line.replace(/[\r \t]+$/, ''));
      this.#line = '';
      start = newline + 1;
    }
  }

  /**
   * Issue 9 (a 25 MiB attachment's armor took 1.4 s of the relay's CPU as one string, one
   * regular expression and one decode per line): whole body lines inside a packet body the
   * walker skips are checked byte by byte against the base64 alphabet and counted, not
   * decoded. Only lines the line-by-line path would treat the same way are taken: complete,
   * no '=', a multiple of 4 characters, nothing carried, and wholly inside the skipped body
   * (or a packet that runs to the end). Returns where the first line it left starts.
   */
  #bodyLines(bytes: Uint8Array, start: number): number {
    let at = start;
    while (at < bytes.length) {
      const newline = bytes.indexOf(0x0a, at);
      if (newline === -1 || newline - at > MAX_ARMOR_LINE || this.#base64 !== '') return at;
      let end = newline;
      while (end > at && TRAILING_SPACE[bytes[end - 1] as number] === 1) end -= 1;
      const length = end - at;
      if (length === 0 || length % 4 !== 0) return at;
      const decoded = (length / 4) * 3;
      if (!this.#toEnd && !this.#bad && this.#skip < decoded) return at;
      for (let i = at; i < end; i++) if (BASE64_ALPHABET[bytes[i] as number] !== 1) return at;
      if (!this.#toEnd && !this.#bad) this.#skip -= decoded;
      at = newline + 1;
    }
    return at;
  }

  end(): boolean {
    if (this.#line !== '') this.#onLine(this.#line.replace(/[\r \t]+$/, ''));
    this.#line = '';
    if (this.#armor !== 'end' || this.#bad || this.#base64 !== '') return false;
    const packetsComplete = this.#toEnd || (this.#header.length === 0 && this.#skip === 0 && !this.#partial);
    const last = this.#tags.at(-1);
    return (
      packetsComplete &&
      this.#tags.length >= 2 &&
      last !== undefined &&
      ENCRYPTED_DATA_PACKETS.has(last) &&
      this.#tags.slice(0, -1).every((tag) => SESSION_KEY_PACKETS.has(tag))
    );
  }

  #onLine(line: string): void {
    switch (this.#armor) {
      case 'begin':
        if (line === '') return;
        this.#armor = line === '-----BEGIN PGP MESSAGE-----' ? 'headers' : 'bad';
        return;
      case 'headers':
        if (line === '') this.#armor = 'body';
        else if (!/^[^:\s]+: ?.*$/.test(line)) this.#armor = 'bad';
        return;
      case 'body':
        if (line === '-----END PGP MESSAGE-----') this.#armor = 'end';
        else if (/^=[A-Za-z0-9+/]{4}$/.test(line)) return; // the optional CRC-24 line
        else if (/^[A-Za-z0-9+/]*={0,2}$/.test(line)) this.#decode(line);
        else this.#armor = 'bad';
        return;
      case 'end':
        if (line !== '') this.#armor = 'bad';
        return;
      case 'bad':
        return;
    }
  }

  #decode(line: string): void {
    const text = this.#base64 + line;
    const whole = text.length - (text.length % 4);
    this.#base64 = text.slice(whole);
    if (whole > 0) this.#walk(Buffer.from(text.slice(0, whole), 'base64'));
  }

  #walk(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length && !this.#bad) {
      if (this.#toEnd) return;
      if (this.#skip > 0) {
        const taken = Math.min(this.#skip, bytes.length - at);
        this.#skip -= taken;
        at += taken;
        continue;
      }
      this.#header.push(bytes[at] as number);
      at += 1;
      this.#parseHeader();
    }
  }

  /** RFC 9580 §4.2: the header bytes read so far; sets #skip once a length is known. */
  #parseHeader(): void {
    const header = this.#header;
    if (this.#partial) {
      // Only a new-format length follows a partial body (§4.2.1.4).
      const length = newFormatLength(header, 0);
      if (length === null) return;
      this.#header = [];
      this.#skip = length.value;
      this.#partial = length.partial;
      return;
    }
    const first = header[0] as number;
    if ((first & 0x80) === 0) {
      this.#bad = true;
      return;
    }
    let tag: number;
    let length: { value: number; partial: boolean } | null;
    if ((first & 0x40) !== 0) {
      tag = first & 0x3f;
      length = newFormatLength(header, 1);
    } else {
      tag = (first >> 2) & 0x0f;
      const type = first & 0x03;
      if (type === 3) {
        this.#toEnd = true;
        this.#tags.push(tag);
        return;
      }
      const octets = type === 0 ? 1 : type === 1 ? 2 : 4;
      if (header.length < 1 + octets) return;
      let value = 0;
      for (let i = 1; i <= octets; i++) value = value * 256 + (header[i] as number);
      length = { value, partial: false };
    }
    if (length === null) return;
    if (this.#tags.length >= MAX_PACKETS) {
      this.#bad = true;
      return;
    }
    this.#tags.push(tag);
    this.#header = [];
    this.#skip = length.value;
    this.#partial = length.partial;
  }
}

/** RFC 9580 §4.2.1: a new-format body length starting at `offset`, or null while bytes are missing. */
function newFormatLength(header: readonly number[], offset: number): { value: number; partial: boolean } | null {
  const o1 = header[offset];
  if (o1 === undefined) return null;
  if (o1 < 192) return { value: o1, partial: false };
  if (o1 < 224) {
    const o2 = header[offset + 1];
    return o2 === undefined ? null : { value: ((o1 - 192) << 8) + o2 + 192, partial: false };
  }
  if (o1 < 255) return { value: 2 ** (o1 & 0x1f), partial: true };
  if (header.length < offset + 5) return null;
  return { value: (header[offset + 1] as number) * 2 ** 24 + ((header[offset + 2] as number) << 16) + ((header[offset + 3] as number) << 8) + (header[offset + 4] as number), partial: false };
}
