// Issue 13: an unlock builds the post-quantum subkey without expanding its ML-KEM
// decapsulation key (src/core/key-derivation.ts, readPostQuantumPacketUnexpanded); every
// decryption of ours expands it first when a session-key packet is addressed to it
// (expandDecapsulationKeys). Each way a message to that subkey is decrypted opens it with the
// key as an unlock makes it: whole (decryptData: openpgp.js), whole and fast (decryptWholeFast:
// node:crypto), streamed (decryptStream: node:crypto, and openpgp.js for a shape it leaves).
import { describe, expect, it } from 'vitest';
import * as openpgp from 'openpgp';
import { deriveIdentity, type DerivedIdentity } from '../src/core/key-derivation.js';
import { decryptData, decryptWholeFast, encryptData } from '../src/service/pgp.js';
import { decryptStream } from '../src/service/pgp-stream.js';

const input = {
  seed: Uint8Array.from({ length: 32 }, (_, index) => index * 7),
  name: 'Lazy Key',
  email: 'lazy@example.org',
  creationDate: new Date('2026-10-01T08:00:00Z'),
};
const date = new Date('2026-11-01T08:00:00Z');
const PQ = 35;
const text = new TextEncoder().encode('to the post-quantum subkey\n');

/** As an unlock makes it (StickSession.identity: validate false): the decapsulation key not expanded. */
async function unlocked(): Promise<DerivedIdentity> {
  const identity = await deriveIdentity({ ...input, validate: false });
  const packet = identity.privateKey.subkeys.find((subkey) => subkey.keyPacket.algorithm === PQ)!.keyPacket as openpgp.SecretSubkeyPacket;
  expect((packet.privateParams as { mlkemSecretKey?: Uint8Array }).mlkemSecretKey).toBeUndefined();
  return identity;
}

async function toPostQuantum(identity: DerivedIdentity, options: { armor: boolean; password?: boolean }): Promise<Uint8Array> {
  if (options.password) {
    // A password's session-key packet beside ours: a shape the node:crypto path leaves to openpgp.js.
    const cert = await openpgp.readKey({ armoredKey: identity.armoredCert });
    cert.subkeys = cert.subkeys.filter((subkey) => subkey.keyPacket.algorithm !== openpgp.enums.publicKey.ecdh);
    return openpgp.encrypt({ message: await openpgp.createMessage({ binary: text }), encryptionKeys: cert, passwords: ['not given'], format: 'binary', date, config: { aeadProtect: false } });
  }
  return encryptData({ data: text, recipients: [identity.publicKey], armor: options.armor, date, postQuantum: true });
}

async function sessionKeyAlgorithms(bytes: Uint8Array): Promise<number[]> {
  const message = bytes[0] === 0x2d ? await openpgp.readMessage({ armoredMessage: new TextDecoder().decode(bytes) }) : await openpgp.readMessage({ binaryMessage: bytes });
  return message.packets.filter((packet) => packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket).map((packet) => (packet as unknown as { publicKeyAlgorithm: number }).publicKeyAlgorithm);
}

async function streamed(identity: DerivedIdentity, bytes: Uint8Array): Promise<{ data: Uint8Array; by: string }> {
  const parts: Uint8Array[] = [];
  const result = await decryptStream({
    input: (async function* () {
      yield bytes;
    })(),
    decryptionKey: identity.privateKey,
    verificationKeys: [],
    destination: { sink: async (chunk) => void parts.push(Uint8Array.from(chunk)) },
  });
  return { data: Buffer.concat(parts), by: result.by };
}

describe('issue 13: a message to the post-quantum subkey opens with the key an unlock makes (its ML-KEM key expanded on demand)', () => {
  it('the messages are post-quantum only', async () => {
    const identity = await unlocked();
    for (const options of [{ armor: true }, { armor: false }, { armor: false, password: true }]) {
      expect(await sessionKeyAlgorithms(await toPostQuantum(identity, options))).toEqual([PQ]);
    }
  });

  it('decryptData (openpgp.js), armored and binary', async () => {
    for (const armor of [true, false]) {
      const identity = await unlocked();
      const result = await decryptData(await toPostQuantum(identity, { armor }), identity.privateKey, []);
      expect(Buffer.from(result.data).toString()).toBe(Buffer.from(text).toString());
      expect(result.postQuantum).toBe(true);
    }
  });

  it('decryptWholeFast (node:crypto, as sync opens a mailbox page)', async () => {
    const identity = await unlocked();
    const data = await decryptWholeFast(await toPostQuantum(identity, { armor: true }), identity.privateKey);
    expect(data === undefined ? undefined : Buffer.from(data).toString()).toBe(Buffer.from(text).toString());
  });

  it('decryptStream: node:crypto for the common shape, openpgp.js for a shape it leaves (with a password packet too)', async () => {
    const identity = await unlocked();
    const fast = await streamed(identity, await toPostQuantum(identity, { armor: true }));
    expect(fast.by).toBe('node:crypto');
    expect(Buffer.from(fast.data).toString()).toBe(Buffer.from(text).toString());
    const other = await unlocked();
    const library = await streamed(other, await toPostQuantum(other, { armor: false, password: true }));
    expect(library.by).toBe('openpgp.js');
    expect(Buffer.from(library.data).toString()).toBe(Buffer.from(text).toString());
  });
});
