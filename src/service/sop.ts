// The Stateless OpenPGP operations (docs/sop.md; draft-dkg-openpgp-stateless-cli-13), over
// the same OpenPGP service as the rest of caliop (src/service/pgp.ts): reading, judging
// signatures, encrypting and decrypting go through it. Keys come as bytes (SOP is
// stateless: no stick, no vault). Library code: throws SopError, never prints.
import * as openpgp from 'openpgp';
import { isCaliopError } from '../errors.js';
import { gnupgCleartext } from '../core/text-signature-forms.js';
import {
  checkCertSignatures,
  decryptData,
  encryptData,
  isArmored,
  isUtf8,
  isValidSignature,
  PGP_CONFIG,
  readCerts,
  verifyData,
  type SignatureCheck,
} from './pgp.js';

/** docs/sop.md §3: the draft's exit codes (draft-dkg-openpgp-stateless-cli-13 §7). */
export const SOP_EXIT = {
  NO_SIGNATURE: 3,
  UNSUPPORTED_ASYMMETRIC_ALGO: 13,
  CERT_CANNOT_ENCRYPT: 17,
  MISSING_ARG: 19,
  INCOMPLETE_VERIFICATION: 23,
  CANNOT_DECRYPT: 29,
  PASSWORD_NOT_HUMAN_READABLE: 31,
  UNSUPPORTED_OPTION: 37,
  BAD_DATA: 41,
  EXPECTED_TEXT: 53,
  OUTPUT_EXISTS: 59,
  MISSING_INPUT: 61,
  KEY_IS_PROTECTED: 67,
  UNSUPPORTED_SUBCOMMAND: 69,
  UNSUPPORTED_SPECIAL_PREFIX: 71,
  AMBIGUOUS_INPUT: 73,
  KEY_CANNOT_SIGN: 79,
  INCOMPATIBLE_OPTIONS: 83,
  UNSUPPORTED_PROFILE: 89,
} as const;
export type SopExitName = keyof typeof SOP_EXIT;

export class SopError extends Error {
  readonly exitName: SopExitName;
  constructor(exitName: SopExitName, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SopError';
    this.exitName = exitName;
  }
  get exitCode(): number {
    return SOP_EXIT[this.exitName];
  }
}

/** docs/sop.md §3: caliop's error classes as the draft's exit codes. */
export function asSopError(error: unknown): SopError {
  if (error instanceof SopError) return error;
  if (isCaliopError(error)) {
    const name: SopExitName | undefined = (
      {
        bad_input: 'BAD_DATA',
        no_decryption_key: 'CANNOT_DECRYPT',
        unsupported_algorithm: 'UNSUPPORTED_ASYMMETRIC_ALGO',
        recipient_cert_unusable: 'CERT_CANNOT_ENCRYPT',
        no_signature: 'NO_SIGNATURE',
        bad_signature: 'NO_SIGNATURE',
        cert_refused: 'BAD_DATA',
        file_unreadable: 'MISSING_INPUT',
        input_too_large: 'BAD_DATA',
      } as const
    )[error.code as string];
    if (name) return new SopError(name, error.message, { cause: error });
  }
  return new SopError('BAD_DATA', (error as Error)?.message ?? String(error), { cause: error });
}

/** docs/sop.md §4: generate-key profiles. The first is the default. */
export const GENERATE_PROFILES = [
  { name: 'rfc4880', description: 'v4 Ed25519Legacy/Cv25519Legacy, read by GnuPG 2.2 and Sequoia 0.27 (default)' },
  { name: 'rfc9580', description: 'v6 Ed25519/X25519 (RFC 9580), SEIPDv2' },
] as const;
export const ENCRYPT_PROFILES = [{ name: 'rfc4880', description: 'SEIPDv1, or SEIPDv2 when every recipient asks for it (default)' }] as const;

function armorOut(type: openpgp.enums.armor, data: Uint8Array, armor: boolean): Uint8Array {
  return armor ? new TextEncoder().encode(openpgp.armor(type, data)) : data;
}

