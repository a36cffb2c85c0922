// Several sticks for one address (issue 15; docs/api.md §6.4-§6.5, docs/cli.md §3.18):
// real `caliop` processes on two sticks of one person and the real relay on loopback.
// The second stick is made by `caliop recover` from the recovery sheet and enrolled as
// another device; both receive the same message; the first is revoked from the second
// and refused at once.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ERROR_TABLE } from '../src/errors.js';
import { initEnrolled as initEnrolledStick, onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('devices');
const DOMAIN = 'caliop.example';
let relay: RelayProcess;
let first: string;
let second: string;
let bob: string;

async function initEnrolled(name: string): Promise<{ stick: string; init: InitResult }> {
  const stick = join(scratch.path, name);
  mkdirSync(stick);
  return { stick, init: await initEnrolledStick(stick, name, `${name}@${DOMAIN}`, relay) };
}

async function json<T>(stick: string, args: string[], input?: string): Promise<T> {
  const run = await onStick(stick, ['--json', ...args], input === undefined ? {} : { input });
  expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as T;
}

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0 });
  const [alice, bobStick] = await Promise.all([initEnrolled('alice'), initEnrolled('bob')]);
  first = alice.stick;
  bob = bobStick.stick;
  // The spare: rebuilt from the recovery sheet, then enrolled as another device of alice.
  second = join(scratch.path, 'alice-spare');
  mkdirSync(second);
  const sheet = join(scratch.path, 'sheet.txt');
  writeFileSync(sheet, alice.init.recoverySheet);
  const recovered = await onStick(second, ['--batch', '--json', 'recover', '--phrase-file', sheet, '--allow-online']);
  expect(recovered.status, recovered.stderr).toBe(0);
  expect(JSON.parse(recovered.stdout).fingerprint).toBe(alice.init.fingerprint);
}, 600_000); // several real caliop processes (Argon2 included) on a machine shared by eight suites

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

it('a recovered stick enrols as another device; both sticks receive the same message; devices lists both', async () => {
  const enrolled = await json<{ address: string; deviceName: string }>(second, ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!, '--device-name', 'home-spare']);
  expect(enrolled).toMatchObject({ address: `alice@${DOMAIN}`, deviceName: 'home-spare' });

  expect(await json(bob, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'Pour vous deux'], 'Le même message sur chaque clé.\n')).toMatchObject({ queued: false });
  for (const stick of [first, second]) {
    expect(await json(stick, ['sync'])).toMatchObject({ received: 1 });
    const inbox = await json<Array<{ id: string; subject: string; signature: string }>>(stick, ['inbox']);
    expect(inbox).toEqual([expect.objectContaining({ subject: 'Pour vous deux', signature: 'good' })]);
    expect(await json(stick, ['read', inbox[0]!.id])).toMatchObject({ body: 'Le même message sur chaque clé.\n' });
  }
  // Fetched by both: nothing left for either.
  expect(await json(first, ['sync'])).toMatchObject({ received: 0 });

  const listed = await json<{ devices: Array<{ name: string; current: boolean; revokedAt: string | null; lastSeenAt: string | null; enrolledAt: string }> }>(second, ['devices']);
  expect(listed.devices.map((device) => [device.name, device.current, device.revokedAt])).toEqual([
    ['stick-1', false, null],
    ['home-spare', true, null],
  ]);
  expect(listed.devices.every((device) => device.lastSeenAt !== null)).toBe(true);
  const text = await onStick(first, ['devices']);
  expect(text.status, text.stderr).toBe(0);
  expect(text.stdout).toMatch(/^NAME\s+ENROLLED\s+LAST SEEN\s+STATE\n/);
  expect(text.stdout).toMatch(/stick-1 .* this stick\n/);
  expect(text.stdout).toMatch(/home-spare .* active\n/);
}, 600_000);

it('the lost stick is revoked from the spare and refused at once; the spare goes on alone', async () => {
  const self = await onStick(second, ['devices', 'revoke', 'home-spare']);
  expect(self.status).toBe(ERROR_TABLE.device_revoke_refused.exit);
  expect(self.stderr).toMatch(/^caliop: error: .*cannot revoke itself/m);
  const unknown = await onStick(second, ['devices', 'revoke', 'no-such-stick']);
  expect(unknown.status).toBe(ERROR_TABLE.device_not_found.exit);
  expect(unknown.stderr).toContain('caliop: hint: run "caliop devices" to see the names');

  expect(await json(second, ['devices', 'revoke', 'stick-1'])).toMatchObject({ name: 'stick-1', revokedAt: expect.any(String) });
  for (const args of [['sync'], ['devices'], ['devices', 'revoke', 'home-spare']]) {
    const refused = await onStick(first, args);
    expect(refused.status, `${args.join(' ')}: ${refused.stderr}`).toBe(ERROR_TABLE.device_revoked.exit);
    expect(refused.stderr).toMatch(/^caliop: error: this device \(stick-1\) was revoked on \d{4}-\d\d-\d\d/m);
    expect(refused.stderr).toMatch(/^caliop: hint: /m);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack without --debug
  }
  const again = await onStick(second, ['devices', 'revoke', 'stick-1']);
  expect(again.status).toBe(ERROR_TABLE.device_revoke_refused.exit);

  expect(await json(bob, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'Après la perte'], 'Seulement la clé de secours.\n')).toMatchObject({ queued: false });
  expect(await json(second, ['sync'])).toMatchObject({ received: 1 });
  // Nothing waits for the revoked stick.
  expect(await json(second, ['sync'])).toMatchObject({ received: 0 });
  const listed = await json<{ devices: Array<{ name: string; revokedAt: string | null }> }>(second, ['devices']);
  expect(listed.devices.find((device) => device.name === 'stick-1')!.revokedAt).not.toBeNull();
}, 600_000);
