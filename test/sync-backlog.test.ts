// Sync in a few requests (docs/api.md §8.8-§8.9): a backlog of 1,000 waiting
// messages is fetched by pages that carry the ciphertexts and acknowledged a page
// at a time, under the relay's DEFAULT limits (burst 60), by the real relay process
// over HTTPS, and every message lands in the stick's store exactly once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stickAt } from '../src/edges/stick-locator.js';
import { StickSession } from '../src/service/stick-session.js';
import { SqliteRelayStore } from '../src/relay/store/sqlite-store.js';
import { storeBacklog } from './helpers/backlog.js';
import { initEnrolled, onStick, PASSPHRASE, temporaryFolder } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const BACKLOG = 1000;
const scratch = temporaryFolder('sync-backlog');
let relay: RelayProcess;
let stick: string;

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay') }); // default limits
  stick = join(scratch.path, 'ana');
  mkdirSync(stick);
  const ana = await initEnrolled(stick, 'ana', `ana@${DOMAIN}`, relay);
  // The backlog, put straight into the relay's database (submitting 1,000 through the
  // API would itself take minutes under the rate limit): 1 KiB bodies encrypted to ana.
  const cert = await openpgp.readKey({ armoredKey: ana.cert });
  // One ciphertext, 1,000 mailbox entries: the stick stores each entry (its relay id) once.
  const armoredMessage = await openpgp.encrypt({ message: await openpgp.createMessage({ text: `Subject: backlog\n\n${'x'.repeat(1024)}` }), encryptionKeys: cert });
  await storeBacklog(join(scratch.path, 'relay'), { sender: `bob@${DOMAIN}`, recipient: `ana@${DOMAIN}`, count: BACKLOG, armoredMessage: () => armoredMessage });
}, 600_000);

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

it(`a sync of ${BACKLOG} waiting messages succeeds under the default limits, each stored once, the relay emptied`, async () => {
  const synced = await onStick(stick, ['--json', 'sync']);
  expect(synced.status, synced.stderr).toBe(0);
  expect(JSON.parse(synced.stdout)).toMatchObject({ received: BACKLOG });
  // Every request is in the relay's log: pages and acknowledgements, not one per message.
  const session = await StickSession.unlock(stickAt(stick, '--stick'), PASSPHRASE);
  expect(session.store.count).toBe(BACKLOG);
  expect(new Set((await session.store.entries()).map((entry) => entry.relayId)).size).toBe(BACKLOG);
  const store = await SqliteRelayStore.open(join(scratch.path, 'relay', 'relay.sqlite'));
  try {
    expect(await store.listMailbox(`ana@${DOMAIN}`, 0, 10)).toEqual([]);
  } finally {
    await store.close();
  }
  // A second sync finds nothing and stores nothing twice.
  const again = await onStick(stick, ['--json', 'sync']);
  expect(again.status, again.stderr).toBe(0);
  expect(JSON.parse(again.stdout)).toMatchObject({ received: 0 });
}, 600_000);
