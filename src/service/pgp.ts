// OpenPGP operations for the faces (encrypt, decrypt, sign, verify), over openpgp.js.
// Profile (docs/ceremony.md §3): v4 keys, SEIPDv1, no AEAD, so that GnuPG 2.2 and
// Sequoia 0.27 read everything we write.
import * as openpgp from 'openpgp';
import { MESSAGE_LIMITS, overLimitText } from '../core/message-limits.js';
import {
  hashName,
  POST_QUANTUM_KEM_ALGORITHM,
  publicKeyName,
  REJECTED_HASHES,
  SHA1_KEY_SIGNATURE_CUTOFF,
  SUPPORTED_SYMMETRIC,
  symmetricName,
  SYMMETRIC_NAMES,
  weaknessOf,
} from '../core/openpgp-algorithms.js';
import { CaliopError } from '../errors.js';
import { dearmored } from '../core/openpgp-armor-stream.js';
import { gnupgCleartext, gnupgTextForm } from '../core/text-signature-forms.js';
import { expandDecapsulationKeys } from '../core/key-derivation.js';
import { nativeSessionKeys } from './pgp-session-key.js';
import { tryFastDecryption } from './pgp-stream-fast.js';

/** openpgp.js settings for every operation: SEIPDv1 (no AEAD) for GnuPG 2.2. */
export const PGP_CONFIG: Partial<openpgp.Config> = {
  aeadProtect: false,
  preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256,
  preferredHashAlgorithm: openpgp.enums.hash.sha512,
  showComment: false,
  showVersion: false,
  // docs/limits.md §2.2: inflating stops at the limit (a compression bomb never grows past it).
  maxDecompressedMessageSize: MESSAGE_LIMITS.maxDecompressedBytes,
};

/**
 * openpgp.js settings for READING what others made (docs/cli.md §6): every algorithm
 * GnuPG 2.2 can produce is read, and judged by us afterwards (weak, unsupported), instead
 * of being thrown out by the library as if it were a forgery. Only MD5 stays refused.
 */
export const READ_CONFIG: Partial<openpgp.Config> = {
  ...PGP_CONFIG,
  rejectHashAlgorithms: new Set([openpgp.enums.hash.md5]),
  rejectMessageHashAlgorithms: new Set([openpgp.enums.hash.md5]),
  rejectPublicKeyAlgorithms: new Set(),
  rejectCurves: new Set(),
  minRSABits: 1024,
};

// openpgp.js 6 has no Camellia: its enum lacks the ids, so a Camellia session key ends in
// "Invalid enum value". With the ids known, the library reports "Unsupported cipher" and
// leaves the algorithm id on the PKESK packet, which lets us name it (docs/cli.md §6.1).
function teachSymmetricNames(): void {
  const symmetric = openpgp.enums.symmetric as unknown as Record<string | symbol, unknown>;
  let added = false;
  for (const [id, name] of Object.entries(SYMMETRIC_NAMES)) {
    const key = name.toLowerCase();
    if (key.startsWith('camellia') && symmetric[key] === undefined) {
      symmetric[key] = Number(id);
      added = true;
    }
  }
  // The library caches a reverse map under a private symbol: drop it so it is rebuilt.
  if (added) for (const symbol of Object.getOwnPropertySymbols(symmetric)) delete symmetric[symbol];
}
teachSymmetricNames();

/** READ_CONFIG over the library's defaults, for the packet-level calls that need a whole config. */
const FULL_READ_CONFIG: openpgp.Config = { ...openpgp.config, ...READ_CONFIG } as openpgp.Config;

const ARMOR_START = '-----BEGIN PGP ';

