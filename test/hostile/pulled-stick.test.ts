// Issue 12, "Pulled stick": at least 200 SIGKILLs at random points during vault writes,
// store writes, `passwd`, outbox flushes and `sync` with mail waiting, on a FAT file
// system mounted through FUSE (test/helpers/fat-stick.ts: Debian's fusefat; the host's
// file system where that cannot be had, and the output says which). After each kill:
// the vault opens, with exactly one of the two passphrases around a `passwd`; no
// message is lost; none is sent or stored twice. docs/vault-format.md §7, docs/store.md §6,
// docs/vault-contents.md §4.1 and §5.2 make these promises.
//
// The killed process (test/hostile/pulled-stick-child.ts) runs the calls `caliop passwd`
// and `caliop sync` run, and says `ready` when the part to be killed starts; the kill
// comes a random delay after that, uniform over the operation's measured length
// (test/helpers/kill-trial.ts). One real relay process (SQLite) serves the whole file;
// alice reaches it through a proxy that can refuse connections, which is how her mail
// waits in the outbox. The checks run in this process, through the same services.

import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNSAFE_TEST_KDF } from '../../src/core/vault-format.js';
import { isCaliopError } from '../../src/errors.js';
import { randomBytes } from '../../src/edges/random.js';
import { createVault, unlockVault } from '../../src/edges/vault-file.js';
import { syncMailbox } from '../../src/service/mail-sync.js';
import { sendMessage } from '../../src/service/mail-send.js';
import { MessageStore } from '../../src/service/message-store.js';
import { stickInFolder } from '../../src/service/stick-lookup.js';
import { StickSession } from '../../src/service/stick-session.js';
import { initEnrolled, initStick, onStick, PASSPHRASE, temporaryFolder, testEnv } from '../helpers/caliop.js';
import { fatStick, type StickFilesystem } from '../helpers/fat-stick.js';
import { KillPoints, killTrial, type KillTrialResult } from '../helpers/kill-trial.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { vaultState } from './pulled-stick-child.js';
import { startWithholdingProxy, type WithholdingProxy } from './withholding-proxy.js';

/** Kills that must land in the middle of each kind of operation: 200 in all. */
const KILLS = { vaultWrites: 60, storeWrites: 20, folds: 10, passwd: 50, outboxFlush: 35, syncWithMail: 35 } as const;
const DOMAIN = 'caliop.example';
const OTHER_PASSPHRASE = 'the other passphrase, for the passwd trials 1789';
const scratch = temporaryFolder('pulled-stick');
const landed: Record<keyof typeof KILLS, number> = { vaultWrites: 0, storeWrites: 0, folds: 0, passwd: 0, outboxFlush: 0, syncWithMail: 0 };
/** FAT through FUSE where it can be had: the vault writes and passwd (see FUSEFAT_LIMITS). */
let fat: StickFilesystem;
/** The host's file system: what appends to a file (the store's journal), which fusefat breaks. */
let host: string;
let childMain: string;
let relay: RelayProcess;
let gate: WithholdingProxy;
let deliveries: () => number;
let closeDatabase: () => void;
const sticks: Record<'alice' | 'bob' | 'carol', string> = { alice: '', bob: '', carol: '' };
const savedKdfSwitch = process.env['CALIOP_UNSAFE_TEST_KDF'];

function child(args: readonly string[], delayMs: number, env: NodeJS.ProcessEnv = {}): Promise<KillTrialResult> {
  return killTrial(process.execPath, [childMain, ...args], { env: testEnv(env), delayMs });
}

function partialFilesIn(folder: string): number {
  return readdirSync(folder).filter((name) => name.includes('.partial-')).length;
}

async function newStick(folder: string, name: 'alice' | 'bob' | 'carol', server?: string): Promise<void> {
  const stick = join(folder, name);
  mkdirSync(stick);
  // carol's stick is on the FAT volume: her vault is written there by caliop itself, never copied (fresh).
  if (server === undefined) await initStick(stick, name, `${name}@${DOMAIN}`, { fresh: true });
  else await initEnrolled(stick, name, `${name}@${DOMAIN}`, { url: server, pin: relay.pin });
  sticks[name] = stick;
}

