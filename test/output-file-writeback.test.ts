// `--output FILE` (docs/cli.md §2.1, src/edges/output-file.ts, src/edges/writeback.ts): the temporary file reaches the
// disk while it is written (an fdatasync in the background every WRITEBACK_BYTES), and the
// commit still fsyncs it whole before the rename, then the folder. Watched with strace (one
// file per thread, each call with its start time and duration, ordered by time), on the built
// module: what the executable runs.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createOutputFile } from '../src/edges/output-file.js';
import { Writeback, WRITEBACK_BYTES } from '../src/edges/writeback.js';
import { traceNodeScript, type TracedCall } from './helpers/strace.js';

const folder = mkdtempSync(join(tmpdir(), 'caliop-output-writeback-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const BUILT = join(import.meta.dirname, '../build/src/edges/output-file.js');

it('a large output reaches the disk while it is written; the commit fsyncs it whole before the rename (strace)', () => {
  const target = join(folder, 'large.out');
  const pieces = 5; // 5 x 4 MiB = 20 MiB: one or two background fdatasyncs of 8 MiB
  const script = `
    import { createOutputFile } from ${JSON.stringify(BUILT)};
    const output = await createOutputFile(${JSON.stringify(target)}, { replace: false, mode: 0o600 });
    const piece = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < ${pieces}; i++) {
      piece.fill(i + 1);
      await output.write(piece);
    }
    await output.commit();`;
  const { status, stderr, calls } = traceNodeScript(folder, script, ['openat', 'fsync', 'fdatasync', 'rename', 'renameat', 'renameat2']);
  expect(status, stderr.slice(-2000)).toBe(0);
  const partialOpen = calls.find((call) => call.name === 'openat' && call.args.includes('.large.out.partial-') && call.result >= 0);
  expect(partialOpen, 'the temporary file was opened').toBeDefined();
  const fd = partialOpen!.result;
  const onPartial = (call: TracedCall) => Number(/^(\d+)/.exec(call.args)?.[1]) === fd && call.start > partialOpen!.start && call.result === 0;
  const rename = calls.find((call) => call.name.startsWith('rename') && call.args.includes('.large.out.partial-'));
  expect(rename, 'the temporary file was renamed over the target').toBeDefined();
  const early = calls.filter((call) => call.name === 'fdatasync' && onPartial(call) && call.end <= rename!.start);
  // At least one (a second starts only once the first is over: on a loaded machine it may not be).
  expect(early.length, 'background fdatasyncs while the output was written').toBeGreaterThanOrEqual(1);
  expect(WRITEBACK_BYTES).toBeLessThanOrEqual(8 * 1024 * 1024);
  // (After the rename the descriptor's number is the folder's, fsynced too.)
  const final = calls.filter((call) => call.name === 'fsync' && onPartial(call) && call.start < rename!.start);
  expect(final.length, 'one fsync of the whole file at the commit').toBe(1);
  expect(final[0]!.end, 'the fsync ended before the rename').toBeLessThanOrEqual(rename!.start);
  expect(final[0]!.start, 'after the last background fdatasync').toBeGreaterThanOrEqual(early.at(-1)!.end);
  const written = readFileSync(target);
  expect(written.length).toBe(pieces * 4 * 1024 * 1024);
  for (let i = 0; i < pieces; i++) expect(written[i * 4 * 1024 * 1024 + 12345], `piece ${i}`).toBe(i + 1);
  expect(readdirSync(folder).filter((name) => name.includes('.partial-')), 'no temporary file left').toEqual([]);
});

it("a large object of the stick's store reaches the disk while it is written; fsynced whole before it is named (strace)", () => {
  const storeFolder = join(folder, 'store');
  const STORE_FILES = join(import.meta.dirname, '../build/src/edges/store-files.js');
  const STORE_FORMAT = join(import.meta.dirname, '../build/src/core/store-format.js');
  const script = `
    import { randomBytes } from 'node:crypto';
    import { writeSync } from 'node:fs';
    import { StoreFiles } from ${JSON.stringify(STORE_FILES)};
    import { emptyStoreState } from ${JSON.stringify(STORE_FORMAT)};
    const files = await StoreFiles.create(${JSON.stringify(storeFolder)}, new Uint8Array(32).fill(7), emptyStoreState(), randomBytes);
    const name = files.newObjectName();
    async function* pieces() {
      for (let i = 0; i < 5; i++) {
        yield new Uint8Array(4 * 1024 * 1024).fill(i + 1);
      }
    }
    await files.writeObject(name, pieces());
    writeSync(1, 'written ' + name + '\\n');`;
  const run = traceNodeScript(folder, script, ['openat', 'fsync', 'fdatasync', 'write']);
  expect(run.status, run.stderr.slice(-2000)).toBe(0);
  const name = /written (\S+)/.exec(run.stdout)?.[1];
  expect(name, run.stdout).toBeDefined();
  const opened = run.calls.find((call) => call.name === 'openat' && call.args.includes(name!) && call.result >= 0);
  expect(opened, 'the object was opened').toBeDefined();
  const done = run.calls.find((call) => call.name === 'write' && call.args.startsWith('1, "written'));
  const onObject = (call: TracedCall) => Number(/^(\d+)/.exec(call.args)?.[1]) === opened!.result && call.start > opened!.start && call.end <= done!.start && call.result === 0;
  const early = run.calls.filter((call) => call.name === 'fdatasync' && onObject(call));
  const final = run.calls.filter((call) => call.name === 'fsync' && onObject(call));
  expect(early.length, 'background fdatasyncs while the object was written').toBeGreaterThanOrEqual(1);
  expect(final.length, 'one fsync of the whole object').toBe(1);
  expect(final[0]!.start).toBeGreaterThanOrEqual(early.at(-1)!.end);
});

it('an abort while a background fdatasync runs leaves neither the target nor the temporary file', async () => {
  const dir = join(folder, 'aborted');
  mkdirSync(dir);
  const target = join(dir, 'out.bin');
  const output = await createOutputFile(target, { replace: false, mode: 0o600 });
  await output.write(new Uint8Array(WRITEBACK_BYTES + 1)); // begins a background fdatasync
  await output.abort();
  expect(readdirSync(dir)).toEqual([]);
});

describe('Writeback', () => {
  const fakeHandle = (outcomes: Array<() => Promise<void>>) => {
    const calls: number[] = [];
    return { calls, handle: { datasync: () => { calls.push(calls.length); return (outcomes.shift() ?? (() => Promise.resolve()))(); } } as unknown as FileHandle };
  };

  it('one fdatasync per WRITEBACK_BYTES written, never two at a time', async () => {
    let release!: () => void;
    const { calls, handle } = fakeHandle([() => new Promise<void>((resolve) => (release = resolve))]);
    const writeback = new Writeback(handle);
    writeback.wrote(WRITEBACK_BYTES - 1);
    expect(calls).toHaveLength(0);
    writeback.wrote(1);
    expect(calls).toHaveLength(1);
    writeback.wrote(WRITEBACK_BYTES * 3); // the first still runs: none more
    expect(calls).toHaveLength(1);
    release();
    await writeback.settle();
    writeback.wrote(WRITEBACK_BYTES);
    expect(calls).toHaveLength(2);
    await writeback.settle();
  });

  it("an fdatasync's error fails settle() (the file cannot be trusted), not quiet()", async () => {
    const { handle } = fakeHandle([() => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))]);
    const writeback = new Writeback(handle);
    writeback.wrote(WRITEBACK_BYTES);
    await writeback.quiet();
    await expect(writeback.settle()).rejects.toThrow(/EIO/);
  });
});
