// Issue 13: writes test/vectors/store/store-v2-index.json: a message store whose index is
// format version 2 (the chunked index whose head does not say where its chunks lie,
// docs/store.md §3 before version 3), made by the code of commit 42918f3 (this script,
// compiled and run against that commit's build), with a journal of changes since its
// index. 300 index lines (two chunks); objects for the newest three and the one put after.
// test/store.test.ts opens it and checks its rewrite in version 3 (§7.1).
import { readFile, readdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { emptyStoreState, type IndexEntry } from '../src/core/store-format.js';
import { StoreFiles } from '../src/edges/store-files.js';
import { randomBytes } from '../src/edges/random.js';
import { MessageStore } from '../src/service/message-store.js';
import type { StoredMessage } from '../src/core/vault-contents.js';

const LINES = 300;
const key = new Uint8Array(32).map((_, i) => 101 + i);
const folder = join(await mkdtemp(join(tmpdir(), 'store-v2-')), 'store-2233445566778899');
const message = (i: number): StoredMessage => {
  const date = new Date(Date.UTC(2026, 0, 10, 9) + i * 60_000).toISOString();
  return { id: String(i), direction: 'in', relayId: `relay-${i}`, from: `Bob ${i} <bob${i}@caliop.test>`, to: ['alice@caliop.test'], subject: `subject ${i}`, date, storedAt: date, unread: true, armoredMessage: `-----BEGIN PGP MESSAGE-----\n\nnot a real one ${i}\n-----END PGP MESSAGE-----\n` };
};
const files = await StoreFiles.create(folder, key, emptyStoreState(), randomBytes);
const state = emptyStoreState();
for (let i = 1; i <= LINES; i++) {
  const object = files.newObjectName();
  const bytes = new TextEncoder().encode(JSON.stringify(message(i)));
  if (i > LINES - 3) await files.writeObject(object, bytes);
  const m = message(i);
  const entry: IndexEntry = { id: m.id, object, direction: m.direction, relayId: m.relayId!, from: m.from, to: [...m.to], subject: m.subject, date: m.date, storedAt: m.storedAt, unread: true, size: bytes.length };
  state.entries.push(entry);
}
state.nextId = LINES + 1;
state.relayCursor = `cursor-${LINES}`;
await files.compact(state, new Set(state.entries.map((entry) => entry.object)));
// After the index: a journal of changes (put, set, delete, cursor).
const store = await MessageStore.open(folder, key, randomBytes);
await store.put([{ message: { ...message(LINES + 1), id: '' } }], { relayCursor: `cursor-${LINES + 1}` });
await store.setUnread(String(LINES), false);
await store.setUnread('1', false); // a line of the second chunk
await store.delete([String(LINES - 1)]);
const stored: Record<string, string> = {};
for (const name of await readdir(folder, { recursive: true, withFileTypes: true })) {
  if (!name.isFile() || name.name === 'reserve') continue;
  const path = join(name.parentPath, name.name);
  stored[relative(folder, path)] = (await readFile(path)).toString('base64');
}
const page = (await store.page(0, 5)).entries;
const expect = {
  count: store.count,
  nextId: store.nextId,
  relayCursor: store.relayCursor,
  newestFirst: page.map((entry) => ({ id: entry.id, subject: entry.subject, unread: entry.unread })),
  oldest: (await store.page(store.count - 1, 1)).entries.map((entry) => ({ id: entry.id, subject: entry.subject, unread: entry.unread })),
};
await writeFile(
  join(import.meta.dirname, '..', '..', 'test', 'vectors', 'store', 'store-v2-index.json'),
  JSON.stringify({ description: `A message store whose index is format version 2 (a head and chunks, the head without the chunks' lengths), ${LINES} lines, with a journal after it; docs/store.md §3 reads it whole and §7.1 rewrites it in version 3 at its first opening.`, writtenBy: 'scripts/make-store-v2-vector.ts against the build of commit 42918f3', keyHex: Buffer.from(key).toString('hex'), folder: 'store-2233445566778899', files: stored, expect }, null, 1) + '\n',
);
console.log(JSON.stringify(expect));
