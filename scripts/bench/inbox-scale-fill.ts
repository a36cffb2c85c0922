// Issue 13 (scratch for the inbox-scale bench): a stick whose store holds N messages,
// the newest PAGE of them real (one ciphertext, openable), the others index lines only.
// Usage: node build/scripts/bench/inbox-scale-fill.js STICK N ARMORED_FILE
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emptyStoreState, type IndexEntry } from '../../src/core/store-format.js';
import { StoreFiles } from '../../src/edges/store-files.js';
import { randomBytes } from '../../src/edges/random.js';
import { stickInFolder } from '../../src/service/stick-lookup.js';
import { StickSession, hexToBytes } from '../../src/service/stick-session.js';

const REAL = 50;

export async function fillStick(stickFolder: string, n: number, armored: string, passphrase: string): Promise<void> {
  const session = await StickSession.unlock(stickInFolder(stickFolder), passphrase);
  const folder = join(stickFolder, 'vault', session.contents.store.folder);
  const key = hexToBytes(session.contents.store.keyHex);
  const { files } = await StoreFiles.open(folder, key, randomBytes);
  const state = emptyStoreState();
  for (let i = 1; i <= n; i++) {
    const date = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
    const message = { id: String(i), direction: 'in' as const, relayId: `r${i}`, from: `Sender ${i % 17} <s${i % 17}@caliop.test>`, to: ['ann@caliop.test'], subject: `message ${i}`, date, storedAt: date, unread: true, armoredMessage: armored };
    const object = files.newObjectName();
    const bytes = new TextEncoder().encode(JSON.stringify(message));
    if (i > n - REAL) await files.writeObject(object, bytes);
    const entry: IndexEntry = { id: message.id, object, direction: 'in', relayId: message.relayId, from: message.from, to: message.to, subject: message.subject, date, storedAt: date, unread: true, size: bytes.length };
    state.entries.push(entry);
  }
  state.nextId = n + 1;
  await files.compact(state, new Set(state.entries.map((entry) => entry.object)));
}

if (process.argv[1]?.endsWith('inbox-scale-fill.js')) {
  const [stick, n, file] = process.argv.slice(2);
  await fillStick(stick!, Number(n), await readFile(file!, 'utf8'), process.env.TEST_PASSPHRASE!);
}