export function isArmored(data: Uint8Array): boolean {
  const head = new TextDecoder().decode(data.subarray(0, 256)).trimStart();
  return head.startsWith(ARMOR_START);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `data` is well-formed UTF-8 (docs/message-payload.md §6.6). */
export function isUtf8(data: Uint8Array): boolean {
  try {
    STRICT_UTF8.decode(data);
    return true;
  } catch {
    return false;
  }
}

function asText(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** The armored blocks of a text, each from its BEGIN line to its END line. */
const ARMOR_BEGIN = /-----BEGIN PGP [A-Z ]+-----/g;
const ARMOR_END = /-----END PGP [A-Z ]+-----/g;

/**
 * Each armored block of `text` (RFC 9580 §6.2), in order: from a begin line to the first end
 * line after it, the blocks /BEGIN[\s\S]*?END/g finds, but in one pass: that expression looked
 * for an end again from each begin line, so a certificate file of begin lines and no end line
 * cost the square of their number (20,000 lines, 740 KB: 5.6 s at each `contacts import`).
 * With no end line after a begin line, no later begin line has one either: the search stops.
 */
export function armoredBlocks(text: string): string[] {
  const blocks: string[] = [];
  for (let from = 0; ; ) {
    ARMOR_BEGIN.lastIndex = from;
    const begin = ARMOR_BEGIN.exec(text);
    if (begin === null) break;
    ARMOR_END.lastIndex = begin.index + begin[0].length;
    const end = ARMOR_END.exec(text);
    if (end === null) break;
    from = end.index + end[0].length;
    blocks.push(text.slice(begin.index, from));
  }
  return blocks.length > 0 ? blocks : [text];
}

/** Reads one or more certificates (armored or binary); bad_input when none. */
export async function readCerts(data: Uint8Array): Promise<openpgp.Key[]> {
  try {
    // A file may hold several armored blocks one after the other (keyrings exported cert by
    // cert); openpgp.js reads only the first block of an armored text, so each is read.
    const keys = isArmored(data)
      ? (await Promise.all(armoredBlocks(asText(data)).map((block) => openpgp.readKeys({ armoredKeys: block })))).flat()
      : await openpgp.readKeys({ binaryKeys: data as Uint8Array<ArrayBuffer> });
    if (keys.length === 0) throw new Error('no key found');
    return keys;
  } catch (error) {
    throw new CaliopError('bad_input', `the input is not an OpenPGP certificate: ${(error as Error).message}`, { cause: error });
  }
}

export async function readCert(armored: string): Promise<openpgp.PublicKey> {
  const key = await openpgp.readKey({ armoredKey: armored });
  return key.toPublic();
}

/** Every e-mail address in the cert's user ids, lower case. */
export function certAddresses(key: openpgp.Key): string[] {
  const addresses = new Set<string>();
  for (const user of key.users) {
    const email = user.userID?.email;
    if (email) addresses.add(email.toLowerCase());
  }
  return [...addresses];
}

export function certName(key: openpgp.Key): string | undefined {
  for (const user of key.users) {
    if (user.userID?.name) return user.userID.name;
  }
  return undefined;
}

export function fingerprintOf(key: openpgp.Key): string {
  return key.getFingerprint().toUpperCase();
}

/**
 * Groups a fingerprint by 4 as gpg and sq print it: a v4 fingerprint (40 hex) as 10 groups
 * with a double space in the middle; a v6 fingerprint (64 hex, RFC 9580 §5.5.4.3) as 16 groups.
 */
export function formatFingerprint(fingerprint: string): string {
  const grouped = fingerprint.replace(/(.{4})/g, '$1 ').trim();
  return fingerprint.length === 40 ? grouped.replace(/^((?:\S+ ){4}\S+) /, '$1  ') : grouped;
}

/** RFC 9580 §5.5.4: the key version that a fingerprint's length reveals. */
export function fingerprintVersion(fingerprint: string): 4 | 6 | undefined {
  return fingerprint.length === 40 ? 4 : fingerprint.length === 64 ? 6 : undefined;
}

export function normaliseFingerprint(text: string): string {
  return text.replace(/^0x/i, '').replace(/[\s:]/g, '').toUpperCase();
}

export async function readMessage(data: Uint8Array): Promise<openpgp.Message<Uint8Array | string>> {
  try {
    return isArmored(data)
      ? await openpgp.readMessage({ armoredMessage: asText(data) })
      : await openpgp.readMessage({ binaryMessage: data });
  } catch (error) {
    throw new CaliopError('bad_input', `the input is not an OpenPGP message: ${(error as Error).message}`, { cause: error });
  }
}

export interface EncryptInput {
  readonly data: Uint8Array;
  readonly recipients: readonly openpgp.PublicKey[];
  readonly signingKey?: openpgp.PrivateKey;
  /** Several signers (`caliop sop encrypt --sign-with`); with `signingKey`, both sign. */
  readonly signingKeys?: readonly openpgp.PrivateKey[];
  readonly armor: boolean;
  readonly date?: Date;
  /**
   * docs/decisions/post-quantum.md: encrypt to every recipient's post-quantum subkey
   * (ML-KEM-768+X25519; each must have one: see allHavePostQuantumSubkey). Otherwise,
   * always, to the classic encryption subkey, exactly as before the post-quantum subkey.
   */
  readonly postQuantum?: boolean;
}

/**
 * docs/decisions/post-quantum.md: the encryption subkey a message uses is chosen here, never
 * left to openpgp.js (which prefers, at equal dates, the higher algorithm id: the PQ one).
 * The newest valid encryption key of the wanted kind; for a classic one the primary key too.
 */
async function encryptionKeyID(cert: openpgp.PublicKey, postQuantum: boolean, date?: Date): Promise<openpgp.KeyID | undefined> {
  const candidates = [...cert.subkeys].sort((a, b) => b.getCreationTime().getTime() - a.getCreationTime().getTime());
  for (const candidate of [...candidates, cert]) {
    if ((candidate.getAlgorithmInfo().algorithm as string) === 'pqc_mlkem_x25519' !== postQuantum) continue;
    try {
      const usable = await cert.getEncryptionKey(candidate.getKeyID(), date, undefined, FULL_READ_CONFIG);
      return usable.getKeyID();
    } catch {
      // not a valid encryption key at `date`: the next one
    }
  }
  return undefined;
}

/** docs/decisions/post-quantum.md: every cert has a valid post-quantum encryption subkey at `date`. */
export async function allHavePostQuantumSubkey(certs: readonly openpgp.PublicKey[], date?: Date): Promise<boolean> {
  for (const cert of certs) if ((await encryptionKeyID(cert, true, date)) === undefined) return false;
  return certs.length > 0;
}

/** draft-ietf-openpgp-pqc-10: every session-key packet of the message is ML-KEM-768+X25519 (none classic, no password). */
export function isPostQuantumMessage(message: openpgp.Message<unknown>): boolean {
  const sessionKeyPackets = message.packets.filter(
    (packet) => packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket || packet instanceof openpgp.SymEncryptedSessionKeyPacket,
  );
  return sessionKeyPackets.length > 0 && sessionKeyPackets.every(
    (packet) => packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket && (packet as unknown as { publicKeyAlgorithm: number }).publicKeyAlgorithm === POST_QUANTUM_KEM_ALGORITHM,
  );
}

/**
 * The openpgp.encrypt options of an EncryptInput, the message aside: the recipients checked
 * (docs/cli.md §6.3) and their encryption key ids chosen (post-quantum or classic). Shared
 * by encryptData and the streamed encryption of src/service/pgp-stream.ts.
 */
export async function encryptOptions(input: Omit<EncryptInput, 'data' | 'armor'>) {
  // docs/cli.md §6.3: an expired, revoked or encryption-less cert is refused by name, before any work.
  for (const recipient of input.recipients) await requireEncryptable(recipient, certAddresses(recipient)[0] ?? fingerprintOf(recipient), input.date);
  const encryptionKeyIDs: openpgp.KeyID[] = [];
  for (const recipient of input.recipients) {
    const keyID = await encryptionKeyID(recipient, input.postQuantum === true, input.date);
    if (keyID === undefined && input.postQuantum === true) {
      throw new CaliopError('recipient_cert_unusable', `the certificate of ${certAddresses(recipient)[0] ?? fingerprintOf(recipient)} has no post-quantum encryption subkey`);
    }
    // A cert whose only encryption key is post-quantum (made elsewhere): that one.
    encryptionKeyIDs.push(keyID ?? (await recipient.getEncryptionKey(undefined, input.date, undefined, FULL_READ_CONFIG)).getKeyID());
  }
  return {
    encryptionKeys: [...input.recipients],
    encryptionKeyIDs,
    ...(input.signingKey || input.signingKeys?.length ? { signingKeys: [...(input.signingKey ? [input.signingKey] : []), ...(input.signingKeys ?? [])] } : {}),
    ...(input.date ? { date: input.date } : {}),
    config: PGP_CONFIG,
  };
}

export async function encryptData(input: EncryptInput): Promise<Uint8Array> {
  const options = await encryptOptions(input);
  const message = await openpgp.createMessage({ binary: input.data, format: 'binary', ...(input.date ? { date: input.date } : {}) });
  const common = { message, ...options };
  if (input.armor) {
    return new TextEncoder().encode(await openpgp.encrypt({ ...common, format: 'armored' }));
  }
  return await openpgp.encrypt({ ...common, format: 'binary' });
}

/**
 * docs/cli.md §6.2: the state of one signature, judged against the certs we hold.
 * - good: valid, by a known key, with algorithms we would still create;
 * - good-weak: valid, but made with SHA-1, RIPEMD-160, a DSA or ElGamal key, or RSA under 2048 bits;
 * - bad: the signature does not verify (the data or the signature was modified, or forged);
 * - unknown-key: we hold no cert with the signing key;
 * - expired-key / revoked-key: made by a key that was expired / is revoked at signing time;
 * - unsupported-algorithm: made with an algorithm we cannot check (named in `detail`).
 * The message-level states `signer-mismatch` and `unsigned` are judged by the faces from these.
 */
export const SIGNATURE_CHECK_STATES = ['good', 'good-weak', 'bad', 'unknown-key', 'expired-key', 'revoked-key', 'unsupported-algorithm'] as const;
export type SignatureCheckState = (typeof SIGNATURE_CHECK_STATES)[number];

/** One signature found on a message, judged against the keys we know (docs/cli.md §6.2). */
export interface SignatureCheck {
  readonly status: SignatureCheckState;
  readonly keyId: string;
  /** Primary-key fingerprint of the signer, when its cert is known. */
  readonly signerFingerprint?: string;
  readonly created?: string;
  /** Hash algorithm of the signature, as gpg names it (SHA256, SHA1…). */
  readonly hash?: string;
  /** Why: the weakness of a good-weak signature, the failure of a bad one, the algorithm not supported. */
  readonly detail?: string;
}

/** A signature is acceptable (it proves who signed) when it is good or good-weak. */
export function isValidSignature(check: SignatureCheck): boolean {
  return check.status === 'good' || check.status === 'good-weak';
}

type VerificationResult = Awaited<ReturnType<typeof openpgp.verify>>['signatures'][number];

function algorithmId(name: string): number {
  return (openpgp.enums.publicKey as unknown as Record<string, number>)[name] ?? -1;
}

async function judgeSignature(result: VerificationResult, verificationKeys: readonly openpgp.PublicKey[]): Promise<SignatureCheck> {
  const keyId = result.keyID.toHex().toUpperCase();
  const signer = verificationKeys.find((key) => key.getKeys(result.keyID).length > 0);
  let packet: openpgp.SignaturePacket | undefined;
  try {
    packet = (await result.signature).packets[0];
  } catch {
    packet = undefined;
  }
  const base = {
    keyId,
    ...(packet?.created ? { created: packet.created.toISOString() } : {}),
    ...(packet?.hashAlgorithm != null ? { hash: hashName(packet.hashAlgorithm) } : {}),
  };
  if (!signer) return { status: 'unknown-key', ...base };
  const signerFingerprint = fingerprintOf(signer);
  const signingKey = signer.getKeys(result.keyID)[0]!;
  const info = signingKey.getAlgorithmInfo();
  const keyAlgorithm = algorithmId(info.algorithm);
  if (packet?.hashAlgorithm != null && REJECTED_HASHES.has(packet.hashAlgorithm)) {
    return { status: 'unsupported-algorithm', signerFingerprint, ...base, detail: `unsupported algorithm ${hashName(packet.hashAlgorithm)}` };
  }
  try {
    await result.verified;
  } catch (error) {
    const text = (error as Error).message;
    // The library checks the mathematics first (SignaturePacket.verify), then the key at signing time.
    if (/Signed digest did not match|Signature verification failed/.test(text)) {
      return { status: 'bad', signerFingerprint, ...base, detail: 'the signature does not match the data' };
    }
    if (/too weak|Insecure|[Uu]nsupported|Unknown (hash|public key|curve)|not implemented|Invalid enum/.test(text)) {
      const named = packet?.hashAlgorithm != null ? `${publicKeyName(keyAlgorithm)} with ${hashName(packet.hashAlgorithm)}` : publicKeyName(keyAlgorithm);
      return { status: 'unsupported-algorithm', signerFingerprint, ...base, detail: `unsupported algorithm ${named}` };
    }
    if (/revoked/i.test(text)) return { status: 'revoked-key', signerFingerprint, ...base, detail: 'the signing key is revoked' };
    if (/expired/i.test(text) && !/Signature is expired/.test(text)) {
      return { status: 'expired-key', signerFingerprint, ...base, detail: 'the signing key had expired when this was signed' };
    }
    return { status: 'bad', signerFingerprint, ...base, detail: text };
  }
  const weakness = packet?.hashAlgorithm != null ? weaknessOf(packet.hashAlgorithm, { algorithm: keyAlgorithm, bits: info.bits }) : undefined;
  if (weakness) return { status: 'good-weak', signerFingerprint, ...base, detail: `made with ${weakness}` };
  return { status: 'good', signerFingerprint, ...base };
}

export async function judgeSignatures(results: readonly VerificationResult[], verificationKeys: readonly openpgp.PublicKey[]): Promise<SignatureCheck[]> {
  return Promise.all(results.map((result) => judgeSignature(result, verificationKeys)));
}

export interface DecryptResult {
  readonly data: Uint8Array;
  readonly signatures: SignatureCheck[];
  /** docs/decisions/post-quantum.md: every session-key packet was ML-KEM-768+X25519 (isPostQuantumMessage). */
  readonly postQuantum: boolean;
}

/** openpgp.js's message for a Compressed Data packet that inflates beyond maxDecompressedMessageSize. */
const DECOMPRESSED_TOO_LARGE = /Maximum decompressed message size exceeded/;
/**
 * openpgp.js decrypts only with the ciphers the decryption key's self-signature prefers
 * (plus AES, 3DES, CAST5). GnuPG lets the sender force any cipher (--cipher-algo), and
 * reads what it is sent; so do we (docs/cli.md §6.1). The copy's preferences name every
 * cipher we implement; the key itself is not changed.
 */
export function acceptingEveryCipher(key: openpgp.PrivateKey): openpgp.PrivateKey {
  // One widened copy per key: openpgp.js remembers on each signature packet that it verified
  // it, so a copy kept across messages checks the key's own signatures once, not per message.
  let copy = widenedKeys.get(key);
  if (copy === undefined) {
    copy = widenedCopy(key);
    widenedKeys.set(key, copy);
  }
  return copy;
}

const widenedKeys = new WeakMap<openpgp.PrivateKey, openpgp.PrivateKey>();

function widenedCopy(key: openpgp.PrivateKey): openpgp.PrivateKey {
  const copy = (key as unknown as { clone(): openpgp.PrivateKey }).clone();
  const widen = (signature: openpgp.SignaturePacket): openpgp.SignaturePacket => {
    const widened = Object.create(Object.getPrototypeOf(signature), Object.getOwnPropertyDescriptors(signature)) as openpgp.SignaturePacket;
    widened.preferredSymmetricAlgorithms = [...new Set([...(signature.preferredSymmetricAlgorithms ?? []), ...SUPPORTED_SYMMETRIC])];
    return widened;
  };
  for (const user of copy.users) user.selfCertifications = user.selfCertifications.map(widen);
  const direct = copy as unknown as { directSignatures?: openpgp.SignaturePacket[] };
  if (direct.directSignatures) direct.directSignatures = direct.directSignatures.map(widen);
  return copy;
}

/** The cipher a PKESK packet named, once the library decrypted it (docs/cli.md §6.1). */
function sessionCipherOf(message: openpgp.Message<unknown>): number | undefined {
  for (const packet of message.packets) {
    const algorithm = (packet as { sessionKeyAlgorithm?: unknown }).sessionKeyAlgorithm;
    if ((packet.constructor as { tag?: number }).tag === openpgp.enums.packet.publicKeyEncryptedSessionKey && algorithm !== null && algorithm !== undefined) {
      return typeof algorithm === 'number' ? algorithm : (openpgp.enums.symmetric as unknown as Record<string, number>)[String(algorithm)];
    }
  }
  return undefined;
}

/** docs/cli.md §6.1: refused, naming the algorithm, never "damaged". */
export function unsupportedAlgorithm(name: string, cause?: unknown): CaliopError {
  return new CaliopError('unsupported_algorithm', `unsupported algorithm ${name}`, {
    ...(cause === undefined ? {} : { cause }),
    hint: 'ask the sender to use AES (the default of every OpenPGP program today)',
  });
}

/** What a failed openpgp.decrypt means to the user (docs/cli.md §6.1): sizes, ciphers, keys, damage. */
export function decryptionFailure(error: unknown, message: openpgp.Message<unknown>): CaliopError {
  if (error instanceof CaliopError) return error;
  const text = (error as Error).message;
  if (DECOMPRESSED_TOO_LARGE.test(text)) {
    return new CaliopError('message_over_limit', `this message stays sealed: ${overLimitText('decompressed-too-large')}`, { cause: error });
  }
  const cipher = sessionCipherOf(message);
  if (cipher !== undefined && !SUPPORTED_SYMMETRIC.has(cipher)) return unsupportedAlgorithm(symmetricName(cipher), error);
  if (/Unsupported cipher|Invalid enum value/.test(text)) return unsupportedAlgorithm(cipher === undefined ? 'in the session key' : symmetricName(cipher), error);
  const unsupportedKey = /Unsupported (public key|curve|key)|Unknown curve|not implemented/i.exec(text);
  if (unsupportedKey) return unsupportedAlgorithm(text.replace(/^Error decrypting message: /, ''), error);
  if (/session key|no decryption key|decryption key/i.test(text)) {
    return new CaliopError('no_decryption_key', `could not decrypt: ${text}`, { cause: error });
  }
  return new CaliopError('bad_input', `the message could not be decrypted: ${text}`, {
    cause: error,
    hint: 'the message is damaged or was modified on its way; ask the sender to send it again',
  });
}

/** A message whose session keys name other keys (and no wildcard) is not for us: exit 14 before any work. */
export function requireAddressedTo(message: openpgp.Message<unknown>, decryptionKey: openpgp.PrivateKey): void {
  const ours = decryptionKey.getKeyIDs().map((id) => id.toHex());
  const addressed = message.getEncryptionKeyIDs().map((id) => id.toHex());
  if (addressed.length > 0 && !addressed.some((id) => ours.includes(id) || /^0+$/.test(id))) {
    throw new CaliopError('no_decryption_key', `this message was encrypted to ${addressed.map((id) => id.toUpperCase()).join(', ')}, not to your key`);
  }
}

export async function decryptData(
  data: Uint8Array,
  decryptionKey: openpgp.PrivateKey,
  verificationKeys: readonly openpgp.PublicKey[],
): Promise<DecryptResult> {
  // docs/limits.md §2.1: nothing larger than a relay could carry is even parsed.
  if (data.length > MESSAGE_LIMITS.maxMessageBytes) {
    throw new CaliopError('message_over_limit', `this message is ${data.length} bytes: ${overLimitText('message-too-large')}`);
  }
  let message = await readMessage(data);
  requireAddressedTo(message, decryptionKey);
  const postQuantum = isPostQuantumMessage(message);
  const common = { verificationKeys: [...verificationKeys], format: 'binary' as const, config: READ_CONFIG };
  const decryptionKeys = acceptingEveryCipher(decryptionKey);
  // The session key through node:crypto where it can (src/service/pgp-session-key.ts); if that
  // path finds none, or the message does not open with what it found, openpgp.js does it all.
  const sessionKeys = await nativeSessionKeys(message, decryptionKeys, FULL_READ_CONFIG, SESSION_CIPHERS);
  if (sessionKeys) {
    try {
      const fast = await openpgp.decrypt({ message, sessionKeys, ...common });
      return { data: fast.data as Uint8Array, signatures: await judgeSignatures(fast.signatures, verificationKeys), postQuantum };
    } catch {
      message = await readMessage(data); // the library consumed its packets: read again
    }
  }
  let result;
  try {
    await expandDecapsulationKeys(decryptionKeys, message);
    result = await openpgp.decrypt({ message, decryptionKeys, ...common });
  } catch (error) {
    throw decryptionFailure(error, message);
  }
  return { data: result.data as Uint8Array, signatures: await judgeSignatures(result.signatures, verificationKeys), postQuantum };
}

/**
 * Issue 13, sync: a message held whole (a mailbox page's, at most 1 MiB) of the common shape
 * (docs/decisions/streamed-decryption.md) decrypted through node:crypto: its classic
 * Cv25519 session key (pgp-session-key.ts), then AES-CFB, the MDC and the packet framing
 * (pgp-stream-fast.ts), without openpgp.js's decrypt. Its plaintext, the same bytes as
 * decryptData's, or undefined when the message has another shape, is not addressed to this
 * key, or fails its integrity check: decryptData then reads it and says why. Signatures are
 * not judged here (sync opens a message for its header fields only).
 */
export async function decryptWholeFast(data: Uint8Array, decryptionKey: openpgp.PrivateKey): Promise<Uint8Array | undefined> {
  if (data.length > INLINE_FAST_BYTES) return undefined;
  const whole = (async function* () {
    yield data;
  })();
  const source = ARMOR_START_BYTES.every((byte, index) => data[index] === byte) ? dearmored(whole) : whole;
  const decryptionKeys = acceptingEveryCipher(decryptionKey);
  try {
    const fast = await tryFastDecryption(source, decryptionKeys, [], FULL_READ_CONFIG, undefined, (message) => nativeSessionKeys(message, decryptionKeys, FULL_READ_CONFIG, SESSION_CIPHERS));
    if (fast.kind !== 'fast') return undefined;
    for (const signature of fast.signatures) {
      signature.verified.catch(() => undefined);
      signature.signature.catch(() => undefined);
    }
    const parts: Uint8Array[] = [];
    for await (const part of fast.data) parts.push(part);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  } catch {
    return undefined; // damaged armor, a modified message…: decryptData says what
  }
}

/** decryptWholeFast takes what a mailbox page carries inline (docs/api.md §8.8: inlineCiphertextBytes). */
const INLINE_FAST_BYTES = 1024 * 1024;
const ARMOR_START_BYTES = new TextEncoder().encode('-----BEGIN PGP MESSAGE-----');

/** The ciphers openpgp.js accepts in a session key for a widened key (its four fallbacks and ours). */
export const SESSION_CIPHERS: ReadonlySet<number> = new Set([
  openpgp.enums.symmetric.aes256,
  openpgp.enums.symmetric.aes128,
  openpgp.enums.symmetric.tripledes,
  openpgp.enums.symmetric.cast5,
  ...SUPPORTED_SYMMETRIC,
]);

export async function signData(data: Uint8Array, signingKey: openpgp.PrivateKey, options: { detached: boolean; armor: boolean }): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: data, format: 'binary' });
  const common = { message, signingKeys: signingKey, detached: options.detached, config: PGP_CONFIG };
  if (options.armor) return new TextEncoder().encode(await openpgp.sign({ ...common, format: 'armored' }));
  return await openpgp.sign({ ...common, format: 'binary' });
}

