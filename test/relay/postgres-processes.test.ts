// Issue 14: several relay processes on one PostgreSQL. A burst of submissions
// alternates between two processes, one is killed with SIGKILL mid-burst: every
// accepted (201) message is in the mailbox exactly once, nothing is duplicated,
// and a signed request replayed at the other process is refused.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, signedHeaders } from './helpers/raw-request.js';
import { execFile } from 'node:child_process';
import { RELAY_MAIN, startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { clientFor, encryptTo, enrolled, enrolmentProof, type TestIdentity } from './helpers/test-identity.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { failure, relayCode } from './helpers/relay-errors.js';
import { dropDatabase, ensureDatabase, POSTGRES_URL } from './helpers/test-store.js';
import { sharedDkimArgs } from './helpers/shared-dkim.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import type { RelayClient } from '../../src/edges/relay-client.js';

const DATABASE = `caliop_test_processes_${process.pid}`;

/** caliop-relay run to its end (a refusal at start), with a bound. */
function runRelay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RELAY_MAIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}
const BURST = 60;
const relays: RelayProcess[] = [];
let storeUrl: string;
let keys: TemporaryFolder;
let dkimArgs: string[];

async function relay(): Promise<RelayProcess> {
  // One database for both processes (given by --store), not one each: store 'sqlite' keeps the helper from making its own.
  // docs/gateway.md §4.6: one DKIM key for every process of the store.
  const started = await startRelayProcess({ store: 'sqlite', extraArgs: ['--store', storeUrl, '--rate-burst', '1000', ...dkimArgs] });
  relays.push(started);
  return started;
}

