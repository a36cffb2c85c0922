// A key that changes and a key that is renewed, across sticks, through the real relay on
// loopback and real `caliop` processes (issue 15):
// - a new ceremony for an enrolled address (docs/lost-stick.md §4, docs/api.md §6.6-§7.1):
//   refused until the operator's `caliop-relay key-reset` names the new key; then the old
//   sticks are refused, the directory announces both certificates and the date, contacts
//   get the changed-key alarm (sync warns once, send stops with exit 18 naming the date),
//   and mail to the address resumes only after `contacts verify --words` or `contacts accept`;
// - a stick rebuilt from the recovery sheet reaches the renewal made on another stick
//   (docs/ceremony.md §6.6): at `relay enrol`, then at `sync` for a later renewal.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stickAt } from '../src/edges/stick-locator.js';
import { ERROR_TABLE } from '../src/errors.js';
import { syncMailbox } from '../src/service/mail-sync.js';
import { StickSession } from '../src/service/stick-session.js';
import { initEnrolled, initStick, onStick, PASSPHRASE, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { RELAY_MAIN, startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('key-change');
const DOMAIN = 'caliop.example';
const ALICE = `alice@${DOMAIN}`;
let relay: RelayProcess;
const sticks: Record<string, string> = {};
const inits: Record<string, InitResult> = {};

async function json<T>(stick: string, args: string[], input?: string): Promise<T> {
  const run = await onStick(stick, ['--json', ...args], input === undefined ? {} : { input });
  expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as T;
}

async function initOn(name: string, email: string, enrol: boolean): Promise<void> {
  const stick = join(scratch.path, name);
  mkdirSync(stick);
  sticks[name] = stick;
  inits[name] = enrol ? await initEnrolled(stick, name, email, relay) : await initStick(stick, name, email);
}

const enrolArgs = () => ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!];

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0 });
  await Promise.all([
    initOn('alice', ALICE, true),
    initOn('bob', `bob@${DOMAIN}`, true),
    initOn('carol', `carol@${DOMAIN}`, true),
    initOn('dave', `dave@${DOMAIN}`, true),
  ]);
  // Bob and carol know alice's first key (pinned on first use).
  for (const name of ['bob', 'carol']) expect(await json(sticks[name]!, ['send', '--to', ALICE, '--subject', 'avant'], 'première clé\n')).toMatchObject({ queued: false });
}, 600_000); // many real caliop processes on a machine shared by several suites

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