/** A detached signature over `data` as it is (a text-mode one over its RFC form, openpgp.js's). */
async function verifyDetached(data: Uint8Array, signature: openpgp.Signature, verificationKeys: readonly openpgp.PublicKey[]): Promise<SignatureCheck[]> {
  const message = await openpgp.createMessage({ binary: data, format: 'binary' });
  const result = await openpgp.verify({ message, signature, verificationKeys: [...verificationKeys], format: 'binary', config: READ_CONFIG });
  return judgeSignatures(result.signatures, verificationKeys);
}

/**
 * docs/message-payload.md §6.4: the checks of one signature over the two forms of its data,
 * packet by packet: a text-mode packet (`text[index]`) found bad over the RFC form takes its
 * check over GnuPG's form. Any other check stays as it was.
 */
export function eitherForm(rfc: readonly SignatureCheck[], gnupg: readonly (SignatureCheck | undefined)[], text: readonly boolean[]): SignatureCheck[] {
  return rfc.map((check, index) => {
    const other = gnupg[index];
    return check.status === 'bad' && text[index] === true && other !== undefined && other.status !== 'bad' ? other : check;
  });
}

export interface VerifyResult {
  /** The signed data (for inline-signed input; the input itself for detached). */
  readonly data: Uint8Array;
  readonly signatures: SignatureCheck[];
}

