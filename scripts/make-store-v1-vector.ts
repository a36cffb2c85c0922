// Issue 13: writes test/vectors/store/store-v1-index.json: a message store whose index is
// format version 1 (one sealed JSON document, docs/store.md before the chunked index),
// made by the code of commit 94eff80 (this script, run there), with a journal of changes
// since its index. test/store.test.ts migrates it.
import { readFile, readdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { randomBytes } from '../src/edges/random.js';
import { MessageStore } from '../src/service/message-store.js';
import type { StoredMessage } from '../src/core/vault-contents.js';

const key = new Uint8Array(32).map((_, i) => i + 1);
const folder = join(await mkdtemp(join(tmpdir(), 'store-v1-')), 'store-00112233445566ff');
const message = (i: number): StoredMessage => ({
  id: '',
  direction: i % 3 === 0 ? 'out' : 'in',
  ...(i % 3 === 0 ? {} : { relayId: `relay-${i}` }),
  from: i % 3 === 0 ? 'Alice <alice@caliop.test>' : `Bob ${i} <bob${i}@caliop.test>`,
  to: ['alice@caliop.test'],
  subject: `subject ${i}`,
  date: new Date(Date.UTC(2026, 0, 10, 9) + (i % 4) * 3_600_000 + i * 1000).toISOString(),
  storedAt: new Date(Date.UTC(2026, 0, 11, 9) + i * 60_000).toISOString(),
  unread: true,
  armoredMessage: `-----BEGIN PGP MESSAGE-----\n\nnot a real one ${i}\n-----END PGP MESSAGE-----\n`,
});
const store = await MessageStore.create(folder, key, randomBytes, { messages: [1, 2, 3, 4, 5, 6].map((i) => ({ ...message(i), id: String(i) })), relayCursor: 'cursor-6' });
// After the index: a journal of changes (put, set, delete, cursor, next-id).
await store.put([7, 8].map((i) => ({ message: message(i) })), { relayCursor: 'cursor-8' });
await store.setUnread('2', false);
await store.setUnread('7', false);
await store.delete(['4']);
await store.allocateIds(2);
const files: Record<string, string> = {};
for (const name of await readdir(folder, { recursive: true, withFileTypes: true })) {
  if (!name.isFile() || name.name === 'reserve') continue;
  const path = join(name.parentPath, name.name);
  files[relative(folder, path)] = (await readFile(path)).toString('base64');
}
const expect = {
  count: store.count,
  nextId: store.nextId,
  relayCursor: store.relayCursor,
  newestFirst: (await store.page()).entries.map((entry) => ({ id: entry.id, subject: entry.subject, unread: entry.unread, relayId: entry.relayId ?? null })),
};
await writeFile(
  join(import.meta.dirname, '..', '..', 'test', 'vectors', 'store', 'store-v1-index.json'),
  JSON.stringify({ description: 'A message store whose index is format version 1 (one sealed JSON document), with a journal after it; docs/store.md §7.1 migrates it on first open.', writtenBy: 'scripts/make-store-v1-vector.ts at commit 94eff80', keyHex: Buffer.from(key).toString('hex'), folder: 'store-00112233445566ff', files, expect }, null, 1) + '\n',
);
console.log(JSON.stringify(expect));
