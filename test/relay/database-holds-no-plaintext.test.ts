// docs/api.md §8.2: the relay stores internal mail only as the sender's ciphertext.
// Encrypt a known body and subject, submit it, and search the SQLite files' bytes.

import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { enrolled, type TestIdentity } from './helpers/test-identity.js';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { ERASE_DELAY_MS } from '../../src/relay/store/relay-store.js';

let relay: RelayProcess;
let alice: { identity: TestIdentity; client: RelayClient };
let bob: { identity: TestIdentity; client: RelayClient };

beforeAll(async () => {
  relay = await startRelayProcess();
  [alice, bob] = await Promise.all([enrolled(relay, 'alice'), enrolled(relay, 'bob')]);
});
afterAll(async () => {
  alice?.client.close();
  bob?.client.close();
  await relay?.dispose();
});

function databaseBytes(): Buffer {
  const files = readdirSync(relay.dataDir).filter((name) => name.startsWith('relay.sqlite'));
  expect(files).toContain('relay.sqlite');
  return Buffer.concat(files.map((name) => readFileSync(join(relay.dataDir, name))));
}

it('plaintext_at_rest: neither the body nor the subject is anywhere in relay.sqlite, -wal or -shm', async () => {
  const subject = 'Subject: quarterly-secret-7Q2X';
  const body = 'The meeting point is the old bakery at dawn, ZEBRA-4471.';
  // Protected headers travel inside the encrypted payload (issue 3).
  const plaintext = `${subject}\r\nFrom: ${alice.identity.address}\r\n\r\n${body}\r\n`;
  const armoredMessage = (await openpgp.encrypt({
    message: await openpgp.createMessage({ text: plaintext }),
    encryptionKeys: await openpgp.readKey({ armoredKey: bob.identity.armoredCert }),
    signingKeys: alice.identity.privateKey,
  })) as string;
  for (let i = 0; i < 3; i++) await alice.client.submit({ to: [bob.identity.address], armoredMessage });
  expect((await bob.client.list()).messages).toHaveLength(3);

  const bytes = databaseBytes();
  expect(existsSync(join(relay.dataDir, 'relay.sqlite-wal'))).toBe(true);
  // The ciphertext is there (the search is not vacuous)...
  expect(bytes.includes(Buffer.from(armoredMessage.split('\n')[3]!))).toBe(true);
  // ...and the plaintext is not, in any common encoding.
  for (const needle of ['ZEBRA-4471', 'old bakery', 'quarterly-secret-7Q2X']) {
    for (const encoding of ['utf8', 'utf16le'] as const) expect(bytes.includes(Buffer.from(needle, encoding))).toBe(false);
    expect(bytes.includes(Buffer.from(Buffer.from(needle).toString('base64').slice(0, 12)))).toBe(false);
  }
});

it('deleted ciphertext does not linger in the database files (secure_delete)', async () => {
  const page = await bob.client.list();
  const marker = (await bob.client.fetch(page.messages[0]!.id)).armoredMessage.split('\n')[4]!;
  for (const message of page.messages) await bob.client.delete(message.id);
  // docs/api.md §8.2: erased from the database files within ERASE_DELAY_MS.
  await new Promise((resolve) => setTimeout(resolve, ERASE_DELAY_MS + 500));
  expect(databaseBytes().includes(Buffer.from(marker))).toBe(false);
});

it('relay_crash: an accepted message survives SIGKILL of the relay', async () => {
  const { startRelayProcess: start } = await import('./helpers/relay-process.js');
  const { encryptTo, clientFor } = await import('./helpers/test-identity.js');
  const armoredMessage = await encryptTo('survives a crash', [bob.identity]);
  const { id } = await alice.client.submit({ to: [bob.identity.address], armoredMessage });
  expect(id).toBeTruthy();
  relay.child.kill('SIGKILL');
  await relay.stop();
  const restarted = await start({ dataDir: relay.dataDir });
  const bobAgain = clientFor(restarted, bob.identity);
  try {
    const page = await bobAgain.list();
    expect(page.messages).toHaveLength(1);
    expect((await bobAgain.fetch(page.messages[0]!.id)).armoredMessage).toBe(armoredMessage);
  } finally {
    bobAgain.close();
    await restarted.stop();
  }
});
