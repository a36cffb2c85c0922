// A PGP/MIME signature (RFC 3156 §5) over data that streamed by and was never held
// (docs/message-payload.md §3.1, docs/store.md §5.2): the signed bytes go through every
// hash a signature may name while they stream, since the signature comes after them; at
// the end each signature packet's digest is completed with its own hashed fields and
// trailer (RFC 4880 §5.2.4) and recorded. Checking it later needs only that digest: the
// signature's mathematics are over it and nothing else. openpgp.js checks it (its
// SignaturePacket takes a digest made elsewhere, as src/service/pgp-stream-fast.ts does).
import { createHash, type Hash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { CaliopError } from '../errors.js';
import type { SignedDataSink } from '../core/mime-stream.js';
import { TextForms } from '../core/text-signature-forms.js';
import { eitherForm, judgeSignatures, READ_CONFIG, type SignatureCheck } from './pgp.js';

/** RFC 4880 §9.4 hash ids and node:crypto's names: those a PGP/MIME signature is made with. */
const STREAMED_HASHES: ReadonlyMap<number, string> = new Map([
  [2, 'sha1'],
  [8, 'sha256'],
  [9, 'sha384'],
  [10, 'sha512'],
  [11, 'sha224'],
]);

/** Version 6 signature packets of a signature, by their place in it: their hash and salt (RFC 9580 §5.2.4). */
export type SaltedPackets = ReadonlyMap<number, { readonly hash: number; readonly salt: Uint8Array }>;

/**
 * RFC 9580 §5.2.4: a version 6 signature hashes its salt before the data, and the salt comes
 * with the signature, after the data. The version 6 packets of a signature whose hash this
 * path computes, by their place (empty when there is none, or when it cannot be read).
 */
export async function saltedPackets(armoredSignature: string): Promise<SaltedPackets> {
  const salted = new Map<number, { hash: number; salt: Uint8Array }>();
  try {
    const signature = await openpgp.readSignature({ armoredSignature, config: READ_CONFIG });
    signature.packets.forEach((packet, index) => {
      const fields = packet as unknown as { version: number; salt?: Uint8Array };
      if (fields.version === 6 && fields.salt !== undefined && STREAMED_HASHES.has(packet.hashAlgorithm as number)) salted.set(index, { hash: packet.hashAlgorithm as number, salt: fields.salt });
    });
  } catch {
    // not a signature: digests() says so
  }
  return salted;
}

/**
 * The signed bytes hashed as they stream, in every algorithm of STREAMED_HASHES at once;
 * given `salted`, also once per version 6 packet, its salt first (the second pass that
 * docs/message-payload.md §3.1 makes for them).
 */
export class SignedDataHashes implements SignedDataSink {
  readonly #hashes = new Map<number, Hash>([...STREAMED_HASHES].map(([id, name]) => [id, createHash(name)]));
  readonly #salted = new Map<number, Hash>();
  /**
   * docs/message-payload.md §6.4: GnuPG's form of the data, for text-mode signatures. Made
   * only where the forms first differ, as copies of the hashes up to there: data on which
   * they agree is hashed once.
   */
  #gnupg: { readonly hashes: Map<number, Hash>; readonly salted: Map<number, Hash> } | undefined;
  readonly #forms = new TextForms({
    both: (bytes) => {
      this.#update(this.#hashes, this.#salted, bytes);
      if (this.#gnupg !== undefined) this.#update(this.#gnupg.hashes, this.#gnupg.salted, bytes);
    },
    apart: (rfc, gnupg) => {
      this.#gnupg ??= { hashes: copies(this.#hashes), salted: copies(this.#salted) };
      this.#update(this.#hashes, this.#salted, rfc);
      this.#update(this.#gnupg.hashes, this.#gnupg.salted, gnupg);
    },
  });
  #used = false;
  #ended = false;

  constructor(salted: SaltedPackets = new Map()) {
    for (const [index, { hash, salt }] of salted) this.#salted.set(index, createHash(STREAMED_HASHES.get(hash)!).update(salt));
  }

  update(canonical: Uint8Array): void {
    this.#used = true;
    this.#forms.write(canonical);
  }

  #update(hashes: Map<number, Hash>, salted: Map<number, Hash>, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    for (const hash of hashes.values()) hash.update(bytes);
    for (const hash of salted.values()) hash.update(bytes);
  }

  /** Whether any signed byte came (the splitter found a top multipart/signed). */
  get used(): boolean {
    return this.#used;
  }

  /**
   * One hex digest per signature packet of the armored signature, in order: the data, the
   * packet's hashed fields, its trailer. "" for a packet this cannot check (a hash not in
   * STREAMED_HASHES, a version 6 signature unless this was made with its salt).
   */
  async digests(armoredSignature: string): Promise<string[]> {
    return this.#digests(armoredSignature, this.#hashes, this.#salted, () => true);
  }

  /**
   * docs/message-payload.md §6.4: the digests over GnuPG's form, for the text-mode packets
   * ("" for the others); undefined when the two forms of the data are the same.
   */
  async gnupgDigests(armoredSignature: string): Promise<string[] | undefined> {
    this.#end();
    if (this.#gnupg === undefined) return undefined;
    return this.#digests(armoredSignature, this.#gnupg.hashes, this.#gnupg.salted, (packet) => packet.signatureType === openpgp.enums.signature.text);
  }

  /** The data is all there: the CRs it ended with are told (GnuPG drops them). */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#forms.end();
  }

  async #digests(armoredSignature: string, hashes: Map<number, Hash>, salted: Map<number, Hash>, wanted: (packet: openpgp.SignaturePacket) => boolean): Promise<string[]> {
    this.#end();
    let signature: openpgp.Signature;
    try {
      signature = await openpgp.readSignature({ armoredSignature, config: READ_CONFIG });
    } catch {
      return []; // not a signature after all: checked as the whole message's would be (it fails)
    }
    return signature.packets.map((packet, index) => {
      const fields = packet as unknown as { version: number; signatureData?: Uint8Array; calculateTrailer(data: unknown, detached: boolean): Uint8Array };
      const hash = fields.version === 6 ? salted.get(index) : hashes.get(packet.hashAlgorithm as number);
      if (hash === undefined || fields.signatureData === undefined || !wanted(packet)) return '';
      const copy = hash.copy();
      copy.update(fields.signatureData);
      copy.update(fields.calculateTrailer({ writeHeader: () => new Uint8Array(0) }, true));
      return copy.digest('hex');
    });
  }
}

