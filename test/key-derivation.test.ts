// docs/ceremony.md §3-§7, §11: the derivation's known answers, its determinism, recovery
// to the same fingerprint, and the shape of the certificate.

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import {
  ceremonyCreationDate, curvePublicKey, deriveIdentity, deriveKeyMaterial, DERIVATION_INFO, expandDecapsulationKeys, mlkemEncapsulationKey, SUBKEY_VALIDITY_SECONDS, type DerivedKeyRole,
} from '../src/core/key-derivation.js';
import { formatRecoverySheet, parseRecoverySheet, phraseFromSeed, seedFromPhrase } from '../src/core/recovery-sheet.js';
import { isCaliopError } from '../src/errors.js';

const vectorDir = join(import.meta.dirname, 'vectors', 'ceremony');

interface DerivationVector {
  description: string;
  input: { seedHex: string; creationDate: string; name: string; email: string };
  phrase: string;
  keyMaterialHex: Record<DerivedKeyRole, string>;
  primaryFingerprint: string;
  subkeyFingerprints: { signing: string; encryption: string; authentication: string; postQuantum: string };
  devicePublicKeyHex: string;
  certSha256: string;
  certBeforePostQuantumSha256: string;
  secretKeySha256: string;
  revocationCertificateSha256: string;
  recoverySheet: string;
}

const vectors = readdirSync(vectorDir).filter((file) => file.startsWith('derive-')).map((file) => ({
  file, vector: JSON.parse(readFileSync(join(vectorDir, file), 'utf8')) as DerivationVector,
}));

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function inputOf(vector: DerivationVector) {
  return { seed: fromHex(vector.input.seedHex), name: vector.input.name, email: vector.input.email, creationDate: new Date(vector.input.creationDate) };
}

/** RFC 4880 §12.2, written apart from the code under test: SHA-1(0x99, length, v4 public key body). */
function v4Fingerprint(created: Date, algorithm: number, keyMaterial: Uint8Array): string {
  const seconds = created.getTime() / 1000;
  const body = Buffer.concat([Buffer.from([4]), Buffer.from([seconds >>> 24, (seconds >>> 16) & 255, (seconds >>> 8) & 255, seconds & 255]), Buffer.from([algorithm]), keyMaterial]);
  return createHash('sha1').update(Buffer.concat([Buffer.from([0x99, body.length >> 8, body.length & 255]), body])).digest('hex').toUpperCase();
}

function ed25519PublicMaterial(seed: Uint8Array): Uint8Array {
  // OID 1.3.6.1.4.1.11591.15.1, then the MPI of 0x40 || A (263 bits).
  return Buffer.concat([Buffer.from('092b06010401da470f01', 'hex'), Buffer.from([0x01, 0x07, 0x40]), ed25519.getPublicKey(seed)]);
}

