// The pipe commands on data of any size (docs/cli.md §2.1): encrypt, decrypt and sign read
// their input and write their output chunk by chunk through openpgp.js's Web streams, so
// memory stays bounded whatever the size (issue 13: 100 MiB took 684 MiB when held whole).
// The output goes to a file written beside its target and renamed only when complete
// (src/edges/output-file.ts), or to a stream (stdout).
import * as openpgp from 'openpgp';
import { CaliopError } from '../errors.js';
import { ArmorWriter, dearmored } from '../core/openpgp-armor-stream.js';
import { expandDecapsulationKeys } from '../core/key-derivation.js';
import { installBzip2Stream } from './pgp-stream-bzip2.js';
import { installInflateStream } from '../edges/inflate-stream.js';
import { createOutputFile, type OutputFile } from '../edges/output-file.js';
import { stdinBytes } from '../edges/stdin.js';
import { tryFastDecryption } from './pgp-stream-fast.js';
import {
  acceptingEveryCipher,
  certAddresses,
  decryptionFailure,
  encryptOptions,
  type EncryptInput,
  fingerprintOf,
  judgeSignatures,
  PGP_CONFIG,
  READ_CONFIG,
  requireAddressedTo,
  requireEncryptable,
  SESSION_CIPHERS,
  type SignatureCheck,
} from './pgp.js';
import { nativeSessionKeys } from './pgp-session-key.js';

// src/edges/inflate-stream.ts: compressed messages inflate with backpressure (bounded memory).
installInflateStream();
// src/service/pgp-stream-bzip2.ts: a damaged BZip2 stream fails at the end of its input, after the MDC.
installBzip2Stream();

/** Where the output goes: a file (temp beside it, then rename), or a sink such as stdout. */
export type Destination =
  | { readonly file: string; readonly replace: boolean }
  | {
      readonly sink: (chunk: Uint8Array) => Promise<void>;
      /** A terminal (docs/cli.md §2.1): past the held-back bytes, refuse rather than show unchecked data. */
      readonly terminal?: boolean;
    };

/**
 * docs/cli.md §2.1: decrypted data written to a stream is held back up to this many bytes
 * until the message's integrity is checked. A message whose plaintext fits is never
 * released unchecked; a longer one is written as it comes (as gpg does), and a failure
 * at its end says that what was written must be thrown away.
 */
export const HOLD_BACK_BYTES = 8 * 1024 * 1024;

/**
 * `caliop decrypt`'s input: stdin, a MiB at a time when it is a file (src/edges/stdin.ts).
 * Not for encrypt and sign: openpgp.js's encryption streams hold a few chunks each, and with
 * chunks of a MiB `encrypt --sign` of 128 MiB peaked at 208 MiB (64 KiB chunks: under 150).
 */
export function standardInput(): AsyncIterable<Uint8Array> {
  return stdinBytes();
}

/** A Web stream over any async source of bytes (process.stdin), pulled one chunk at a time. */
function webStreamOf(source: AsyncIterable<Uint8Array>, first: readonly Uint8Array[] = []): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const pending = [...first];
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const head = pending.shift();
        if (head) return controller.enqueue(head);
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

const encoder = new TextEncoder();

/** Reads the first bytes of a source (enough to tell armor from binary) without losing them. */
async function peek(source: AsyncIterable<Uint8Array>, want: number): Promise<{ head: Uint8Array[]; size: number; rest: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let size = 0;
  while (size < want) {
    // A piece may be a view the source writes over at the next read (src/edges/stdin.ts).
    if (head.length > 0) head[head.length - 1] = new Uint8Array(head[head.length - 1]!);
    const { value, done } = await iterator.next();
    if (done) break;
    head.push(value);
    size += value.byteLength;
  }
  return { head, size, rest: { [Symbol.asyncIterator]: () => iterator } };
}

const ARMOR_START = /^\s*-----BEGIN PGP /;

/** What peek read, then the rest. */
async function* chained(head: readonly Uint8Array[], rest: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* head;
  yield* rest;
}

/** Copies an async source to the output, one chunk at a time. */
async function drain(source: AsyncIterable<Uint8Array>, write: (chunk: Uint8Array) => Promise<void>): Promise<number> {
  let total = 0;
  for await (const bytes of source) {
    total += bytes.byteLength;
    if (bytes.byteLength > 0) await write(bytes);
  }
  return total;
}

function looksArmored(head: readonly Uint8Array[]): boolean {
  const first = Buffer.concat(head.map((chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))).subarray(0, 256);
  return ARMOR_START.test(first.toString('latin1'));
}

