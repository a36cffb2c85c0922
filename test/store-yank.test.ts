// Yank safety of the message store (docs/store.md §6): a child process stores
// pages of messages, marks them read, deletes some and compacts, as fast as it can;
// we SIGKILL it at random instants and after each kill the store must open, hold
// every change the writer reported done, and every index line's object must open.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from '../src/edges/random.js';
import { MessageStore } from '../src/service/message-store.js';

const KILLS = 20;
const KEY_HEX = '11'.repeat(32);
const KEY = Uint8Array.from(Buffer.from(KEY_HEX, 'hex'));
const REPO = join(import.meta.dirname, '..');

let folder: string;
let writerPath: string;

// Each line the writer prints is a change that returned (is durable):
//   put <relayId> <id> | read <id> | del <id>
// and, before a deletion starts, 'deleting <id>': a kill between the deletion becoming
// durable and its 'del' line leaves that message either there or gone, both correct.
const WRITER = `
import { MessageStore } from './message-store.mjs';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
const [folder, keyHex] = process.argv.slice(2);
const key = Uint8Array.from(Buffer.from(keyHex, 'hex'));
const random = (n) => new Uint8Array(randomBytes(n));
const store = existsSync(folder) ? await MessageStore.open(folder, key, random) : await MessageStore.create(folder, key, random);
process.stdout.write('ready\\n');
let round = Number(process.argv[4]);
for (;;) {
  round += 1;
  const page = Array.from({ length: 1 + (round % 4) }, (_, k) => ({ message: {
    id: '', direction: 'in', relayId: 'r' + round + '-' + k, from: 'bob@caliop.test', to: ['alice@caliop.test'],
    subject: 's' + round, date: new Date(Date.UTC(2026, 0, 1, 0, round)).toISOString(), storedAt: new Date().toISOString(),
    unread: true, armoredMessage: 'm'.repeat(200 + ((round * 7919 + k) % 70000)),
  } }));
  const stored = await store.put(page, { relayCursor: 'c' + round });
  for (const m of stored) process.stdout.write('put ' + m.relayId + ' ' + m.id + '\\n');
  await store.setUnread(stored[0].id, false);
  process.stdout.write('read ' + stored[0].id + '\\n');
  if (round % 3 === 0) {
    const victim = store.page(store.count - 1, 1).entries[0];
    if (victim) { process.stdout.write('deleting ' + victim.id + '\\n'); await store.delete([victim.id]); process.stdout.write('del ' + victim.id + '\\n'); }
  }
  if (round % 5 === 0) { await store.compact(); process.stdout.write('compacted\\n'); }
}
`;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'caliop-store-yank-'));
  await build({
    entryPoints: [join(REPO, 'src', 'service', 'message-store.ts')],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
    outfile: join(folder, 'message-store.mjs'),
  });
  writerPath = join(folder, 'writer.mjs');
  await writeFile(writerPath, WRITER);
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

function runAndKill(storeFolder: string, round: number, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerPath, storeFolder, KEY_HEX, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      // Once a first change is done (so every run makes progress, even on a loaded machine), a random instant later.
      if (!timer && output.includes('\nput ')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (code ${code}): ${errors}`));
      resolve(output.split('\n').filter((line) => line !== '' && line !== 'ready'));
    });
  });
}

it(`the store opens after each of ${KILLS} kills of a writing process, holding every change reported done`, async () => {
  const storeFolder = join(folder, 'store');
  // What the writer reported done: relay id -> local id; read ids; deleted ids.
  const stored = new Map<string, string>();
  const read = new Set<string>();
  const deleted = new Set<string>();
  const deleting = new Set<string>();
  let round = 0;
  let changes = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    const delayMs = Math.floor(Math.random() * 200);
    const lines = await runAndKill(storeFolder, round, delayMs);
    changes += lines.length;
    for (const line of lines) {
      const [what, a, b] = line.split(' ');
      if (what === 'put') stored.set(a!, b!);
      else if (what === 'read') read.add(a!);
      else if (what === 'del') deleted.add(a!);
      else if (what === 'deleting') deleting.add(a!);
    }
    const store = await MessageStore.open(storeFolder, KEY, randomBytes);
    for (const [relayId, id] of stored) {
      if (deleted.has(id)) {
        expect(store.entry(id), `kill ${kill}: deleted ${id} is gone`).toBeUndefined();
        continue;
      }
      // A deletion that was under way at the kill: there or gone, both are correct; once gone, gone for good.
      if (deleting.has(id) && store.entry(id) === undefined) {
        deleted.add(id);
        continue;
      }
      expect(store.entry(id)?.relayId, `kill ${kill}: stored ${relayId} is there`).toBe(relayId);
      if (read.has(id)) expect(store.entry(id)!.unread, `kill ${kill}: ${id} stays read`).toBe(false);
    }
    // Every line's object opens, whole (no torn object is ever referenced).
    for (const entry of store.page().entries) expect((await store.get(entry.id)).relayId).toBe(entry.relayId);
    // The next writer starts after the highest round on the stick.
    round = Math.max(round, ...[...store.entries()].map((entry) => Number(entry.subject.slice(1))));
  }
  console.log(`store-yank: ${KILLS} kills, ${changes} changes reported done, ${stored.size} messages stored, ${deleted.size} deleted`);
  expect(changes).toBeGreaterThanOrEqual(KILLS); // every run finished at least one change before its kill
}, 300_000);