function copies(hashes: Map<number, Hash>): Map<number, Hash> {
  return new Map([...hashes].map(([id, hash]) => [id, hash.copy()]));
}

/**
 * Checks a PGP/MIME signature from the digests recorded as its data streamed, with the keys
 * held now: the checks `verifyData` gives for the same signature over the same data.
 * Throws CaliopError when the signature cannot be read (as verifyData does).
 */
export async function verifyDetachedDigests(
  armoredSignature: string,
  digests: readonly string[],
  verificationKeys: readonly openpgp.PublicKey[],
  /** docs/message-payload.md §6.4: the text-mode packets' digests over GnuPG's form, when it differs. */
  gnupgDigests?: readonly string[],
): Promise<SignatureCheck[]> {
  try {
    const checks = await checkDigests(armoredSignature, digests, verificationKeys);
    if (gnupgDigests === undefined || !checks.some((check) => check?.status === 'bad')) return ordered(armoredSignature, checks, digests);
    const again = await checkDigests(armoredSignature, gnupgDigests, verificationKeys);
    // Only the text-mode packets have a digest over GnuPG's form (the others stay as checked).
    const merged = checks.map((check, index) => (check === undefined ? undefined : eitherForm([check], [again[index]], [gnupgDigests[index] !== undefined && gnupgDigests[index] !== ''])[0]));
    return ordered(armoredSignature, merged, digests);
  } catch (error) {
    if (error instanceof CaliopError) throw error;
    // As verifyData: a signature that cannot be read is no signature (shown as it came).
    throw new CaliopError('bad_input', `the signed data could not be read: ${(error as Error).message}`, { cause: error });
  }
}

/** The checks in the order verifyData gives them: those with a digest, then the unchecked ones. */
async function ordered(armoredSignature: string, checks: readonly (SignatureCheck | undefined)[], digests: readonly string[]): Promise<SignatureCheck[]> {
  const signature = await openpgp.readSignature({ armoredSignature, config: READ_CONFIG });
  const checked: SignatureCheck[] = [];
  const unchecked: SignatureCheck[] = [];
  signature.packets.forEach((packet, index) => {
    const digest = digests[index];
    if (digest === undefined || digest === '') unchecked.push({ status: 'unsupported-algorithm', keyId: packet.issuerKeyID.toHex().toUpperCase(), detail: 'a hash the streamed path does not compute' });
    else checked.push(checks[index]!);
  });
  return [...checked, ...unchecked];
}

/** One check per packet, by its place; undefined where `digests` has none. */
async function checkDigests(armoredSignature: string, digests: readonly string[], verificationKeys: readonly openpgp.PublicKey[]): Promise<(SignatureCheck | undefined)[]> {
  const signature = await openpgp.readSignature({ armoredSignature, config: READ_CONFIG });
  const checkable = new openpgp.PacketList<openpgp.SignaturePacket>();
  const places: number[] = [];
  signature.packets.forEach((packet, index) => {
    const digest = digests[index];
    if (digest === undefined || digest === '') return;
    (packet as unknown as { hashed: Promise<Uint8Array> }).hashed = Promise.resolve(Uint8Array.from(Buffer.from(digest, 'hex')));
    checkable.push(packet);
    places.push(index);
  });
  const checks: (SignatureCheck | undefined)[] = signature.packets.map(() => undefined);
  if (checkable.length === 0) return checks;
  // The data is in the digests: the message itself is empty and never hashed.
  const message = await openpgp.createMessage({ binary: new Uint8Array(0), format: 'binary' });
  const result = await openpgp.verify({ message, signature: new openpgp.Signature(checkable), verificationKeys: [...verificationKeys], format: 'binary', config: READ_CONFIG });
  (await judgeSignatures(result.signatures, verificationKeys)).forEach((check, at) => {
    checks[places[at]!] = check;
  });
  return checks;
}