export async function verifyData(
  data: Uint8Array,
  verificationKeys: readonly openpgp.PublicKey[],
  detachedSignature?: Uint8Array,
): Promise<VerifyResult> {
  try {
    if (detachedSignature) {
      const readDetached = () => isArmored(detachedSignature)
        ? openpgp.readSignature({ armoredSignature: asText(detachedSignature) })
        : openpgp.readSignature({ binarySignature: detachedSignature as Uint8Array<ArrayBuffer> });
      const signature = await readDetached();
      const checks = await verifyDetached(data, signature, verificationKeys);
      // docs/message-payload.md §6.4: a text-mode signature that fails over the RFC form is checked over GnuPG's.
      const textBad = signature.packets.some((packet, index) => packet.signatureType === openpgp.enums.signature.text && checks[index]?.status === 'bad');
      const gnupg = textBad ? gnupgTextForm(data) : null;
      if (gnupg === null) return { data, signatures: checks };
      const again = await verifyDetached(gnupg, await readDetached(), verificationKeys);
      return { data, signatures: eitherForm(checks, again, signature.packets.map((packet) => packet.signatureType === openpgp.enums.signature.text)) };
    }
    const text = asText(data);
    if (text.trimStart().startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
      const message = await openpgp.readCleartextMessage({ cleartextMessage: text });
      const signatureOf = async () => openpgp.readSignature({ binarySignature: (message as unknown as { signature: openpgp.Signature }).signature.write() as Uint8Array<ArrayBuffer> });
      // docs/message-payload.md §6.6: text in another charset than UTF-8 is signed as its bytes;
      // openpgp.js reads the text as UTF-8 and would check replacement characters: GnuPG's reading over the bytes.
      if (!isUtf8(data)) {
        const gnupg = gnupgCleartext(data);
        if (gnupg !== null) return { data: gnupg.text, signatures: await verifyDetached(gnupg.signed, await signatureOf(), verificationKeys) };
      }
      const result = await openpgp.verify({ message, verificationKeys: [...verificationKeys], config: READ_CONFIG });
      const checks = await judgeSignatures(result.signatures, verificationKeys);
      // docs/message-payload.md §6.5: GnuPG's reading of the text, when openpgp.js's does not verify.
      const gnupg = checks.some((check) => check.status === 'bad') ? gnupgCleartext(data) : null;
      if (gnupg !== null) {
        const merged = eitherForm(checks, await verifyDetached(gnupg.signed, await signatureOf(), verificationKeys), checks.map(() => true));
        if (merged.some((check, index) => check !== checks[index])) return { data: gnupg.text, signatures: merged };
      }
      return { data: new TextEncoder().encode(result.data), signatures: checks };
    }
    const message = await readMessage(data);
    const result = await openpgp.verify({ message, verificationKeys: [...verificationKeys], format: 'binary', config: READ_CONFIG });
    return { data: result.data, signatures: await judgeSignatures(result.signatures, verificationKeys) };
  } catch (error) {
    if (error instanceof CaliopError) throw error;
    if (DECOMPRESSED_TOO_LARGE.test((error as Error).message)) {
      throw new CaliopError('message_over_limit', `this message stays sealed: ${overLimitText('decompressed-too-large')}`, { cause: error });
    }
    throw new CaliopError('bad_input', `the signed data could not be read: ${(error as Error).message}`, { cause: error });
  }
}

