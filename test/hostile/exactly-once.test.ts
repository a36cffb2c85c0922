// Issue 12, "a message can be delivered twice": `send` killed after the relay made
// the submission durable but before the stick heard of it. A proxy on loopback loses
// the relay's 201 (test/hostile/withholding-proxy.ts) the moment the relay's database
// holds the submission; the test then SIGKILLs `caliop send`, so the stick's outbox
// still holds the message. The next `caliop sync` submits it again with the same
// idempotency key (docs/api.md §8.10, docs/vault-contents.md §4.1): the relay answers
// its first answer again and the recipient gets the message once. Real relay process
// (SQLite, or PostgreSQL in the postgres project), real caliop processes.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initEnrolled, CALIOP_ENTRY, onStick, temporaryFolder, testEnv } from '../helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { databaseNameFor, databaseUrl, TEST_STORE } from '../relay/helpers/test-store.js';
import { startWithholdingProxy, type WithholdingProxy } from './withholding-proxy.js';

const TRIALS = Number(process.env.EXACTLY_ONCE_TRIALS ?? 4);
const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('exactly-once');
let relay: RelayProcess;
let proxy: WithholdingProxy;
let deliveries: () => Promise<number>;
let closeCounter: () => Promise<void>;
const sticks: Record<string, string> = {};

async function enrolledStick(name: string, url: string): Promise<string> {
  const stick = join(scratch.path, name);
  mkdirSync(stick);
  await initEnrolled(stick, name, `${name}@${DOMAIN}`, { url, pin: relay.pin });
  sticks[name] = stick;
  return stick;
}

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0 });
  proxy = await startWithholdingProxy(Number(new URL(relay.url).port));
  // Mailbox entries the relay ever made durable, as its own database counts them
  // (monotonic: bob's acknowledgements delete entries, not the counter).
  if (TEST_STORE === 'postgres') {
    const client = new pg.Client({ connectionString: databaseUrl(databaseNameFor(relay.dataDir)) });
    await client.connect();
    deliveries = async () => Number((await client.query<{ n: string }>('SELECT coalesce(sum(mailbox_seq), 0) AS n FROM accounts')).rows[0]!.n);
    closeCounter = () => client.end();
  } else {
    const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true, fileMustExist: true });
    const sequence = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'mailbox'");
    deliveries = async () => (sequence.get() as { seq: number } | undefined)?.seq ?? 0;
    closeCounter = async () => {
      db.close();
    };
  }
  const throughProxy = relay.url.replace(/:\d+(\/?)$/, `:${proxy.port}$1`);
  await Promise.all([enrolledStick('alice', throughProxy), enrolledStick('bob', relay.url)]);
});

afterAll(async () => {
  await closeCounter?.();
  await proxy?.close();
  await relay?.dispose();
  scratch.remove();
});

it(`send killed after the relay committed, before the stick recorded it: the retry delivers once (${TRIALS} trials)`, async () => {
  let killedInWindow = 0;
  let replayed = 0;
  for (let trial = 0; trial < TRIALS; trial += 1) {
    const before = await deliveries();
    const withheld = proxy.arm(async () => (await deliveries()) > before);
    const child = spawn(process.execPath, [CALIOP_ENTRY, '--stick', sticks.alice!, '--passphrase-file', '@ENV:TEST_PASSPHRASE', 'send', '--to', `bob@${DOMAIN}`, '--subject', `trial ${trial}`], {
      env: testEnv(),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin!.end(`body of trial ${trial}\n`);
    const exited = once(child, 'exit');
    const first = await Promise.race([withheld.then(() => 'withheld' as const), exited.then(() => 'exited' as const)]);
    expect(first, `send finished before its answer was withheld: ${stderr}`).toBe('withheld');
    child.kill('SIGKILL');
    const [code, signal] = (await exited) as [number | null, string | null];
    proxy.disarm();
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    expect(await deliveries()).toBe(before + 1); // the relay holds it…
    const outbox = await onStick(sticks.alice!, ['--json', 'outbox']);
    expect(outbox.status, outbox.stderr).toBe(0);
    const waiting = JSON.parse(outbox.stdout) as Array<{ subject: string }>;
    expect(waiting.map((item) => item.subject)).toEqual([`trial ${trial}`]); // …and the stick does not know it
    killedInWindow += 1;

    const synced = await onStick(sticks.alice!, ['--json', 'sync']);
    expect(synced.status, synced.stderr).toBe(0);
    expect(JSON.parse(synced.stdout)).toMatchObject({ sent: 1, queued: 0 });
    expect(await deliveries()).toBe(before + 1); // the retry was answered, not delivered again
    replayed += 1;
  }

  const received = await onStick(sticks.bob!, ['--json', 'sync']);
  expect(received.status, received.stderr).toBe(0);
  const inbox = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ subject: string }>;
  const subjects = inbox.map((entry) => entry.subject).sort();
  const expected = Array.from({ length: TRIALS }, (_, trial) => `trial ${trial}`).sort();
  const duplicates = subjects.length - new Set(subjects).size;
  // Alice's sent copies: one per message, none lost.
  const sent = (JSON.parse((await onStick(sticks.alice!, ['--json', 'inbox'])).stdout) as Array<{ subject: string; direction: string }>).filter((entry) => entry.direction === 'out');
  console.log(
    `exactly-once (${TEST_STORE}): ${killedInWindow} sends SIGKILLed after the relay's commit and before the stick's record; ${replayed} retries answered from the key; bob received ${subjects.length}, ${duplicates} twice; alice holds ${sent.length} sent copies`,
  );
  expect(duplicates).toBe(0);
  expect(subjects).toEqual(expected);
  expect(sent.map((entry) => entry.subject).sort()).toEqual(expected);
}, 120_000 + TRIALS * 90_000); // three caliop processes a trial, on a loaded machine