beforeAll(async () => {
  process.env['CALIOP_UNSAFE_TEST_KDF'] = '1'; // docs/vault-format.md §5.4: small Argon2id parameters for the vaults made here
  fat = fatStick(join(scratch.path, 'fat'), { sizeMiB: 128 });
  host = join(scratch.path, 'host');
  mkdirSync(host);
  await build({
    entryPoints: [join(import.meta.dirname, 'pulled-stick-child.ts')],
    bundle: true, splitting: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
    outdir: join(scratch.path, 'child'),
  });
  childMain = join(scratch.path, 'child', 'pulled-stick-child.js');
  // The relay is not on the stick. Its rate limits are not what is tried here.
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0, store: 'sqlite', extraArgs: ['--rate-burst', '100000', '--rate-per-minute', '1000000'] });
  gate = await startWithholdingProxy(Number(new URL(relay.url).port));
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true, fileMustExist: true });
  // Mailbox entries the relay ever made durable (monotonic: acknowledgements delete entries, not the counter).
  const sequence = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'mailbox'");
  deliveries = () => (sequence.get() as { seq: number } | undefined)?.seq ?? 0;
  closeDatabase = () => db.close();
  const throughGate = relay.url.replace(/:\d+(\/?)$/, `:${gate.port}$1`);
  mkdirSync(join(fat.path, 'vault-writes'));
  mkdirSync(join(host, 'store-writes'));
  await Promise.all([newStick(host, 'alice', throughGate), newStick(host, 'bob', relay.url), newStick(fat.path, 'carol')]);
}, 600_000);

afterAll(async () => {
  const total = Object.values(landed).reduce((sum, n) => sum + n, 0);
  console.log(
    `pulled stick: ${total} SIGKILLs landed mid-operation; ` +
      `on ${fat?.description ?? 'no file system'}: vault writes ${landed.vaultWrites}, passwd ${landed.passwd}; ` +
      `on the host file system (${fat?.kind === 'fat-fuse' ? 'fusefat breaks appends to a file, docs/store.md §6.1' : 'no FAT either'}): store writes ${landed.storeWrites}, journal folds ${landed.folds}, outbox flushes ${landed.outboxFlush}, sync with mail waiting ${landed.syncWithMail}`,
  );
  if (savedKdfSwitch === undefined) delete process.env['CALIOP_UNSAFE_TEST_KDF'];
  else process.env['CALIOP_UNSAFE_TEST_KDF'] = savedKdfSwitch;
  closeDatabase?.();
  await gate?.close();
  await relay?.dispose();
  fat?.release();
  scratch.remove();
}, 120_000);

