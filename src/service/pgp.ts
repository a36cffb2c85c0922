// OpenPGP operations for the faces (encrypt, decrypt, sign, verify), over openpgp.js.
// Profile (docs/ceremony.md §3): v4 keys, SEIPDv1, no AEAD, so that GnuPG 2.2 and
// Sequoia 0.27 read everything we write.
import * as openpgp from 'openpgp';
import { MESSAGE_LIMITS, overLimitText } from '../core/message-limits.js';
import { CaliopError } from '../errors.js';

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

const ARMOR_START = '-----BEGIN PGP ';

export function isArmored(data: Uint8Array): boolean {
  const head = new TextDecoder().decode(data.subarray(0, 256)).trimStart();
  return head.startsWith(ARMOR_START);
}

function asText(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** Reads one or more certificates (armored or binary); bad_input when none. */
export async function readCerts(data: Uint8Array): Promise<openpgp.Key[]> {
  try {
    const keys = isArmored(data)
      ? await openpgp.readKeys({ armoredKeys: asText(data) })
      : await openpgp.readKeys({ binaryKeys: data });
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

/** Groups a 40-hex fingerprint as gpg prints it: 10 groups of 4. */
export function formatFingerprint(fingerprint: string): string {
  return fingerprint.replace(/(.{4})/g, '$1 ').trim().replace(/^((?:\S+ ){4}\S+) /, '$1  ');
}

export function normaliseFingerprint(text: string): string {
  return text.replace(/^0x/i, '').replace(/[\s:]/g, '').toUpperCase();
}

async function readMessage(data: Uint8Array): Promise<openpgp.Message<Uint8Array | string>> {
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
  readonly armor: boolean;
  readonly date?: Date;
}

export async function encryptData(input: EncryptInput): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: input.data, format: 'binary', ...(input.date ? { date: input.date } : {}) });
  const common = {
    message,
    encryptionKeys: [...input.recipients],
    ...(input.signingKey ? { signingKeys: input.signingKey } : {}),
    ...(input.date ? { date: input.date } : {}),
    config: PGP_CONFIG,
  };
  if (input.armor) {
    return new TextEncoder().encode(await openpgp.encrypt({ ...common, format: 'armored' }));
  }
  return await openpgp.encrypt({ ...common, format: 'binary' });
}

/** One signature found on a message, judged against the keys we know (docs/cli.md §decrypt). */
export interface SignatureCheck {
  /** good: valid, by a known key; bad: by a known key but invalid; unknown-key: we hold no cert for it. */
  readonly status: 'good' | 'bad' | 'unknown-key';
  readonly keyId: string;
  /** Primary-key fingerprint of the signer, when its cert is known. */
  readonly signerFingerprint?: string;
  readonly created?: string;
  readonly detail?: string;
}

async function judgeSignatures(
  results: Awaited<ReturnType<typeof openpgp.verify>>["signatures"],
  verificationKeys: readonly openpgp.PublicKey[],
): Promise<SignatureCheck[]> {
  const checks: SignatureCheck[] = [];
  for (const result of results) {
    const keyId = result.keyID.toHex().toUpperCase();
    const signer = verificationKeys.find((key) => key.getKeys(result.keyID).length > 0);
    let created: string | undefined;
    try {
      const signature = await result.signature;
      created = signature.packets[0]?.created?.toISOString();
    } catch {
      created = undefined;
    }
    if (!signer) {
      checks.push({ status: 'unknown-key', keyId, ...(created ? { created } : {}) });
      continue;
    }
    try {
      await result.verified;
      checks.push({ status: 'good', keyId, signerFingerprint: fingerprintOf(signer), ...(created ? { created } : {}) });
    } catch (error) {
      checks.push({ status: 'bad', keyId, signerFingerprint: fingerprintOf(signer), detail: (error as Error).message, ...(created ? { created } : {}) });
    }
  }
  return checks;
}

export interface DecryptResult {
  readonly data: Uint8Array;
  readonly signatures: SignatureCheck[];
}