async function readSecretKeys(data: Uint8Array): Promise<openpgp.PrivateKey[]> {
  try {
    const keys = isArmored(data)
      ? await openpgp.readPrivateKeys({ armoredKeys: new TextDecoder().decode(data) })
      : await openpgp.readPrivateKeys({ binaryKeys: data as Uint8Array<ArrayBuffer> });
    if (keys.length === 0) throw new Error('no secret key found');
    return keys;
  } catch (error) {
    throw new SopError('BAD_DATA', `not an OpenPGP secret key: ${(error as Error).message}`, { cause: error });
  }
}

/** Unlocks every key with one of the passwords (SOP: --with-key-password), else KEY_IS_PROTECTED. */
export async function unlockKeys(data: readonly Uint8Array[], passwords: readonly string[]): Promise<openpgp.PrivateKey[]> {
  const out: openpgp.PrivateKey[] = [];
  for (const bytes of data) {
    for (const key of await readSecretKeys(bytes)) {
      if (key.isDecrypted()) {
        out.push(key);
        continue;
      }
      let unlocked: openpgp.PrivateKey | undefined;
      // draft §9.1: also try the password without trailing whitespace.
      for (const password of passwords.flatMap((candidate) => [candidate, candidate.trimEnd()])) {
        try {
          unlocked = await openpgp.decryptKey({ privateKey: key, passphrase: password });
          break;
        } catch {
          unlocked = undefined;
        }
      }
      if (!unlocked) throw new SopError('KEY_IS_PROTECTED', `the key ${key.getFingerprint().toUpperCase()} is locked and no password given unlocks it`);
      out.push(unlocked);
    }
  }
  return out;
}

export async function readCertList(data: readonly Uint8Array[]): Promise<openpgp.PublicKey[]> {
  const certs: openpgp.PublicKey[] = [];
  for (const bytes of data) for (const key of await readCerts(bytes)) certs.push(await checkCertSignatures(key));
  return certs;
}

export async function generateKey(options: { userIds: readonly string[]; profile: string; signingOnly: boolean; password?: string; armor: boolean }): Promise<Uint8Array> {
  const profile = options.profile;
  if (!GENERATE_PROFILES.some((candidate) => candidate.name === profile)) throw new SopError('UNSUPPORTED_PROFILE', `no generate-key profile "${profile}"`);
  const v6 = profile === 'rfc9580';
  const { privateKey } = await openpgp.generateKey({
    ...(v6 ? { type: 'curve25519' as const } : { type: 'ecc' as const, curve: 'ed25519Legacy' as const }),
    userIDs: options.userIds.map((id) => parseUserId(id)),
    ...(options.signingOnly ? { subkeys: [] } : {}),
    ...(options.password !== undefined ? { passphrase: options.password } : {}),
    format: 'object',
    config: { ...PGP_CONFIG, v6Keys: v6, aeadProtect: v6 },
  });
  return armorOut(openpgp.enums.armor.privateKey, privateKey.write(), options.armor);
}

function parseUserId(text: string): openpgp.UserID {
  const match = /^(.*?)\s*<([^>]*)>\s*$/.exec(text);
  return match ? { name: match[1]!, email: match[2]! } : { name: text };
}

export async function extractCert(keys: Uint8Array, armor: boolean): Promise<Uint8Array> {
  const parsed = await readSecretKeys(keys);
  return armorOut(openpgp.enums.armor.publicKey, concat(parsed.map((key) => key.toPublic().write())), armor);
}

export async function changeKeyPassword(keys: Uint8Array, oldPasswords: readonly string[], newPassword: string | undefined, armor: boolean): Promise<Uint8Array> {
  const unlocked = await unlockKeys([keys], oldPasswords);
  const out: Uint8Array[] = [];
  for (const key of unlocked) {
    out.push(newPassword === undefined ? key.write() : (await openpgp.encryptKey({ privateKey: key, passphrase: newPassword })).write());
  }
  return armorOut(openpgp.enums.armor.privateKey, concat(out), armor);
}

