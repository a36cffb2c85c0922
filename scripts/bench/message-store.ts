// Issue 13: the message store's cost against the number of messages stored
// (docs/store.md). Peer: the same action with 100 messages stored, in the same run.
// Target: ≤ 1.2 at 10,000 (flat); bytes written per read ≤ 2 × the message + 64 KiB.
//
// Target folder: as root, a stick-speed target (scripts/bench/throttled-stick.ts: a loop
// device made here, ext4, writes throttled to 20 MB/s by the blkio cgroup); otherwise the
// system's temporary folder, and the line says it was not throttled.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compactionDue, emptyStoreState, foldRecords, JOURNAL_FOLD_RECORDS, journalHeader, sealJournalRecord, type IndexEntry, type StoreOp } from '../../src/core/store-format.js';
import { StoreFiles } from '../../src/edges/store-files.js';
import { randomBytes } from '../../src/edges/random.js';
import { MessageStore } from '../../src/service/message-store.js';
import { throttledStick } from './throttled-stick.js';

const KEY = new Uint8Array(32).fill(9);
const PAGE = 50;
const MESSAGE_BYTES = 2400;

async function storeOf(root: string, n: number): Promise<string> {
  const folder = join(root, `n${n}`);
  const files = await StoreFiles.create(folder, KEY, emptyStoreState(), randomBytes);
  const state = emptyStoreState();
  for (let i = 1; i <= n; i++) {
    const date = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
    const message = { id: String(i), direction: 'in' as const, relayId: `r${i}`, from: `s${i % 17}@caliop.test`, to: ['a@caliop.test'], subject: `message ${i}`, date, storedAt: date, unread: true, armoredMessage: 'x'.repeat(MESSAGE_BYTES) };
    const object = files.newObjectName();
    if (i > n - PAGE) await files.writeObject(object, new TextEncoder().encode(JSON.stringify(message)));
    const entry: IndexEntry = { id: message.id, object, direction: 'in', relayId: message.relayId, from: message.from, to: message.to, subject: message.subject, date, storedAt: date, unread: true, size: MESSAGE_BYTES + 300 };
    state.entries.push(entry);
  }
  state.nextId = n + 1;
  await files.compact(state, new Set(state.entries.map((entry) => entry.object)));
  return folder;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function benchMessageStore(): Promise<{ name: string; lines: string[] }> {
  const stick = throttledStick();
  const root = await mkdtemp(join(stick?.folder ?? tmpdir(), 'caliop-bench-store-'));
  try {
    const rows: { n: number; unlock: number; unlockWall: number; open: number; both: number; bothWall: number; mark: number; opened: number; indexRead: number; openRead: number; bytesPerRead: number; deviceBytesPerRead: number | undefined }[] = [];
    const sizes = [100, 1000, 10_000];
    const folders = new Map<number, string>();
    for (const n of sizes) folders.set(n, await storeOf(root, n));
    // CPU time of this process (user + system), and wall time beside it: the machine is shared (docs/benchmarks.md).
    const cpuMs = (since: NodeJS.CpuUsage) => {
      const used = process.cpuUsage(since);
      return (used.user + used.system) / 1000;
    };
    // Rounds go through the three sizes in turn, and the first two are not counted: measured one
    // size after the other, the 100 came first and paid the JIT's warming up (issue 13, 2026-12-01).
    const samples = new Map(sizes.map((n) => [n, { unlocks: [] as number[], unlockWalls: [] as number[], opens: [] as number[], both: [] as number[], bothWall: [] as number[], opened: 0, indexRead: 0, openRead: 0 }]));
    const stores = new Map<number, MessageStore>();
    for (let round = 0; round < 9; round++) {
      for (const n of sizes) {
        const sample = samples.get(n)!;
        const wallStart = performance.now();
        let start = process.cpuUsage();
        const store = await MessageStore.open(folders.get(n)!, KEY, randomBytes);
        const unlock = cpuMs(start);
        const unlockWall = performance.now() - wallStart;
        const openRead = store.io.indexBytesRead;
        start = process.cpuUsage();
        for (const entry of (await store.page(0, PAGE)).entries) await store.get(entry.id);
        const open = cpuMs(start);
        const wall = performance.now() - wallStart;
        if (round < 2) continue;
        sample.unlocks.push(unlock);
        sample.unlockWalls.push(unlockWall);
        sample.openRead = openRead;
        sample.opens.push(open);
        sample.both.push(unlock + open);
        sample.bothWall.push(wall);
        sample.opened = store.io.indexBytesOpened;
        sample.indexRead = store.io.indexBytesRead;
        stores.set(n, store);
      }
    }
    for (const n of sizes) {
      const store = stores.get(n)!;
      const { unlocks, unlockWalls, opens, both, bothWall, opened, indexRead, openRead } = samples.get(n)!;
      const marks: number[] = [];
      const before = store.io.bytesWritten;
      const deviceBefore = stick?.deviceBytesWritten();
      const reads = 200;
      for (let i = 0; i < reads; i++) {
        const start = performance.now();
        await store.setUnread(String(n), i % 2 === 1); // a change every time: read, unread, read…
        marks.push(performance.now() - start);
      }
      rows.push({ n, unlock: median(unlocks), unlockWall: median(unlockWalls), openRead, open: median(opens), both: median(both), bothWall: median(bothWall), mark: median(marks), opened, indexRead, bytesPerRead: (store.io.bytesWritten - before) / reads, deviceBytesPerRead: stick && deviceBefore !== undefined ? (stick.deviceBytesWritten() - deviceBefore) / reads : undefined });
    }
    // docs/store.md §4: every unlock replays the whole journal; opened here with the journal at its
    // largest: marks (each of another message, 7919 apart) folded every JOURNAL_FOLD_RECORDS, the
    // fold of as many as keep it under compactionDue's bound, then JOURNAL_FOLD_RECORDS marks more.
    const fullJournal: { n: number; bytes: number; records: number; cpu: number; page: number; wall: number }[] = [];
    const mark = (seq: number, n: number): StoreOp[] => [{ op: 'set', id: String(1 + ((seq * 7919) % n)), unread: seq % 2 === 0 }];
    for (const n of [100, 10_000]) {
      const folder = folders.get(n)!;
      const indexBytes = await readFile(join(folder, 'index'));
      const generation = indexBytes.readUInt32BE(10);
      const history: StoreOp[][] = [];
      let largest: Buffer | undefined;
      // Every message marked at least once (the fold stops growing), or the compaction bound reached.
      for (let folds = 1; folds * JOURNAL_FOLD_RECORDS <= 2 * n + 4 * JOURNAL_FOLD_RECORDS; folds++) {
        while (history.length < folds * JOURNAL_FOLD_RECORDS) history.push(mark(history.length, n));
        const base = history.length;
        const header = journalHeader(generation, base);
        const parts = [header, await sealJournalRecord(KEY, header, base, randomBytes(24), foldRecords(history))];
        for (let k = 0; k < JOURNAL_FOLD_RECORDS; k++) parts.push(await sealJournalRecord(KEY, header, base + 1 + k, randomBytes(24), mark(base + k, n)));
        const journal = Buffer.concat(parts);
        if (compactionDue(journal.length, indexBytes.length)) break;
        largest = journal;
      }
      await writeFile(join(folder, 'journal'), largest!);
      fullJournal.push({ n, bytes: largest!.length, records: JOURNAL_FOLD_RECORDS + 1, cpu: 0, page: 0, wall: 0 });
    }
    // The two sizes in turn, as above (measured one after the other, the first paid the JIT's warming up).
    const fullSamples = fullJournal.map(() => ({ cpus: [] as number[], pages: [] as number[], walls: [] as number[] }));
    for (let round = 0; round < 11; round++) {
      for (const [i, row] of fullJournal.entries()) {
        const wallStart = performance.now();
        const start = process.cpuUsage();
        const store = await MessageStore.open(folders.get(row.n)!, KEY, randomBytes);
        const cpu = cpuMs(start);
        const wall = performance.now() - wallStart;
        for (const entry of (await store.page(0, PAGE)).entries) await store.get(entry.id);
        if (round < 2) continue;
        fullSamples[i]!.cpus.push(cpu);
        fullSamples[i]!.walls.push(wall);
        fullSamples[i]!.pages.push(cpuMs(start));
      }
    }
    for (const [i, row] of fullJournal.entries()) Object.assign(row, { cpu: median(fullSamples[i]!.cpus), page: median(fullSamples[i]!.pages), wall: median(fullSamples[i]!.walls) });
    const base = rows[0]!;
    const maxRss = Math.round(process.resourceUsage().maxRSS / 1024);
    return {
      name: `message store (docs/store.md): open the store at unlock (index header, head and first chunk, and journal) and the inbox's first page (a page of ${PAGE}), CPU time (and wall for both), medians of 7 rounds through the three sizes in turn after 2 not counted; and mark one read, by messages stored; peer = the same with 100 stored; folder: ${stick?.description ?? `${tmpdir()} (NOT throttled: needs root for the loop device)`}`,
      lines: [
        ...rows.map(
          (row) =>
            `${String(row.n).padStart(6)} stored: open the store at unlock ${row.unlock.toFixed(1)} ms CPU (${(row.unlock / base.unlock).toFixed(2)}x), ${row.unlockWall.toFixed(1)} ms wall (${(row.unlockWall / base.unlockWall).toFixed(2)}x; index file read ${Math.round(row.openRead / 1024)} KiB), open inbox page ${row.open.toFixed(1)} ms CPU (${(row.open / base.open).toFixed(2)}x; index plaintext opened for both ${Math.round(row.opened / 1024)} KiB), unlock + page ${row.both.toFixed(1)} ms CPU (${(row.both / base.both).toFixed(2)}x), ${row.bothWall.toFixed(1)} ms wall (${(row.bothWall / base.bothWall).toFixed(2)}x; index file read ${Math.round(row.indexRead / 1024)} KiB), mark read ${row.mark.toFixed(2)} ms wall (${(row.mark / base.mark).toFixed(2)}x), ` +
            `bytes written per read ${Math.round(row.bytesPerRead)} by the store${row.deviceBytesPerRead === undefined ? '' : `, ${Math.round(row.deviceBytesPerRead)} reaching the device (file system metadata included)`} (message ${MESSAGE_BYTES + 300}; target <= ${2 * (MESSAGE_BYTES + 300) + 65536})`,
        ),
        `unlock with the journal at its largest (docs/store.md §4: a fold of marks and ${JOURNAL_FOLD_RECORDS} marks more): ${fullJournal.map((row) => `${row.n} stored, ${Math.round(row.bytes / 1024)} KiB in ${row.records} records: ${row.cpu.toFixed(1)} ms CPU, ${row.wall.toFixed(1)} ms wall, with the first page ${row.page.toFixed(1)} ms CPU`).join('; ')} (${(fullJournal[1]!.cpu / fullJournal[0]!.cpu).toFixed(2)}x CPU; with the page ${(fullJournal[1]!.page / fullJournal[0]!.page).toFixed(2)}x)`,
        `peak RSS of the bench process: ${maxRss} MiB`,
      ],
    };
  } finally {
    await rm(root, { recursive: true, force: true });
    stick?.release();
  }
}
