// The bulk layer of `caliop decrypt` for the common shape of message, through node:crypto
// (docs/decisions/streamed-decryption.md; issue 13: openpgp.js's Web streams made decrypting
// 100 MiB cost 3.6x gpg -d). openpgp.js still decrypts the session key, parses the one-pass
// signature and signature packets and verifies the signatures; this module only does what
// is done on every byte: AES-CFB, the SHA-1 of the MDC, the packet framing and the hashes of
// the signed data (armor is removed before: src/core/openpgp-armor-stream.ts); ZIP and ZLIB
// compressed data is inflated by node:zlib (src/edges/inflate-stream.ts). Anything
// else (SKESK, SEIPDv2, BZip2, text signatures,
// another cipher, several session keys, any packet out of place) is left to openpgp.js
// before a single byte is given out: the caller replays what was read (`fallback`).
import { createCipheriv, createHash, type Cipher, type Hash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { expandDecapsulationKeys } from '../core/key-derivation.js';
import { PacketSplitter, type PacketEvent } from '../core/openpgp-packet-stream.js';
import { InflateError, PieceInflater } from '../edges/inflate-stream.js';
import { CaliopError } from '../errors.js';

type VerificationResult = Awaited<ReturnType<typeof openpgp.verify>>['signatures'][number];

/** Plaintext read in pieces of about this size (fewer, larger writes; bounded memory). */
const CHUNK_BYTES = 1024 * 1024;
/** The plaintext buffer's first size: a step's output (an input piece, or an inflated chunk) and the MiB before it. */
const OUTPUT_BYTES = 2 * CHUNK_BYTES + 64 * 1024;
const SMALL_OUTPUT_BYTES = 64 * 1024;
/** A take of the plaintext up to this size is copied out (takeOutput). */
const SMALL_TAKE_BYTES = 4 * 1024;
/** The shape must be known within this much input, or openpgp.js reads the message. */
const PROBE_BYTES = 1024 * 1024;
/**
 * Ciphertext decrypted per batch (gpg's 8 KiB partial lengths joined; the plaintext stays in
 * the processor's cache through the MDC's SHA-1, the framing and the signature's hash).
 */
const BATCH_BYTES = 128 * 1024;
/**
 * AES output per node:crypto call, taken as a latin1 string: a V8 string this size lives and
 * dies in the young generation, where an output Buffer per call was fresh memory each time
 * (its page faults cost more than the AES: 100 MiB, 290 against 108 ms of CPU in-process).
 */
const ECB_PIECE = 64 * 1024;
/** Room before a batch for the MDC's held-back tail, so that tail and batch read as one piece (a multiple of 8: the XOR's alignment). */
const TAIL_ROOM = 24;
/** Bounds on the packets held whole (RFC 9580 sizes are far below). */
const MAX_SESSION_KEY_PACKET = 64 * 1024;
const MAX_ONE_PASS_PACKET = 4 * 1024;
const MAX_SIGNATURE_PACKET = 1024 * 1024;
/** RFC 9580 §5.13.1: the MDC packet, tag 19 length 20, at the end of the SEIPDv1 plaintext. */
const MDC_BYTES = 22;

const TAG = openpgp.enums.packet;
/** openpgp.js symmetric ids (RFC 9580 §9.3) that node:crypto decrypts in CFB mode. */
const AES_ECB: ReadonlyMap<number, { name: string; keySize: number }> = new Map([
  [7, { name: 'aes-128-ecb', keySize: 16 }],
  [8, { name: 'aes-192-ecb', keySize: 24 }],
  [9, { name: 'aes-256-ecb', keySize: 32 }],
]);
const AES_BLOCK = 16;
/** RFC 9580 §9.4 compression ids node:zlib inflates (BZip2, 3, is left to openpgp.js). */
const INFLATE_FORMATS: ReadonlyMap<number, 'deflate-raw' | 'deflate'> = new Map([
  [1, 'deflate-raw'],
  [2, 'deflate'],
]);
/** openpgp.js's words for a message inflating past maxDecompressedMessageSize (pgp.ts maps them to message_over_limit). */
const DECOMPRESSED_TOO_LARGE = 'Maximum decompressed message size exceeded';
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** RFC 9580 §9.5 hash ids for node:crypto (MD5 is refused by READ_CONFIG: left to openpgp.js). */
const HASHES: ReadonlyMap<number, string> = new Map([
  [2, 'sha1'],
  [3, 'ripemd160'],
  [8, 'sha256'],
  [9, 'sha384'],
  [10, 'sha512'],
  [11, 'sha224'],
  [12, 'sha3-256'],
  [14, 'sha3-512'],
]);

/** The message is not of the shape this module reads: openpgp.js will read it. */
class NotFast extends Error {}

/** The fields openpgp.js's OnePassSignaturePacket has but does not declare. */
interface OnePassFields {
  readonly version: number;
  readonly signatureType: number;
  readonly hashAlgorithm: number;
  readonly publicKeyAlgorithm: number;
  readonly issuerKeyID: openpgp.KeyID;
}

interface OnePass {
  readonly packet: OnePassFields;
  readonly hash: Hash;
}

function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function concatBytes(parts: readonly Uint8Array[], size: number): Uint8Array {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

/**
 * a[i] ^= b[i] for i < length: 64 bits at a time when `a` and `b` share their alignment (the
 * batch and the keystream are laid out so; V8 compiles BigUint64Array's XOR to machine
 * words: 100 MiB in 15 ms against 32 for 32-bit words, in-process), else 32 bits at a time
 * with `b` read through a DataView.
 */
function xorInto(a: Uint8Array, b: Uint8Array, length: number): void {
  let index = 0;
  const sameAlignment = ((a.byteOffset - b.byteOffset) & 7) === 0;
  const align = sameAlignment ? 7 : 3;
  while (index < length && ((a.byteOffset + index) & align) !== 0) {
    a[index] = a[index]! ^ b[index]!;
    index++;
  }
  if (sameAlignment) {
    const words = (length - index) >> 3;
    if (words > 0) {
      const wa = new BigUint64Array(a.buffer, a.byteOffset + index, words);
      const wb = new BigUint64Array(b.buffer, b.byteOffset + index, words);
      for (let word = 0; word < words; word++) wa[word] = wa[word]! ^ wb[word]!;
      index += words << 3;
    }
  } else {
    const words = (length - index) >> 2;
    if (words > 0) {
      const wa = new Int32Array(a.buffer, a.byteOffset + index, words);
      // Int32Array reads in the platform's byte order, the DataView in the one asked.
      const wb = new DataView(b.buffer, b.byteOffset + index, words << 2);
      for (let word = 0; word < words; word++) wa[word] = wa[word]! ^ wb.getInt32(word << 2, LITTLE_ENDIAN);
      index += words << 2;
    }
  }
  for (; index < length; index++) a[index] = a[index]! ^ b[index]!;
}

/**
 * AES-CFB decryption (RFC 9580 §5.13.1: SEIPDv1, zero IV, no resynchronisation) as
 * P[i] = AES(C[i-1]) XOR C[i]: the AES of the previous blocks is one ECB pass, which
 * node:crypto runs several blocks at a time (about 5x its own CFB, measured in
 * docs/decisions/streamed-decryption.md). The plaintext is written over the ciphertext.
 */
export class CfbDecipher {
  private readonly ecb: Cipher;
  /** The keystream: its first `spare` bytes (1 to 16) computed ahead of the ciphertext. */
  private readonly keystream = Buffer.allocUnsafe(ECB_PIECE + 2 * AES_BLOCK);
  private spare: number;

  constructor(name: string, key: Uint8Array) {
    this.ecb = createCipheriv(name, key, null);
    this.ecb.setAutoPadding(false);
    this.spare = this.keystream.write(this.ecb.update(Buffer.alloc(AES_BLOCK), undefined, 'latin1'), 0, 'latin1');
  }

  /** Decrypts `bytes` in place (any length, any alignment; fastest 4-byte aligned). */
  decryptInPlace(bytes: Uint8Array): void {
    const keystream = this.keystream;
    for (let done = 0; done < bytes.length; ) {
      const piece = bytes.subarray(done, done + ECB_PIECE);
      const length = piece.length;
      // The keystream after the spare bytes is the AES of the ciphertext fed so far
      // (whole blocks; node:crypto keeps the rest of a block for the next call).
      const total = this.spare + keystream.write(this.ecb.update(piece, undefined, 'latin1'), this.spare, 'latin1');
      xorInto(piece, keystream, length);
      keystream.copyWithin(0, length, total);
      this.spare = total - length;
      done += length;
    }
  }
}

/** Collects a packet body held whole, up to a bound. */
class Collector {
  private parts: Uint8Array[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  add(bytes: Uint8Array): void {
    this.size += bytes.byteLength;
    if (this.size > this.max) throw new NotFast('packet larger than expected');
    this.parts.push(copyOf(bytes));
  }
  bytes(): Uint8Array {
    return concatBytes(this.parts, this.size);
  }
}

/**
 * The synchronous layers: outer packets (PKESK*, SEIPDv1), AES-CFB and the MDC's SHA-1,
 * inner packets (one-pass signatures, literal data, signatures). Plaintext goes to `output`.
 */
class Pipeline {
  /** Set once the literal data's header is read: from then on this module reads the message. */
  decided = false;
  readonly sessionKeyPackets = new openpgp.PacketList<openpgp.PublicKeyEncryptedSessionKeyPacket>();
  readonly onePass: OnePass[] = [];
  readonly signatures: Uint8Array[] = [];
  literalHeader: Uint8Array = new Uint8Array();
  /** The plaintext not yet taken: `outputBytes` bytes of `output`. */
  outputBytes = 0;
  private output: Buffer;

  private readonly outer = new PacketSplitter((event) => this.onOuter(event));
  private readonly inner = new PacketSplitter((event) => this.onInner(event));
  private outerState: 'esk' | 'version' | 'data' | 'done' = 'esk';
  private esk: Collector | undefined;
  private pendingData: Uint8Array[] = [];
  private decipher: CfbDecipher | undefined;
  private readonly mdcHash = createHash('sha1');
  /**
   * The ciphertext of a batch at TAIL_ROOM, decrypted there in place; before it, the last
   * `tailBytes` bytes of plaintext decrypted so far (held back: they may be the MDC packet).
   */
  private readonly batch = Buffer.allocUnsafe(TAIL_ROOM + BATCH_BYTES);
  private batchBytes = 0;
  private tailBytes = 0;
  private prefixLeft = AES_BLOCK + 2;
  private innerPacket: 'one-pass' | 'literal-header' | 'literal' | 'signature' | undefined;
  private collector: Collector | undefined;
  private headerParts: number[] = [];
  private literalSeen = false;
  private literalDone = false;
  private mdcChecked = false;
  /**
   * RFC 9580 §5.6: a Compressed Data packet as the only packet of the encrypted data. Its
   * body (after the algorithm octet) is queued for the caller to inflate (`takeCompressed`,
   * asynchronous: node:zlib), and the inflated bytes come back through `pushInflated` to
   * the same one-pass / literal / signature reading.
   */
  compression: 'deflate-raw' | 'deflate' | undefined;
  private compressedState: 'none' | 'algorithm' | 'body' | 'done' = 'none';
  /** Compressed bytes not yet taken (copied: the batch they are read from is used again). */
  private compressed: Buffer = Buffer.alloc(0);
  private compressedBytes = 0;
  private readonly inflated = new PacketSplitter((event) => this.onLiteralLevel(event));
  private inflatedBytes = 0;
  private inflatedChecked = false;

  /**
   * `transient`: the plaintext taken is a view into a buffer used again once the next input
   * is pushed (the caller is done with it by then); else each piece taken is its own.
   */
  constructor(
    private readonly config: openpgp.Config,
    private readonly transient = false,
  ) {
    // A mail of a few KiB (sync opens a thousand) needs little; growing copies what is there.
    this.output = Buffer.allocUnsafe(transient ? OUTPUT_BYTES : SMALL_OUTPUT_BYTES);
  }

  /** The session key packets are all read and the encrypted data has begun. */
  get awaitingKey(): boolean {
    return this.decipher === undefined && (this.outerState === 'data' || this.outerState === 'done');
  }

  push(bytes: Uint8Array): void {
    this.outer.push(bytes);
    this.decryptBatch();
  }

  setKey(algorithm: number, key: Uint8Array): void {
    const cipher = AES_ECB.get(algorithm);
    if (!cipher || key.length !== cipher.keySize) throw new NotFast('not an AES session key');
    this.decipher = new CfbDecipher(cipher.name, key);
    const pending = this.pendingData;
    this.pendingData = [];
    for (const part of pending) this.addCipher(part);
    this.decryptBatch();
    if (this.outerState === 'done') this.endOfData();
  }

  /** The input ended: throws unless the encrypted data was whole and intact. */
  finishInput(): void {
    this.outer.finish();
    if (this.outerState !== 'done' || !this.mdcChecked) throw new Error('the encrypted data is truncated');
  }

  /** Everything is read (inflated too): throws unless the message was whole and intact. */
  finish(): void {
    if (!this.mdcChecked || (this.compression !== undefined && !this.inflatedChecked)) throw new Error('the encrypted data is truncated');
  }

  /**
   * The compressed bytes read since the last call, for the caller to inflate: a view into a
   * buffer used again once the next input is pushed (the caller inflates it before).
   */
  takeCompressed(): Uint8Array[] {
    const bytes = this.compressed.subarray(0, this.compressedBytes);
    this.compressedBytes = 0;
    return bytes.length === 0 ? [] : [bytes];
  }

  /** Bytes the caller inflated (in order), read as the packets inside the compressed data. */
  pushInflated(bytes: Uint8Array): void {
    this.inflatedBytes += bytes.length;
    // docs/limits.md §2.2: counted on the inflating stream (a bomb stops here, not in memory).
    if (this.inflatedBytes > this.config.maxDecompressedMessageSize) throw new Error(DECOMPRESSED_TOO_LARGE);
    this.inflated.push(bytes);
  }

  /** The compressed stream ended (the caller's inflater says so). */
  endOfInflated(): void {
    this.inflated.finish();
    this.literalLevelEnded();
    this.inflatedChecked = true;
  }

  /**
   * The plaintext so far, in one piece (each literal data part is copied there: gpg's 8 KiB
   * partial lengths made as many pieces to join or write). With `transient`, a view valid
   * until the next push. A small take is copied out and the buffer kept: input in tiny pieces
   * (a peer's small TCP segments) would otherwise cost a new 64 KiB buffer per piece (issue 16:
   * 3-byte pieces spent a third of their CPU allocating and collecting them).
   */
  takeOutput(): Uint8Array[] {
    const length = this.outputBytes;
    if (length === 0) return [];
    this.outputBytes = 0;
    if (!this.transient && length <= SMALL_TAKE_BYTES) return [Buffer.from(this.output.subarray(0, length))];
    const taken = this.output.subarray(0, length);
    if (!this.transient) this.output = Buffer.allocUnsafe(Math.min(OUTPUT_BYTES, Math.max(SMALL_OUTPUT_BYTES, 2 * length)));
    return [taken];
  }

  private onOuter(event: PacketEvent): void {
    if (event.kind === 'start') {
      if (this.outerState === 'done') {
        if (this.decided) throw new Error('data after the encrypted data');
        throw new NotFast('packets after the encrypted data');
      }
      if (event.tag === TAG.publicKeyEncryptedSessionKey) this.esk = new Collector(MAX_SESSION_KEY_PACKET);
      else if (event.tag === TAG.symEncryptedIntegrityProtectedData) this.outerState = 'version';
      else throw new NotFast(`outer packet ${event.tag}`);
      return;
    }
    if (event.kind === 'body') {
      if (this.outerState === 'esk') return this.esk!.add(event.bytes);
      let bytes = event.bytes;
      if (this.outerState === 'version') {
        if (bytes.length === 0) return;
        if (bytes[0] !== 1) throw new NotFast('SEIPD version 2');
        this.outerState = 'data';
        bytes = bytes.subarray(1);
      }
      if (this.decipher) this.addCipher(bytes);
      else if (bytes.length > 0) this.pendingData.push(copyOf(bytes));
      return;
    }
    if (this.outerState === 'esk') {
      const packet = new openpgp.PublicKeyEncryptedSessionKeyPacket();
      packet.read(this.esk!.bytes() as Uint8Array<ArrayBuffer>);
      this.sessionKeyPackets.push(packet);
      this.esk = undefined;
      return;
    }
    if (this.outerState === 'version') throw new NotFast('empty SEIPD packet');
    this.outerState = 'done';
    if (this.decipher) {
      this.decryptBatch();
      this.endOfData();
    }
  }

  /** SEIPDv1 ciphertext, joined into the batch (decrypted when full, and at the end of each push). */
  private addCipher(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      const take = Math.min(BATCH_BYTES - this.batchBytes, bytes.length - at);
      this.batch.set(bytes.subarray(at, at + take), TAIL_ROOM + this.batchBytes);
      this.batchBytes += take;
      at += take;
      if (this.batchBytes === BATCH_BYTES) this.decryptBatch();
    }
  }

  /** AES-CFB over the batch; the last 22 bytes of plaintext (perhaps the MDC packet) are held back. */
  private decryptBatch(): void {
    const length = this.batchBytes;
    if (length === 0 || !this.decipher) return;
    this.batchBytes = 0;
    this.decipher.decryptInPlace(this.batch.subarray(TAIL_ROOM, TAIL_ROOM + length));
    // The held-back tail sits just before the batch: both read as one piece.
    const start = TAIL_ROOM - this.tailBytes;
    const end = TAIL_ROOM + length;
    const cut = Math.max(start, end - MDC_BYTES);
    if (cut > start) this.plaintext(this.batch.subarray(start, cut));
    this.tailBytes = end - cut;
    this.batch.copyWithin(TAIL_ROOM - this.tailBytes, cut, end);
  }

  /** The held-back last bytes of plaintext. */
  private get tail(): Uint8Array {
    return this.batch.subarray(TAIL_ROOM - this.tailBytes, TAIL_ROOM);
  }

  private plaintext(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.mdcHash.update(bytes);
    let rest = bytes;
    if (this.prefixLeft > 0) {
      const skip = Math.min(this.prefixLeft, rest.length);
      rest = rest.subarray(skip);
      this.prefixLeft -= skip;
    }
    if (rest.length > 0) this.inner.push(rest);
  }

  /** RFC 9580 §5.13.1: the MDC is checked before the message counts as read. */
  private endOfData(): void {
    const tail = this.tail;
    if (this.prefixLeft > 0 || tail.length !== MDC_BYTES || tail[0] !== 0xd3 || tail[1] !== 0x14) {
      if (!this.decided) throw new NotFast('no MDC packet');
      throw new Error('Modification detected.');
    }
    this.mdcHash.update(tail.subarray(0, 2));
    const digest = this.mdcHash.digest();
    if (!Buffer.from(tail.subarray(2)).equals(digest)) {
      if (!this.decided) throw new NotFast('MDC mismatch before the literal data');
      throw new Error('Modification detected.');
    }
    this.inner.finish();
    if (this.compression !== undefined || this.compressedState !== 'none') {
      if (this.compressedState !== 'done') this.unexpected('end inside the compressed data');
    } else {
      this.literalLevelEnded();
    }
    this.mdcChecked = true;
  }

  /** The packets inside (the compressed data's, or the encrypted data's) are all read. */
  private literalLevelEnded(): void {
    if (this.innerPacket !== undefined || !this.literalDone) {
      if (!this.decided) throw new NotFast('no literal data');
      throw new Error('the message ends inside a packet');
    }
  }

  private unexpected(what: string): never {
    if (!this.decided) throw new NotFast(what);
    throw new Error(`Unexpected ${what} in the message`);
  }

  /** The packets of the encrypted data: a Compressed Data packet, or what onLiteralLevel reads. */
  private onInner(event: PacketEvent): void {
    if (this.compressedState !== 'none') return this.onCompressed(event);
    if (event.kind === 'start' && event.tag === TAG.compressedData && this.innerPacket === undefined && !this.literalSeen && this.onePass.length === 0) {
      this.compressedState = 'algorithm';
      return;
    }
    this.onLiteralLevel(event);
  }

  private onCompressed(event: PacketEvent): void {
    if (event.kind === 'start') return this.unexpected(`packet ${event.tag} after the compressed data`);
    if (event.kind === 'end') {
      if (this.compressedState !== 'body') this.unexpected('empty compressed data packet');
      this.compressedState = 'done';
      return;
    }
    let bytes = event.bytes;
    if (this.compressedState === 'algorithm') {
      if (bytes.length === 0) return;
      const format = INFLATE_FORMATS.get(bytes[0]!);
      if (format === undefined) throw new NotFast(`compression algorithm ${bytes[0]}`);
      this.compression = format;
      this.compressedState = 'body';
      bytes = bytes.subarray(1);
    }
    if (bytes.length === 0) return;
    if (this.compressedBytes + bytes.length > this.compressed.length) {
      const larger = Buffer.allocUnsafe(Math.max(2 * this.compressed.length, this.compressedBytes + bytes.length, BATCH_BYTES));
      this.compressed.copy(larger, 0, 0, this.compressedBytes);
      this.compressed = larger;
    }
    this.compressed.set(bytes, this.compressedBytes);
    this.compressedBytes += bytes.length;
  }

  /** RFC 9580 §10.3: [one-pass signatures] literal data [signatures]. */
  private onLiteralLevel(event: PacketEvent): void {
    if (event.kind === 'start') {
      if (event.tag === TAG.onePassSignature && !this.literalSeen) {
        this.innerPacket = 'one-pass';
        this.collector = new Collector(MAX_ONE_PASS_PACKET);
      } else if (event.tag === TAG.literalData && !this.literalSeen) {
        this.literalSeen = true;
        this.innerPacket = 'literal-header';
        this.headerParts = [];
      } else if (event.tag === TAG.signature && this.literalDone) {
        this.innerPacket = 'signature';
        this.collector = new Collector(MAX_SIGNATURE_PACKET);
      } else {
        this.unexpected(`packet ${event.tag}`);
      }
      return;
    }
    if (event.kind === 'body') {
      if (this.innerPacket === 'literal') return this.literalData(event.bytes);
      if (this.innerPacket === 'literal-header') return this.literalHeaderBytes(event.bytes);
      this.collector!.add(event.bytes);
      return;
    }
    if (this.innerPacket === 'one-pass') this.readOnePass(this.collector!.bytes());
    else if (this.innerPacket === 'signature') this.signatures.push(this.collector!.bytes());
    else if (this.innerPacket === 'literal-header') this.unexpected('literal data header');
    else this.literalDone = true;
    this.innerPacket = undefined;
    this.collector = undefined;
  }

  private readOnePass(body: Uint8Array): void {
    const read = new openpgp.OnePassSignaturePacket();
    read.read(body as Uint8Array<ArrayBuffer>);
    const packet = read as unknown as OnePassFields;
    // Version 6 salts the hash, a text signature hashes canonical line ends: openpgp.js's.
    if (packet.version !== 3 || packet.signatureType !== openpgp.enums.signature.binary) throw new NotFast('one-pass signature');
    const name = HASHES.get(packet.hashAlgorithm);
    if (name === undefined || this.config.rejectMessageHashAlgorithms.has(packet.hashAlgorithm)) throw new NotFast('hash algorithm');
    let hash: Hash;
    try {
      hash = createHash(name);
    } catch {
      throw new NotFast(`hash ${name} not in node:crypto`);
    }
    this.onePass.push({ packet, hash });
  }

  /** RFC 9580 §5.9: format, file name length, file name, date; then the data. */
  private literalHeaderBytes(bytes: Uint8Array): void {
    let index = 0;
    while (index < bytes.length && (this.headerParts.length < 2 || this.headerParts.length < 6 + this.headerParts[1]!)) {
      this.headerParts.push(bytes[index++]!);
    }
    if (this.headerParts.length < 2 || this.headerParts.length < 6 + this.headerParts[1]!) return;
    this.literalHeader = new Uint8Array(this.headerParts);
    this.innerPacket = 'literal';
    this.decided = true;
    if (index < bytes.length) this.literalData(bytes.subarray(index));
  }

  private literalData(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    for (const { hash } of this.onePass) hash.update(bytes);
    if (this.outputBytes + bytes.length > this.output.length) {
      const larger = Buffer.allocUnsafe(Math.max(2 * this.output.length, this.outputBytes + bytes.length));
      this.output.copy(larger, 0, 0, this.outputBytes);
      this.output = larger;
    }
    this.output.set(bytes, this.outputBytes);
    this.outputBytes += bytes.length;
  }
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * One result per one-pass signature, as openpgp.decrypt makes them for a streamed message
 * (its createVerificationObject): the signature packets come after the data, so each
 * settles once the whole message is read; the digest is ours, the verification openpgp.js's.
 */
function verificationResults(
  pipeline: Pipeline,
  ended: Promise<readonly Uint8Array[]>,
  verificationKeys: readonly openpgp.PublicKey[],
  config: openpgp.Config,
): VerificationResult[] {
  const date = new Date();
  // openpgp.js pairs the signature packets, in order, with the one-pass packets reversed.
  return [...pipeline.onePass].reverse().map((onePass, index) => {
    const signaturePacket = ended.then((packets) => {
      const bytes = packets[index];
      if (bytes === undefined) throw new Error('Corresponding signature packet missing');
      const packet = new openpgp.SignaturePacket();
      (packet as unknown as { read(bytes: Uint8Array, config: openpgp.Config): void }).read(bytes, config);
      return packet;
    });
    const ops = onePass.packet;
    const verified = (async (): Promise<true> => {
      let primaryKey: openpgp.PublicKey | undefined;
      let signingKey: openpgp.PublicKey | openpgp.Subkey | undefined;
      for (const key of verificationKeys) {
        const issuerKeys = key.getKeys(ops.issuerKeyID);
        if (issuerKeys.length > 0) {
          primaryKey = key;
          signingKey = issuerKeys[0];
          break;
        }
      }
      if (!primaryKey || !signingKey) throw new Error(`Could not find signing key with key ID ${ops.issuerKeyID.toHex()}`);
      const packet = await signaturePacket;
      if (
        packet.signatureType !== ops.signatureType ||
        packet.hashAlgorithm !== ops.hashAlgorithm ||
        packet.publicKeyAlgorithm !== ops.publicKeyAlgorithm ||
        !packet.issuerKeyID.equals(ops.issuerKeyID) ||
        packet.version === 6
      ) {
        throw new Error('Corresponding signature packet does not match one-pass signature packet');
      }
      const literal = { writeHeader: () => pipeline.literalHeader };
      const trailer = (packet as unknown as { calculateTrailer(data: unknown, detached: boolean): Uint8Array }).calculateTrailer(literal, false);
      if (!packet.signatureData) throw new Error('Signature packet without data');
      onePass.hash.update(packet.signatureData);
      onePass.hash.update(trailer);
      (packet as unknown as { hashed: Promise<Uint8Array> }).hashed = Promise.resolve(new Uint8Array(onePass.hash.digest()));
      const keyPacket = (signingKey as unknown as { keyPacket: openpgp.PublicKeyPacket }).keyPacket;
      await (packet as unknown as { verify(...args: unknown[]): Promise<void> }).verify(keyPacket, ops.signatureType, literal, date, false, config);
      if (signingKey.getCreationTime() > packet.created!) throw new Error('Key is newer than the signature');
      try {
        await primaryKey.getSigningKey(signingKey.getKeyID(), packet.created, undefined, config);
      } catch (error) {
        if (config.allowInsecureVerificationWithReformattedKeys && /Signature creation time is in the future/.test((error as Error).message)) {
          await primaryKey.getSigningKey(signingKey.getKeyID(), date, undefined, config);
        } else {
          throw error;
        }
      }
      return true;
    })();
    const signature = signaturePacket.then((packet) => {
      const list = new openpgp.PacketList<openpgp.SignaturePacket>();
      list.push(packet);
      return new openpgp.Signature(list);
    });
    verified.catch(() => undefined);
    signature.catch(() => undefined);
    return { keyID: ops.issuerKeyID, verified, signature } as VerificationResult;
  });
}

export type FastDecryption =
  | {
      readonly kind: 'fast';
      /** The plaintext; throws at its end when the message is damaged or modified. */
      readonly data: AsyncIterable<Uint8Array>;
      readonly signatures: VerificationResult[];
      /** The session key packets (for decryptionFailure's wording). */
      readonly message: openpgp.Message<unknown>;
    }
  | { readonly kind: 'fallback'; readonly input: AsyncIterable<Uint8Array> };

/**
 * The input in pieces of about `chunkBytes`. A piece of the source may be a view it writes
 * over once the next is asked for (src/edges/stdin.ts, the dearmored bytes): what is held
 * past that is copied.
 */
async function* coalesced(source: AsyncIterable<Uint8Array>, chunkBytes: number): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    // A large piece (a dearmored MiB is 3/4 of one) goes as it is: joining would copy it.
    if (size === 0 && chunk.byteLength >= chunkBytes / 2) {
      yield chunk;
      continue;
    }
    parts.push(copyOf(chunk));
    size += chunk.byteLength;
    if (size >= chunkBytes) {
      yield concatBytes(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield concatBytes(parts, size);
}

async function* replay(read: readonly Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* read;
  for (;;) {
    const { value, done } = await rest.next();
    if (done) return;
    // openpgp.js's streams may hold a piece past the next read (the source may write over it).
    yield copyOf(value);
  }
}

/** The input read while the message's shape is not decided (replayed to openpgp.js if it is not ours). */
interface ReadSoFar {
  readonly parts: Uint8Array[];
  bytes: number;
  /** The source itself failed (a read, damaged armor): thrown as it is, not a shape to leave to openpgp.js. */
  sourceFailed: boolean;
}

/**
 * Drives the pipeline: each piece of input pushed, then the compressed bytes it freed
 * inflated, one inflated chunk at a time. Yields after each step (so the caller can decrypt
 * the session key, or give out the plaintext: memory stays one step's worth, whatever a
 * compressed piece inflates to); returns once the message is read and checked. `read`
 * keeps the input while the shape is not decided, for a fallback.
 */
async function* steps(pipeline: Pipeline, input: AsyncIterator<Uint8Array>, read: ReadSoFar): AsyncGenerator<void, void, void> {
  let inflater: PieceInflater | undefined;
  const inflate = async function* (): AsyncGenerator<void> {
    // One write to node:zlib per piece of input (gpg's partial lengths of 8 KiB made a
    // trip to the thread pool each, and as many small writes of output).
    const pieces = pipeline.takeCompressed();
    if (pieces.length === 0) return;
    inflater ??= new PieceInflater(pipeline.compression!);
    for await (const chunk of inflater.inflate(concatBytes(pieces, pieces.reduce((size, piece) => size + piece.length, 0)))) {
      pipeline.pushInflated(chunk);
      yield;
    }
  };
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await input.next();
      } catch (error) {
        read.sourceFailed = true;
        throw error;
      }
      const { value, done } = next;
      if (done) break;
      if (!pipeline.decided) {
        read.parts.push(copyOf(value));
        read.bytes += value.byteLength;
      }
      pipeline.push(value);
      yield;
      yield* inflate();
    }
    pipeline.finishInput();
    yield* inflate();
    if (pipeline.compression !== undefined) {
      inflater ??= new PieceInflater(pipeline.compression);
      for await (const chunk of inflater.finish()) {
        pipeline.pushInflated(chunk);
        yield;
      }
      pipeline.endOfInflated();
    }
    pipeline.finish();
  } finally {
    inflater?.close();
  }
}

/**
 * Reads a binary message through the fast layer when it has the common shape, else hands
 * back everything read so far with the rest (`fallback`), nothing having been given out.
 */
export async function tryFastDecryption(
  source: AsyncIterable<Uint8Array>,
  decryptionKey: openpgp.PrivateKey,
  verificationKeys: readonly openpgp.PublicKey[],
  config: openpgp.Config,
  /** Input pieces are joined up to this size (tests make it small to cross every boundary). */
  chunkBytes = CHUNK_BYTES,
  /**
   * The session keys found another way first (sync: pgp-session-key.ts's node:crypto path);
   * when it finds none, openpgp.js decrypts the session key packets.
   */
  sessionKeysOf?: (message: openpgp.Message<unknown>) => Promise<openpgp.SessionKey[] | undefined>,
  /**
   * Each piece of `data` is a view valid until the next is asked for (one buffer used again:
   * fresh memory per MiB cost more in page faults than the decryption). For a caller that
   * writes each piece before asking for the next (a file); others keep the default.
   */
  transient = false,
): Promise<FastDecryption> {
  const iterator = coalesced(source, chunkBytes)[Symbol.asyncIterator]();
  const read: ReadSoFar = { parts: [], bytes: 0, sourceFailed: false };
  const pipeline = new Pipeline(config, transient);
  const message = new openpgp.Message(pipeline.sessionKeyPackets as unknown as openpgp.PacketList<openpgp.AnyPacket>);
  const progress = steps(pipeline, iterator, read);
  const fallback = async (): Promise<FastDecryption> => {
    // Stops the inflater; the input itself is replayed, not closed.
    await progress.return(undefined).catch(() => undefined);
    return { kind: 'fallback', input: replay(read.parts, iterator) };
  };
  let keyed = false;
  let finished = false;
  while (!pipeline.decided) {
    if (read.bytes > PROBE_BYTES) return fallback();
    try {
      const step = await progress.next();
      if (step.done) {
        finished = true;
        break;
      }
      if (!keyed && pipeline.awaitingKey) {
        keyed = true;
        let keys = await sessionKeysOf?.(message);
        if (keys === undefined) {
          await expandDecapsulationKeys(decryptionKey, message); // a post-quantum session key (issue 13)
          keys = await openpgp.decryptSessionKeys({ message, decryptionKeys: decryptionKey, config });
        }
        if (keys.length !== 1) return fallback();
        const { algorithm, data } = keys[0]!;
        const id = typeof algorithm === 'number' ? algorithm : (openpgp.enums.symmetric as unknown as Record<string, number>)[String(algorithm)];
        if (id === undefined || algorithm === null) return fallback();
        pipeline.setKey(id, data);
      }
    } catch (error) {
      // A failure of the source itself (a read, damaged armor) is not the message's shape: it is thrown.
      if (read.sourceFailed) throw error;
      // A ZIP or ZLIB stream node:zlib cannot inflate is damaged whoever reads it: refused here
      // (openpgp.js's streams, given a damaged deflate stream in a truncated message, never ended).
      if (error instanceof InflateError) throw new CaliopError('bad_input', `the message could not be decrypted: ${error.message}`, { cause: error });
      // Whatever went wrong before the first plaintext byte, openpgp.js reads the message
      // from its start and says what it is (a missing key, a damaged packet...).
      return fallback();
    }
  }
  if (!pipeline.decided) return fallback();
  const ended = deferred<readonly Uint8Array[]>();
  const signatures = verificationResults(pipeline, ended.promise, verificationKeys, config);
  async function* data(): AsyncGenerator<Uint8Array> {
    let settled = false;
    try {
      yield* pipeline.takeOutput();
      if (!finished) {
        for (;;) {
          const step = await progress.next();
          // Given out chunkBytes or so at a time (bounded: a step adds one input or inflated chunk).
          if (step.done || pipeline.outputBytes >= chunkBytes) yield* pipeline.takeOutput();
          if (step.done) break;
        }
      }
      settled = true;
      ended.resolve(pipeline.signatures);
    } catch (error) {
      settled = true;
      ended.reject(error);
      throw error;
    } finally {
      if (!settled) ended.reject(new Error('the message was not read to its end'));
      await progress.return(undefined).catch(() => undefined);
      await iterator.return?.(undefined);
    }
  }
  return { kind: 'fast', data: data(), signatures, message };
}