describe('docs/ceremony.md §11: known-answer vectors', () => {
  it('has vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(5));

  for (const { file, vector } of vectors) {
    it(`${file}: ${vector.description}`, async () => {
      const identity = await deriveIdentity(inputOf(vector));
      for (const role of Object.keys(DERIVATION_INFO) as DerivedKeyRole[]) {
        expect(toHex(deriveKeyMaterial(fromHex(vector.input.seedHex), role)), role).toBe(vector.keyMaterialHex[role]);
      }
      expect(identity.fingerprint).toBe(vector.primaryFingerprint);
      expect(identity.privateKey.subkeys.map((subkey) => subkey.getFingerprint().toUpperCase()))
        .toEqual([vector.subkeyFingerprints.signing, vector.subkeyFingerprints.encryption, vector.subkeyFingerprints.authentication, vector.subkeyFingerprints.postQuantum]);
      expect(toHex(identity.device.publicKey)).toBe(vector.devicePublicKeyHex);
      expect(sha256(identity.armoredCert)).toBe(vector.certSha256);
      // docs/ceremony.md §6: without its last subkey, the cert is byte for byte the one of sticks made before the post-quantum subkey.
      const before = new openpgp.PublicKey(identity.publicKey.toPacketList());
      before.subkeys = before.subkeys.slice(0, -1);
      expect(sha256(before.armor())).toBe(vector.certBeforePostQuantumSha256);
      expect(sha256(identity.armoredSecretKey)).toBe(vector.secretKeySha256);
      expect(sha256(identity.revocationCertificate)).toBe(vector.revocationCertificateSha256);
      expect(phraseFromSeed(fromHex(vector.input.seedHex)).join(' ')).toBe(vector.phrase);
      expect(formatRecoverySheet({ words: vector.phrase.split(' '), creationDate: new Date(vector.input.creationDate),
        name: vector.input.name, email: vector.input.email, fingerprint: identity.fingerprint })).toBe(vector.recoverySheet);
    });
  }

  it('the primary and signing fingerprints are the RFC 4880 §12.2 hash of the derived Ed25519 keys (computed apart)', () => {
    for (const { vector } of vectors) {
      const created = new Date(vector.input.creationDate);
      expect(v4Fingerprint(created, 22, ed25519PublicMaterial(fromHex(vector.keyMaterialHex.primary)))).toBe(vector.primaryFingerprint);
      expect(v4Fingerprint(created, 22, ed25519PublicMaterial(fromHex(vector.keyMaterialHex.signing)))).toBe(vector.subkeyFingerprints.signing);
    }
  });

  it('the encryption fingerprint is that of the clamped X25519 key with KDF SHA-256/AES-128 (computed apart)', () => {
    for (const { vector } of vectors) {
      const scalar = fromHex(vector.keyMaterialHex.encryption);
      const material = Buffer.concat([Buffer.from('0a2b060104019755010501', 'hex'), Buffer.from([0x01, 0x07, 0x40]), x25519.getPublicKey(scalar), Buffer.from('03010807', 'hex')]);
      expect(v4Fingerprint(new Date(vector.input.creationDate), 18, material)).toBe(vector.subkeyFingerprints.encryption);
    }
  });

  it('the post-quantum subkey (algorithm 35): X25519 public key of HKDF bytes 64-95, then the 1184-byte ML-KEM-768 key; its fingerprint computed apart', async () => {
    for (const { vector } of vectors) {
      const material = fromHex(vector.keyMaterialHex.postQuantum);
      expect(material).toHaveLength(96);
      const identity = await deriveIdentity(inputOf(vector));
      const subkey = identity.publicKey.subkeys[3]!;
      expect(subkey.keyPacket.algorithm).toBe(35);
      const { eccPublicKey, mlkemPublicKey } = subkey.keyPacket.publicParams as unknown as { eccPublicKey: Uint8Array; mlkemPublicKey: Uint8Array };
      expect(toHex(eccPublicKey)).toBe(toHex(x25519.getPublicKey(material.subarray(64))));
      expect(mlkemPublicKey).toHaveLength(1184);
      expect(v4Fingerprint(new Date(vector.input.creationDate), 35, Buffer.concat([eccPublicKey, mlkemPublicKey]))).toBe(vector.subkeyFingerprints.postQuantum);
    }
  });

  it('same seed: key material does not depend on the date or the user id; the fingerprint depends on the date only', () => {
    const byFile = Object.fromEntries(vectors.map(({ file, vector }) => [file, vector]));
    const base = byFile['derive-counting-seed.json']!;
    const otherDate = byFile['derive-same-seed-other-date.json']!;
    const otherUser = byFile['derive-same-seed-other-user-id.json']!;
    expect(otherDate.keyMaterialHex).toEqual(base.keyMaterialHex);
    expect(otherDate.primaryFingerprint).not.toBe(base.primaryFingerprint);
    expect(otherUser.primaryFingerprint).toBe(base.primaryFingerprint);
    expect(otherUser.subkeyFingerprints).toEqual(base.subkeyFingerprints);
    expect(otherUser.certSha256).not.toBe(base.certSha256);
  });
});

describe('determinism and recovery (docs/ceremony.md §7)', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, index) => 255 - index);
  const input = { seed, name: 'Camille Martin', email: 'camille@example.fr', creationDate: new Date('2026-11-26T19:30:00Z') };

  it('gives byte-identical armored key, cert and revocation certificate twice', async () => {
    const [first, second] = [await deriveIdentity(input), await deriveIdentity(input)];
    expect(second.armoredSecretKey).toBe(first.armoredSecretKey);
    expect(second.armoredCert).toBe(first.armoredCert);
    expect(second.revocationCertificate).toBe(first.revocationCertificate);
    expect(second.device).toEqual(first.device);
  });

  it('§4: validate() checks the five key packets when a key is made; validate: false (a vault\'s unlock) skips it, same bytes', async () => {
    const calls: string[] = [];
    const original = openpgp.SecretKeyPacket.prototype.validate;
    openpgp.SecretKeyPacket.prototype.validate = async function (this: openpgp.SecretKeyPacket) {
      calls.push(this.getFingerprint());
      return original.call(this);
    };
    try {
      const checked = await deriveIdentity(input);
      expect(calls).toHaveLength(5); // the primary key and its four subkeys (SecretSubkeyPacket inherits validate)
      calls.length = 0;
      const unchecked = await deriveIdentity({ ...input, validate: false });
      expect(calls).toEqual([]);
      expect(unchecked.armoredSecretKey).toBe(checked.armoredSecretKey);
      expect(unchecked.revocationCertificate).toBe(checked.revocationCertificate);
    } finally {
      openpgp.SecretKeyPacket.prototype.validate = original;
    }
  });

  it('issue 13: validate: false makes the key from the packets as built, not read back (no second ML-KEM seed expansion): the same key in every use', async () => {
    const subkeyReads = countSubkeyReads();
    let checked: Awaited<ReturnType<typeof deriveIdentity>>;
    let unchecked: Awaited<ReturnType<typeof deriveIdentity>>;
    try {
      // Where node:crypto has no ML-KEM (Node 20), one more read: the probe that gives the encapsulation key.
      const probe = mlkemEncapsulationKey(new Uint8Array(64)) === undefined ? 1 : 0;
      checked = await deriveIdentity(input);
      expect(subkeyReads.count).toBe(8 + probe); // four subkeys built, then the four read back
      subkeyReads.count = 0;
      unchecked = await deriveIdentity({ ...input, validate: false });
      // The three classic subkeys built; the post-quantum one built without its ML-KEM expansion; nothing read back.
      expect(subkeyReads.count).toBe(3 + probe);
    } finally {
      subkeyReads.restore();
    }
    expect(unchecked.privateKey.write()).toEqual(checked.privateKey.write());
    expect(unchecked.armoredCert).toBe(checked.armoredCert);
    expect(unchecked.armoredCertForOutsiders).toBe(checked.armoredCertForOutsiders);
    expect(unchecked.fingerprint).toBe(checked.fingerprint);
    const date = input.creationDate;
    expect(await unchecked.privateKey.getExpirationTime()).toEqual(await checked.privateKey.getExpirationTime());
    const ids = async (key: openpgp.PrivateKey) => (await key.getDecryptionKeys(undefined, date)).map((k) => k.getKeyID().toHex());
    expect(await ids(unchecked.privateKey)).toEqual(await ids(checked.privateKey));
    expect((await unchecked.privateKey.getSigningKey(undefined, date)).getKeyID().toHex()).toBe((await checked.privateKey.getSigningKey(undefined, date)).getKeyID().toHex());
    // Each key decrypts (the post-quantum subkey, openpgp.js's default, and the X25519 one) and signs for the other.
    for (const [sender, receiver] of [[checked, unchecked], [unchecked, checked]] as const) {
      for (const subkey of [3, 1]) {
        const encryptionKey = await openpgp.readKey({ armoredKey: receiver.armoredCert });
        const only = encryptionKey.subkeys[subkey]!.getKeyID();
        encryptionKey.subkeys = encryptionKey.subkeys.filter((candidate) => candidate.getKeyID().equals(only) || candidate.getAlgorithmInfo().algorithm !== 'ecdh' && candidate.getAlgorithmInfo().algorithm !== 'pqc_mlkem_x25519');
        const message = await openpgp.encrypt({ message: await openpgp.createMessage({ text: `to ${subkey}` }), encryptionKeys: encryptionKey, signingKeys: sender.privateKey, date, config: { aeadProtect: false } });
        const read = await openpgp.readMessage({ armoredMessage: message });
        expect(read.getEncryptionKeyIDs().map((id) => id.toHex())).toEqual([only.toHex()]);
        await expandDecapsulationKeys(receiver.privateKey, read); // what every decryption of ours does first
        const result = await openpgp.decrypt({ message: read, decryptionKeys: receiver.privateKey, verificationKeys: sender.publicKey, expectSigned: true, date });
        expect(result.data).toBe(`to ${subkey}`);
      }
    }
  });

  it('issue 13: an unlock (validate: false) leaves the ML-KEM decapsulation key unexpanded; expandDecapsulationKeys expands it once, only for a message to that subkey', async () => {
    const checked = await deriveIdentity(input);
    const unchecked = await deriveIdentity({ ...input, validate: false });
    const pqPacket = (key: openpgp.PrivateKey) => key.subkeys.find((subkey) => subkey.keyPacket.algorithm === 35)!.keyPacket as openpgp.SecretSubkeyPacket;
    const params = (key: openpgp.PrivateKey) => pqPacket(key).privateParams as { eccSecretKey: Uint8Array; mlkemSeed: Uint8Array; mlkemSecretKey?: Uint8Array };
    expect(params(checked.privateKey).mlkemSecretKey).toHaveLength(2400);
    expect(params(unchecked.privateKey).mlkemSecretKey).toBeUndefined();
    expect(pqPacket(unchecked.privateKey).isDecrypted()).toBe(true);
    expect(pqPacket(unchecked.privateKey).write()).toEqual(pqPacket(checked.privateKey).write());
    // A protected copy (key export --secret encrypts a deep clone) is made from the unexpanded packet too.
    const exported = await openpgp.encryptKey({ privateKey: unchecked.privateKey, passphrase: 'p' });
    expect((await openpgp.decryptKey({ privateKey: exported, passphrase: 'p' })).write()).toEqual(checked.privateKey.write());
    expect(params(unchecked.privateKey).mlkemSecretKey).toBeUndefined();

    const date = input.creationDate;
    const messageTo = async (algorithm: 'ecdh' | 'pqc_mlkem_x25519', wildcard = false) => {
      const cert = await openpgp.readKey({ armoredKey: checked.armoredCert });
      cert.subkeys = cert.subkeys.filter((subkey) => subkey.getAlgorithmInfo().algorithm === algorithm || subkey.getAlgorithmInfo().algorithm === 'eddsaLegacy');
      const armored = await openpgp.encrypt({ message: await openpgp.createMessage({ text: algorithm }), encryptionKeys: cert, wildcard, date, config: { aeadProtect: false } });
      return openpgp.readMessage({ armoredMessage: armored });
    };
    const other = await deriveIdentity({ ...input, validate: false });
    const subkeyReads = countSubkeyReads();
    try {
      const classic = await messageTo('ecdh');
      await expandDecapsulationKeys(unchecked.privateKey, classic);
      expect(subkeyReads.count).toBe(0);
      expect(params(unchecked.privateKey).mlkemSecretKey).toBeUndefined();
      expect((await openpgp.decrypt({ message: classic, decryptionKeys: unchecked.privateKey, date })).data).toBe('ecdh');
      // Not expanded, openpgp.js cannot open a post-quantum message: the expansion is what makes it work.
      await expect(openpgp.decrypt({ message: await messageTo('pqc_mlkem_x25519'), decryptionKeys: unchecked.privateKey, date })).rejects.toThrow();
      const pq = await messageTo('pqc_mlkem_x25519');
      await expandDecapsulationKeys([unchecked.privateKey], pq);
      expect(subkeyReads.count).toBe(1);
      expect(params(unchecked.privateKey).mlkemSecretKey).toEqual(params(checked.privateKey).mlkemSecretKey);
      expect((await openpgp.decrypt({ message: pq, decryptionKeys: unchecked.privateKey, date })).data).toBe('pqc_mlkem_x25519');
      await expandDecapsulationKeys(unchecked.privateKey, await messageTo('pqc_mlkem_x25519'));
      expect(subkeyReads.count).toBe(1); // once per key
      // A wildcard key ID (an anonymous recipient) may be this subkey: expanded too.
      const hidden = await messageTo('pqc_mlkem_x25519', true);
      expect(hidden.getEncryptionKeyIDs().every((id) => /^0+$/.test(id.toHex()))).toBe(true);
      await expandDecapsulationKeys(other.privateKey, hidden);
      expect(subkeyReads.count).toBe(2);
      expect((await openpgp.decrypt({ message: hidden, decryptionKeys: other.privateKey, date })).data).toBe('pqc_mlkem_x25519');
    } finally {
      subkeyReads.restore();
    }
  });

  it('does not depend on openpgp.js global salt-notation setting', async () => {
    const before = openpgp.config.nonDeterministicSignaturesViaNotation;
    try {
      openpgp.config.nonDeterministicSignaturesViaNotation = true;
      const salted = await deriveIdentity(input);
      openpgp.config.nonDeterministicSignaturesViaNotation = false;
      expect((await deriveIdentity(input)).armoredCert).toBe(salted.armoredCert);
    } finally {
      openpgp.config.nonDeterministicSignaturesViaNotation = before;
    }
  });

  it('rebuilds the same key from the printed recovery sheet', async () => {
    const original = await deriveIdentity(input);
    const sheet = formatRecoverySheet({ words: phraseFromSeed(seed), creationDate: input.creationDate, name: input.name, email: input.email, fingerprint: original.fingerprint });
    const parsed = await parseRecoverySheet(sheet);
    const rebuilt = await deriveIdentity({ seed: parsed.seed, name: parsed.name!, email: parsed.email!, creationDate: parsed.creationDate });
    expect(rebuilt.fingerprint).toBe(original.fingerprint);
    expect(parsed.fingerprint).toBe(original.fingerprint);
    expect(rebuilt.armoredSecretKey).toBe(original.armoredSecretKey);
  });

  it('from the words alone plus the date, rebuilds the same fingerprint', async () => {
    const original = await deriveIdentity(input);
    const rebuilt = await deriveIdentity({ ...input, seed: seedFromPhrase(phraseFromSeed(seed)), name: 'Someone Else', email: 'else@example.org' });
    expect(rebuilt.fingerprint).toBe(original.fingerprint);
  });

  it('another seed gives another key', async () => {
    const other = Uint8Array.from(seed);
    other[31]! ^= 1;
    expect((await deriveIdentity({ ...input, seed: other })).fingerprint).not.toBe((await deriveIdentity(input)).fingerprint);
  });
});

