// docs/api.md §8.8-§8.9 on the relay's SQLite store: a page is bounded by count and
// by ciphertext bytes (the first entry always fits), and an acknowledgement deletes
// exactly the caller's entries up to the cursor, erasing ciphertexts nobody holds.
import { expect, it } from 'vitest';
import type { ArrivalFacts } from '../../src/api/facts.js';
import { SqliteRelayStore } from '../../src/relay/store/sqlite-store.js';

const facts = { route: 'internal', receivedAt: '2026-01-01T00:00:00.000Z', submittedBy: 'bob@x.test', transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } } satisfies ArrivalFacts;
const id = (prefix: string, i: number) => `${prefix}${String(i).padStart(21, '0')}`;

it('pages carry ciphertexts within the byte bound, and an ack deletes up to its cursor only', async () => {
  const store = SqliteRelayStore.open(':memory:');
  try {
    for (const [n, address] of ['ana@x.test', 'cy@x.test'].entries()) {
      await store.createAccount(
        { address, localPart: address.split('@')[0]!, cert: new Uint8Array([n]), certFingerprint: String(n).repeat(40), devicePublicKey: new Uint8Array(32).fill(n + 1), enrolledAt: facts.receivedAt, wkdHash: `hash${n}` },
        null,
      );
    }
    const sizes = [300, 300, 300, 5000, 10];
    await store.storeMessages(
      sizes.map((size, i) => ({ id: id('m', i), sender: 'bob@x.test', recipients: ['ana@x.test', 'cy@x.test'], size, facts, armoredMessage: 'c'.repeat(size), entryIds: [id('a', i), id('c', i)] })),
    );
    // Bytes: 300+300+300 fit in 1000, the 5000 does not.
    const firstPage = await store.mailboxPage('ana@x.test', 0, 100, 1000);
    const first = firstPage.entries;
    expect(firstPage.more).toBe(true);
    expect(first.map((entry) => entry.id)).toEqual([id('a', 0), id('a', 1), id('a', 2)]);
    expect(first.every((entry) => entry.armoredMessage?.length === entry.size)).toBe(true);
    // The first entry always fits, whatever its size; the count bound holds.
    const big = await store.mailboxPage('ana@x.test', Number(first.at(-1)!.cursor), 100, 1000);
    expect(big.entries.map((entry) => entry.id)).toEqual([id('a', 3)]);
    expect(big.more).toBe(true);
    const byCount = await store.mailboxPage('ana@x.test', 0, 2, 1_000_000);
    expect(byCount.entries.length).toBe(2);
    expect(byCount.more).toBe(true);
    // The last page: nothing follows, whether the count bound is reached exactly or not.
    expect(await store.mailboxPage('ana@x.test', Number(byCount.entries.at(-1)!.cursor), 3, 1_000_000)).toMatchObject({ more: false });
    expect((await store.mailboxPage('ana@x.test', 0, 100, 1_000_000)).more).toBe(false);
    expect(await store.mailboxPage('ana@x.test', 1_000_000, 100, 1_000_000)).toEqual({ entries: [], more: false });

    // Ack through the first page: ana's three go, cy keeps all five, the ciphertexts stay (cy holds them).
    expect(await store.deleteMailboxThrough('ana@x.test', Number(first.at(-1)!.cursor))).toBe(3);
    expect((await store.listMailbox('ana@x.test', 0, 100)).map((entry) => entry.id)).toEqual([id('a', 3), id('a', 4)]);
    expect((await store.listMailbox('cy@x.test', 0, 100)).length).toBe(5);
    expect(await store.mailboxEntry('cy@x.test', id('c', 0))).toMatchObject({ armoredMessage: 'c'.repeat(300) });
    // Repeating it deletes nothing more; a later arrival after the cursor is kept.
    expect(await store.deleteMailboxThrough('ana@x.test', Number(first.at(-1)!.cursor))).toBe(0);
    // cy acks everything: the ciphertexts ana no longer holds are erased.
    const all = await store.listMailbox('cy@x.test', 0, 100);
    expect(await store.deleteMailboxThrough('cy@x.test', Number(all.at(-1)!.cursor))).toBe(5);
    expect(await store.mailboxEntry('ana@x.test', id('a', 3))).toMatchObject({ size: 5000 });
    expect(await store.deleteMailboxThrough('ana@x.test', Number(all.at(-1)!.cursor) + 100)).toBe(2);
    expect(await store.listMailbox('ana@x.test', 0, 100)).toEqual([]);
  } finally {
    await store.close();
  }
});

it('docs/api.md §8.5.1, §8.8: a page leaves a large ciphertext out, and it streams in slices byte for byte', async () => {
  const store = SqliteRelayStore.open(':memory:');
  try {
    await store.createAccount(
      { address: 'ana@x.test', localPart: 'ana', cert: new Uint8Array([1]), certFingerprint: '1'.repeat(40), devicePublicKey: new Uint8Array(32).fill(1), enrolledAt: facts.receivedAt, wkdHash: 'hash1' },
      null,
    );
    const large = 'L'.repeat(9 * 1024 * 1024 + 17);
    await store.storeMessages([
      { id: id('s', 0), sender: 'bob@x.test', recipients: ['ana@x.test'], size: 10, facts, armoredMessage: 's'.repeat(10), entryIds: [id('e', 0)] },
      { id: id('s', 1), sender: 'bob@x.test', recipients: ['ana@x.test'], size: large.length, facts, armoredMessage: large, entryIds: [id('e', 1)] },
    ]);
    const page = (await store.mailboxPage('ana@x.test', 0, 100, Number.MAX_SAFE_INTEGER, 1024 * 1024)).entries;
    expect(page.map((entry) => [entry.size, entry.armoredMessage?.length])).toEqual([[10, 10], [large.length, undefined]]);
    const found = await store.mailboxCiphertext('ana@x.test', id('e', 1));
    expect(found?.size).toBe(large.length);
    const slices: number[] = [];
    let joined = '';
    for await (const chunk of found!.chunks) {
      slices.push(chunk.byteLength);
      joined += Buffer.from(chunk).toString('latin1');
    }
    expect(joined === large).toBe(true);
    expect(Math.max(...slices)).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(await store.mailboxCiphertext('ana@x.test', id('s', 1))).toBeUndefined(); // a message id is not an entry id
  } finally {
    await store.close();
  }
});