/** Reads a message from a stream of bytes, armored or binary; bad_input when it is neither. */
async function readStreamedMessage(source: AsyncIterable<Uint8Array>): Promise<openpgp.Message<ReadableStream<Uint8Array>>> {
  const { head, size, rest } = await peek(source, 256);
  if (size === 0) throw new CaliopError('bad_input', 'the input is empty', { hint: 'caliop decrypt < message.asc > message.txt' });
  const bytes = webStreamOf(rest, head);
  try {
    if (looksArmored(head)) {
      const text = bytes.pipeThrough(new TextDecoderStream()) as ReadableStream<string>;
      return (await openpgp.readMessage({ armoredMessage: text, config: READ_CONFIG })) as openpgp.Message<ReadableStream<Uint8Array>>;
    }
    return (await openpgp.readMessage({ binaryMessage: bytes, config: READ_CONFIG })) as openpgp.Message<ReadableStream<Uint8Array>>;
  } catch (error) {
    throw new CaliopError('bad_input', `the input is not an OpenPGP message: ${(error as Error).message}`, { cause: error });
  }
}

interface Output {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

async function openOutput(destination: Destination, mode: number): Promise<Output> {
  if ('file' in destination) {
    const file: OutputFile = await createOutputFile(destination.file, { replace: destination.replace, mode });
    return file;
  }
  return { write: destination.sink, commit: async () => undefined, abort: async () => undefined };
}

/** Copies a Web stream (bytes, or text from armor) to the output, one chunk at a time. */
async function pump(stream: ReadableStream<Uint8Array | string>, write: (chunk: Uint8Array) => Promise<void>): Promise<number> {
  const reader = stream.getReader();
  let total = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return total;
      const bytes = typeof value === 'string' ? encoder.encode(value) : value;
      total += bytes.byteLength;
      if (bytes.byteLength > 0) await write(bytes);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
}

/** openpgp.js settings for streams: SEIPDv1 is streamed (its MDC is checked at the end, §2.1). */
const STREAM_READ_CONFIG: Partial<openpgp.Config> = {
  ...READ_CONFIG,
  allowUnauthenticatedStream: true,
  // docs/limits.md §2.2: a pipe command's output goes where the user sends it, chunk by chunk;
  // memory does not grow with it, so only the mail path (held whole) keeps the limit.
  maxDecompressedMessageSize: Infinity,
};
/**
 * docs/decisions/streamed-decryption.md, "Encrypted data inside encrypted data": inside the
 * decrypted data, openpgp.js allows no encrypted data packet (RFC 9580 §10.3: an encrypted
 * message holds a message, which caliop never nests), but when such a packet comes as a
 * stream it throws before reading its body, so the body is never read and openpgp.decrypt
 * never settles (a SEIPD packet holding a SED packet, MDC intact, hung caliop decrypt and
 * sync forever). In the decrypted data only, each of them is read to its end and refused.
 */
function refusedWhenNested(tag: openpgp.enums.packet, name: string): new () => openpgp.BasePacket {
  return class NestedEncryptedData {
    static readonly tag = tag;
    async read(bytes: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
      if (bytes instanceof ReadableStream) {
        const reader = bytes.getReader();
        while (!(await reader.read()).done);
      }
      throw new Error(`Packet not allowed in this context: ${name}`);
    }
  } as unknown as new () => openpgp.BasePacket;
}
const NESTED_ENCRYPTED_DATA = [
  refusedWhenNested(openpgp.enums.packet.symmetricallyEncryptedData, 'symmetricallyEncryptedData'),
  refusedWhenNested(openpgp.enums.packet.symEncryptedIntegrityProtectedData, 'symEncryptedIntegrityProtectedData'),
  refusedWhenNested(openpgp.enums.packet.aeadEncryptedData, 'aeadEncryptedData'),
];
/** The same over the library's defaults, for the packet-level calls of the fast path. */
const FULL_STREAM_READ_CONFIG: openpgp.Config = { ...openpgp.config, ...STREAM_READ_CONFIG } as openpgp.Config;

export interface StreamEncryptInput {
  readonly input: AsyncIterable<Uint8Array>;
  readonly recipients: readonly openpgp.PublicKey[];
  readonly signingKeys?: readonly openpgp.PrivateKey[];
  readonly armor: boolean;
  readonly destination: Destination;
}

/** docs/cli.md §3.6: `caliop encrypt`, streamed. Returns the number of bytes written. */
export async function encryptStream(input: StreamEncryptInput): Promise<number> {
  // docs/cli.md §6.3: an unusable recipient is refused before any byte is read or written.
  for (const recipient of input.recipients) await requireEncryptable(recipient, certAddresses(recipient)[0] ?? fingerprintOf(recipient));
  const output = await openOutput(input.destination, 0o666);
  try {
    const message = await openpgp.createMessage({ binary: webStreamOf(input.input), format: 'binary' });
    const common = {
      message,
      encryptionKeys: [...input.recipients],
      ...(input.signingKeys?.length ? { signingKeys: [...input.signingKeys] } : {}),
      config: PGP_CONFIG,
    };
    const encrypted = input.armor ? await openpgp.encrypt({ ...common, format: 'armored' }) : await openpgp.encrypt({ ...common, format: 'binary' });
    const written = await pump(encrypted as unknown as ReadableStream<Uint8Array | string>, output.write);
    await output.commit();
    return written;
  } catch (error) {
    await output.abort();
    throw error;
  }
}

/**
 * docs/store.md §5.1, issue 9: a message encrypted (and signed) as a stream, ASCII-armored,
 * given out piece by piece as bytes; memory does not grow with the data. The options are
 * encryptData's (recipients checked, post-quantum choice, date), so the message is the
 * same kind as one encrypted whole.
 */
export async function* encryptArmoredStream(input: Omit<EncryptInput, 'data' | 'armor'> & { readonly data: AsyncIterable<Uint8Array> }): AsyncGenerator<Uint8Array> {
  const options = await encryptOptions(input);
  const message = await openpgp.createMessage({ binary: webStreamOf(input.data), format: 'binary', ...(input.date ? { date: input.date } : {}) });
  // Binary from openpgp.js, armored here as openpgp.js armors (the same bytes, a fraction of the cost).
  const binary = (await openpgp.encrypt({ ...options, message, format: 'binary' })) as unknown as ReadableStream<Uint8Array>;
  const reader = binary.getReader();
  const armor = new ArmorWriter();
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (value.length === 0) continue;
      const armored = armor.push(value);
      if (armored.length > 0) yield armored;
    }
    yield armor.finish();
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** docs/cli.md §3.8: `caliop sign`, streamed (inline, or a detached signature). */
export async function signStream(input: {
  readonly input: AsyncIterable<Uint8Array>;
  readonly signingKey: openpgp.PrivateKey;
  readonly detached: boolean;
  readonly armor: boolean;
  readonly destination: Destination;
}): Promise<number> {
  const output = await openOutput(input.destination, 0o666);
  try {
    const message = await openpgp.createMessage({ binary: webStreamOf(input.input), format: 'binary' });
    const common = { message, signingKeys: input.signingKey, detached: input.detached, config: PGP_CONFIG };
    const signed = input.armor ? await openpgp.sign({ ...common, format: 'armored' }) : await openpgp.sign({ ...common, format: 'binary' });
    const written = await pump(signed as unknown as ReadableStream<Uint8Array | string>, output.write);
    await output.commit();
    return written;
  } catch (error) {
    await output.abort();
    throw error;
  }
}

export interface StreamDecryptResult {
  readonly signatures: SignatureCheck[];
  readonly bytes: number;
  /** Which layer read the bulk (docs/decisions/streamed-decryption.md): node:crypto, or openpgp.js. */
  readonly by: 'node:crypto' | 'openpgp.js';
  /**
   * docs/cli.md §3.7: a signature was bad and nothing of the plaintext was given out (the file
   * not created, the held-back bytes not written); false when it had been given out already
   * (a stream past its held-back bytes) or no signature was bad.
   */
  readonly withheld: boolean;
}

/**
 * docs/cli.md §3.7 and §2.1: `caliop decrypt`, streamed. Into a file, nothing appears under
 * its name unless the whole message decrypted and passed its integrity check. Into a
 * stream, the first HOLD_BACK_BYTES are held until that check; past them, a failure at
 * the end throws bad_input saying how much was already written.
 */
export async function decryptStream(input: {
  readonly input: AsyncIterable<Uint8Array>;
  readonly decryptionKey: openpgp.PrivateKey;
  readonly verificationKeys: readonly openpgp.PublicKey[];
  readonly destination: Destination;
  readonly holdBackBytes?: number;
  /**
   * docs/limits.md §2.2: inflating stops past this many bytes (message_over_limit,
   * decompressed-too-large). The mail path gives MESSAGE_LIMITS.maxDecompressedBytes; the
   * pipe command none (§2: it streams, as gpg -d does).
   */
  readonly maxDecompressedBytes?: number;
  /**
   * The pieces read and given out by the fast path (src/service/pgp-stream-fast.ts: a MiB
   * unless said). Sync gives a store chunk, 64 KiB (issue 9: pieces of a MiB each took
   * fresh memory at every step, a MiB string among them, and a fresh page costs here about
   * 20 µs of system time).
   */
  readonly chunkBytes?: number;
}): Promise<StreamDecryptResult> {
  const { head, size, rest } = await peek(input.input, 256);
  if (size === 0) throw new CaliopError('bad_input', 'the input is empty', { hint: 'caliop decrypt < message.asc > message.txt' });
  let source: AsyncIterable<Uint8Array> = chained(head, rest);
  // docs/decisions/streamed-decryption.md: armor removed by src/core/openpgp-armor-stream.ts
  // (openpgp.js then reads binary when the fast path leaves the message to it), and the
  // common shape through node:crypto.
  if (looksArmored(head)) source = dearmored(source);
  const limit = input.maxDecompressedBytes === undefined ? {} : { maxDecompressedMessageSize: input.maxDecompressedBytes };
  // Into a file, each piece is written before the next is asked for: the plaintext's buffer is used again.
  const transient = 'file' in input.destination;
  const decryptionKeys = acceptingEveryCipher(input.decryptionKey);
  const config = { ...FULL_STREAM_READ_CONFIG, ...limit };
  const sessionKeysOf = (message: openpgp.Message<unknown>) => nativeSessionKeys(message, decryptionKeys, config, SESSION_CIPHERS);
  const fast = await tryFastDecryption(source, decryptionKeys, input.verificationKeys, config, input.chunkBytes, sessionKeysOf, transient);
  if (fast.kind === 'fast') {
    return { ...(await writeDecrypted(input, fast.message, fast.signatures, (write) => drain(fast.data, write))), by: 'node:crypto' };
  }
  source = fast.input;
  const message = await readStreamedMessage(source);
  requireAddressedTo(message, input.decryptionKey);
  let result;
  try {
    await expandDecapsulationKeys(input.decryptionKey, message);
    result = await openpgp.decrypt({
      message,
      decryptionKeys: acceptingEveryCipher(input.decryptionKey),
      verificationKeys: [...input.verificationKeys],
      format: 'binary',
      // Only for the decrypted data: readStreamedMessage read the outer packets.
      config: { ...STREAM_READ_CONFIG, ...limit, additionalAllowedPackets: NESTED_ENCRYPTED_DATA },
    });
  } catch (error) {
    throw decryptionFailure(error, message);
  }
  return { ...(await writeDecrypted(input, message, result.signatures, (write) => pump(result.data as unknown as ReadableStream<Uint8Array>, write))), by: 'openpgp.js' };
}

/** Writes decrypted data to the destination (§2.1: held back, or renamed once intact), then judges the signatures. */
async function writeDecrypted(
  input: { readonly verificationKeys: readonly openpgp.PublicKey[]; readonly destination: Destination; readonly holdBackBytes?: number },
  message: openpgp.Message<unknown>,
  signatureResults: Awaited<ReturnType<typeof openpgp.decrypt>>['signatures'],
  copy: (write: (chunk: Uint8Array) => Promise<void>) => Promise<number>,
): Promise<Omit<StreamDecryptResult, 'by'>> {
  const toFile = 'file' in input.destination;
  // The signatures settle only once the data is read: mark them handled now, judge them after.
  for (const signature of signatureResults) {
    signature.verified.catch(() => undefined);
    signature.signature.catch(() => undefined);
  }
  const output = await openOutput(input.destination, 0o600);
  // A file is only renamed into place once intact: nothing to hold back there.
  const limit = 'file' in input.destination ? 0 : (input.holdBackBytes ?? HOLD_BACK_BYTES);
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  let released = 0;
  const write = async (chunk: Uint8Array): Promise<void> => {
    if (released === 0 && heldBytes + chunk.byteLength <= limit) {
      held.push(chunk);
      heldBytes += chunk.byteLength;
      return;
    }
    if ('sink' in input.destination && input.destination.terminal === true) throw new CaliopError('too_large_for_terminal');
    for (const part of held.splice(0)) {
      await output.write(part);
      released += part.byteLength;
    }
    heldBytes = 0;
    await output.write(chunk);
    released += chunk.byteLength;
  };
  let total: number;
  try {
    total = await copy(write);
  } catch (error) {
    await output.abort();
    const failure = error instanceof CaliopError ? error : decryptionFailure(error, message);
    if (released > 0 && !toFile && failure.code === 'bad_input') {
      throw new CaliopError('bad_input', `${failure.message}; the ${released} bytes already written are not to be trusted`, {
        cause: error,
        hint: 'throw away what was written; with --output FILE nothing is written unless the whole message is intact',
      });
    }
    throw failure;
  }
  const signatures = await judgeSignatures(signatureResults, input.verificationKeys);
  // docs/cli.md §3.7: a bad signature gives out nothing that was not given out already: no
  // file under its name, none of the held-back bytes (issue 9: the plaintext was written first).
  if (signatures.some((signature) => signature.status === 'bad') && (toFile || released === 0)) {
    await output.abort();
    return { signatures, bytes: total, withheld: true };
  }
  try {
    for (const part of held.splice(0)) await output.write(part);
    await output.commit();
  } catch (error) {
    await output.abort();
    throw error;
  }
  return { signatures, bytes: total, withheld: false };
}
