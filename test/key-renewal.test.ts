// Renewal and revocation of the key (docs/ceremony.md §6.6-§6.7), with the clock as a
// parameter: known-answer vectors (one file per case), the reminder schedule, and a
// real stick's services run three years ahead (reminder before expiry, refusal after).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveIdentity, deriveRevocationCertificate, SUBKEY_VALIDITY_SECONDS, type RevocationReason } from '../src/core/key-derivation.js';
import { keyLifetime, RENEWAL_REMINDER_DAYS, renewalDate, syncReminderDue } from '../src/core/key-lifetime.js';
import { isCaliopError } from '../src/errors.js';
import { stickAt } from '../src/edges/stick-locator.js';
import { assertOwnKeyUsable, keyReminder, renewKey, revokeKey } from '../src/service/key-lifecycle.js';
import { sendMessage } from '../src/service/mail-send.js';
import { StickSession } from '../src/service/stick-session.js';
import { initStick, PASSPHRASE, temporaryFolder } from './helpers/caliop.js';

const DAY = 24 * 60 * 60 * 1000;
const vectorDir = join(import.meta.dirname, 'vectors', 'ceremony');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const load = (prefix: string) =>
  readdirSync(vectorDir)
    .filter((file) => file.startsWith(prefix))
    .map((file) => ({ file, vector: JSON.parse(readFileSync(join(vectorDir, file), 'utf8')) }));