// ---------------------------------------------------------------- certificates (docs/cli.md §6.3-§6.4)

/** docs/cli.md §6.3: what a cert can be used for today. */
export type CertState = 'usable' | 'expired' | 'revoked' | 'no-encryption-subkey';

export interface CertStatus {
  readonly state: CertState;
  /** RFC 9580 §5.5.2: the key version, 4 or 6. */
  readonly version: number;
  /** In the user's words, e.g. "expired on 2020-12-31". */
  readonly detail: string;
}

/** docs/cli.md §6.3: expired, revoked, or without a usable encryption subkey, at `now`. */
export async function certStatus(key: openpgp.Key, now: Date = new Date()): Promise<CertStatus> {
  const version = key.keyPacket.version;
  try {
    await key.verifyPrimaryKey(now, undefined, FULL_READ_CONFIG);
  } catch (error) {
    const text = (error as Error).message;
    if (/revoked/i.test(text)) return { state: 'revoked', version, detail: 'revoked by its owner' };
    if (/expired/i.test(text)) {
      const expiry = await key.getExpirationTime(undefined, FULL_READ_CONFIG).catch(() => null);
      const when = expiry instanceof Date ? ` on ${expiry.toISOString().slice(0, 10)}` : '';
      return { state: 'expired', version, detail: `expired${when}` };
    }
    return { state: 'no-encryption-subkey', version, detail: `no valid self-signature (${text})` };
  }
  try {
    await key.getEncryptionKey(undefined, now, undefined, FULL_READ_CONFIG);
  } catch {
    return { state: 'no-encryption-subkey', version, detail: 'no usable encryption subkey (expired, revoked or absent)' };
  }
  return { state: 'usable', version, detail: 'usable' };
}

