// Issue 13: an unlock that finds a well-formed vault and store loads no zod (its ~75 modules
// and the schemas' construction cost ~0.25 s of CPU): zod is replaced here by a module that
// fails when loaded. Reading and writing the vault's contents, opening a store (index and
// journal), marking read, setting the cursor, deleting and compacting work without it; a
// document the checks refuse is handed to zod (and so fails here).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { StoreIndex, emptyStoreState, openIndex, sealIndex, type IndexEntry } from '../src/core/store-format.js';
import { decodeVaultContents, encodeVaultContents, newVaultContents } from '../src/core/vault-contents.js';
import { randomBytes } from '../src/edges/random.js';
import { StoreFiles } from '../src/edges/store-files.js';
import { MessageStore } from '../src/service/message-store.js';

vi.mock('zod', () => {
  throw new Error('zod was loaded');
});

const DATE = '2026-11-30T12:00:00.000Z';
const root = await mkdtemp(join(tmpdir(), 'caliop-no-zod-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('an unlock without zod (issue 13)', () => {
  it('reads and writes the vault contents, opens and changes the store, without loading zod', async () => {
    const contents = newVaultContents(
      {
        seedHex: '11'.repeat(32), creationDate: DATE, name: 'Bob', email: 'bob@caliop.example', fingerprint: 'A'.repeat(40),
        ceremony: { performedAt: DATE, offline: true, allowedOnline: false, networkEvidence: [], kind: 'init', backupChecked: true },
      },
      'en',
      { folder: 'store-0123456789abcdef', keyHex: '22'.repeat(32) },
    );
    expect(await decodeVaultContents(await encodeVaultContents(contents))).toEqual(contents);

    const key = randomBytes(32);
    const folder = join(root, 'store');
    const created = await MessageStore.create(folder, key, randomBytes);
    // Entries as sync stores them, written to the index directly (put() checks whole messages with zod).
    const entry = (id: string): IndexEntry => ({
      id, object: 'ab'.repeat(16), direction: 'in', relayId: `r${id}`, from: 'ada@example.org', to: ['bob@caliop.example'], subject: 's', date: DATE, storedAt: DATE, unread: true, size: 10,
    });
    const state = { ...emptyStoreState(), nextId: 3, entries: [entry('1'), entry('2')] };
    // docs/store.md §3: newest first (the same date: the larger id first).
    expect(await new StoreIndex(await openIndex(key, await sealIndex(key, 1, randomBytes, state))).state()).toEqual({ ...state, entries: [entry('2'), entry('1')] });
    const files = (await StoreFiles.open(folder, key, randomBytes)).files;
    await files.compact(state, new Set());
    expect(created.count).toBe(0);

    const store = await MessageStore.open(folder, key, randomBytes);
    expect(store.count).toBe(2);
    await store.setUnread('1', false);
    await store.setRelayCursor('c-1');
    await store.delete(['2']);
    const reopened = await MessageStore.open(folder, key, randomBytes);
    expect([reopened.count, (await reopened.entry('1'))?.unread, reopened.relayCursor]).toEqual([1, false, 'c-1']);
    await reopened.compact();
    expect((await MessageStore.open(folder, key, randomBytes)).count).toBe(1);
  });

  it('hands a document the checks refuse to zod (which this test does not have)', async () => {
    const refused = new TextEncoder().encode(JSON.stringify({ format: 'caliop-vault-contents/4', identity: {} }));
    await expect(decodeVaultContents(refused)).rejects.toThrow(/zod was loaded|error when mocking a module/);
  });
});
