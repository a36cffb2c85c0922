// The derived key works with real peers (docs/ceremony.md §6, issue 2 "What it must show"):
// GnuPG 2.2 and Sequoia (sq 0.27) read it, decrypt what openpgp.js encrypts to it and
// verify what it signs; openpgp.js decrypts with it what gpg encrypts to it.
// Real gpg and sq processes, a throwaway GNUPGHOME (and HOME for sq) under os.tmpdir().

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { makeGpg, type Gpg } from './helpers/gpg.js';
import { ceremonyCreationDate, deriveIdentity, deriveKeyMaterial, type DerivedIdentity } from '../src/core/key-derivation.js';

const seed = Uint8Array.from({ length: 32 }, (_, index) => (index * 37 + 11) & 0xff);
const plaintext = 'Bonjour, ceci est un message de la cérémonie.\n';
// Binary literal data: a text message would be canonicalised to CRLF (RFC 4880 §5.9).
// SEIPDv1 only: what GnuPG 2.2 reads (docs/ceremony.md §6.1).
const seipdV1 = { aeadProtect: false } as const;

let dir: string;
let identity: DerivedIdentity;
let peerCert: string;

let peer: Gpg | undefined;
const gpg = (args: string[], input?: string | Uint8Array) => peer!.spawn(args, input);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'caliop-interop-derived-'));
  peer = makeGpg(dir, { env: { LC_ALL: 'C' } });
  // A creation date a day ago, so the subkeys (valid three years) are valid now.
  identity = await deriveIdentity({
    seed, name: 'Alice Cérémonie', email: 'alice@example.org',
    creationDate: ceremonyCreationDate(new Date(Date.now() - 86_400_000)),
  });
  writeFileSync(join(dir, 'alice-secret.asc'), identity.armoredSecretKey);
  writeFileSync(join(dir, 'alice-cert.asc'), identity.armoredCert);
  const imported = gpg(['--import', join(dir, 'alice-secret.asc')]);
  expect(imported.status, imported.stderr).toBe(0);
  // A peer key made by gpg itself.
  const made = gpg(['--quick-gen-key', 'Bob Peer <bob@example.org>', 'ed25519', 'sign', 'never']);
  expect(made.status, made.stderr).toBe(0);
  peerCert = gpg(['--armor', '--export', 'bob@example.org']).stdout.toString();
  expect(peerCert).toContain('BEGIN PGP PUBLIC KEY BLOCK');
});

afterAll(() => {
  if (!dir) return;
  // Stop the gpg-agent this GNUPGHOME started, then remove everything.
  peer?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('derived key read by GnuPG 2.2', () => {
  it('imports with the same fingerprint, certify-only primary and [S] [E] [A] subkeys', () => {
    const listing = gpg(['--with-colons', '--fixed-list-mode', '--list-secret-keys', identity.fingerprint]);
    expect(listing.status, listing.stderr).toBe(0);
    const lines = listing.stdout.toString().split('\n');
    const fingerprints = lines.filter((line) => line.startsWith('fpr:')).map((line) => line.split(':')[9]);
    expect(fingerprints[0]).toBe(identity.fingerprint);
    const capabilities = lines.filter((line) => /^(sec|ssb):/.test(line)).map((line) => line.split(':')[11]);
    // gpg lists the primary's own flags in lower case, then the whole key's in upper case.
    expect(capabilities[0]?.replace(/[A-Z]/g, '')).toBe('c');
    expect(capabilities.slice(1)).toEqual(['s', 'e', 'a']);
  });

  it('finds every self-signature good (gpg --check-sigs)', () => {
    const checked = gpg(['--check-sigs', identity.fingerprint]);
    expect(checked.status, checked.stderr).toBe(0);
    const output = checked.stdout.toString();
    expect(output.match(/^sig!/gm)?.length).toBe(4); // user id + three subkey bindings
    expect(output).not.toMatch(/^sig[-%?]/m);
  });

  it('decrypts and verifies a SEIPDv1 message openpgp.js encrypted and signed with the derived key', async () => {
    // To the Cv25519 subkey, as caliop writes to anyone outside Caliop (docs/decisions/post-quantum.md):
    // left to itself openpgp.js would pick the post-quantum subkey, which gpg 2.2 and sq cannot read.
    const armored = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: new TextEncoder().encode(plaintext) }),
      encryptionKeys: identity.publicKey,
      encryptionKeyIDs: [identity.publicKey.subkeys[1]!.getKeyID()],
      signingKeys: identity.privateKey,
      config: seipdV1,
    });
    const result = gpg(['--status-fd', '2', '--decrypt'], armored);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.toString()).toBe(plaintext);
    expect(result.stderr).toMatch(new RegExp(`\\[GNUPG:\\] VALIDSIG [0-9A-F]{40} .* ${identity.fingerprint}`));
    expect(result.stderr).toContain('[GNUPG:] DECRYPTION_OKAY');
    expect(result.stderr).toContain('[GNUPG:] GOODMDC');
  });

  it('makes a message to the derived cert, signed by a gpg key, that openpgp.js decrypts and verifies', async () => {
    writeFileSync(join(dir, 'plain.txt'), plaintext);
    const made = gpg(['--armor', '--trust-model', 'always', '--recipient', identity.fingerprint,
      '--local-user', 'bob@example.org', '--sign', '--encrypt', '--output', '-', join(dir, 'plain.txt')]);
    expect(made.status, made.stderr).toBe(0);
    const { data, signatures } = await openpgp.decrypt({
      message: await openpgp.readMessage({ armoredMessage: made.stdout.toString() }),
      decryptionKeys: identity.privateKey,
      verificationKeys: await openpgp.readKey({ armoredKey: peerCert }),
      expectSigned: true,
    });
    expect(data).toBe(plaintext);
    expect(signatures).toHaveLength(1);
  });

  it('signs with the derived signing subkey in gpg, and openpgp.js verifies it against the derived cert', async () => {
    const made = gpg(['--armor', '--local-user', identity.fingerprint, '--detach-sign', '--output', '-', join(dir, 'plain.txt')]);
    expect(made.status, made.stderr).toBe(0);
    const { signatures } = await openpgp.verify({
      message: await openpgp.createMessage({ text: plaintext }),
      signature: await openpgp.readSignature({ armoredSignature: made.stdout.toString() }),
      verificationKeys: identity.publicKey,
      expectSigned: true,
    });
    expect(signatures[0]?.keyID.toHex().toUpperCase()).toBe(identity.privateKey.subkeys[0]!.getKeyID().toHex().toUpperCase());
  });
});

