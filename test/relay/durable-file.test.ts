// The relay's durable write (src/relay/durable-file.ts, docs/architecture.md §Durable writes):
// what it leaves, and, watched with strace, that the new file is fsynced before the rename and
// the folder after it (the order that makes the rename survive a crash).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileDurablySync } from '../../src/relay/durable-file.js';

const folder = mkdtempSync(join(tmpdir(), 'caliop-durable-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const BUILT = join(import.meta.dirname, '../../build/src/relay/durable-file.js');

describe('the relay durable write', () => {
  it('replaces the file whole, mode 0600, and leaves no temporary file', () => {
    const path = join(folder, 'disclosure-key.pem');
    writeFileSync(path, 'old');
    writeFileDurablySync(path, 'new contents\n');
    expect(readFileSync(path, 'utf8')).toBe('new contents\n');
    expect(readdirSync(folder).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    writeFileDurablySync(join(folder, 'fresh'), new Uint8Array([1, 2, 3]));
    expect(statSync(join(folder, 'fresh')).mode & 0o777).toBe(0o600);
  });

  it('a write that cannot happen throws and leaves the old file as it was', () => {
    const path = join(folder, 'no-such-folder', 'selector');
    expect(() => writeFileDurablySync(path, 'x')).toThrow(/ENOENT/);
  });

  it('fsyncs the new file before the rename, and the folder after it (strace)', () => {
    const target = join(folder, 'selector');
    const script = `import { writeFileDurablySync } from ${JSON.stringify(BUILT)}; writeFileDurablySync(${JSON.stringify(target)}, 'caliop202611\\n');`;
    const run = spawnSync('strace', ['-f', '-e', 'trace=openat,fsync,rename,renameat,renameat2', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stderr.split('\n');
    // The descriptor openat returned for the temporary file and for the folder, then their fsyncs.
    const fdOf = (pattern: RegExp) => {
      const line = lines.find((each) => pattern.test(each) && / = \d+$/.test(each));
      return line === undefined ? undefined : Number(/ = (\d+)$/.exec(line)![1]);
    };
    const tempFd = fdOf(new RegExp(`openat\\(.*"${target}\\.tmp"`));
    const folderFd = fdOf(new RegExp(`openat\\(.*"${folder}", O_RDONLY`));
    expect(tempFd).toBeDefined();
    expect(folderFd).toBeDefined();
    const at = (pattern: RegExp) => lines.findIndex((each) => pattern.test(each));
    const fileSynced = at(new RegExp(`fsync\\(${tempFd}\\)`));
    const renamed = at(new RegExp(`rename(at2?)?\\(.*"${target}\\.tmp".*"${target}"`));
    const folderSynced = lines.findIndex((each, index) => index > renamed && new RegExp(`fsync\\(${folderFd}\\)`).test(each));
    expect(fileSynced).toBeGreaterThan(-1);
    expect(renamed).toBeGreaterThan(fileSynced);
    expect(folderSynced).toBeGreaterThan(renamed);
    expect(readFileSync(target, 'utf8')).toBe('caliop202611\n');
  });
});