/** docs/cli.md §6.3: encrypting to an unusable cert is refused, naming the reason. */
export async function requireEncryptable(key: openpgp.Key, who: string, now: Date = new Date()): Promise<void> {
  const status = await certStatus(key, now);
  if (status.state !== 'usable') {
    throw new CaliopError('recipient_cert_unusable', `the certificate of ${who} cannot be used for encryption: ${status.detail}`);
  }
}

type KeySignature = openpgp.SignaturePacket;

function refused(key: openpgp.Key, what: string): CaliopError {
  return new CaliopError('cert_refused', `the certificate ${fingerprintOf(key)} was refused: ${what}`);
}

/** GnuPG 2.2.18+ (docs/cli.md §6.4): SHA-1 key signatures made on or after 2019-01-19 do not count. */
function countsAsKeySignature(signature: KeySignature): boolean {
  return !(signature.hashAlgorithm === openpgp.enums.hash.sha1 && signature.created !== null && signature.created >= SHA1_KEY_SIGNATURE_CUTOFF);
}

async function checkOne(key: openpgp.Key, signature: KeySignature, data: object, what: string): Promise<void> {
  try {
    // A null date skips creation/expiry checks: we judge integrity here, validity in certStatus.
    await signature.verify(key.keyPacket, signature.signatureType!, data as never, null as never, undefined, FULL_READ_CONFIG);
  } catch (error) {
    throw refused(key, `${what} does not verify (${(error as Error).message})`);
  }
}

