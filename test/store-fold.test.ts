// The journal's fold and its reading (docs/store.md §4, §6): pure core, no files.
// foldRecords gives, applied to any index, the state the records give in order (random
// histories from a fixed seed, docs/fuzzing.md); a folded journal's base binds its records;
// a record that fails is a torn tail only when nothing after it authenticates.
import { describe, expect, it } from 'vitest';
import { prng } from '../scripts/fuzz/prng.js';
import {
  JOURNAL_FOLD_RECORDS,
  StoreIndex,
  foldDue,
  foldRecords,
  journalHeader,
  openJournal,
  readingOf,
  sealJournalRecord,
  type IndexEntry,
  type StoreOp,
  type StoreState,
} from '../src/core/store-format.js';

const KEY = new Uint8Array(32).fill(7);
const SEED = Number(process.env['CALIOP_TEST_SEED'] ?? 20261201);

let nonceCounter = 0;
function nonce(): Uint8Array {
  const bytes = new Uint8Array(24);
  new DataView(bytes.buffer).setUint32(20, ++nonceCounter);
  return bytes;
}

function line(id: number, random: () => number): IndexEntry {
  const date = new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 1000) * 60_000).toISOString();
  return {
    id: String(id),
    object: (id.toString(16) + Math.floor(random() * 1e9).toString(16)).padStart(32, '0').slice(-32),
    direction: random() < 0.8 ? 'in' : 'out',
    ...(random() < 0.7 ? { relayId: `r${id}-${Math.floor(random() * 1e6)}` } : {}),
    from: 'a@caliop.test',
    to: ['b@caliop.test'],
    subject: `s${Math.floor(random() * 1e6)}`,
    date,
    storedAt: date,
    unread: random() < 0.5,
    size: Math.floor(random() * 5000),
    ...(random() < 0.1 ? { awaitingDelivery: true as const } : {}),
  };
}

function randomHistory(random: () => number): { state: StoreState; records: StoreOp[][] } {
  const stored = Math.floor(random() * 30);
  const state: StoreState = { format: 'caliop-store-index/1', nextId: stored + 1 + Math.floor(random() * 3), entries: [] };
  for (let id = 1; id <= stored; id++) if (random() < 0.9) state.entries.push(line(id, random));
  if (random() < 0.5) state.relayCursor = 'c0';
  const records: StoreOp[][] = [];
  const count = Math.floor(random() * 80);
  for (let r = 0; r < count; r++) {
    const ops: StoreOp[] = [];
    const length = 1 + Math.floor(random() * 3);
    for (let k = 0; k < length; k++) {
      const id = String(1 + Math.floor(random() * (stored + 12))); // stored ids, new ones, and ids never stored
      const pick = random();
      if (pick < 0.25) ops.push({ op: 'put', entry: line(Number(id), random) });
      else if (pick < 0.5) ops.push({ op: 'set', id, unread: random() < 0.5 });
      else if (pick < 0.6) ops.push({ op: 'marks', unread: random() < 0.5, ids: [id, String(1 + Math.floor(random() * (stored + 12)))] });
      else if (pick < 0.8) ops.push({ op: 'delete', id });
      else if (pick < 0.9) ops.push({ op: 'cursor', cursor: `c${r}-${k}` });
      else ops.push({ op: 'next-id', nextId: 1 + Math.floor(random() * (stored + 20)) });
    }
    records.push(ops);
  }
  return { state, records };
}

async function stateAfter(state: StoreState, records: readonly StoreOp[][]) {
  const index = new StoreIndex(readingOf(state, 4));
  for (const ops of records) index.apply(ops);
  // docs/store.md §2: counted from the buckets of the ids the records put or delete, before any chunk is open.
  await index.settle();
  const count = index.count;
  const after = await index.state();
  expect(after.entries).toHaveLength(count);
  return {
    state: after,
    count,
    awaiting: (await index.awaitingDelivery()).map((entry) => entry.id).sort(),
    page: await index.page(0, 5),
  };
}