export async function revokeKey(keys: Uint8Array, passwords: readonly string[], armor: boolean): Promise<Uint8Array> {
  const unlocked = await unlockKeys([keys], passwords);
  const out: Uint8Array[] = [];
  for (const key of unlocked) {
    const { publicKey } = await openpgp.revokeKey({ key, format: 'object' });
    out.push(publicKey.write());
  }
  return armorOut(openpgp.enums.armor.publicKey, concat(out), armor);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export type SignAs = 'binary' | 'text';

function requireText(data: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new SopError('EXPECTED_TEXT', 'the input is not UTF-8 text, as --as=text requires');
  }
}

async function messageOf(data: Uint8Array, as: SignAs): Promise<openpgp.Message<Uint8Array | string>> {
  return as === 'text' ? openpgp.createMessage({ text: requireText(data) }) : openpgp.createMessage({ binary: data });
}

async function requireSigningKeys(keys: readonly openpgp.PrivateKey[]): Promise<void> {
  for (const key of keys) {
    try {
      await key.getSigningKey(undefined, undefined, undefined, { ...openpgp.config, ...PGP_CONFIG } as openpgp.Config);
    } catch (error) {
      throw new SopError('KEY_CANNOT_SIGN', `the key ${key.getFingerprint().toUpperCase()} cannot sign: ${(error as Error).message}`, { cause: error });
    }
  }
}

export async function signDetached(data: Uint8Array, keys: readonly openpgp.PrivateKey[], as: SignAs, armor: boolean): Promise<{ signature: Uint8Array; micalg: string }> {
  await requireSigningKeys(keys);
  const message = await messageOf(data, as);
  const signature = await openpgp.sign({ message, signingKeys: [...keys], detached: true, format: 'binary', config: PGP_CONFIG });
  return { signature: armorOut(openpgp.enums.armor.signature, signature, armor), micalg: 'pgp-sha512' };
}

export async function inlineSign(data: Uint8Array, keys: readonly openpgp.PrivateKey[], as: SignAs | 'clearsigned', armor: boolean): Promise<Uint8Array> {
  await requireSigningKeys(keys);
  if (as === 'clearsigned') {
    const message = await openpgp.createCleartextMessage({ text: requireText(data) });
    return new TextEncoder().encode(await openpgp.sign({ message, signingKeys: [...keys], config: PGP_CONFIG }));
  }
  const message = await messageOf(data, as);
  const signed = await openpgp.sign({ message, signingKeys: [...keys], format: 'binary', config: PGP_CONFIG });
  return armorOut(openpgp.enums.armor.message, signed, armor);
}

/** draft §5.4: `DATE SIGNING-FPR PRIMARY-FPR mode:MODE DESCRIPTION`, one line per valid signature. */
function verificationLine(check: SignatureCheck, certs: readonly openpgp.PublicKey[], mode: string): string {
  const cert = certs.find((candidate) => candidate.getFingerprint().toUpperCase() === check.signerFingerprint);
  const signing = cert?.getKeys().find((key) => key.getKeyID().toHex().toUpperCase() === check.keyId);
  const created = (check.created ?? new Date(0).toISOString()).replace(/\.\d{3}Z$/, 'Z');
  const description = check.status === 'good-weak' ? ` good-weak: ${check.detail ?? ''}`.trimEnd() : '';
  return `${created} ${signing?.getFingerprint().toUpperCase() ?? check.keyId} ${check.signerFingerprint} mode:${mode}${description}`;
}

function inWindow(check: SignatureCheck, notBefore?: Date, notAfter?: Date): boolean {
  const created = check.created ? new Date(check.created) : undefined;
  if (!created) return true;
  return (notBefore === undefined || created >= notBefore) && (notAfter === undefined || created <= notAfter);
}