describe('the certificate (docs/ceremony.md §6)', async () => {
  const created = new Date('2026-03-01T10:00:00Z');
  const identity = await deriveIdentity({ seed: new Uint8Array(32).fill(7), name: 'Dana Test', email: 'dana@example.org', creationDate: created });
  const key = await openpgp.readKey({ armoredKey: identity.armoredCert });

  it('is a v4 Ed25519Legacy key, certify-only, that does not expire', async () => {
    expect(key.keyPacket.version).toBe(4);
    expect(key.getAlgorithmInfo()).toEqual({ algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' });
    expect(key.getCreationTime()).toEqual(created);
    const { selfCertification } = (await key.getPrimaryUser(created))!;
    expect(Array.from(selfCertification.keyFlags!)).toEqual([openpgp.enums.keyFlags.certifyKeys]);
    expect(await key.getExpirationTime()).toBe(Infinity);
    expect(key.getUserIDs()).toEqual(['Dana Test <dana@example.org>']);
  });

  it('announces SEIPDv1-only preferences: AES-256/128, SHA-512/256, no AEAD, no salt notation', async () => {
    const { selfCertification } = (await key.getPrimaryUser(created))!;
    expect(selfCertification.preferredSymmetricAlgorithms).toEqual([openpgp.enums.symmetric.aes256, openpgp.enums.symmetric.aes128]);
    expect(selfCertification.preferredHashAlgorithms).toEqual([openpgp.enums.hash.sha512, openpgp.enums.hash.sha256]);
    expect(selfCertification.preferredCompressionAlgorithms).toEqual([0, 2, 1]);
    expect(Array.from(selfCertification.features!)).toEqual([0x01]);
    expect(selfCertification.preferredAEADAlgorithms).toBeNull();
    for (const signature of [selfCertification, ...key.subkeys.flatMap((subkey) => subkey.bindingSignatures)]) {
      expect(signature.rawNotations).toEqual([]);
      expect(signature.version).toBe(4);
      expect(signature.hashAlgorithm).toBe(openpgp.enums.hash.sha512);
    }
  });

  it('has a signing, an encryption, an authentication and a post-quantum encryption subkey, each expiring after SUBKEY_VALIDITY_SECONDS', async () => {
    const expected = [
      { flags: openpgp.enums.keyFlags.signData, algorithm: { algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' } },
      { flags: openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage, algorithm: { algorithm: 'ecdh', curve: 'curve25519Legacy' } },
      { flags: openpgp.enums.keyFlags.authentication, algorithm: { algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' } },
      { flags: openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage, algorithm: { algorithm: 'pqc_mlkem_x25519' } },
    ];
    expect(key.subkeys).toHaveLength(4);
    for (const [index, subkey] of key.subkeys.entries()) {
      expect(subkey.getAlgorithmInfo()).toEqual(expected[index]!.algorithm);
      expect(subkey.keyPacket.version).toBe(4);
      expect(subkey.getCreationTime()).toEqual(created);
      const binding = subkey.bindingSignatures[0]!;
      expect(Array.from(binding.keyFlags!)).toEqual([expected[index]!.flags]);
      expect(binding.keyExpirationTime).toBe(SUBKEY_VALIDITY_SECONDS);
      expect(await subkey.getExpirationTime(created)).toEqual(new Date(created.getTime() + SUBKEY_VALIDITY_SECONDS * 1000));
      await subkey.verify(created); // throws if the binding is not valid
    }
    expect(key.subkeys[0]!.bindingSignatures[0]!.embeddedSignature?.signatureType).toBe(openpgp.enums.signature.keyBinding);
  });

  it('openpgp.js picks the signing subkey and, left to itself, the post-quantum one (equal dates, higher algorithm id); nothing once they expired', async () => {
    expect((await key.getSigningKey(undefined, created)).getKeyID().equals(key.subkeys[0]!.getKeyID())).toBe(true);
    // Which encryption subkey a message uses is the service's choice (docs/decisions/post-quantum.md), never this default.
    expect((await key.getEncryptionKey(undefined, created)).getKeyID().equals(key.subkeys[3]!.getKeyID())).toBe(true);
    const afterExpiry = new Date(created.getTime() + (SUBKEY_VALIDITY_SECONDS + 1) * 1000);
    await expect(key.getEncryptionKey(undefined, afterExpiry)).rejects.toThrow();
  });

  it('stores the Curve25519 secret clamped, big-endian (RFC 9580 §5.5.5.6.1.1)', () => {
    const d = (identity.privateKey.subkeys[1]!.keyPacket as unknown as { privateParams: { d: Uint8Array } }).privateParams.d;
    expect(d).toHaveLength(32);
    expect(d[0]! & 0xc0).toBe(0x40); // the top byte of the little-endian scalar: bit 254 set, bit 255 clear
    expect(d[31]! & 0x07).toBe(0); // the low three bits cleared
  });

  it('has an unencrypted secret key that signs and decrypts at the creation date', async () => {
    expect(identity.privateKey.isDecrypted()).toBe(true);
    const message = await openpgp.encrypt({ message: await openpgp.createMessage({ text: 'hi' }), encryptionKeys: identity.publicKey, signingKeys: identity.privateKey, date: created, config: { aeadProtect: false } });
    const result = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: message }), decryptionKeys: identity.privateKey, verificationKeys: identity.publicKey, expectSigned: true, date: created });
    expect(result.data).toBe('hi');
  });

  it('comes with a revocation certificate that revokes it', async () => {
    const { publicKey } = await openpgp.revokeKey({ key: identity.publicKey, revocationCertificate: identity.revocationCertificate, format: 'object' });
    expect(await publicKey.isRevoked(undefined, undefined, created)).toBe(true);
    expect(await identity.publicKey.isRevoked(undefined, undefined, created)).toBe(false);
  });

  it('the device key is a raw Ed25519 key pair that signs', () => {
    expect(identity.device.secretKey).toHaveLength(32);
    expect(ed25519.getPublicKey(identity.device.secretKey)).toEqual(identity.device.publicKey);
    const signature = ed25519.sign(new Uint8Array([1, 2, 3]), identity.device.secretKey);
    expect(ed25519.verify(signature, new Uint8Array([1, 2, 3]), identity.device.publicKey)).toBe(true);
  });
});

describe('input checks', () => {
  const good = { seed: new Uint8Array(32), name: 'Eve Input', email: 'eve@example.org', creationDate: new Date('2026-01-01T00:00:00Z') };

  it('refuses a seed that is not 32 bytes', async () => {
    await expect(deriveIdentity({ ...good, seed: new Uint8Array(16) })).rejects.toThrow(TypeError);
  });

  it('refuses a creation date with milliseconds, and ceremonyCreationDate drops them', async () => {
    await expect(deriveIdentity({ ...good, creationDate: new Date('2026-01-01T00:00:00.250Z') })).rejects.toThrow(/whole second/);
    expect(ceremonyCreationDate(new Date('2026-01-01T00:00:00.999Z'))).toEqual(new Date('2026-01-01T00:00:00Z'));
  });

  it('refuses a name with angle brackets and an address without a domain', async () => {
    await expect(deriveIdentity({ ...good, name: 'Eve <evil>' })).rejects.toSatisfy((error) => isCaliopError(error, 'usage'));
    await expect(deriveIdentity({ ...good, email: 'eve@localhost' })).rejects.toSatisfy((error) => isCaliopError(error, 'usage'));
  });
});

describe('curvePublicKey (issue 13: node:crypto, noble where it cannot)', () => {
  it('gives what noble gives, for Ed25519 seeds and X25519 scalars, clamped or not', () => {
    const secrets = [new Uint8Array(32), new Uint8Array(32).fill(0xff), ...Array.from({ length: 24 }, (_, index) => createHash('sha256').update(`secret ${index}`).digest())];
    for (const secret of secrets) {
      const bytes = Uint8Array.from(secret);
      expect(Buffer.from(curvePublicKey('ed25519', bytes)).toString('hex')).toBe(Buffer.from(ed25519.getPublicKey(bytes)).toString('hex'));
      expect(Buffer.from(curvePublicKey('x25519', bytes)).toString('hex')).toBe(Buffer.from(x25519.getPublicKey(bytes)).toString('hex'));
      expect(curvePublicKey('ed25519', bytes, { viaNoble: true })).toEqual(ed25519.getPublicKey(bytes));
      expect(bytes).toEqual(Uint8Array.from(secret)); // the caller's secret is left alone
    }
    expect(() => curvePublicKey('ed25519', new Uint8Array(31))).toThrow(TypeError);
  });
});

/** Counts the secret subkey packets openpgp.js reads (each read of an ML-KEM one expands its seed) until restored. */
function countSubkeyReads(): { count: number; restore(): void } {
  const original = openpgp.SecretSubkeyPacket.prototype.read;
  const counter = {
    count: 0,
    restore: () => {
      openpgp.SecretSubkeyPacket.prototype.read = original;
    },
  };
  openpgp.SecretSubkeyPacket.prototype.read = function (this: openpgp.SecretSubkeyPacket, ...args: unknown[]) {
    counter.count += 1;
    return (original as (...rest: unknown[]) => Promise<void>).apply(this, args);
  } as typeof original;
  return counter;
}