/**
 * docs/cli.md §6.4 (issue 12, "Import checks what it imports"): every self-signature,
 * direct-key signature, revocation and subkey binding of the cert must verify; one that
 * does not is a damaged or modified cert, refused with its reason. SHA-1 key signatures
 * made after GnuPG's cut-off are dropped (they do not count, as in GnuPG 2.2); a user id
 * or subkey left without a signature is dropped too. Third-party certifications are kept
 * as they are (we hold no certifier's key). Returns the cert as we store it.
 */
export async function checkCertSignatures(input: openpgp.Key): Promise<openpgp.PublicKey> {
  const key = input.toPublic();
  const primary = key.keyPacket;
  const direct = key as unknown as { directSignatures: KeySignature[]; revocationSignatures: KeySignature[] };
  direct.directSignatures = direct.directSignatures.filter(countsAsKeySignature);
  for (const signature of direct.directSignatures) await checkOne(key, signature, { key: primary }, 'a direct-key signature');
  for (const signature of direct.revocationSignatures) await checkOne(key, signature, { key: primary }, 'a key revocation');
  for (const user of key.users) {
    const label = user.userID ? `the self-signature on "${user.userID.userID}"` : 'the self-signature on a user attribute';
    const data = { userID: user.userID, userAttribute: user.userAttribute, key: primary };
    user.selfCertifications = user.selfCertifications.filter(countsAsKeySignature);
    for (const signature of user.selfCertifications) await checkOne(key, signature, data, label);
    for (const signature of user.revocationSignatures) await checkOne(key, signature, data, `a revocation of ${label}`);
  }
  key.users = key.users.filter((user) => user.selfCertifications.length > 0);
  for (const subkey of key.subkeys) {
    const data = { key: primary, bind: subkey.keyPacket };
    const label = `the binding of subkey ${subkey.getKeyID().toHex().toUpperCase()}`;
    subkey.bindingSignatures = subkey.bindingSignatures.filter(countsAsKeySignature);
    for (const signature of subkey.bindingSignatures) {
      await checkOne(key, signature, data, label);
      // RFC 9580 §5.2.1: a signing subkey's binding embeds a back-signature by the subkey.
      const back = (signature as unknown as { embeddedSignature: KeySignature | null }).embeddedSignature;
      if (back) {
        try {
          await back.verify(subkey.keyPacket, openpgp.enums.signature.keyBinding, data as never, null as never, undefined, FULL_READ_CONFIG);
        } catch (error) {
          throw refused(key, `the back-signature of subkey ${subkey.getKeyID().toHex().toUpperCase()} does not verify (${(error as Error).message})`);
        }
      }
    }
    for (const signature of subkey.revocationSignatures) await checkOne(key, signature, data, `a revocation of subkey ${subkey.getKeyID().toHex().toUpperCase()}`);
  }
  key.subkeys = key.subkeys.filter((subkey) => subkey.bindingSignatures.length > 0);
  if (key.users.length === 0 && direct.directSignatures.length === 0) throw refused(key, 'it carries no self-signed user id');
  return key;
}

