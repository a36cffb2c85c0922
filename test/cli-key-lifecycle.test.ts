// Renewal and revocation between two real sticks through the real relay (issue 15;
// docs/ceremony.md §6.6-§6.7, docs/api.md §7.3, docs/vault-contents.md §3.3): a renewal
// made on one stick is seen by a contact as the same key with the new expiry, and by
// gpg after importing the updated cert; a revoked key stops the contact's `send`, with
// the reason.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ERROR_TABLE } from '../src/errors.js';
import { RelayClient } from '../src/edges/relay-client.js';
import { stickAt } from '../src/edges/stick-locator.js';
import { StickSession } from '../src/service/stick-session.js';
import { initEnrolled, onStick, PASSPHRASE, temporaryFolder } from './helpers/caliop.js';
import { makeGpg } from './helpers/gpg.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('key-lifecycle');
const DOMAIN = 'caliop.example';
let relay: RelayProcess;
const sticks: Record<string, string> = {};
let aliceFingerprint: string;

async function json<T>(stick: string, args: string[], input?: string): Promise<T> {
  const run = await onStick(stick, ['--json', ...args], input === undefined ? {} : { input });
  expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as T;
}

const peer = makeGpg(scratch.path, { env: { LC_ALL: 'C' } });
const gpg = peer.spawn;

/** gpg's expiry of the encryption subkey (field 7 of the `sub` line with usage e), Unix seconds. */
function gpgEncryptionExpiry(): number {
  const listing = gpg(['--with-colons', '--list-keys', aliceFingerprint]).stdout.toString().split('\n');
  const sub = listing.find((line) => line.startsWith('sub:') && line.split(':')[11]?.includes('e'));
  return Number(sub!.split(':')[6]);
}

/** GET /v1/certs/alice@… over the pinned connection (any device key may read the public directory). */
async function directoryCert(): Promise<string> {
  const client = new RelayClient({ url: relay.url, pin: relay.pin, deviceSecretKey: new Uint8Array(32).fill(7) });
  try {
    return (await client.lookupCert(`alice@${DOMAIN}`))!;
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0 });
  await Promise.all(
    ['alice', 'bob', 'carol'].map(async (name) => {
      const stick = join(scratch.path, name);
      mkdirSync(stick);
      const init = await initEnrolled(stick, name, `${name}@${DOMAIN}`, relay);
      sticks[name] = stick;
      if (name === 'alice') aliceFingerprint = init.fingerprint;
    }),
  );
  // Bob knows alice's key before the renewal (pinned on first use), and so does gpg.
  for (const name of ['bob', 'carol']) {
    expect(await json(sticks[name]!, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'avant'], 'premier message\n')).toMatchObject({ queued: false });
  }
  const exported = await onStick(sticks.alice!, ['key', 'export']);
  expect(gpg(['--import'], exported.stdout).status).toBe(0);
}, 600_000); // several real caliop processes (Argon2 included) on a machine shared by eight suites

afterAll(async () => {
  peer.kill();
  await relay?.stop();
  scratch.remove();
});

it('a renewal on alice\'s stick reaches bob as the same key with the new expiry, and gpg sees it after import', async () => {
  const shown = await json<{ lifetime: { state: string; expiresAt: string } }>(sticks.alice!, ['key', 'show']);
  expect(shown.lifetime.state).toBe('valid');
  const gpgBefore = gpgEncryptionExpiry();
  expect(gpgBefore * 1000).toBe(new Date(shown.lifetime.expiresAt).getTime());

  const renewed = await json<{ renewedAt: string; expiresAt: string; published: boolean; fingerprint: string }>(sticks.alice!, ['key', 'renew']);
  expect(renewed).toMatchObject({ published: true, fingerprint: aliceFingerprint });
  expect(new Date(renewed.expiresAt).getTime()).toBeGreaterThan(new Date(shown.lifetime.expiresAt).getTime());

  // Bob's next sync merges it: the same contact, the same fingerprint, no key change; sending works.
  expect(await json(sticks.bob!, ['sync'])).toMatchObject({ revokedContacts: [] });
  const contacts = await json<Array<{ address: string; fingerprint: string; verification: string; changedFingerprint: string | null; certState: string }>>(sticks.bob!, ['contacts', 'list']);
  expect(contacts).toEqual([expect.objectContaining({ address: `alice@${DOMAIN}`, fingerprint: aliceFingerprint, verification: 'unverified', changedFingerprint: null, certState: 'usable' })]);
  const bob = await StickSession.unlock(stickAt(sticks.bob!, '--stick'), PASSPHRASE);
  const held = await openpgp.readKey({ armoredKey: bob.contents.contacts[0]!.armoredCert });
  expect(((await held.getExpirationTime()) as Date | number) ?? null).toBe(Infinity); // the primary key never expires
  const encryption = await held.getEncryptionKey();
  expect(((await encryption.getExpirationTime()) as Date).toISOString()).toBe(renewed.expiresAt);
  expect(await json(sticks.bob!, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'après'], 'toujours la même clé\n')).toMatchObject({ queued: false });

  // gpg, holding the old cert, imports the directory's copy: the same key, the new expiry.
  const imported = gpg(['--import'], await directoryCert());
  expect(imported.status, imported.stderr).toBe(0);
  expect(imported.stderr).toMatch(/new signatures|not changed/);
  expect(gpgEncryptionExpiry() * 1000).toBe(new Date(renewed.expiresAt).getTime());
}, 600_000);

it('alice revokes her key (compromised): carol learns it on her next sync, and sends to it stop with the reason', async () => {
  expect(await json(sticks.alice!, ['key', 'revoke', '--reason', 'compromised'])).toMatchObject({ reason: 'compromised', published: true });
  const own = await onStick(sticks.alice!, ['send', '--to', `bob@${DOMAIN}`, '--subject', 's'], { input: 'x\n' });
  expect(own.status).toBe(ERROR_TABLE.key_revoked.exit);

  const synced = await json<{ revokedContacts: Array<{ address: string; reason: string }> }>(sticks.carol!, ['sync']);
  expect(synced.revokedContacts).toEqual([expect.objectContaining({ address: `alice@${DOMAIN}`, reason: 'compromised: this key may be known to someone else' })]);
  const text = await onStick(sticks.carol!, ['sync']);
  expect(text.status, text.stderr).toBe(0);
  const carolSend = await onStick(sticks.carol!, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'encore'], { input: 'plus rien\n' });
  expect(carolSend.status, carolSend.stderr).toBe(ERROR_TABLE.contact_key_revoked.exit);

  // The daily refresh already ran today: the send itself merges the directory's copy.
  const refused = await onStick(sticks.bob!, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'encore'], { input: 'plus rien\n' });
  expect(refused.status, refused.stderr).toBe(ERROR_TABLE.contact_key_revoked.exit);
  expect(refused.stderr).toMatch(/^caliop: error: alice@caliop\.example revoked their key on \d{4}-\d\d-\d\d: compromised: this key may be known to someone else\. Nothing was sent\.$/m);
  expect(refused.stderr).toMatch(/^caliop: hint: nothing was sent; ask your contact for their new key/m);
  const contacts = await json<Array<{ certState: string }>>(sticks.bob!, ['contacts', 'list']);
  expect(contacts[0]!.certState).toBe('revoked');
  // The relay refuses to serve the key unrevoked again.
  const renewAgain = await onStick(sticks.alice!, ['key', 'renew']);
  expect(renewAgain.status).toBe(ERROR_TABLE.key_revoked.exit);
}, 600_000);