describe('folding the journal (docs/store.md §4)', () => {
  it('the folded record gives the state its records give, on 3,000 random histories over any index', async () => {
    const random = prng(SEED);
    let folded = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const { state, records } = randomHistory(random);
      if (records.length === 0) continue;
      const net = foldRecords(records);
      expect(net.length, `seed ${SEED} trial ${trial}`).toBeGreaterThan(0);
      expect(await stateAfter(state, [net]), `seed ${SEED} trial ${trial}`).toEqual(await stateAfter(state, records));
      // Folding a folded journal with more records after it: the same again.
      const more = randomHistory(random).records;
      expect(await stateAfter(state, [foldRecords([net, ...more])]), `seed ${SEED} trial ${trial}`).toEqual(await stateAfter(state, [...records, ...more]));
      folded += records.length;
    }
    expect(folded).toBeGreaterThan(50_000);
  });

  it('coalesces: a put and its marks are one put, repeated marks the last (as lists of ids), a put then delete a delete and the id kept used, the last cursor', () => {
    const entry = line(7, prng(1));
    expect(
      foldRecords([
        [{ op: 'put', entry: { ...entry, unread: true } }, { op: 'cursor', cursor: 'a' }],
        [{ op: 'set', id: '7', unread: false }],
        [{ op: 'set', id: '3', unread: false }],
        [{ op: 'set', id: '3', unread: true }],
        [{ op: 'put', entry: { ...entry, id: '12' } }],
        [{ op: 'delete', id: '12' }, { op: 'cursor', cursor: 'b' }],
        [{ op: 'set', id: '12', unread: true }],
      ]),
    ).toEqual([
      { op: 'put', entry: { ...entry, unread: false } },
      { op: 'delete', id: '12' },
      { op: 'marks', unread: true, ids: ['3'] },
      { op: 'cursor', cursor: 'b' },
      { op: 'next-id', nextId: 13 },
    ]);
    // 1,000 marks of the same message fold to one op.
    const marks = Array.from({ length: 1000 }, (_, i): StoreOp[] => [{ op: 'set', id: '5', unread: i % 2 === 0 }]);
    expect(foldRecords(marks)).toEqual([{ op: 'marks', unread: false, ids: ['5'] }]);
    // Marks of many messages: two lists of ids.
    expect(foldRecords([[{ op: 'set', id: '1', unread: false }], [{ op: 'set', id: '2', unread: true }], [{ op: 'marks', unread: false, ids: ['3', '2'] }]])).toEqual([
      { op: 'marks', unread: false, ids: ['1', '2', '3'] },
    ]);
  });

  it('is due past JOURNAL_FOLD_RECORDS records', () => {
    expect(foldDue(JOURNAL_FOLD_RECORDS)).toBe(false);
    expect(foldDue(JOURNAL_FOLD_RECORDS + 1)).toBe(true);
  });
});

/** A journal of `header` whose records are sealed at base, base+1, … */
async function journalOf(header: Uint8Array, base: number, records: readonly StoreOp[][]): Promise<{ bytes: Buffer; sealed: Uint8Array[] }> {
  const sealed: Uint8Array[] = [];
  for (const [i, ops] of records.entries()) sealed.push(await sealJournalRecord(KEY, header, base + i, nonce(), ops));
  return { bytes: Buffer.concat([header, ...sealed]), sealed };
}

const marks = (n: number, from = 1): StoreOp[][] => Array.from({ length: n }, (_, i) => [{ op: 'set', id: String(from + i), unread: false }]);