describe('docs/ceremony.md §6.6: renewal vectors', () => {
  const vectors = load('renew-');
  it('has vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(1));
  for (const { file, vector } of vectors) {
    it(`${file}: the same seed and date give the same bindings, the same fingerprint, the new expiry`, async () => {
      const input = vector.input;
      const seed = Uint8Array.from(Buffer.from(input.seedHex, 'hex'));
      const renewedAt = new Date(input.renewedAt);
      const identity = await deriveIdentity({ seed, name: input.name, email: input.email, creationDate: new Date(input.creationDate), renewedAt });
      expect(identity.fingerprint).toBe(vector.primaryFingerprint);
      for (const [fingerprint, expected] of Object.entries(vector.renewalBindings as Record<string, { signatureSha256: string; expiresAt: string }>)) {
        const subkey = identity.publicKey.subkeys.find((candidate) => candidate.getFingerprint().toUpperCase() === fingerprint);
        expect(subkey, fingerprint).toBeDefined();
        const binding = subkey!.bindingSignatures.find((signature) => signature.created?.getTime() === renewedAt.getTime());
        expect(sha256(binding!.write())).toBe(expected.signatureSha256);
        // The ceremony's binding is kept; at the renewal date the later one decides.
        expect(subkey!.bindingSignatures.length).toBe(2);
        expect((await subkey!.getExpirationTime(renewedAt) as Date).toISOString()).toBe(expected.expiresAt);
      }
      // A second derivation (a recovered stick told the renewal date) is byte-identical.
      const again = await deriveIdentity({ seed, name: input.name, email: input.email, creationDate: new Date(input.creationDate), renewedAt });
      expect(again.armoredCert).toBe(identity.armoredCert);
    });
  }
});

describe('docs/ceremony.md §6.7: revocation vectors', () => {
  const vectors = load('revoke-');
  it('has one vector per reason', () => expect(vectors.map(({ vector }) => vector.input.reason).sort()).toEqual(['compromised', 'lost', 'superseded']));
  for (const { file, vector } of vectors) {
    it(`${file}`, async () => {
      const input = vector.input;
      const certificate = await deriveRevocationCertificate(
        Uint8Array.from(Buffer.from(input.seedHex, 'hex')),
        new Date(input.creationDate),
        new Date(input.revokedAt),
        input.reason as RevocationReason,
      );
      expect(sha256(certificate)).toBe(vector.revocationCertificateSha256);
    });
  }
});

describe('docs/ceremony.md §6.6: the reminder, with the clock as a parameter', () => {
  const created = new Date('2026-01-02T03:04:05Z');
  const expires = new Date(created.getTime() + SUBKEY_VALIDITY_SECONDS * 1000);

  it('valid for 1096 days; renew-soon from 90 days before; expired after; a renewal moves the date', () => {
    expect(keyLifetime(created, undefined, new Date(created.getTime() + 365 * DAY))).toMatchObject({ state: 'valid', expiresAt: expires });
    expect(keyLifetime(created, undefined, new Date(expires.getTime() - RENEWAL_REMINDER_DAYS * DAY - 1000)).state).toBe('valid');
    expect(keyLifetime(created, undefined, new Date(expires.getTime() - 89 * DAY))).toMatchObject({ state: 'renew-soon', daysLeft: 89 });
    expect(keyLifetime(created, undefined, expires).state).toBe('expired');
    const renewedAt = renewalDate(created, new Date(expires.getTime() + 3 * DAY))!;
    expect(keyLifetime(created, renewedAt, new Date(expires.getTime() + 3 * DAY))).toMatchObject({ state: 'valid', daysLeft: 1096 });
    expect(renewalDate(created, new Date(created.getTime() + 999))).toBeUndefined();
  });

  it('sync says so at most once a week', () => {
    const now = new Date(expires.getTime() - 60 * DAY);
    const lifetime = keyLifetime(created, undefined, now);
    expect(syncReminderDue(lifetime, undefined, now)).toBe(true);
    expect(syncReminderDue(lifetime, now, new Date(now.getTime() + 6 * DAY))).toBe(false);
    expect(syncReminderDue(lifetime, now, new Date(now.getTime() + 7 * DAY))).toBe(true);
    expect(syncReminderDue(keyLifetime(created, undefined, created), undefined, created)).toBe(false);
  });
});

describe('a real stick three years ahead (services, clock as a parameter)', () => {
  const scratch = temporaryFolder('renew');
  let session: StickSession;
  let created: Date;
  let previousKdf: string | undefined;
  beforeAll(async () => {
    previousKdf = process.env.CALIOP_UNSAFE_TEST_KDF;
    process.env.CALIOP_UNSAFE_TEST_KDF = '1';
    const stick = join(scratch.path, 'ana');
    mkdirSync(stick);
    const init = await initStick(stick, 'Ana', 'ana@caliop.example');
    created = new Date(init.creationDate);
    session = await StickSession.unlock(stickAt(stick, '--stick'), PASSPHRASE);
  });
  afterAll(() => {
    if (previousKdf === undefined) delete process.env.CALIOP_UNSAFE_TEST_KDF;
    else process.env.CALIOP_UNSAFE_TEST_KDF = previousKdf;
    scratch.remove();
  });
  const at = (days: number) => new Date(created.getTime() + days * DAY);

  it('reminds 90 days before expiry, once a week; refuses to send after it, with the reason and the remedy', async () => {
    expect(await keyReminder(session, at(900))).toBeUndefined();
    expect(await keyReminder(session, at(1020))).toMatchObject({ state: 'renew-soon', daysLeft: 76 });
    expect(await keyReminder(session, at(1021))).toBeUndefined(); // said yesterday
    expect(await keyReminder(session, at(1027))).toMatchObject({ state: 'renew-soon', daysLeft: 69 });
    expect(() => assertOwnKeyUsable(session, at(1095))).not.toThrow();

    const random = (length: number) => new Uint8Array(length);
    const refused = await sendMessage(session, { to: ['bob@caliop.example'], subject: 's', body: 'b', now: at(1097), random }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isCaliopError(refused, 'key_expired'), String(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/^your key expired on \d{4}-\d\d-\d\d; nothing was signed or sent$/);
    expect(await keyReminder(session, at(1097))).toMatchObject({ state: 'expired' });
  });

  it('a renewal after expiry: same fingerprint, openpgp.js sees the new expiry at that date, sending is allowed again', async () => {
    const before = (await session.identity()).fingerprint;
    const report = await renewKey(session, at(1100));
    expect(report).toMatchObject({ published: false, fingerprint: before });
    expect(new Date(report.expiresAt).getTime()).toBe(new Date(report.renewedAt).getTime() + SUBKEY_VALIDITY_SECONDS * 1000);
    const identity = await session.identity();
    const encryption = await identity.publicKey.getEncryptionKey(undefined, at(1100));
    expect((await encryption.getExpirationTime(at(1100)) as Date).toISOString()).toBe(report.expiresAt);
    expect(() => assertOwnKeyUsable(session, at(1100))).not.toThrow();
    // After a revocation nothing is signed, and the certificate says why.
    const revoked = await revokeKey(session, 'superseded', at(1101));
    expect(revoked).toMatchObject({ reason: 'superseded', published: false });
    const cert = await openpgp.readKey({ armoredKey: revoked.armoredCert });
    expect(await cert.isRevoked(undefined, undefined, at(1102))).toBe(true);
    expect(() => assertOwnKeyUsable(session, at(1102))).toThrow(/revoked/);
  });
});