async function signatureMode(signature: Uint8Array | undefined): Promise<string> {
  if (!signature) return 'binary';
  try {
    const parsed = isArmored(signature)
      ? await openpgp.readSignature({ armoredSignature: new TextDecoder().decode(signature) })
      : await openpgp.readSignature({ binarySignature: signature as Uint8Array<ArrayBuffer> });
    return parsed.packets[0]?.signatureType === openpgp.enums.signature.text ? 'text' : 'binary';
  } catch {
    return 'binary';
  }
}

export interface VerifyOutcome {
  readonly data: Uint8Array;
  readonly lines: string[];
}

/** `sop verify` and `sop inline-verify`: the valid signatures as VERIFICATIONS; NO_SIGNATURE when none. */
export async function verifySignatures(
  data: Uint8Array,
  certs: readonly openpgp.PublicKey[],
  options: { detached?: Uint8Array; notBefore?: Date; notAfter?: Date },
): Promise<VerifyOutcome> {
  const result = await verifyData(data, certs, options.detached).catch((error: unknown) => {
    throw asSopError(error);
  });
  const mode = await signatureMode(options.detached);
  const lines = result.signatures
    .filter((check) => isValidSignature(check) && inWindow(check, options.notBefore, options.notAfter))
    .map((check) => verificationLine(check, certs, mode));
  if (lines.length === 0) throw new SopError('NO_SIGNATURE', 'no valid signature by the given certificates');
  return { data: result.data, lines };
}

export async function encrypt(options: {
  data: Uint8Array;
  certs: readonly openpgp.PublicKey[];
  passwords: readonly string[];
  signers: readonly openpgp.PrivateKey[];
  as: SignAs;
  armor: boolean;
}): Promise<Uint8Array> {
  if (options.certs.length === 0 && options.passwords.length === 0) throw new SopError('MISSING_ARG', 'encrypt needs at least one certificate or --with-password');
  if (options.as === 'text') requireText(options.data);
  await requireSigningKeys(options.signers);
  if (options.passwords.length === 0) {
    try {
      return await encryptData({
        data: options.data,
        recipients: options.certs,
        armor: options.armor,
        ...(options.signers.length > 0 ? { signingKeys: options.signers } : {}),
      });
    } catch (error) {
      throw asSopError(error);
    }
  }
  const message = await messageOf(options.data, options.as);
  const encrypted = await openpgp.encrypt({
    message,
    encryptionKeys: [...options.certs],
    passwords: [...options.passwords],
    signingKeys: [...options.signers],
    format: 'binary',
    config: PGP_CONFIG,
  });
  return armorOut(openpgp.enums.armor.message, encrypted, options.armor);
}

export async function decrypt(options: {
  data: Uint8Array;
  keys: readonly openpgp.PrivateKey[];
  passwords: readonly string[];
  verifyWith: readonly openpgp.PublicKey[];
  notBefore?: Date;
  notAfter?: Date;
}): Promise<VerifyOutcome> {
  if (options.keys.length === 0 && options.passwords.length === 0) throw new SopError('MISSING_ARG', 'decrypt needs a key or --with-password');
  let failure: unknown;
  for (const key of options.keys) {
    try {
      const result = await decryptData(options.data, key, options.verifyWith);
      const lines = result.signatures
        .filter((check) => isValidSignature(check) && inWindow(check, options.notBefore, options.notAfter))
        .map((check) => verificationLine(check, options.verifyWith, 'binary'));
      return { data: result.data, lines };
    } catch (error) {
      failure = error;
      if (isCaliopError(error) && error.code !== 'no_decryption_key') throw asSopError(error);
    }
  }
  if (options.passwords.length > 0) {
    try {
      const message = isArmored(options.data)
        ? await openpgp.readMessage({ armoredMessage: new TextDecoder().decode(options.data) })
        : await openpgp.readMessage({ binaryMessage: options.data });
      const result = await openpgp.decrypt({ message, passwords: [...options.passwords], format: 'binary', verificationKeys: [...options.verifyWith] });
      return { data: result.data as Uint8Array, lines: [] };
    } catch (error) {
      failure = error;
    }
  }
  const sop = asSopError(failure);
  throw sop.exitName === 'BAD_DATA' && !isCaliopError(failure) ? new SopError('CANNOT_DECRYPT', sop.message, { cause: failure }) : sop;
}

