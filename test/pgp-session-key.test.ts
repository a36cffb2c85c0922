// src/service/pgp-session-key.ts (issue 13): the session key of a classic Cv25519 PKESK found
// through node:crypto is the one openpgp.js finds, byte for byte, for messages made by real
// gpg 2.2 (several ciphers), sq and openpgp.js; decryptData then takes no WebCrypto ECDH
// (the path it replaces). Everything else goes through openpgp.js: the post-quantum
// algorithm-35 PKESK, a PKESK to another key, a damaged one (same error as before).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deriveIdentity, type DerivedIdentity } from '../src/core/key-derivation.js';
import { SUPPORTED_SYMMETRIC } from '../src/core/openpgp-algorithms.js';
import { isCaliopError } from '../src/errors.js';
import { acceptingEveryCipher, decryptData, encryptData, READ_CONFIG } from '../src/service/pgp.js';
import { nativeSessionKeys } from '../src/service/pgp-session-key.js';

const created = new Date('2026-01-02T03:04:05Z');
const config = { ...openpgp.config, ...READ_CONFIG } as openpgp.Config;
const accepted = new Set([9, 7, 2, 3, ...SUPPORTED_SYMMETRIC]);
let pia: DerivedIdentity;
let other: DerivedIdentity;
let home: string;

beforeAll(async () => {
  pia = await deriveIdentity({ seed: Uint8Array.from({ length: 32 }, (_, index) => index * 5), name: 'Pia Session', email: 'pia@example.org', creationDate: created });
  other = await deriveIdentity({ seed: Uint8Array.from({ length: 32 }, (_, index) => 255 - index), name: 'Otto Other', email: 'otto@example.org', creationDate: created });
  home = mkdtempSync(join(tmpdir(), 'caliop-session-key-'));
  writeFileSync(join(home, 'pia.asc'), pia.armoredCertForOutsiders);
  const imported = spawnSync('gpg', ['--homedir', home, '--batch', '--import', join(home, 'pia.asc')]);
  expect(imported.status, imported.stderr.toString()).toBe(0);
});

afterAll(() => rmSync(home, { recursive: true, force: true }));

const gpg = (args: string[], input: string) =>
  spawnSync('gpg', ['--homedir', home, '--batch', '--faked-system-time', '20260201T000000', '--trust-model', 'always', ...args], { input });

async function readAny(data: Uint8Array): Promise<openpgp.Message<Uint8Array | string>> {
  return data[0] === 0x2d ? await openpgp.readMessage({ armoredMessage: new TextDecoder().decode(data) }) : await openpgp.readMessage({ binaryMessage: data as Uint8Array<ArrayBuffer> });
}

/** The session keys openpgp.js itself finds (its decryptSessionKeys, with the same widened key). */
async function librarySessionKeys(data: Uint8Array): Promise<openpgp.SessionKey[]> {
  const message = (await readAny(data)) as unknown as { decryptSessionKeys(...args: unknown[]): Promise<openpgp.SessionKey[]> };
  return (await message.decryptSessionKeys([acceptingEveryCipher(pia.privateKey)], undefined, undefined, new Date(), config)) as openpgp.SessionKey[];
}

async function ourSessionKeys(data: Uint8Array): Promise<openpgp.SessionKey[] | undefined> {
  return await nativeSessionKeys(await readAny(data), acceptingEveryCipher(pia.privateKey), config, accepted);
}

/** decryptData's plaintext, and whether it called WebCrypto's X25519 (openpgp.js's way). */
async function decryptWatched(data: Uint8Array): Promise<{ text: string; webCryptoX25519: number }> {
  const deriveBits = vi.spyOn(globalThis.crypto.subtle, 'deriveBits');
  try {
    const opened = await decryptData(data, pia.privateKey, []);
    return { text: new TextDecoder().decode(opened.data), webCryptoX25519: deriveBits.mock.calls.filter(([algorithm]) => (algorithm as { name?: string }).name === 'X25519').length };
  } finally {
    deriveBits.mockRestore();
  }
}