/** openpgp.js's message for a Compressed Data packet that inflates beyond maxDecompressedMessageSize. */
const DECOMPRESSED_TOO_LARGE = /Maximum decompressed message size exceeded/;

export async function decryptData(
  data: Uint8Array,
  decryptionKey: openpgp.PrivateKey,
  verificationKeys: readonly openpgp.PublicKey[],
): Promise<DecryptResult> {
  // docs/limits.md §2.1: nothing larger than a relay could carry is even parsed.
  if (data.length > MESSAGE_LIMITS.maxMessageBytes) {
    throw new CaliopError('message_over_limit', `this message is ${data.length} bytes: ${overLimitText('message-too-large')}`);
  }
  const message = await readMessage(data);
  const ours = decryptionKey.getKeyIDs().map((id) => id.toHex());
  const addressed = message.getEncryptionKeyIDs().map((id) => id.toHex());
  if (addressed.length > 0 && !addressed.some((id) => ours.includes(id) || /^0+$/.test(id))) {
    throw new CaliopError('no_decryption_key', `this message was encrypted to ${addressed.map((id) => id.toUpperCase()).join(', ')}, not to your key`);
  }
  let result;
  try {
    result = await openpgp.decrypt({
      message,
      decryptionKeys: decryptionKey,
      verificationKeys: [...verificationKeys],
      format: 'binary',
      config: PGP_CONFIG,
    });
  } catch (error) {
    const text = (error as Error).message;
    if (DECOMPRESSED_TOO_LARGE.test(text)) {
      throw new CaliopError('message_over_limit', `this message stays sealed: ${overLimitText('decompressed-too-large')}`, { cause: error });
    }
    if (/session key|no decryption key|decryption key/i.test(text)) {
      throw new CaliopError('no_decryption_key', `could not decrypt: ${text}`, { cause: error });
    }
    throw new CaliopError('bad_input', `the message could not be decrypted: ${text}`, {
      cause: error,
      hint: 'the message is damaged or was modified on its way; ask the sender to send it again',
    });
  }
  return { data: result.data as Uint8Array, signatures: await judgeSignatures(result.signatures, verificationKeys) };
}

export async function signData(data: Uint8Array, signingKey: openpgp.PrivateKey, options: { detached: boolean; armor: boolean }): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: data, format: 'binary' });
  const common = { message, signingKeys: signingKey, detached: options.detached, config: PGP_CONFIG };
  if (options.armor) return new TextEncoder().encode(await openpgp.sign({ ...common, format: 'armored' }));
  return await openpgp.sign({ ...common, format: 'binary' });
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
      const signature = isArmored(detachedSignature)
        ? await openpgp.readSignature({ armoredSignature: asText(detachedSignature) })
        : await openpgp.readSignature({ binarySignature: detachedSignature });
      const message = await openpgp.createMessage({ binary: data, format: 'binary' });
      const result = await openpgp.verify({ message, signature, verificationKeys: [...verificationKeys], format: 'binary', config: PGP_CONFIG });
      return { data, signatures: await judgeSignatures(result.signatures, verificationKeys) };
    }
    const text = asText(data);
    if (text.trimStart().startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
      const message = await openpgp.readCleartextMessage({ cleartextMessage: text });
      const result = await openpgp.verify({ message, verificationKeys: [...verificationKeys], config: PGP_CONFIG });
      return { data: new TextEncoder().encode(result.data), signatures: await judgeSignatures(result.signatures, verificationKeys) };
    }
    const message = await readMessage(data);
    const result = await openpgp.verify({ message, verificationKeys: [...verificationKeys], format: 'binary', config: PGP_CONFIG });
    return { data: result.data, signatures: await judgeSignatures(result.signatures, verificationKeys) };
  } catch (error) {
    if (error instanceof CaliopError) throw error;
    if (DECOMPRESSED_TOO_LARGE.test((error as Error).message)) {
      throw new CaliopError('message_over_limit', `this message stays sealed: ${overLimitText('decompressed-too-large')}`, { cause: error });
    }
    throw new CaliopError('bad_input', `the signed data could not be read: ${(error as Error).message}`, { cause: error });
  }
}