describe(`pulled stick (${KILLS.vaultWrites + KILLS.storeWrites + KILLS.folds + KILLS.passwd + KILLS.outboxFlush + KILLS.syncWithMail} kills)`, () => {
  // docs/vault-format.md §7: a writer saves states 1, 2, 3 ... of one vault as fast as it can.
  it(`vault writes: after each of ${KILLS.vaultWrites} kills the vault opens, in the last saved state or the one in flight`, async () => {
    const folder = join(fat.path, 'vault-writes');
    const vaultPath = join(folder, 'vault.caliop');
    const passphrase = new TextEncoder().encode(PASSPHRASE);
    (await createVault(vaultPath, passphrase, new TextEncoder().encode(vaultState(0)), UNSAFE_TEST_KDF)).close();
    let previous = 0;
    let leftovers = 0;
    let advanced = 0;
    // A random instant within the next four saves: a save takes some 10 ms on the host, 60 on fusefat at load 24.
    let saveMs = 20;
    while (landed.vaultWrites < KILLS.vaultWrites) {
      const delayMs = Math.floor(Math.random() * 4 * saveMs);
      // From the first save that returned (so every run makes progress, even on a loaded machine).
      const { lines, landed: mid } = await killTrial(process.execPath, [childMain, 'vault', vaultPath], { env: testEnv(), delayMs, startOn: /^saved / });
      expect(mid).toBe(true); // the writer never stops by itself
      const started = Number(lines[0]!.split(' ')[1]);
      expect(started, `kill ${landed.vaultWrites}`).toBe(previous);
      const saves = lines.filter((line) => line.startsWith('saved ')).map((line) => line.split(' ').map(Number));
      for (const [, , ms] of saves) saveMs = 0.8 * saveMs + 0.2 * ms!;
      const saved = saves.map(([, n]) => n!);
      const lastSaved = saved.length > 0 ? Math.max(...saved) : started;
      leftovers += partialFilesIn(folder);
      const { plaintext, handle } = await unlockVault(vaultPath, passphrase);
      handle.close();
      const text = new TextDecoder().decode(plaintext);
      const state = Number(text.split('\n')[0]!.split(' ')[1]);
      expect(text, `the whole of state ${state}`).toBe(vaultState(state));
      // Every save that returned is on the stick; at most the one in flight may also have landed.
      expect(state, `kill ${landed.vaultWrites} after ${delayMs} ms`).toBeGreaterThanOrEqual(lastSaved);
      expect(state, `kill ${landed.vaultWrites} after ${delayMs} ms`).toBeLessThanOrEqual(lastSaved + 1);
      if (state > previous) advanced += 1;
      previous = state;
      landed.vaultWrites += 1;
    }
    // The unlocks removed every leftover; and the kills did land in the middle of writes.
    expect(partialFilesIn(folder)).toBe(0);
    console.log(`pulled stick, vault writes (${fat.kind}): ${landed.vaultWrites} kills, ${advanced} advanced the state, ${leftovers} left a partial temporary file, final state ${previous}, a save took ${Math.round(saveMs)} ms`);
    expect(leftovers).toBeGreaterThan(0);
    expect(advanced).toBeGreaterThan(KILLS.vaultWrites / 4);
  }, 1_200_000);

  // docs/store.md §6: a writer puts pages, marks read, deletes and compacts, as fast as it can.
  it(`store writes: after each of ${KILLS.storeWrites} kills the store opens and holds every change reported done`, async () => {
    const folder = join(host, 'store-writes', 'store');
    const keyHex = Buffer.from(randomBytes(32)).toString('hex');
    const key = Uint8Array.from(Buffer.from(keyHex, 'hex'));
    // What the writer reported done: relay id -> local id; read ids; deleted ids.
    const stored = new Map<string, string>();
    const read = new Set<string>();
    const deleted = new Set<string>();
    const deleting = new Set<string>();
    let round = 0;
    let changes = 0;
    while (landed.storeWrites < KILLS.storeWrites) {
      const kill = landed.storeWrites;
      // Killed once a first change is done (so every run makes progress, even on a loaded machine), a random instant later.
      const { lines } = await killAfterFirstPut(['store', folder, keyHex, String(round)], Math.floor(Math.random() * 200));
      for (const line of lines) {
        const [what, a, b] = line.split(' ');
        if (what === 'put') stored.set(a!, b!);
        else if (what === 'read') read.add(a!);
        else if (what === 'del') deleted.add(a!);
        else if (what === 'deleting') deleting.add(a!);
        if (['put', 'read', 'del'].includes(what!)) changes += 1;
      }
      const store = await MessageStore.open(folder, key, randomBytes);
      for (const [relayId, id] of stored) {
        if (deleted.has(id)) {
          expect(await store.entry(id), `kill ${kill}: deleted ${id} is gone`).toBeUndefined();
          continue;
        }
        // A deletion under way at the kill: there or gone, both correct; once gone, gone for good.
        if (deleting.has(id) && (await store.entry(id)) === undefined) {
          deleted.add(id);
          continue;
        }
        expect((await store.entry(id))?.relayId, `kill ${kill}: stored ${relayId} is there`).toBe(relayId);
        if (read.has(id)) expect((await store.entry(id))!.unread, `kill ${kill}: ${id} stays read`).toBe(false);
      }
      // Every line's object opens, whole (no torn object is ever referenced).
      for (const entry of (await store.page()).entries) expect((await store.get(entry.id)).relayId).toBe(entry.relayId);
      // The next writer starts after the highest round on the stick.
      round = Math.max(round, ...(await store.entries()).map((entry) => Number(entry.subject.slice(1))));
      landed.storeWrites += 1;
    }
    console.log(`pulled stick, store writes: ${landed.storeWrites} kills, ${changes} changes reported done, ${stored.size} messages stored, ${deleted.size} deleted`);
    expect(changes).toBeGreaterThanOrEqual(KILLS.storeWrites);
  }, 1_200_000);

  // docs/store.md §4, §6: a writer marks messages read and unread and folds the journal every 8 marks;
  // killed during the fold (the journal rewritten: temporary file, fsync, rename, folder fsync).
  it(`journal folds: ${KILLS.folds} kills in the middle of a fold, after each the store opens with every mark reported done and no temporary file`, async () => {
    const folder = join(host, 'store-writes', 'folds');
    const keyHex = Buffer.from(randomBytes(32)).toString('hex');
    const key = Uint8Array.from(Buffer.from(keyHex, 'hex'));
    const expected = new Map<string, boolean>();
    let foldMs = 20;
    let attempts = 0;
    let leftovers = 0;
    let marks = 0;
    while (landed.folds < KILLS.folds) {
      expect(attempts++, 'kills keep missing the fold').toBeLessThan(KILLS.folds * 8);
      // From the first fold's start, a random instant within twice its measured length (the kills after it teach its length).
      const { lines } = await killTrial(process.execPath, [childMain, 'fold', folder, keyHex], { env: testEnv(), delayMs: Math.random() * foldMs * 2, startOn: /^folding$/ });
      let inFlight: string | undefined;
      for (const line of lines) {
        const [what, id, value] = line.split(' ');
        if (what === 'marking') inFlight = id;
        if (what === 'mark') {
          expected.set(id!, value === '1');
          inFlight = undefined;
          marks += 1;
        }
        if (what === 'folded') foldMs = 0.7 * foldMs + 0.3 * Number(id);
      }
      const midFold = lines.at(-1) === 'folding';
      leftovers += partialFilesIn(folder);
      const store = await MessageStore.open(folder, key, randomBytes);
      expect(partialFilesIn(folder), 'the fold\'s temporary file is removed at opening').toBe(0);
      expect(store.count).toBe(200);
      // A mark under way at the kill: either value; known from here on.
      if (inFlight !== undefined) expected.set(inFlight, (await store.entry(inFlight))!.unread);
      for (const [id, unread] of expected) expect((await store.entry(id))!.unread, `attempt ${attempts}: ${id} as last marked`).toBe(unread);
      if (midFold) landed.folds += 1;
    }
    console.log(`pulled stick, journal folds: ${landed.folds} kills in a fold of ${attempts} (a fold took ${foldMs.toFixed(1)} ms), ${leftovers} left the fold's temporary file, ${marks} marks reported done`);
    expect(marks).toBeGreaterThan(0);
  }, 1_200_000);

  it(`passwd: after each of ${KILLS.passwd} kills the vault opens with exactly one of the two passphrases`, async () => {
    const phrases = [PASSPHRASE, OTHER_PASSPHRASE] as const;
    const vaultFolder = join(sticks.carol, 'vault');
    const vaultPath = join(vaultFolder, 'caliop.vault');
    const seed = (await StickSession.unlock(stickInFolder(sticks.carol), PASSPHRASE)).contents.identity.seedHex;
    const points = new KillPoints();
    let current = 0;
    let changed = 0;
    const killedOn = [0, 0];
    let leftovers = 0;
    for (let attempt = 0; landed.passwd < KILLS.passwd; attempt += 1) {
      expect(attempt, 'kills keep missing the operation').toBeLessThan(KILLS.passwd * 4);
      const result = await child(['passwd', vaultPath], points.next(), { TEST_PASSPHRASE: phrases[current], TEST_NEW_PASSPHRASE: phrases[1 - current] });
      points.learn(result);
      leftovers += partialFilesIn(vaultFolder);
      const opens = await Promise.all(phrases.map((phrase) => opensWith(vaultPath, phrase)));
      expect(opens.filter(Boolean), `attempt ${attempt}: opens with ${opens}`).toHaveLength(1);
      const now = opens.indexOf(true);
      if (result.landed) {
        landed.passwd += 1;
        killedOn[now === current ? 0 : 1]! += 1;
      } else {
        expect(now, 'a passwd that said done left the new passphrase').toBe(1 - current);
      }
      if (now !== current) changed += 1;
      // The whole stick opens with it, holding the same identity.
      expect((await StickSession.unlock(stickInFolder(sticks.carol), phrases[now]!)).contents.identity.seedHex).toBe(seed);
      current = now;
    }
    console.log(`pulled stick, passwd: ${landed.passwd} kills (${killedOn[0]} left the old passphrase, ${killedOn[1]} the new one), ${changed} changes of passphrase in all, ${leftovers} partial temporary files left, kill span ${Math.round(points.span ?? 0)} ms`);
  }, 1_200_000);

  it(`outbox flushes and sync with mail waiting: ${KILLS.outboxFlush} + ${KILLS.syncWithMail} kills, no message lost, none sent or stored twice`, async () => {
    const bob = `bob@${DOMAIN}`;
    const unlock = (name: 'alice' | 'bob') => StickSession.unlock(stickInFolder(sticks[name]), PASSPHRASE);
    // Every message alice has queued (or sent), each of which must reach bob exactly once.
    const sent: string[] = [];
    const base = deliveries();
    // The first message pins bob's cert for alice (the outbox needs it when the relay is away).
    expect((await sendMessage(await unlock('alice'), { to: [bob], subject: 'first', body: 'first', now: new Date() })).queued).toBe(false);
    sent.push('first');
    const flushPoints = new KillPoints();
    const syncPoints = new KillPoints();
    let completions = 0;

    // Alice's outbox flush, killed: each message is in the outbox or stored as sent (killed
    // between the two, both: docs/store.md §6), none stored twice, none delivered twice.
    const killFlush = async (trial: number) => {
      const result = await child(['sync', sticks.alice], flushPoints.next());
      flushPoints.learn(result);
      if (result.landed) landed.outboxFlush += 1;
      const alice = await unlock('alice');
      const outbox = alice.contents.outbox.map((item) => item.subject);
      const sentCopies = await outgoing(alice);
      expect(duplicates(sentCopies), `trial ${trial}: sent copies stored twice`).toEqual([]);
      for (const subject of sent) expect(outbox.includes(subject) || sentCopies.includes(subject), `trial ${trial}: ${subject} lost`).toBe(true);
      expect(deliveries() - base, `trial ${trial}: deliveries`).toBeGreaterThanOrEqual(sentCopies.length);
      expect(deliveries() - base, `trial ${trial}: deliveries`).toBeLessThanOrEqual(sent.length);
    };
    // Bob's sync with mail waiting, killed: nothing stored twice, nothing that was not sent.
    const killSync = async (trial: number) => {
      const result = await child(['sync', sticks.bob], syncPoints.next());
      syncPoints.learn(result);
      if (result.landed) landed.syncWithMail += 1;
      const received = await incoming(await unlock('bob'));
      expect(duplicates(received), `trial ${trial}: stored twice`).toEqual([]);
      for (const subject of received) expect(sent, `trial ${trial}: ${subject} was never sent`).toContain(subject);
    };
    // Syncs that run to the end: every message sent once (docs/vault-contents.md §4.1: the
    // idempotency key), and stored once by bob (§5.2: by relay id); nothing lost.
    const complete = async (trial: number) => {
      const alice = await unlock('alice');
      expect((await syncMailbox(alice, new Date())).errors).toEqual([]);
      expect(alice.contents.outbox).toEqual([]);
      expect((await outgoing(alice)).sort(), `trial ${trial}: alice's sent copies`).toEqual([...sent].sort());
      expect(deliveries() - base, `trial ${trial}: each message delivered once`).toBe(sent.length);
      const bobSession = await unlock('bob');
      expect((await syncMailbox(bobSession, new Date())).errors).toEqual([]);
      expect((await incoming(bobSession)).sort(), `trial ${trial}: bob's inbox`).toEqual([...sent].sort());
      completions += 1;
    };

    for (let trial = 0; landed.outboxFlush < KILLS.outboxFlush || landed.syncWithMail < KILLS.syncWithMail; trial += 1) {
      expect(trial, 'kills keep missing the operation').toBeLessThan(Math.max(KILLS.outboxFlush, KILLS.syncWithMail) * 3);
      // One to three messages wait in alice's outbox: the relay is out of her reach.
      gate.refuse(true);
      const queuing = await unlock('alice');
      for (const subject of Array.from({ length: 1 + (trial % 3) }, (_, n) => `trial ${trial} message ${n}`)) {
        expect((await sendMessage(queuing, { to: [bob], subject, body: `${subject}, body`, now: new Date() })).queued, subject).toBe(true);
        sent.push(subject);
      }
      gate.refuse(false);
      // Alice's flush and bob's sync run at once (two sticks): bob fetches what earlier flushes delivered.
      const trials: Promise<void>[] = [];
      if (landed.outboxFlush < KILLS.outboxFlush) trials.push(killFlush(trial));
      else expect((await syncMailbox(await unlock('alice'), new Date())).errors).toEqual([]); // so that mail waits for bob
      if (landed.syncWithMail < KILLS.syncWithMail) trials.push(killSync(trial));
      await Promise.all(trials);
      if (trial % 8 === 7) await complete(trial);
    }
    await complete(-1);
    console.log(
      `pulled stick, mail: ${landed.outboxFlush} outbox flushes and ${landed.syncWithMail} syncs killed; ${sent.length} messages sent, each delivered and stored once (checked ${completions} times); ` +
        `kill spans ${Math.round(flushPoints.span ?? 0)} and ${Math.round(syncPoints.span ?? 0)} ms`,
    );
  }, 1_800_000);

  it('counts at least 200 kills landed in the middle of an operation', () => {
    const total = Object.values(landed).reduce((sum, n) => sum + n, 0);
    expect(total).toBeGreaterThanOrEqual(200);
  });
});

async function opensWith(vaultPath: string, passphrase: string): Promise<boolean> {
  try {
    (await unlockVault(vaultPath, new TextEncoder().encode(passphrase))).handle.close();
    return true;
  } catch (error) {
    if (isCaliopError(error, 'wrong_passphrase')) return false;
    throw error;
  }
}

async function outgoing(session: StickSession): Promise<string[]> {
  return (await session.store.entries()).filter((entry) => entry.direction === 'out').map((entry) => entry.subject);
}

async function incoming(session: StickSession): Promise<string[]> {
  return (await session.store.entries()).filter((entry) => entry.direction === 'in').map((entry) => entry.subject);
}

function duplicates(values: readonly string[]): string[] {
  return values.filter((value, index) => values.indexOf(value) !== index);
}

/** The store writer: the kill timer starts at its first durable change, not at `ready`. */
function killAfterFirstPut(args: readonly string[], delayMs: number): Promise<KillTrialResult> {
  return killTrial(process.execPath, [childMain, ...args], { env: testEnv(), delayMs, startOn: /^put / });
}