const ARMOR_TYPES: Record<number, openpgp.enums.armor> = {
  [openpgp.enums.packet.secretKey]: openpgp.enums.armor.privateKey,
  [openpgp.enums.packet.publicKey]: openpgp.enums.armor.publicKey,
  [openpgp.enums.packet.signature]: openpgp.enums.armor.signature,
};

/** RFC 9580 §4.2: the tag of the first packet (old and new formats). */
function firstPacketTag(data: Uint8Array): number | undefined {
  const first = data[0];
  if (first === undefined || (first & 0x80) === 0) return undefined;
  return first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
}

export async function armor(data: Uint8Array): Promise<Uint8Array> {
  if (isArmored(data)) return data; // draft §6.8: armoring armored data is idempotent
  const tag = firstPacketTag(data);
  if (tag === undefined) throw new SopError('BAD_DATA', 'the input is not OpenPGP data');
  return new TextEncoder().encode(openpgp.armor(ARMOR_TYPES[tag] ?? openpgp.enums.armor.message, data));
}

export async function dearmor(data: Uint8Array): Promise<Uint8Array> {
  if (!isArmored(data)) {
    if (firstPacketTag(data) === undefined) throw new SopError('BAD_DATA', 'the input is not OpenPGP data');
    return data;
  }
  try {
    const text = new TextDecoder().decode(data);
    if (text.trimStart().startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) throw new Error('a clear-signed message has no binary form; use inline-detach');
    const bytes = (await openpgp.unarmor(text)).data as Uint8Array;
    // openpgp.js skips what is not base64: a body of "@@@@" gave no bytes and exit 0.
    if (firstPacketTag(bytes) === undefined) throw new Error('it holds no OpenPGP packet');
    return bytes;
  } catch (error) {
    throw new SopError('BAD_DATA', `the armor could not be read: ${(error as Error).message}`, { cause: error });
  }
}

/** `sop inline-detach`: the signed data, and its signatures apart. */
export async function inlineDetach(data: Uint8Array, armorSignatures: boolean): Promise<{ data: Uint8Array; signatures: Uint8Array }> {
  try {
    const text = new TextDecoder().decode(data);
    if (text.trimStart().startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
      const message = await openpgp.readCleartextMessage({ cleartextMessage: text });
      // docs/message-payload.md §6.6: text in another charset is given back as its bytes, not decoded.
      const octets = isUtf8(data) ? null : gnupgCleartext(data);
      return {
        data: octets?.text ?? new TextEncoder().encode(message.getText()),
        signatures: armorOut(openpgp.enums.armor.signature, (message as unknown as { signature: openpgp.Signature }).signature.write() as Uint8Array, armorSignatures),
      };
    }
    const message = isArmored(data) ? await openpgp.readMessage({ armoredMessage: text }) : await openpgp.readMessage({ binaryMessage: data });
    // The trailing signature packets are read as the literal data is consumed: verify without
    // keys reads them all, and hands each one back (its `verified` fails: we judge nothing here).
    const result = await openpgp.verify({ message, verificationKeys: [], format: 'binary', config: PGP_CONFIG });
    const signatures = await Promise.all(result.signatures.map((entry) => entry.signature));
    if (signatures.length === 0) throw new Error('no signature');
    const packets = concat(signatures.map((signature) => signature.write() as Uint8Array));
    return { data: result.data, signatures: armorOut(openpgp.enums.armor.signature, packets, armorSignatures) };
  } catch (error) {
    throw new SopError('BAD_DATA', `not an inline-signed message: ${(error as Error).message}`, { cause: error });
  }
}