it('a new ceremony for alice\'s address: refused, then allowed by the operator for that key only; contacts see the alarm until they verify the words or accept', async () => {
  const oldFingerprint = inits.alice!.fingerprint;
  // Alice still holds the old key: she retires it first (docs/lost-stick.md §4 step 1).
  expect(await json(sticks.alice!, ['key', 'revoke', '--reason', 'superseded'])).toMatchObject({ published: true });
  // A new ceremony on a fresh stick, for the same address.
  await initOn('alice-new', ALICE, false);
  const fresh = await json<{ fingerprint: string; fingerprintWords: string[] }>(sticks['alice-new']!, ['key', 'show']);
  expect(fresh.fingerprint).not.toBe(oldFingerprint);

  const refused = await onStick(sticks['alice-new']!, enrolArgs());
  expect(refused.status, refused.stderr).toBe(ERROR_TABLE.enrolment_failed.exit);
  expect(refused.stderr).toMatch(/enrolled with another key; a new key takes it only after the relay's operator allows that key/);

  const reset = spawnSync(process.execPath, [RELAY_MAIN, 'key-reset', '--data', relay.dataDir, '--address', ALICE, '--fingerprint', fresh.fingerprint], { encoding: 'utf8' });
  expect(reset.status, reset.stderr).toBe(0);
  const before = Date.now();
  expect(await json(sticks['alice-new']!, enrolArgs())).toMatchObject({ address: ALICE });
  // The old stick is refused from now on.
  const oldStick = await onStick(sticks.alice!, ['devices']);
  expect(oldStick.status, oldStick.stderr).toBe(ERROR_TABLE.device_revoked.exit);

  // Bob's next sync raises the alarm once, with the date the directory announced and the new words.
  const synced = await json<{ changedContacts: Array<{ address: string; fingerprint: string; newFingerprint: string; announcedAt: string | null }> }>(sticks.bob!, ['sync']);
  expect(synced.changedContacts).toEqual([{ address: ALICE, fingerprint: oldFingerprint, newFingerprint: fresh.fingerprint, announcedAt: expect.any(String) }]);
  const announcedAt = synced.changedContacts[0]!.announcedAt!;
  expect(new Date(announcedAt).getTime()).toBeGreaterThanOrEqual(before - 60_000);
  expect(await json(sticks.bob!, ['sync'])).toMatchObject({ changedContacts: [] });
  const listed = await json<Array<{ verification: string; changedFingerprint: string; changeAnnouncedAt: string; certState: string }>>(sticks.bob!, ['contacts', 'list']);
  // The old key, merged with the previous certificate of the announcement, carries alice's revocation.
  expect(listed[0]).toMatchObject({ verification: 'changed', changedFingerprint: fresh.fingerprint, changeAnnouncedAt: announcedAt, certState: 'revoked' });

  // Mail to alice stops (exit 18, with the date) until bob checks the new words in person.
  const stopped = await onStick(sticks.bob!, ['send', '--to', ALICE, '--subject', 'bloqué'], { input: 'non\n' });
  expect(stopped.status, stopped.stderr).toBe(ERROR_TABLE.contact_key_changed.exit);
  expect(stopped.stderr).toContain(`the relay's directory announced a new key on ${announcedAt.slice(0, 10)}`);
  const wrongWords = await onStick(sticks.bob!, ['contacts', 'verify', ALICE, '--words', 'abandon ability able about above absent absorb abstract']);
  expect(wrongWords.status, wrongWords.stderr).toBe(ERROR_TABLE.contact_key_changed.exit);
  expect(await json(sticks.bob!, ['contacts', 'verify', ALICE, '--words', fresh.fingerprintWords.join(' ').toUpperCase()])).toEqual({ address: ALICE, fingerprint: fresh.fingerprint, verification: 'verified' });
  expect(await json(sticks.bob!, ['send', '--to', ALICE, '--subject', 'nouvelle clé'], 'vérifiée en personne\n')).toMatchObject({ queued: false });
  expect(await json(sticks['alice-new']!, ['sync'])).toMatchObject({ received: 3 }); // the two sent to the old key too, which it cannot open
  const inbox = await json<Array<{ subject: string; signature: string }>>(sticks['alice-new']!, ['inbox']);
  expect(inbox).toContainEqual(expect.objectContaining({ subject: 'nouvelle clé', signature: 'good' }));

  // Carol cannot meet alice: her send stops, she accepts the new key unverified, sending resumes.
  const carolStopped = await onStick(sticks.carol!, ['send', '--to', ALICE, '--subject', 'bloqué'], { input: 'non\n' });
  expect(carolStopped.status, carolStopped.stderr).toBe(ERROR_TABLE.contact_key_changed.exit);
  expect(await json(sticks.carol!, ['contacts', 'accept', ALICE])).toEqual({ address: ALICE, fingerprint: fresh.fingerprint, verification: 'unverified' });
  expect(await json(sticks.carol!, ['send', '--to', ALICE, '--subject', 'acceptée'], 'sans rencontre\n')).toMatchObject({ queued: false });
  const again = await onStick(sticks.carol!, ['contacts', 'accept', ALICE]);
  expect(again.status, again.stderr).toBe(ERROR_TABLE.no_key_change.exit);
}, 900_000);

it('a stick rebuilt from the recovery sheet reaches the renewal made on the first stick: at enrolment, then at sync', async () => {
  const renewed = await json<{ renewedAt: string; expiresAt: string }>(sticks.dave!, ['key', 'renew']);
  const spare = join(scratch.path, 'dave-spare');
  mkdirSync(spare);
  const sheet = join(scratch.path, 'dave-sheet.txt');
  writeFileSync(sheet, inits.dave!.recoverySheet);
  const recovered = await onStick(spare, ['--batch', '--json', 'recover', '--phrase-file', sheet, '--allow-online']);
  expect(recovered.status, recovered.stderr).toBe(0);
  // Rebuilt from the sheet alone: the ceremony's bindings, not the renewal.
  const before = await json<{ lifetime: { renewedAt: string | null; expiresAt: string } }>(spare, ['key', 'show']);
  expect(before.lifetime.renewedAt).toBeNull();

  const enrolled = await json<{ renewedAt?: string }>(spare, enrolArgs());
  expect(enrolled.renewedAt).toBe(renewed.renewedAt);
  const after = await json<{ lifetime: { renewedAt: string; expiresAt: string } }>(spare, ['key', 'show']);
  expect(after.lifetime).toMatchObject({ renewedAt: renewed.renewedAt, expiresAt: renewed.expiresAt });
  const exported = async (stick: string) => (await onStick(stick, ['key', 'export'])).stdout;
  expect(await exported(spare)).toBe(await exported(sticks.dave!));

  // A later renewal on the first stick reaches the spare at its next sync.
  let second: { renewedAt: string };
  do second = await json<{ renewedAt: string }>(sticks.dave!, ['key', 'renew']);
  while (second.renewedAt === renewed.renewedAt); // a renewal is dated on the whole second
  expect(await json(spare, ['sync'])).toMatchObject({ renewalAdopted: second.renewedAt });
  expect(await exported(spare)).toBe(await exported(sticks.dave!));
  // Once a day at most: the next sync does not ask again, and says nothing.
  expect(await json(spare, ['sync'])).not.toHaveProperty('renewalAdopted');
}, 900_000);

it('sync says the key expires soon once a week from 90 days before, then that it expired (the services, the clock moved ahead)', async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1'; // the sticks of this suite were sealed with the test KDF
  const session = await StickSession.unlock(stickAt(sticks.carol!, '--stick'), PASSPHRASE);
  const created = new Date(inits.carol!.creationDate).getTime();
  const at = (days: number) => new Date(created + days * 86_400_000);
  const expiresAt = at(1096).toISOString();
  expect((await syncMailbox(session, at(1000))).keyReminder).toBeUndefined();
  expect((await syncMailbox(session, at(1020))).keyReminder).toEqual({ state: 'renew-soon', expiresAt, daysLeft: 76 });
  expect((await syncMailbox(session, at(1021))).keyReminder).toBeUndefined(); // said yesterday
  expect((await syncMailbox(session, at(1027))).keyReminder).toEqual({ state: 'renew-soon', expiresAt, daysLeft: 69 });
  expect((await syncMailbox(session, at(1097))).keyReminder).toMatchObject({ state: 'expired', expiresAt });
}, 600_000);
