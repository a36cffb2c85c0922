// Accepted means durable on SQLite (docs/decisions/relay-store.md): the relay's connection
// commits without an fsync (synchronous = OFF) and the group commit waits for the WAL's fsync
// off the event loop (src/relay/store/wal-sync.ts). Watched with strace: before each write's
// promise resolves, the write-ahead log holding its frames has been fsynced, to the end.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, onTestFailed } from 'vitest';

const folder = mkdtempSync(join(tmpdir(), 'caliop-commit-durable-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const BUILT = join(import.meta.dirname, '../../build/src/relay/store/sqlite-store.js');

it('a stored message is answered only after an fsync of the WAL that follows its frames, a streamed one\'s chunks without (strace)', () => {
  const file = join(folder, 'relay.sqlite');
  const script = `
    import { writeSync } from 'node:fs';
    import { SqliteRelayStore } from ${JSON.stringify(BUILT)};
    writeSync(1, 'pid ' + process.pid + '\\n');
    const store = SqliteRelayStore.open(${JSON.stringify(file)});
    const at = '2026-01-01T00:00:00.000Z';
    await store.createAccount({ address: 'ana@x.test', localPart: 'ana', cert: new Uint8Array([1]), certFingerprint: '1'.repeat(40), devicePublicKey: new Uint8Array(32).fill(1), enrolledAt: at, wkdHash: 'h' }, null);
    const facts = { route: 'internal', receivedAt: at, submittedBy: 'ana@x.test', transport: { protocol: 'https', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } };
    for (let i = 0; i < 3; i++) {
      const id = (p) => p + String(i).padStart(21, '0');
      if (i === 1) {
        // docs/api.md §8.2.1: a streamed message's chunks commit without waiting for the disk; the message's own commit does, after them.
        for (let seq = 0; seq < 3; seq++) await store.putCiphertextChunk(id('m'), seq, new Uint8Array(200000).fill(seq + 1), 1767225600);
        writeSync(1, 'chunks ' + i + '\\n');
        await store.storeMessage({ id: id('m'), sender: 'ana@x.test', recipients: ['ana@x.test'], size: 600000, facts, armoredMessage: '', chunks: 3, entryIds: [id('e')] });
      } else await store.storeMessage({ id: id('m'), sender: 'ana@x.test', recipients: ['ana@x.test'], size: 5, facts, armoredMessage: 'ccccc', entryIds: [id('e')] });
      writeSync(1, 'accepted ' + i + '\\n');
    }
    await store.close();`;
  const run = spawnSync('strace', ['-f', '-e', 'trace=openat,pwrite64,fsync,fdatasync,write', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  // A failure keeps strace's whole output (test/artifacts/tmp/, ignored by git): the loop's run 4 of
  // 2026-12-01 (load 6) failed once at message 1 and could not be reproduced in 25 runs under load.
  onTestFailed(() => {
    const folder = join(import.meta.dirname, '../artifacts/tmp/sqlite-commit-durable');
    mkdirSync(folder, { recursive: true });
    const path = join(folder, `strace-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`);
    writeFileSync(path, `${run.stdout}\n----\n${run.stderr}`);
    console.error(`sqlite-commit-durable: strace's output kept in ${path}`);
  });
  expect(run.status, run.stderr.slice(-2000)).toBe(0);
  const lines = run.stderr.split('\n');
  // strace -f prefixes a line with [pid N] only once the process has more than one thread; the
  // leader's earlier lines carry none. Its pid, from the script, makes both forms one thread.
  const leader = /^pid (\d+)$/m.exec(run.stdout)?.[1] ?? 'leader';
  const wal = `${file}-wal`;
  const pidOf = (line: string) => /^\[pid\s+(\d+)\]/.exec(line)?.[1] ?? leader;
  /** The descriptor an openat returned. wal-sync opens on libuv's thread pool, so under load strace
   *  often splits the call: "openat(..., "DB-wal", ...) <unfinished ...>", then, later and from the
   *  same thread, "<... openat resumed>) = 25". */
  const openedFd = (start: number): number | undefined => {
    const line = lines[start]!;
    const result = (text: string) => (/ = (\d+)$/.exec(text) ? Number(/ = (\d+)$/.exec(text)![1]) : undefined);
    if (!line.includes('<unfinished ...>')) return result(line);
    const resumed = lines.find((each, index) => index > start && pidOf(each) === pidOf(line) && each.includes('<... openat resumed>'));
    return resumed === undefined ? undefined : result(resumed);
  };
  const walOpens = lines.flatMap((line, index) => (line.includes('openat(') && line.includes(`"${wal}"`) ? [{ line, fd: openedFd(index) }] : []));
  // Every descriptor opened on the WAL: SQLite's own (read-write) and wal-sync's.
  const walFds = new Set(walOpens.flatMap(({ fd }) => (fd === undefined ? [] : [fd])));
  const sqliteOpen = walOpens.find(({ line, fd }) => line.includes(`"${wal}", O_RDWR`) && fd !== undefined);
  expect(sqliteOpen, 'SQLite opened its WAL').toBeDefined();
  const walWriteFd = sqliteOpen!.fd!;
  expect(walFds.size, 'wal-sync opened the WAL on a descriptor of its own').toBeGreaterThan(1);
  /** Index of the line where an fsync of a WAL descriptor started at `start` completed (strace may split it). */
  const completion = (start: number): number => {
    const line = lines[start]!;
    if (!line.includes('<unfinished ...>')) return / = 0$/.test(line) ? start : -1;
    return lines.findIndex((each, index) => index > start && pidOf(each) === pidOf(line) && /<\.\.\. f(data)?sync resumed>.* = 0$/.test(each));
  };
  for (let i = 0; i < 3; i++) {
    const accepted = lines.findIndex((line) => line.includes(`write(1, "accepted ${i}\\n"`));
    expect(accepted, `accepted ${i} printed`).toBeGreaterThan(-1);
    const lastFrame = lines.reduce((found, line, index) => (index < accepted && new RegExp(`pwrite64\\(${walWriteFd},`).test(line) ? index : found), -1);
    expect(lastFrame, `message ${i} written to the WAL`).toBeGreaterThan(-1);
    const synced = lines.some((line, index) => {
      const fd = /f(?:data)?sync\((\d+)/.exec(line)?.[1];
      if (index <= lastFrame || fd === undefined || !walFds.has(Number(fd))) return false;
      const done = completion(index);
      return done > -1 && done < accepted;
    });
    expect(synced, `an fsync of the WAL after message ${i}'s frames and before its answer`).toBe(true);
  }
  // Message 1's chunks were answered with no fsync of the WAL since message 0's answer; its own answer waited for one (above).
  const [answered0, chunks1] = [lines.findIndex((line) => line.includes('write(1, "accepted 0\\n"')), lines.findIndex((line) => line.includes('write(1, "chunks 1\\n"'))];
  expect(chunks1).toBeGreaterThan(answered0);
  const chunkFrames = lines.slice(answered0, chunks1).filter((line) => new RegExp(`pwrite64\\(${walWriteFd},`).test(line)).length;
  expect(chunkFrames, 'the chunks went to the WAL').toBeGreaterThan(100);
  expect(lines.slice(answered0, chunks1).filter((line) => /f(?:data)?sync\((\d+)/.test(line) && walFds.has(Number(/f(?:data)?sync\((\d+)/.exec(line)![1]))).length, 'no WAL fsync for the chunks').toBe(0);
});