describe.skipIf(POSTGRES_URL === undefined)('two relay processes on one PostgreSQL', () => {
  let a: RelayProcess;
  let b: RelayProcess;
  let alice: { identity: TestIdentity; client: RelayClient };
  let bob: { identity: TestIdentity; client: RelayClient };

  beforeAll(async () => {
    storeUrl = await ensureDatabase(DATABASE);
    keys = temporaryFolder('processes-dkim');
    dkimArgs = sharedDkimArgs(keys.path);
    // Both start (and migrate) at once: the migration lock makes that safe.
    [a, b] = await Promise.all([relay(), relay()]);
    alice = await enrolled(a, 'alice');
    bob = await enrolled(b, 'bob');
  });
  afterAll(async () => {
    alice?.client.close();
    bob?.client.close();
    for (const started of relays) await started.dispose();
    if (POSTGRES_URL !== undefined) await dropDatabase(DATABASE);
    keys?.remove();
  });

  it('a third process with another DKIM key under the same selector does not start (exit 1, both keys named); with the shared key it does', async () => {
    const folder = temporaryFolder('processes-third');
    try {
      const args = ['--data', folder.path, '--listen', '127.0.0.1:0', '--domain', 'example.test', '--insecure-http', '--store', storeUrl];
      const refused = await runRelay([...args, ...sharedDkimArgs(folder.path)]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^caliop-relay: error: this relay's DKIM key for selector shared \(.*dkim-shared\.pem\) is not the key the relays of this store sign with under that selector since \d{4}-/m);
      expect(refused.stderr).toMatch(/^caliop-relay: hint: give every relay process the same --dkim-key FILE --dkim-selector S/m);
      expect(refused.stdout).toBe('');
      const third = await relay();
      const client = clientFor(third, bob.identity);
      expect((await client.list()).messages).toEqual(expect.any(Array));
      client.close();
    } finally {
      folder.remove();
    }
  }, 60_000);

  it('an account enrolled at one process is known at the other; a replayed request is refused across processes', async () => {
    const path = '/v1/messages';
    const headers = signedHeaders(bob.identity.deviceSecretKey, 'example.test', { method: 'GET', path });
    const first = await rawRequest(a.url, { method: 'GET', path, headers });
    expect(first.status).toBe(200);
    const replayed = await rawRequest(b.url, { method: 'GET', path, headers });
    expect([replayed.status, (replayed.json as { error: { code: string } }).error.code]).toEqual([401, 'replayed_nonce']);
    // And the same the other way round, for a submission.
    const body = JSON.stringify({ to: [bob.identity.address], armoredMessage: await encryptTo('replayed?', [bob.identity]) });
    const postHeaders = { 'content-type': 'application/json', ...signedHeaders(alice.identity.deviceSecretKey, 'example.test', { method: 'POST', path, body }) };
    expect((await rawRequest(b.url, { method: 'POST', path, body, headers: postHeaders })).status).toBe(201);
    const again = await rawRequest(a.url, { method: 'POST', path, body, headers: postHeaders });
    expect([again.status, (again.json as { error: { code: string } }).error.code]).toEqual([401, 'replayed_nonce']);
    const page = await bob.client.list();
    expect(page.messages).toHaveLength(1);
    await bob.client.delete(page.messages[0]!.id);
  });

  it('a device revoked at one process is refused by the other on its very next request (no stale device row in either)', async () => {
    const deviceSecretKey = ed25519.utils.randomSecretKey();
    const second = { ...bob.identity, deviceSecretKey, devicePublicKey: ed25519.getPublicKey(deviceSecretKey) };
    const atB = clientFor(b, second);
    const atA = clientFor(a, second);
    try {
      await atA.enrol({ address: second.address, armoredCert: second.armoredCert, proofSignature: await enrolmentProof(second, a.domain), deviceName: 'spare' });
      // Both processes have served this device (and so read its row) just before.
      await atB.list();
      await atA.list();
      await atB.list();
      await bob.client.revokeDevice('spare'); // bob's first device, at B
      expect(relayCode(await failure(atA.list()))).toBe('device_revoked');
      expect(relayCode(await failure(atB.list()))).toBe('device_revoked');
    } finally {
      atA.close();
      atB.close();
    }
  });

  it('SIGKILL of one process mid-burst: no accepted message lost, none duplicated', async () => {
    const texts = Array.from({ length: BURST }, (_, index) => `burst message ${index}`);
    const ciphertexts = await Promise.all(texts.map((text) => encryptTo(text, [bob.identity])));
    const senders = [clientFor(a, alice.identity), clientFor(b, alice.identity)];
    const accepted = new Set<number>();
    const refused = new Set<number>();
    let killed = false;
    // Four submissions in flight at a time, alternating between the processes.
    let next = 0;
    const worker = async () => {
      while (next < BURST) {
        const index = next++;
        // Kill B once a third of the burst is accepted (its in-flight requests die with it).
        if (!killed && accepted.size >= BURST / 3) {
          killed = true;
          b.child.kill('SIGKILL');
        }
        try {
          await senders[index % 2]!.submit({ to: [bob.identity.address], armoredMessage: ciphertexts[index]! });
          accepted.add(index);
        } catch {
          refused.add(index);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    for (const sender of senders) sender.close();
    expect(killed).toBe(true);
    expect(accepted.size + refused.size).toBe(BURST);
    // Everything sent to A is accepted; sends to B after the kill are refused.
    expect(refused.size).toBeGreaterThan(0);
    for (const index of refused) expect(index % 2).toBe(1);

    // Read the mailbox through A (the survivor).
    const reader = clientFor(a, bob.identity);
    const seen = new Map<string, number>();
    let after: string | undefined;
    for (;;) {
      const page = await reader.list(after === undefined ? {} : { after });
      for (const summary of page.messages) {
        const message = await reader.fetch(summary.id);
        seen.set(message.armoredMessage, (seen.get(message.armoredMessage) ?? 0) + 1);
      }
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    reader.close();
    for (const index of accepted) expect(seen.get(ciphertexts[index]!), `accepted message ${index}`).toBe(1);
    for (const count of seen.values()) expect(count).toBe(1);
    // Nothing but the burst is there, and refused ones appear at most once (one may have committed as B died).
    expect([...seen.keys()].every((armored) => ciphertexts.includes(armored))).toBe(true);
    expect(seen.size).toBeLessThanOrEqual(accepted.size + 4);
  });
});
