// Two sticks exchange mail through the real relay process on loopback, driven by
// real `caliop` processes (issue 3, "What it must show").
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('mail');
const DOMAIN = 'caliop.example';
let relay: RelayProcess;
const sticks: Record<string, string> = {};
const identities: Record<string, InitResult> = {};

async function enrolledStick(name: string): Promise<string> {
  const stick = join(scratch.path, name);
  mkdirSync(stick);
  const run = await onStick(stick, [
    '--batch', '--json', 'init', '--name', name, '--email', `${name}@${DOMAIN}`, '--allow-online', '--server', relay.url, '--server-pin', relay.pin!,
  ]);
  expect(run.status, run.stderr).toBe(0);
  const result = JSON.parse(run.stdout) as InitResult & { relay: { address: string } };
  expect(result.relay.address).toBe(`${name}@${DOMAIN}`);
  sticks[name] = stick;
  identities[name] = result;
  return stick;
}

async function inbox(name: string) {
  const run = await onStick(sticks[name]!, ['--json', 'inbox']);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Array<{
    id: string; from: string; subject: string; signature: string; senderKey: string; direction: string; unread: boolean;
    exposure: { level: string; score: number; reasons: Array<{ code: string; vouchedBy: string }> };
  }>;
}

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0 });
  await Promise.all(['alice', 'bob', 'carol'].map(enrolledStick));
});

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

describe('send, sync, inbox, read', () => {
  it('alice sends, bob syncs and reads: protected subject, good signature, sender pinned on first use', async () => {
    const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'Rendez-vous secret'], { input: 'Samedi, 10 h, sous le grand chêne.\n' });
    expect(sent.status, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ queued: false, recipients: [{ address: `bob@${DOMAIN}`, fingerprint: identities.bob!.fingerprint, source: 'relay-directory' }] });

    const synced = await onStick(sticks.bob!, ['--json', 'sync']);
    expect(JSON.parse(synced.stdout)).toMatchObject({ received: 1, sent: 0, queued: 0 });
    const list = await inbox('bob');
    expect(list).toEqual([expect.objectContaining({ from: `alice <alice@${DOMAIN}>`, subject: 'Rendez-vous secret', signature: 'good', senderKey: 'unverified', unread: true })]);

    const read = await onStick(sticks.bob!, ['--json', 'read', list[0]!.id]);
    expect(JSON.parse(read.stdout)).toMatchObject({ body: 'Samedi, 10 h, sous le grand chêne.\n', protectedHeaders: true, signature: 'good', relayFacts: { route: 'internal', submittedBy: `alice@${DOMAIN}` } });
    expect((await inbox('bob'))[0]!.unread).toBe(false);
    // docs/exposure.md: internal, signed, key trusted on first use.
    const { exposure } = (await inbox('bob'))[0]!;
    expect(exposure.level).toBe('e2e-tofu');
    expect(exposure.score).toBeGreaterThanOrEqual(75);
    expect(exposure.reasons.map((reason) => reason.code)).toEqual(expect.arrayContaining(['sender-key-tofu', 'payload-encrypted', 'signature-valid', 'headers-protected', 'route-internal']));
    expect(exposure.reasons.find((reason) => reason.code === 'route-internal')!.vouchedBy).toBe('relay');

    // The relay kept nothing once bob's vault held it.
    const again = await onStick(sticks.bob!, ['--json', 'sync']);
    expect(JSON.parse(again.stdout)).toMatchObject({ received: 0 });
    // Alice keeps a sent copy, readable by her.
    const aliceList = await inbox('alice');
    expect(aliceList).toEqual([expect.objectContaining({ direction: 'out', subject: 'Rendez-vous secret', signature: 'good', senderKey: 'self' })]);
  });

  it('in-person verification shows on the next read: the index moves to e2e-verified', async () => {
    await onStick(sticks.bob!, ['contacts', 'verify', `alice@${DOMAIN}`, '--fingerprint', identities.alice!.fingerprint]);
    const [entry] = await inbox('bob');
    expect(entry!.senderKey).toBe('verified');
    expect(entry!.exposure.level).toBe('e2e-verified');
    const text = await onStick(sticks.bob!, ['read', entry!.id]);
    expect(text.stdout).toMatch(/^Exposure: +#### /m);
    expect(text.stdout).toMatch(/checked by your stick/);
    expect(text.stdout).toMatch(/seen by our relay/);
  });

  it('send prints the per-recipient assessment before sending', async () => {
    const sent = await onStick(sticks.bob!, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'merci'], { input: 'merci' });
    expect(sent.status, sent.stderr).toBe(0);
    const lines = sent.stderr.split('\n');
    const assessed = lines.findIndex((line) => line.startsWith(`caliop: to alice@${DOMAIN}: `));
    const done = lines.findIndex((line) => /message \d+ sent/.test(line));
    expect(assessed).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(assessed);
  });

  it('read of an unknown id is exit 38', async () => {
    const run = await onStick(sticks.bob!, ['read', '999']);
    expect(run.status).toBe(38);
  });

  it("the relay's database holds neither the body nor the subject of internal mail", async () => {
    const body = 'Le code de la porte est 7341-XK, ne le répète pas';
    const subject = 'Porte du local associatif';
    const sent = await onStick(sticks.carol!, ['send', '--to', `alice@${DOMAIN}`, '--subject', subject], { input: body });
    expect(sent.status, sent.stderr).toBe(0);
    const database = readdirDatabase(relay.dataDir);
    expect(database.length).toBeGreaterThan(0);
    for (const file of database) {
      const bytes = readFileSync(file);
      for (const needle of [body, subject, '7341-XK', 'Porte du local']) expect(bytes.includes(Buffer.from(needle)), `${needle} in ${file}`).toBe(false);
    }
    // The test can fail: the ciphertext itself is in the database.
    const ciphertexts = new Database(database[0]!, { readonly: true }).prepare('SELECT armored_message FROM messages').all() as Array<{ armored_message: string }>;
    expect(ciphertexts.some((row) => row.armored_message.startsWith('-----BEGIN PGP MESSAGE-----'))).toBe(true);
  });
});

