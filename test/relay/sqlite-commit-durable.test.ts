// Accepted means durable on SQLite (docs/decisions/relay-store.md): the relay's connection
// commits without an fsync (synchronous = OFF) and the group commit waits for the WAL's fsync
// off the event loop (src/relay/store/wal-sync.ts). Watched with strace: before each write's
// promise resolves, the write-ahead log holding its frames has been fsynced, to the end.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, onTestFailed } from 'vitest';
import { traceNodeScript, type TracedCall } from '../helpers/strace.js';

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
  // One trace file per thread, ordered by time (test/helpers/strace.ts says why).
  const run = traceNodeScript(folder, script, ['openat', 'pwrite64', 'fsync', 'fdatasync', 'write']);
  const calls = run.calls;
  // A failure keeps strace's whole output (test/artifacts/tmp/, ignored by git).
  onTestFailed(() => {
    const kept = join(import.meta.dirname, '../artifacts/tmp/sqlite-commit-durable');
    mkdirSync(kept, { recursive: true });
    const path = join(kept, `strace-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`);
    writeFileSync(path, `${run.stdout}\n----\n${run.stderr}\n----\n${run.text}`);
    console.error(`sqlite-commit-durable: strace's output kept in ${path}`);
  });
  expect(run.status, run.stderr.slice(-2000)).toBe(0);
  const wal = `${file}-wal`;
  const walOpens = calls.filter((call) => call.name === 'openat' && call.args.includes(`"${wal}"`) && call.result >= 0);
  // Every descriptor opened on the WAL: SQLite's own (read-write) and wal-sync's.
  const walFds = new Set(walOpens.map((call) => call.result));
  const sqliteOpen = walOpens.find((call) => call.args.includes(`"${wal}", O_RDWR`));
  expect(sqliteOpen, 'SQLite opened its WAL').toBeDefined();
  const walWriteFd = sqliteOpen!.result;
  expect(walFds.size, 'wal-sync opened the WAL on a descriptor of its own').toBeGreaterThan(1);
  const frames = calls.filter((call) => call.name === 'pwrite64' && call.args.startsWith(`${walWriteFd},`));
  const walSyncs = calls.filter((call) => (call.name === 'fsync' || call.name === 'fdatasync') && call.result === 0 && walFds.has(Number(/^(\d+)/.exec(call.args)?.[1])));
  const printed = (text: string) => calls.find((call) => call.name === 'write' && call.args.startsWith(`1, "${text}\\n"`));
  for (let i = 0; i < 3; i++) {
    const accepted = printed(`accepted ${i}`);
    expect(accepted, `accepted ${i} printed`).toBeDefined();
    const lastFrame = frames.filter((frame) => frame.end <= accepted!.start).at(-1);
    expect(lastFrame, `message ${i} written to the WAL`).toBeDefined();
    const synced = walSyncs.some((sync) => sync.start >= lastFrame!.end && sync.end <= accepted!.start);
    expect(synced, `an fsync of the WAL after message ${i}'s frames and before its answer`).toBe(true);
  }
  // Message 1's chunks were answered with no fsync of the WAL since message 0's answer; its own answer waited for one (above).
  const [answered0, chunks1] = [printed('accepted 0')!, printed('chunks 1')!];
  expect(chunks1.start).toBeGreaterThan(answered0.start);
  const between = (call: TracedCall) => call.start > answered0.start && call.start < chunks1.start;
  expect(frames.filter(between).length, 'the chunks went to the WAL').toBeGreaterThan(100);
  expect(walSyncs.filter(between).length, 'no WAL fsync for the chunks').toBe(0);
});
