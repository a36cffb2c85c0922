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
import { judgeSignatures, READ_CONFIG, type SignatureCheck } from './pgp.js';

/** RFC 4880 §9.4 hash ids and node:crypto's names: those a PGP/MIME signature is made with. */
const STREAMED_HASHES: ReadonlyMap<number, string> = new Map([
  [2, 'sha1'],
  [8, 'sha256'],
  [9, 'sha384'],
  [10, 'sha512'],
  [11, 'sha224'],
]);

/** The signed bytes hashed as they stream, in every algorithm of STREAMED_HASHES at once. */
export class SignedDataHashes implements SignedDataSink {
  readonly #hashes = new Map<number, Hash>([...STREAMED_HASHES].map(([id, name]) => [id, createHash(name)]));
  #used = false;

  update(canonical: Uint8Array): void {
    this.#used = true;
    for (const hash of this.#hashes.values()) hash.update(canonical);
  }

  /** Whether any signed byte came (the splitter found a top multipart/signed). */
  get used(): boolean {
    return this.#used;
  }

  /**
   * One hex digest per signature packet of the armored signature, in order: the data, the
   * packet's hashed fields, its trailer. "" for a packet this cannot check (a hash not in
   * STREAMED_HASHES, a version 6 signature whose salt comes before the data).
   */
  async digests(armoredSignature: string): Promise<string[]> {
    let signature: openpgp.Signature;
    try {
      signature = await openpgp.readSignature({ armoredSignature, config: READ_CONFIG });
    } catch {
      return []; // not a signature after all: checked as the whole message's would be (it fails)
    }
    return signature.packets.map((packet) => {
      const hash = this.#hashes.get(packet.hashAlgorithm as number);
      const fields = packet as unknown as { version: number; signatureData?: Uint8Array; calculateTrailer(data: unknown, detached: boolean): Uint8Array };
      if (hash === undefined || fields.version === 6 || fields.signatureData === undefined) return '';
      const copy = hash.copy();
      copy.update(fields.signatureData);
      copy.update(fields.calculateTrailer({ writeHeader: () => new Uint8Array(0) }, true));
      return copy.digest('hex');
    });
  }
}

/**
 * Checks a PGP/MIME signature from the digests recorded as its data streamed, with the keys
 * held now: the checks `verifyData` gives for the same signature over the same data.
 * Throws CaliopError when the signature cannot be read (as verifyData does).
 */
export async function verifyDetachedDigests(armoredSignature: string, digests: readonly string[], verificationKeys: readonly openpgp.PublicKey[]): Promise<SignatureCheck[]> {
  try {
    const signature = await openpgp.readSignature({ armoredSignature, config: READ_CONFIG });
    const checkable = new openpgp.PacketList<openpgp.SignaturePacket>();
    const unchecked: SignatureCheck[] = [];
    signature.packets.forEach((packet, index) => {
      const digest = digests[index];
      if (digest === undefined || digest === '') {
        unchecked.push({ status: 'unsupported-algorithm', keyId: packet.issuerKeyID.toHex().toUpperCase(), detail: 'a hash the streamed path does not compute' });
        return;
      }
      (packet as unknown as { hashed: Promise<Uint8Array> }).hashed = Promise.resolve(Uint8Array.from(Buffer.from(digest, 'hex')));
      checkable.push(packet);
    });
    if (checkable.length === 0) return unchecked;
    // The data is in the digests: the message itself is empty and never hashed.
    const message = await openpgp.createMessage({ binary: new Uint8Array(0), format: 'binary' });
    const result = await openpgp.verify({ message, signature: new openpgp.Signature(checkable), verificationKeys: [...verificationKeys], format: 'binary', config: READ_CONFIG });
    return [...(await judgeSignatures(result.signatures, verificationKeys)), ...unchecked];
  } catch (error) {
    if (error instanceof CaliopError) throw error;
    // As verifyData: a signature that cannot be read is no signature (shown as it came).
    throw new CaliopError('bad_input', `the signed data could not be read: ${(error as Error).message}`, { cause: error });
  }
}