/** What an update of a known cert (same fingerprint) brings, in the user's words. */
export async function describeCertUpdate(before: openpgp.PublicKey, after: openpgp.PublicKey): Promise<string[]> {
  const changes: string[] = [];
  const uids = (key: openpgp.PublicKey) => new Set(key.users.map((user) => user.userID?.userID ?? '(attribute)'));
  const beforeUids = uids(before);
  for (const uid of uids(after)) if (!beforeUids.has(uid)) changes.push(`new user id "${uid}"`);
  const beforeSubkeys = new Set(before.subkeys.map((subkey) => subkey.getFingerprint()));
  for (const subkey of after.subkeys) {
    if (!beforeSubkeys.has(subkey.getFingerprint())) changes.push(`new subkey ${subkey.getKeyID().toHex().toUpperCase()} (${publicKeyName(algorithmId(subkey.getAlgorithmInfo().algorithm))})`);
  }
  const [was, now] = await Promise.all([certStatus(before), certStatus(after)]);
  if (was.state !== now.state) changes.push(`now ${now.detail}`);
  const [oldExpiry, newExpiry] = await Promise.all([before.getExpirationTime().catch(() => null), after.getExpirationTime().catch(() => null)]);
  if (String(oldExpiry) !== String(newExpiry) && now.state === 'usable') {
    changes.push(newExpiry === Infinity ? 'no longer expires' : newExpiry instanceof Date ? `expires on ${newExpiry.toISOString().slice(0, 10)}` : 'expiry changed');
  }
  if (changes.length === 0 && before.armor() !== after.armor()) changes.push('new signatures');
  return changes;
}