function readdirDatabase(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /\.(sqlite|db)(-wal)?$/.test(name))
    .map((name) => join(dir, name));
}

describe('the outbox', () => {
  it('queues while the relay is down, and sync sends it once the relay is back', async () => {
    await relay.stop();
    const port = new URL(relay.url).port;
    const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'Pendant la panne'], { input: 'Le relais dort.' });
    expect(sent.status, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ queued: true });
    const toSelf = await onStick(sticks.alice!, ['--json', 'send', '--to', `alice@${DOMAIN}`, '--subject', 'note to self'], { input: 'offline note' });
    expect(toSelf.status, toSelf.stderr).toBe(0); // our own cert needs no directory
    expect(JSON.parse(toSelf.stdout)).toMatchObject({ queued: true, exposure: { message: { level: 'e2e-verified' } } });
    const offlineSync = await onStick(sticks.alice!, ['sync']);
    expect(offlineSync.status).toBe(30);
    expect(offlineSync.stderr).toMatch(/^caliop: error: .*relay/m);

    relay = await startRelayProcess({ domain: DOMAIN, dataDir: relay.dataDir, port: Number(port) });
    const flushed = await onStick(sticks.alice!, ['--json', 'sync']);
    expect(JSON.parse(flushed.stdout)).toMatchObject({ sent: 2, queued: 0 });
    await onStick(sticks.bob!, ['sync']);
    expect((await inbox('bob')).map((entry) => entry.subject)).toContain('Pendant la panne');
  });

  it('a first message to an unknown address needs the relay: no cert, no send (17)', async () => {
    const run = await onStick(sticks.alice!, ['send', '--to', `nobody@${DOMAIN}`], { input: 'x' });
    expect(run.status).toBe(17);
  });
});

// Yank safety of sync (kills with mail waiting, and of outbox flushes): test/hostile/pulled-stick.test.ts.

// Last: it leaves the relay serving a forged cert for bob.
describe('a changed cert for a known contact', () => {
  it('stops sending with an explanation when the relay directory serves another key', async () => {
    // A malicious (or compromised) relay swaps bob's cert for another key.
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Mallory', email: `bob@${DOMAIN}` }], format: 'object' });
    const swapped = privateKey.toPublic();
    const db = new Database(readdirDatabase(relay.dataDir)[0]!);
    db.prepare('UPDATE accounts SET cert = ?, cert_fingerprint = ? WHERE address = ?').run(Buffer.from(swapped.write() as Uint8Array), swapped.getFingerprint().toUpperCase(), `bob@${DOMAIN}`);
    db.close();
    const run = await onStick(sticks.alice!, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'x'], { input: 'should not leave' });
    expect(run.status).toBe(18);
    expect(run.stderr).toMatch(/certificate of bob@caliop\.example has changed/);
    const contacts = JSON.parse((await onStick(sticks.alice!, ['--json', 'contacts', 'list'])).stdout);
    expect(contacts).toContainEqual(expect.objectContaining({ address: `bob@${DOMAIN}`, fingerprint: identities.bob!.fingerprint, verification: 'changed' }));
  });
});