describe('reading a folded journal, and telling a torn tail from damage (docs/store.md §4, §6)', () => {
  it('a folded journal (version 2) reads from its base; its records are not valid in another fold nor in the journal it replaced', async () => {
    const old = await journalOf(journalHeader(3), 0, marks(70));
    const header = journalHeader(3, 70);
    expect(header.length).toBe(18);
    const folded = await journalOf(header, 70, [foldRecords(marks(70)), ...marks(2, 100)]);
    const reading = await openJournal(KEY, folded.bytes);
    expect(reading.base).toBe(70);
    expect(reading.records).toHaveLength(3);
    expect(reading.validLength).toBe(folded.bytes.length);
    // The folded journal's record 71 after the old journal's 70 records: not at its place (another header).
    const mixed = Buffer.concat([old.bytes, folded.sealed[1]!]);
    expect((await openJournal(KEY, mixed)).records).toHaveLength(70);
    // Another fold of the same generation (base 75): its records do not authenticate in this one.
    const later = await journalOf(journalHeader(3, 75), 75, [[{ op: 'cursor', cursor: 'x' }], ...marks(3, 200)]);
    const spliced = Buffer.concat([header, folded.sealed[0]!, later.sealed[1]!]);
    const cut = await openJournal(KEY, spliced);
    expect(cut.records).toHaveLength(1);
    expect(cut.validLength).toBe(header.length + folded.sealed[0]!.length);
  });

  it('two records swapped in the middle are damage (vault_tampered), not a torn tail; so are the last two, a record replayed twice, a bit flipped', async () => {
    const { sealed } = await journalOf(journalHeader(2), 0, marks(10));
    const swap = (a: number) => {
      const order = [...sealed];
      [order[a], order[a + 1]] = [order[a + 1]!, order[a]!];
      return Buffer.concat([journalHeader(2), ...order]);
    };
    await expect(openJournal(KEY, swap(4))).rejects.toMatchObject({ code: 'vault_tampered', part: 'store' });
    await expect(openJournal(KEY, swap(8))).rejects.toMatchObject({ code: 'vault_tampered', part: 'store' });
    await expect(openJournal(KEY, Buffer.concat([journalHeader(2), ...sealed.slice(0, 6), sealed[5]!, ...sealed.slice(6)]))).rejects.toMatchObject({ code: 'vault_tampered' });
    const flipped = Buffer.concat([journalHeader(2), ...sealed]);
    flipped[14 + sealed[0]!.length + 40]! ^= 1;
    await expect(openJournal(KEY, flipped)).rejects.toMatchObject({ code: 'vault_tampered' });
    // The same swap in a folded journal.
    const folded = await journalOf(journalHeader(2, 80), 80, marks(6));
    const order = [...folded.sealed];
    [order[2], order[3]] = [order[3]!, order[2]!];
    await expect(openJournal(KEY, Buffer.concat([journalHeader(2, 80), ...order]))).rejects.toMatchObject({ code: 'vault_tampered' });
  });

  it('what a FAT yank leaves after the last whole record is a torn tail, cut: zeros, a cut record, the clusters of an earlier journal at the same offsets', async () => {
    const whole = await journalOf(journalHeader(5), 0, marks(3));
    const tails: [string, Uint8Array][] = [
      ['zeros', new Uint8Array(300)],
      ['a record cut short', (await sealJournalRecord(KEY, journalHeader(5), 3, nonce(), marks(1)[0]!)).subarray(0, 50)],
      ['a whole record failing (its data never written: random bytes under a right length)', Buffer.concat([Buffer.from([0, 0, 0, 60]), Buffer.alloc(24 + 60, 0xa5)])],
    ];
    // The previous generation's journal (4) had records at the same offsets: its stale clusters, several whole records.
    const stale = await journalOf(journalHeader(4), 0, marks(8, 50));
    tails.push(['the stale records of generation 4', stale.bytes.subarray(whole.bytes.length)]);
    // The journal this one was folded from (same generation, base 0) under a folded one: stale too.
    const folded = await journalOf(journalHeader(5, 40), 40, marks(2, 60));
    const replaced = await journalOf(journalHeader(5), 0, marks(12, 70));
    for (const [what, tail] of tails) {
      const reading = await openJournal(KEY, Buffer.concat([whole.bytes, tail]));
      expect(reading.records, what).toHaveLength(3);
      expect(reading.validLength, what).toBe(whole.bytes.length);
    }
    const reading = await openJournal(KEY, Buffer.concat([folded.bytes, replaced.bytes.subarray(folded.bytes.length)]));
    expect(reading.records).toHaveLength(2);
    expect(reading.validLength).toBe(folded.bytes.length);
  });

  it('an authentic record that does not parse is refused, never cut', async () => {
    const header = journalHeader(1);
    const { xchachaAead } = await import('../src/core/xchacha-aead.js');
    const n = nonce();
    const ad = Buffer.concat([header, Buffer.from([0, 0, 0, 0])]);
    const sealed = xchachaAead(KEY, n, ad).encrypt(new TextEncoder().encode('[{"op":"unknown-op"}]'));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(sealed.length);
    await expect(openJournal(KEY, Buffer.concat([header, length, n, sealed]))).rejects.toMatchObject({ code: 'vault_tampered' });
  });
});