describe('classic Cv25519 messages: the session key through node:crypto', () => {
  for (const cipher of ['AES256', 'AES128', 'AES192', 'CAST5', '3DES', 'TWOFISH']) {
    it(`gpg 2.2 --cipher-algo ${cipher}: the same session key as openpgp.js, decrypted without WebCrypto X25519`, async () => {
      const made = gpg(['--encrypt', '--cipher-algo', cipher, '--recipient', 'pia@example.org'], `from gpg, ${cipher}\n`);
      expect(made.status, made.stderr.toString()).toBe(0);
      const data = new Uint8Array(made.stdout);
      const ours = await ourSessionKeys(data);
      expect(ours).toBeDefined();
      expect(ours).toEqual(await librarySessionKeys(data));
      expect(await decryptWatched(data)).toEqual({ text: `from gpg, ${cipher}\n`, webCryptoX25519: 0 });
    });
  }

  it('sq: the same session key as openpgp.js', async () => {
    const made = spawnSync('sq', ['encrypt', '--recipient-cert', join(home, 'pia.asc'), '--time', '20260201T000000Z'], {
      input: 'from sq\n',
      env: { ...process.env, HOME: home, SEQUOIA_HOME: home },
    });
    expect(made.status, made.stderr.toString()).toBe(0);
    const data = new Uint8Array(made.stdout);
    expect(await ourSessionKeys(data)).toEqual(await librarySessionKeys(data));
    expect(await decryptWatched(data)).toEqual({ text: 'from sq\n', webCryptoX25519: 0 });
  });

  it('openpgp.js (our own encryptData, signed, to two recipients): the same session key; the signature still checked', async () => {
    const data = await encryptData({ data: new TextEncoder().encode('from openpgp.js\n'), recipients: [other.publicKey, pia.publicKey], signingKey: other.privateKey, armor: true, date: created });
    const ours = await ourSessionKeys(data);
    expect(ours).toHaveLength(1); // the PKESK to otto is not ours
    expect(ours).toEqual(await librarySessionKeys(data));
    expect(await decryptWatched(data)).toEqual({ text: 'from openpgp.js\n', webCryptoX25519: 0 });
    const opened = await decryptData(data, pia.privateKey, [other.publicKey]);
    expect(opened.signatures.map((check) => check.status)).toEqual(['good']);
  });

  it('not for this key: no session key here, and decryptData refuses as before (no_decryption_key)', async () => {
    const data = await encryptData({ data: new TextEncoder().encode('for otto\n'), recipients: [other.publicKey], armor: false, date: created });
    expect(await nativeSessionKeys(await readAny(data), acceptingEveryCipher(pia.privateKey), config, accepted)).toBeUndefined();
    await expect(decryptData(data, pia.privateKey, [])).rejects.toSatisfy((error) => isCaliopError(error, 'no_decryption_key'));
  });

  it('a damaged wrapped key: no session key here, openpgp.js gives its own answer', async () => {
    const data = await encryptData({ data: new TextEncoder().encode('damaged\n'), recipients: [pia.publicKey], armor: false, date: created });
    const damaged = Uint8Array.from(data);
    // The PKESK comes first: v3, key id, algorithm 18, MPI of V (2 + 33 bytes), then C's length and C.
    const header = damaged[0]! & 0x40 ? (damaged[1]! < 192 ? 2 : 3) : 2;
    damaged[header + 1 + 8 + 1 + 2 + 33 + 1 + 3]! ^= 0x01;
    expect(await nativeSessionKeys(await readAny(damaged), acceptingEveryCipher(pia.privateKey), config, accepted)).toBeUndefined();
    const before = await decryptData(damaged, pia.privateKey, []).catch((error: unknown) => error);
    expect(isCaliopError(before)).toBe(true);
  });

  it('a cipher the key does not accept is left to openpgp.js', async () => {
    const made = gpg(['--encrypt', '--cipher-algo', 'AES256', '--recipient', 'pia@example.org'], 'narrow\n');
    expect(await nativeSessionKeys(await readAny(new Uint8Array(made.stdout)), acceptingEveryCipher(pia.privateKey), config, new Set([7]))).toBeUndefined();
  });
});

describe('post-quantum (algorithm 35) still goes through openpgp.js', () => {
  it('no session key here; decryptData opens it, postQuantum', async () => {
    const data = await encryptData({ data: new TextEncoder().encode('post-quantum\n'), recipients: [pia.publicKey], signingKey: pia.privateKey, armor: true, date: created, postQuantum: true });
    expect(await ourSessionKeys(data)).toBeUndefined();
    const opened = await decryptData(data, pia.privateKey, [pia.publicKey]);
    expect(new TextDecoder().decode(opened.data)).toBe('post-quantum\n');
    expect(opened.postQuantum).toBe(true);
  });
});
