// Issue 13: writes test/vectors/store/store-v3-index.json: a message store whose index is
// format version 3 (the chunked index whose head holds every id, docs/store.md §3 before
// version 4), made by the code of commit 0ce3027 (this script, compiled and run against that
// commit's build), with a journal of changes since its index. 300 index lines (two chunks), two
// sent copies awaiting their delivery report (one in each chunk); objects for the newest three
// and for the lines the journal rewrites. test/store.test.ts opens it and checks its rewrite
// in version 4 (§7.1).
import { readFile, readdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { emptyStoreState, type IndexEntry } from '../src/core/store-format.js';
import { StoreFiles } from '../src/edges/store-files.js';
import { randomBytes } from '../src/edges/random.js';
import { MessageStore } from '../src/service/message-store.js';
import type { StoredMessage } from '../src/core/vault-contents.js';

const LINES = 300;
const AWAITING = new Set([10, 290]); // chunk 1 (the oldest 44 lines) and chunk 0
const WRITTEN = new Set([LINES - 2, LINES - 1, LINES, 20, 290]);
const key = new Uint8Array(32).map((_, i) => 151 + i);
const folder = join(await mkdtemp(join(tmpdir(), 'store-v3-')), 'store-33445566778899aa');
const message = (i: number): StoredMessage => {
  const date = new Date(Date.UTC(2026, 0, 10, 9) + i * 60_000).toISOString();
  return { id: String(i), direction: 'in', relayId: `relay-${i}`, from: `Bob ${i} <bob${i}@caliop.test>`, to: ['alice@caliop.test'], subject: `subject ${i}`, date, storedAt: date, unread: true, armoredMessage: `-----BEGIN PGP MESSAGE-----\n\nnot a real one ${i}\n-----END PGP MESSAGE-----\n` };
};
const files = await StoreFiles.create(folder, key, emptyStoreState(), randomBytes);
const state = emptyStoreState();
for (let i = 1; i <= LINES; i++) {
  const object = files.newObjectName();
  const bytes = new TextEncoder().encode(JSON.stringify(message(i)));
  if (WRITTEN.has(i)) await files.writeObject(object, bytes);
  const m = message(i);
  const entry: IndexEntry = { id: m.id, object, direction: m.direction, relayId: m.relayId!, from: m.from, to: [...m.to], subject: m.subject, date: m.date, storedAt: m.storedAt, unread: true, size: bytes.length, ...(AWAITING.has(i) ? { awaitingDelivery: true as const } : {}) };
  state.entries.push(entry);
}
state.nextId = LINES + 5; // four ids allocated to the outbox (docs/store.md §2: nextId above every id)
state.relayCursor = `cursor-${LINES}`;
await files.compact(state, new Set(state.entries.map((entry) => entry.object)));
// After the index: a journal of changes (put, marks, deletions and a rewrite in both chunks, cursor).
const store = await MessageStore.open(folder, key, randomBytes);
await store.put([{ message: { ...message(LINES + 5), id: '' } }], { relayCursor: `cursor-${LINES + 5}` });
await store.setUnread(String(LINES), false);
await store.setUnread('1', false); // a line of the second chunk
await store.delete([String(LINES - 1)]);
await store.delete(['30']); // the second chunk
await store.replace({ ...message(20), subject: 'subject 20, rewritten' }); // a put of an id of the second chunk
const stored: Record<string, string> = {};
for (const name of await readdir(folder, { recursive: true, withFileTypes: true })) {
  if (!name.isFile() || name.name === 'reserve') continue;
  const path = join(name.parentPath, name.name);
  stored[relative(folder, path)] = (await readFile(path)).toString('base64');
}
const lines = (entries: readonly IndexEntry[]) => entries.map((entry) => ({ id: entry.id, subject: entry.subject, unread: entry.unread }));
const expect = {
  count: store.count,
  nextId: store.nextId,
  relayCursor: store.relayCursor,
  newestFirst: lines((await store.page(0, 5)).entries),
  oldest: lines((await store.page(store.count - 3, 3)).entries),
  awaiting: (await store.awaitingDelivery()).map((entry) => entry.id).sort(),
};
await writeFile(
  join(import.meta.dirname, '..', '..', 'test', 'vectors', 'store', 'store-v3-index.json'),
  JSON.stringify({ description: `A message store whose index is format version 3 (a head holding every id, then chunks read by position), ${LINES} lines, with a journal after it; docs/store.md §3 reads it from its head and §7.1 rewrites it in version 4 at its first opening.`, writtenBy: 'scripts/make-store-v3-vector.ts against the build of commit 0ce3027', keyHex: Buffer.from(key).toString('hex'), folder: 'store-33445566778899aa', files: stored, expect }, null, 1) + '\n',
);
console.log(JSON.stringify(expect));