describe('a derived signing key whose secret begins with a zero octet (shorter MPI, docs/ceremony.md §4)', () => {
  it('still signs in gpg, and openpgp.js verifies it', async () => {
    const zeroLead = new Uint8Array(32);
    zeroLead.set([248, 5]); // found by search: its signing key material starts with 00
    expect(deriveKeyMaterial(zeroLead, 'signing')[0]).toBe(0);
    const other = await deriveIdentity({ seed: zeroLead, name: 'Zero Lead', email: 'zero@example.org', creationDate: ceremonyCreationDate(new Date(Date.now() - 86_400_000)) });
    const imported = gpg(['--import'], other.armoredSecretKey);
    expect(imported.status, imported.stderr).toBe(0);
    const made = gpg(['--armor', '--local-user', other.fingerprint, '--detach-sign', '--output', '-', join(dir, 'plain.txt')]);
    expect(made.status, made.stderr).toBe(0);
    const { signatures } = await openpgp.verify({
      message: await openpgp.createMessage({ binary: new Uint8Array(readFileSync(join(dir, 'plain.txt'))) }),
      signature: await openpgp.readSignature({ armoredSignature: made.stdout.toString() }),
      verificationKeys: other.publicKey,
      expectSigned: true,
    });
    expect(signatures).toHaveLength(1);
  });
});

describe('derived key read by Sequoia (sq 0.27)', () => {
  it('decrypts and verifies a SEIPDv1 message openpgp.js encrypted and signed with the derived key', async () => {
    // To the Cv25519 subkey, as caliop writes to anyone outside Caliop (docs/decisions/post-quantum.md):
    // left to itself openpgp.js would pick the post-quantum subkey, which gpg 2.2 and sq cannot read.
    const armored = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: new TextEncoder().encode(plaintext) }),
      encryptionKeys: identity.publicKey,
      encryptionKeyIDs: [identity.publicKey.subkeys[1]!.getKeyID()],
      signingKeys: identity.privateKey,
      config: seipdV1,
    });
    writeFileSync(join(dir, 'to-alice.asc'), armored);
    const result = spawnSync('sq', ['decrypt', '--recipient-key', join(dir, 'alice-secret.asc'),
      '--signer-cert', join(dir, 'alice-cert.asc'), join(dir, 'to-alice.asc')], { env: { ...process.env, HOME: dir } });
    expect(result.status, result.stderr.toString()).toBe(0);
    expect(result.stdout.toString()).toBe(plaintext);
    expect(result.stderr.toString()).toMatch(/Good signature/);
  });

  it('rejects the message once one byte of the ciphertext is flipped (the test can fail)', async () => {
    const binary = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: new TextEncoder().encode(plaintext) }),
      encryptionKeys: identity.publicKey,
      signingKeys: identity.privateKey,
      format: 'binary',
      config: seipdV1,
    });
    const tampered = Uint8Array.from(binary);
    tampered[tampered.length - 10]! ^= 0x01;
    writeFileSync(join(dir, 'tampered.pgp'), tampered);
    const result = spawnSync('sq', ['decrypt', '--recipient-key', join(dir, 'alice-secret.asc'),
      '--signer-cert', join(dir, 'alice-cert.asc'), join(dir, 'tampered.pgp')], { env: { ...process.env, HOME: dir } });
    expect(result.status).not.toBe(0);
    expect(readFileSync(join(dir, 'alice-cert.asc'), 'utf8')).toBe(identity.armoredCert);
  });
});
