// docs/vault-contents.md §1.1: the document's format history. A /2 document (before
// Autocrypt peer state) and a /3 one (before publishedCertSha256) read as /4; a document with
// a contact learnt from Autocrypt round-trips, and so does a relay account with the hash of
// the cert last published; a format this caliop does not know is refused as unsupported, not
// as tampered.
import { describe, expect, it } from 'vitest';
import {
  decodeVaultContents, encodeVaultContents, newVaultContents, VAULT_CONTENTS_FORMAT, VAULT_CONTENTS_FORMAT_V1, VAULT_CONTENTS_FORMAT_V2, VAULT_CONTENTS_FORMAT_V3,
} from '../src/core/vault-contents.js';
import { storedMessageSchema } from '../src/core/vault-contents-schema.js';

const DATE = '2026-11-30T12:00:00.000Z';
const contents = newVaultContents(
  {
    seedHex: '11'.repeat(32),
    creationDate: DATE,
    name: 'Bob',
    email: 'bob@caliop.example',
    fingerprint: 'A'.repeat(40),
    ceremony: { performedAt: DATE, offline: true, allowedOnline: false, networkEvidence: [], kind: 'init', backupChecked: true },
  },
  'en',
  { folder: 'store-0123456789abcdef', keyHex: '22'.repeat(32) },
);
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('vault contents format history (docs/vault-contents.md §1.1)', () => {
  it('a /2 and a /3 document are read as /4', async () => {
    expect(VAULT_CONTENTS_FORMAT).toBe('caliop-vault-contents/4');
    for (const older of [VAULT_CONTENTS_FORMAT_V2, VAULT_CONTENTS_FORMAT_V3]) {
      const decoded = await decodeVaultContents(json({ ...contents, format: older }));
      expect(decoded).toEqual({ ...contents, format: VAULT_CONTENTS_FORMAT });
    }
  });

  it('a relay account with the hash of the cert last published round-trips; a malformed hash is refused', async () => {
    const relayAccount = { url: 'https://relay.test', address: 'bob@caliop.example', enrolledAt: DATE, publishedCertSha256: 'ab'.repeat(32) };
    expect(await decodeVaultContents(await encodeVaultContents({ ...contents, relayAccount }))).toEqual({ ...contents, relayAccount });
    await expect(decodeVaultContents(json({ ...contents, relayAccount: { ...relayAccount, publishedCertSha256: 'AB' } }))).rejects.toThrow(expect.objectContaining({ code: 'vault_tampered' }));
  });

  it('a /3 document with an Autocrypt contact and its peer state round-trips', async () => {
    const withPeer = {
      ...contents,
      contacts: [{
        address: 'ada@autocrypt.test', fingerprint: 'B'.repeat(40), armoredCert: '-----BEGIN PGP PUBLIC KEY BLOCK-----', verification: 'unverified' as const,
        source: 'autocrypt' as const, addedAt: DATE, autocrypt: { lastSeen: DATE, autocryptTimestamp: DATE, fingerprint: 'B'.repeat(40), preferEncrypt: 'mutual' as const },
      }],
    };
    expect(await decodeVaultContents(await encodeVaultContents(withPeer))).toEqual(withPeer);
  });

  it('an unknown format is vault_unsupported_version; a field unknown to /4 is refused as not matching', async () => {
    await expect(decodeVaultContents(json({ ...contents, format: 'caliop-vault-contents/5' }))).rejects.toThrow(expect.objectContaining({ code: 'vault_unsupported_version' }));
    await expect(decodeVaultContents(json({ ...contents, surprise: true }))).rejects.toThrow(expect.objectContaining({ code: 'vault_tampered' }));
  });

  // Issue 13: the vault is read without zod's compiled fast path, and the one-document format and
  // the stored messages' schema are built on first use: the errors still name the field.
  it('a schema error names the field, in the current format and in the one-document format (built on first use)', async () => {
    const decodeError = async (value: unknown) => {
      try {
        await decodeVaultContents(json(value));
      } catch (error) {
        return error as { code?: string; message?: string };
      }
      throw new Error('decoded');
    };
    const bad = await decodeError({ ...contents, identity: { ...contents.identity, seedHex: 'xyz' } });
    expect(bad.code).toBe('vault_tampered');
    expect(bad.message).toMatch(/do not match their format: identity\.seedHex /);
    expect((await decodeError({ ...contents, contacts: [{ address: 'ada@example.org' }] })).message).toMatch(/: contacts\.0\.\w+ /);
    const message = {
      id: '1', direction: 'in', from: 'ada@example.org', to: ['bob@caliop.example'], subject: 'hi', date: DATE, storedAt: DATE, unread: true, armoredMessage: '',
    };
    const { store: _store, ...withoutStore } = contents;
    const v1 = { ...withoutStore, format: VAULT_CONTENTS_FORMAT_V1, messages: [message] };
    expect(await decodeVaultContents(json(v1))).toEqual(v1);
    const badV1 = await decodeError({ ...v1, messages: [message, { ...message, date: 'yesterday' }] });
    expect(badV1.code).toBe('vault_tampered');
    expect(badV1.message).toMatch(/: messages\.1\.date /);
    expect(storedMessageSchema()).toBe(storedMessageSchema()); // built once
    expect(storedMessageSchema().safeParse({ ...message, unread: 'yes' }).error?.issues[0]?.path).toEqual(['unread']);
  });
});
