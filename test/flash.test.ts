// The flashing pipeline on real block devices (docs/flashing-station.md):
// loop devices over files under os.tmpdir(), the real caliop-flash process
// for the scripted form, and the station's use case in-process with injected
// arrivals (no USB stick can be plugged into the test machine).

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatManifest, parseManifest } from '../src/core/stick-manifest.js';
import type { CandidateDrive } from '../src/flash/drive-list.js';
import { createDriveWatcher } from '../src/flash/drive-watcher.js';
import { flashTarget, openImage, type FlashResult } from '../src/flash/pipeline.js';
import { FlashStation } from '../src/flash/station.js';
import { deterministicBytes, LoopDeviceLab } from './flash-loop-devices.js';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'build', 'src', 'flash', 'main.js');
const MiB = 1024 * 1024;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runFlash(args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: lab.folder, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function jsonLines(text: string): FlashResult[] {
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as FlashResult);
}

function readPrefix(path: string, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, length, 0);
  } finally {
    closeSync(fd);
  }
  return buffer;
}

let lab: LoopDeviceLab;
let image: string;
let imageBytes: Buffer;

beforeAll(() => {
  // The scripted form is tested as the real compiled program ("npm test" builds first).
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
  lab = new LoopDeviceLab('caliop-flash-test-');
  image = lab.image('test.img', 6 * MiB, 1);
  imageBytes = readFileSync(image);
});

afterAll(() => {
  lab?.cleanup();
});

describe('caliop-flash flash: the scripted form on loop devices', () => {
  it('writes and verifies three loop devices at once, one JSON result each, and logs each', async () => {
    const targets = [0, 1, 2].map((index) => lab.loopDevice(`three-${index}.bin`, 8 * MiB));
    const logFile = join(lab.folder, 'three.jsonl');
    const run = await runFlash(['flash', '--image', image, ...targets.flatMap(({ device }) => ['--target', device]), '--yes', '--json', '--log', logFile]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const results = jsonLines(run.stdout);
    expect(results.map((result) => result.target).sort()).toEqual(targets.map(({ device }) => device).sort());
    for (const result of results) {
      expect(result).toMatchObject({ result: 'ok', step: 'finished', bytesWritten: 6 * MiB, sizeBytes: 8 * MiB, sha256: sha256(imageBytes), imageSha256: sha256(imageBytes), ejected: 'skipped' });
      expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(Date.parse(result.startedAt));
    }
    // What is on the backing files, read without the station: the image, then the untouched zeros.
    for (const { backing } of targets) {
      const content = readFileSync(backing);
      expect(sha256(content.subarray(0, 6 * MiB))).toBe(sha256(imageBytes));
      expect(content.subarray(6 * MiB).every((byte) => byte === 0)).toBe(true);
    }
    const logLines = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logLines).toHaveLength(3);
    for (const line of logLines) expect(line).toMatchObject({ result: 'ok', serial: '', imageSha256: sha256(imageBytes) });
  });

  it('a stick that runs out of space mid-write fails alone; the others are written and verified (fake-capacity stick)', async () => {
    // A 16 MiB loop device over a tmpfs of 3 MiB: it claims more than it can hold, like a counterfeit stick.
    const small = lab.smallFilesystem('small-fs', 3 * MiB);
    const fake = lab.loopDevice('fake-capacity.bin', 16 * MiB, small);
    const good = [lab.loopDevice('good-0.bin', 8 * MiB), lab.loopDevice('good-1.bin', 8 * MiB)];
    const run = await runFlash(['flash', '--image', image, '--target', good[0]!.device, '--target', fake.device, '--target', good[1]!.device, '--yes', '--json', '--log', join(lab.folder, 'fake.jsonl')]);
    expect(run.code).toBe(53); // flash_failed
    const results = jsonLines(run.stdout);
    expect(results).toHaveLength(3);
    const failed = results.find((result) => result.target === fake.device);
    expect(failed).toMatchObject({ result: 'failed', step: 'flashing', error: { code: 'flash_failed', exit: 53 } });
    expect(run.stderr).toMatch(/^caliop-flash: error: writing \/dev\/loop\d+ failed/m);
    expect(run.stderr).toMatch(/^caliop-flash: hint: /m);
    for (const { device, backing } of good) {
      expect(results.find((result) => result.target === device)).toMatchObject({ result: 'ok', step: 'finished' });
      expect(sha256(readPrefix(backing, 6 * MiB))).toBe(sha256(imageBytes));
    }
  });

  it('refuses a target smaller than the image, and then writes nothing at all', async () => {
    const tooSmall = lab.loopDevice('too-small.bin', 4 * MiB);
    const fine = lab.loopDevice('fine.bin', 8 * MiB);
    const run = await runFlash(['flash', '--image', image, '--target', fine.device, '--target', tooSmall.device, '--yes', '--json', '--log', join(lab.folder, 'small.jsonl')]);
    expect(run.code).toBe(52);
    expect(run.stderr).toContain(`caliop-flash: error: refusing to write to this drive: ${tooSmall.device} holds ${4 * MiB} bytes`);
    expect(run.stderr).toMatch(/caliop-flash: hint: .*nothing was written/);
    expect(jsonLines(run.stdout).map((result) => result.error?.code)).toEqual(['flash_target_refused', 'flash_target_refused']);
    expect(readFileSync(fine.backing).every((byte) => byte === 0)).toBe(true);
  });

  it('transcripts: a missing --target is a usage error (2); a missing image cannot be read (22)', async () => {
    const usage = await runFlash(['flash', '--image', image]);
    expect(usage).toEqual({
      code: 2,
      stdout: '',
      stderr: "caliop-flash: error: required option '--target <device>' not specified\ncaliop-flash: hint: run \"caliop-flash help flash\" or \"caliop-flash help station\" to see the options\n",
    });
    const missing = await runFlash(['flash', '--image', join(lab.folder, 'no-such.img'), '--target', '/dev/null', '--yes']);
    expect(missing.code).toBe(22);
    expect(missing.stderr).toBe(`caliop-flash: error: cannot open the image ${join(lab.folder, 'no-such.img')}\ncaliop-flash: hint: build it with "npm run build:image" or pass --image FILE\n`);
  });

  it('refuses a path that is not a block device', async () => {
    const run = await runFlash(['flash', '--image', image, '--target', image, '--yes', '--json']);
    expect(run.code).toBe(52);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`caliop-flash: error: ${image} is not a block device\ncaliop-flash: hint: name a whole drive such as /dev/sdb (see lsblk)\n`);
  });

  it('refuses the disk that holds / (the system drive)', async () => {
    const source = execFileSync('findmnt', ['--noheadings', '--output', 'SOURCE', '/'], { encoding: 'utf8' }).trim();
    // The whole disk behind the root file system (itself when / is on a whole disk).
    const parent = execFileSync('lsblk', ['--noheadings', '--nodeps', '--output', 'PKNAME', source], { encoding: 'utf8' }).trim();
    const disk = parent === '' ? source : `/dev/${parent}`;
    const run = await runFlash(['flash', '--image', image, '--target', disk, '--yes', '--json']);
    expect(run.code).toBe(52);
    expect(run.stderr).toContain(`${disk} holds the running system`);
    expect(jsonLines(run.stdout)).toMatchObject([{ target: disk, result: 'failed', step: 'checking', bytesWritten: 0 }]);
  });

  it('refuses a drive with a mounted volume', async () => {
    const stick = lab.loopDevice('mounted.bin', 8 * MiB);
    // ext2: this test kernel has no vfat driver; the station's rule does not depend on the file system.
    execFileSync('mkfs.ext2', ['-q', '-F', stick.device], { stdio: 'pipe' });
    lab.mount(stick.device, 'mounted-at');
    const run = await runFlash(['flash', '--image', image, '--target', stick.device, '--yes']);
    expect(run.code).toBe(52);
    expect(run.stderr).toContain(`${stick.device} is mounted at ${join(lab.folder, 'mounted-at')}`);
  });

  it('asks before the first write without --yes, and writes nothing unless the answer is yes', async () => {
    const stick = lab.loopDevice('ask.bin', 8 * MiB);
    const declined = await runFlash(['flash', '--image', image, '--target', stick.device, '--log', join(lab.folder, 'ask.jsonl')], 'no\n');
    expect(declined.stderr).toContain('will be ERASED');
    expect(declined.stderr).toContain('caliop-flash: error: not confirmed: nothing was written');
    expect(declined.code).toBe(11);
    expect(readFileSync(stick.backing).every((byte) => byte === 0)).toBe(true);
    const accepted = await runFlash(['flash', '--image', image, '--target', stick.device, '--log', join(lab.folder, 'ask.jsonl')], 'yes\n');
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain(`${stick.device}: ok, ${6 * MiB} bytes written`);
  });

  it('without a terminal and without --yes, refuses to go on', async () => {
    const stick = lab.loopDevice('no-answer.bin', 8 * MiB);
    const run = await runFlash(['flash', '--image', image, '--target', stick.device]);
    expect(run.code).toBe(11);
    expect(run.stderr).toContain('caliop-flash: hint: answer "yes", or pass --yes');
  });
});

/**
 * Starts the scripted flash without --yes, waits until its question is on stderr (an event,
 * not a delay), runs `meanwhile`, then answers "yes".
 */
async function flashChangedAtTheQuestion(args: string[], meanwhile: () => void): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: lab.folder, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let asked: () => void = () => undefined;
  const question = new Promise<void>((resolve) => (asked = resolve));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.includes('Type "yes" to go on: ')) asked();
  });
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  await Promise.race([question, closed]);
  try {
    meanwhile();
  } finally {
    child.stdin.end('yes\n');
  }
  return { code: await closed, stdout, stderr };
}

describe('the target is proved again at the moment of writing (docs/flashing-station.md §Re-proving the target)', () => {
  it('a loop device grown while the question waits is refused, and not one byte is written (target_grown_at_question)', async () => {
    const stick = lab.loopDevice('grown.bin', 8 * MiB);
    const run = await flashChangedAtTheQuestion(['flash', '--image', image, '--target', stick.device, '--json', '--log', join(lab.folder, 'grown.jsonl')], () =>
      lab.grow(stick.device, stick.backing, 200 * MiB),
    );
    expect(run.code).toBe(52);
    expect(run.stderr).toContain(`caliop-flash: error: ${stick.device} is not the drive that was checked: size in bytes was ${8 * MiB}, is now ${200 * MiB}; nothing was written to it`);
    expect(run.stderr).toMatch(/^caliop-flash: hint: the drive changed since it was checked/m);
    expect(jsonLines(run.stdout)).toMatchObject([{ target: stick.device, result: 'failed', bytesWritten: 0, error: { code: 'flash_target_refused' } }]);
    expect(readPrefix(stick.backing, 8 * MiB).every((byte) => byte === 0)).toBe(true);
  });

  it('a device swapped while the question waits (detached, another file attached at the same /dev/loopN) is refused (target_swapped_at_question)', async () => {
    const stick = lab.loopDevice('swap-first.bin', 8 * MiB);
    const other = join(lab.folder, 'swap-second.bin');
    writeFileSync(other, '');
    execFileSync('truncate', ['-s', String(8 * MiB), other]);
    const run = await flashChangedAtTheQuestion(['flash', '--image', image, '--target', stick.device, '--log', join(lab.folder, 'swap.jsonl')], () => lab.swap(stick.device, other));
    expect(run.code).toBe(52);
    expect(run.stderr).toContain(`${stick.device} is not the drive that was checked: backing file was ${JSON.stringify(stick.backing)}, is now ${JSON.stringify(other)}`);
    expect(readFileSync(other).every((byte) => byte === 0)).toBe(true);
    expect(readFileSync(stick.backing).every((byte) => byte === 0)).toBe(true);
  });

  it('a second loop device over the file of a mounted one is refused before the question, naming the other (loop_backing_shared)', async () => {
    const mounted = lab.loopDevice('shared.bin', 8 * MiB);
    execFileSync('mkfs.ext2', ['-q', '-F', mounted.device], { stdio: 'pipe' });
    const mountpoint = lab.mount(mounted.device, 'shared-at');
    writeFileSync(join(mountpoint, 'precious.txt'), 'a volunteer\'s own file\n');
    const before = sha256(readFileSync(mounted.backing));
    const second = lab.attachFile(mounted.backing);
    const run = await runFlash(['flash', '--image', image, '--target', second, '--yes', '--log', join(lab.folder, 'shared.jsonl')]);
    expect(run.code).toBe(52);
    expect(run.stderr).toContain(`caliop-flash: error: refusing to write to this drive: ${second} writes to ${mounted.backing}, which ${mounted.device} also uses`);
    expect(sha256(readFileSync(mounted.backing))).toBe(before);
    expect(readFileSync(join(mountpoint, 'precious.txt'), 'utf8')).toBe("a volunteer's own file\n");
  });

  it('a target that changed after the write is not verified and nothing more is written (target_changed_before_verify)', async () => {
    const { describeNamedTarget, reproveTarget } = await import('../src/flash/lsblk.js');
    const stick = lab.loopDevice('changed-before-verify.bin', 8 * MiB);
    const source = await openImage(image);
    const target = await describeNamedTarget(stick.device, { imageSizeBytes: source.sizeBytes });
    expect(target.refusal).toBeUndefined();
    const result = await flashTarget(source, target, {
      reprove: (checked) => reproveTarget(checked.path, checked.identity!, 'explicit', { imageSizeBytes: source.sizeBytes }),
      afterWrite: async () => lab.grow(stick.device, stick.backing, 16 * MiB),
    });
    expect(result).toMatchObject({ result: 'failed', step: 'verifying', sha256: '', error: { code: 'flash_target_refused' } });
    expect(result.error?.message).toContain(`size in bytes was ${8 * MiB}, is now ${16 * MiB}; it was not verified`);
  });
});

describe('verification reads the device itself', () => {
  it('catches a stick that changed after the write, even when the changed bytes are not in the page cache (verify_caught_corruption)', async () => {
    const stick = lab.loopDevice('corrupt.bin', 8 * MiB);
    const source = await openImage(image);
    // Another process keeps the device open (as udisks would): the kernel then keeps the written pages cached after close.
    const holder = openSync(stick.device, 'r');
    let staleReadMissedIt = false;
    try {
      const result = await flashTarget(source, { path: stick.device }, {
        afterWrite: async () => {
          // The medium changes under the cache: bytes flipped in the backing file, not through the device.
          const fd = openSync(stick.backing, 'r+');
          writeSync(fd, Buffer.from('CORRUPT!'), 0, 8, 3 * MiB);
          fsyncSync(fd);
          closeSync(fd);
          // Control: a plain read of the device still returns the image (served from memory).
          staleReadMissedIt = sha256(readPrefix(stick.device, 6 * MiB)) === source.sha256;
        },
      });
      expect(staleReadMissedIt).toBe(true);
      expect(result).toMatchObject({ result: 'failed', step: 'verifying', error: { code: 'flash_verify_failed', exit: 54 } });
      expect(result.sha256).not.toBe(source.sha256);
      expect(result.sha256).toBe(sha256(readPrefix(stick.backing, 6 * MiB)));
    } finally {
      closeSync(holder);
    }
  });
});

describe('the station with injected arrivals (no physical USB insertion on this machine)', () => {
  it('writes each stick as it arrives, several at once; a failing one does not stop the others; a refused one is never opened; logs each', async () => {
    const sticks = [lab.loopDevice('station-0.bin', 8 * MiB), lab.loopDevice('station-1.bin', 8 * MiB)];
    const broken = lab.loopDevice('station-broken.bin', 16 * MiB, lab.smallFilesystem('station-small-fs', 2 * MiB));
    const asUsbStick = (device: string, serial: string): CandidateDrive => ({
      path: device, name: device.slice(5), deviceNumber: '', type: 'disk', sizeBytes: 8 * MiB,
      vendor: 'Test', model: 'Loop Stick', serial, removable: true, hotplug: true, readOnly: false, transport: 'usb', mountpoints: [],
    });
    let plugged: CandidateDrive[] = [];
    const watcher = createDriveWatcher({ listDrives: async () => plugged, pollMilliseconds: 20, loadUsbMonitor: async () => undefined });
    const source = await openImage(image);
    const logPath = join(lab.folder, 'station.jsonl');
    const station = new FlashStation({ image: source, watcher, logPath });
    const results: FlashResult[] = [];
    station.on('result', (result) => results.push(result));
    await station.start();
    expect(station.getState().sticks).toEqual([]);
    const locked: CandidateDrive = { ...asUsbStick('/dev/caliop-test-never-opened', 'SERIAL-LOCKED'), readOnly: true, refusal: { reason: 'read_only', detail: 'read-only' } };
    plugged = [asUsbStick(sticks[0]!.device, 'SERIAL-0'), asUsbStick(broken.device, 'SERIAL-BROKEN'), locked, asUsbStick(sticks[1]!.device, 'SERIAL-1')];
    while (results.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    const state = await station.stop();
    expect(state.okCount).toBe(2);
    expect(state.failedCount).toBe(1);
    expect(results.find((result) => result.serial === 'SERIAL-BROKEN')).toMatchObject({ result: 'failed', step: 'flashing' });
    for (const { backing } of sticks) expect(sha256(readPrefix(backing, 6 * MiB))).toBe(source.sha256);
    const log = readFileSync(logPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { serial: string; result: string });
    expect(log.map((line) => `${line.serial}=${line.result}`).sort()).toEqual(['SERIAL-0=ok', 'SERIAL-1=ok', 'SERIAL-BROKEN=failed', 'SERIAL-LOCKED=refused']);
    expect(state.sticks.find((stick) => stick.serial === 'SERIAL-LOCKED')?.status).toBe('refused');
  });
});

describe('the station policy on loop devices (docs/flashing-station.md §Station policy)', () => {
  it('never writes a drive that was present when the station started, even unplugged and plugged again (present_at_start)', async () => {
    const stick = lab.loopDevice('present-at-start.bin', 8 * MiB);
    const asUsbStick: CandidateDrive = {
      path: stick.device, name: stick.device.slice(5), deviceNumber: '', type: 'disk', sizeBytes: 8 * MiB,
      vendor: 'Test', model: 'Volunteer Backup', serial: 'SERIAL-PRESENT', removable: true, hotplug: true, readOnly: false, transport: 'usb', mountpoints: [],
    };
    let plugged: CandidateDrive[] = [asUsbStick];
    const watcher = createDriveWatcher({ listDrives: async () => plugged, pollMilliseconds: 20, loadUsbMonitor: async () => undefined });
    const station = new FlashStation({ image: await openImage(image), watcher });
    const results: FlashResult[] = [];
    station.on('result', (result) => results.push(result));
    const seen = (type: string) => new Promise<void>((resolve) => station.on('change', (_state, event) => event.type === type && resolve()));
    await station.start();
    expect(station.getState().sticks.map((entry) => entry.status)).toEqual(['present']);
    const removed = seen('removed');
    plugged = [];
    await removed;
    const arrived = seen('arrived');
    plugged = [asUsbStick];
    await arrived;
    const state = await station.stop();
    expect(state.sticks.at(-1)).toMatchObject({ serial: 'SERIAL-PRESENT', status: 'refused', refusal: { reason: 'present_at_start' } });
    expect(results).toEqual([]);
    expect(readFileSync(stick.backing).every((byte) => byte === 0)).toBe(true);
  });

  it('refuses a drive carrying a swap signature although nothing uses it now, found by probing the device (partition_in_use)', async () => {
    const stick = lab.loopDevice('swap-signature.bin', 8 * MiB);
    execFileSync('mkswap', [stick.device], { stdio: 'pipe' });
    const before = sha256(readFileSync(stick.backing));
    const run = await runFlash(['flash', '--image', image, '--target', stick.device, '--yes', '--log', join(lab.folder, 'swap-signature.jsonl')]);
    expect(run.code).toBe(52);
    expect(run.stderr).toContain(`${stick.device} may be in use by a system: ${stick.device} is a swap volume`);
    expect(sha256(readFileSync(stick.backing))).toBe(before);
  });

  it('refuses a drive over the configured --max-size, and --force lifts it (too_large)', async () => {
    const stick = lab.loopDevice('over-max-size.bin', 8 * MiB);
    const refused = await runFlash(['flash', '--image', image, '--target', stick.device, '--yes', '--max-size', '0.008', '--log', join(lab.folder, 'max-size.jsonl')]);
    expect(refused.code).toBe(52);
    expect(refused.stderr).toContain(`${stick.device} is 8.4 MB, larger than the station's limit of 8.0 MB`);
    expect(refused.stderr).toContain('caliop-flash: hint: pass --force for a drive over 0.008 GB you really mean to erase');
    expect(readFileSync(stick.backing).every((byte) => byte === 0)).toBe(true);
    const forced = await runFlash(['flash', '--image', image, '--target', stick.device, '--yes', '--max-size', '0.008', '--force', '--log', join(lab.folder, 'max-size.jsonl')]);
    expect(forced.code, forced.stderr).toBe(0);
  });
});

/** Reads the flashed stick's FAT volume with mtools and checks every file against its MANIFEST (docs/manifest.md §2). */
function expectFilesMatchManifest(device: string): number {
  // sfdisk(8) --json: the first partition's start, in sectors, gives mtools its offset.
  const table = JSON.parse(execFileSync('sfdisk', ['--json', device], { encoding: 'utf8' })) as { partitiontable: { sectorsize?: number; partitions: Array<{ start: number }> } };
  const offset = (table.partitiontable.partitions[0]?.start ?? 0) * (table.partitiontable.sectorsize ?? 512);
  const volume = `${device}@@${offset}`;
  // mtools warns that a block device has no floppy geometry: keep its stderr out of the test output.
  const mtools = { stdio: 'pipe' as const, maxBuffer: 1024 * MiB };
  expect(execFileSync('mdir', ['-i', volume, '-b', '::/'], { ...mtools, encoding: 'utf8' })).toMatch(/MANIFEST/);
  const manifest = parseManifest(execFileSync('mtype', ['-i', volume, '::/MANIFEST'], { ...mtools, encoding: 'utf8' }));
  for (const entry of manifest) {
    const content = execFileSync('mtype', ['-i', volume, `::/${entry.path}`], mtools);
    expect(content.length, entry.path).toBe(entry.size);
    expect(sha256(content), entry.path).toBe(entry.sha256);
  }
  return manifest.length;
}

describe('a stick image with a FAT volume and a MANIFEST', () => {
  it('flashed to a loop device, reads back with mtools file by file as its MANIFEST says', async () => {
    // A small image made like the real one (MBR, FAT at 1 MiB, mtools, no root), built here so this runs without dist/.
    const fatImage = join(lab.folder, 'small-stick.img');
    execFileSync('truncate', ['-s', String(40 * MiB), fatImage]);
    execFileSync('sfdisk', ['--quiet', fatImage], { input: 'label: dos\nstart=2048, type=c\n' });
    execFileSync('mkfs.vfat', ['-F', '32', '-n', 'CALIOP', '--offset', '2048', '-i', 'CA110001', fatImage, String((40 * MiB - MiB) / 1024)], { stdio: 'pipe' });
    const files = [
      { path: 'README.txt', content: Buffer.from('Caliop Key test stick\n') },
      { path: 'caliop-linux-x64', content: deterministicBytes(3 * MiB + 17, 7) },
    ];
    const volume = `${fatImage}@@${MiB}`;
    for (const file of files) {
      const local = join(lab.folder, file.path);
      writeFileSync(local, file.content);
      execFileSync('mcopy', ['-i', volume, local, `::/${file.path}`]);
    }
    const manifestText = formatManifest(files.map((file) => ({ path: file.path, size: file.content.length, sha256: sha256(file.content) })));
    writeFileSync(join(lab.folder, 'MANIFEST'), manifestText);
    execFileSync('mcopy', ['-i', volume, join(lab.folder, 'MANIFEST'), '::/MANIFEST']);

    const stick = lab.loopDevice('small-stick.bin', 48 * MiB);
    const run = await runFlash(['flash', '--image', fatImage, '--target', stick.device, '--yes', '--json', '--log', join(lab.folder, 'small-stick.jsonl')]);
    expect(run.code).toBe(0);
    expect(expectFilesMatchManifest(stick.device)).toBe(2);
  });
});

describe('caliop-flash station: the live process', () => {
  it('runs with --json, never offers a loop device attached while it waits, and ends cleanly on SIGINT', async () => {
    // lsblk through a wrapper that notes each call: the test waits on the station's polls, never on a time.
    const wrappers = join(lab.folder, 'live-bin');
    const calls = join(lab.folder, 'live-lsblk-calls');
    mkdirSync(wrappers, { recursive: true });
    writeFileSync(calls, '');
    const realLsblk = execFileSync('sh', ['-c', 'command -v lsblk'], { encoding: 'utf8' }).trim();
    writeFileSync(join(wrappers, 'lsblk'), `#!/bin/sh\necho call >> '${calls}'\nexec '${realLsblk}' "$@"\n`, { mode: 0o755 });
    const lsblkCalls = () => readFileSync(calls, 'utf8').split('\n').filter((line) => line === 'call').length;
    const env = { ...process.env, PATH: `${wrappers}:${process.env['PATH'] ?? ''}` };
    const child = spawn(process.execPath, [MAIN, 'station', '--image', image, '--json', '--yes', '--log', join(lab.folder, 'live.jsonl')], { cwd: lab.folder, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // docs/flashing-station.md §1: the first line says the station started and SIGINT is handled.
    await until(() => stdout.includes('"event":"started"') || child.exitCode !== null, 'the station says started');
    // A new block device appears while the station polls lsblk every second: a loop device is never offered.
    const loop = lab.loopDevice('live-loop.bin', 8 * MiB);
    // Polls run one at a time: the second lsblk after the attach starts once the first one's list was handled.
    const before = lsblkCalls();
    await until(() => lsblkCalls() >= before + 2 || child.exitCode !== null, 'two polls after the loop device was attached');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    const events = stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { event: string });
    expect(events.map((event) => event.event)).toEqual(['started', 'stopped']);
    expect(stdout).not.toContain(loop.device);
    expect(readFileSync(loop.backing).every((byte) => byte === 0)).toBe(true);
  });
});

/** Waits for a condition seen by polling what a process wrote (an event), however slow the machine is. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let tries = 0; !condition(); tries += 1) {
    if (tries > 2400) throw new Error(`waited 2 minutes for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const STICK_IMAGE = join(ROOT, 'dist', 'caliop.img');

describe.runIf(existsSync(STICK_IMAGE))('the real stick image (dist/caliop.img)', () => {
  it('flashed to a loop device, its FAT files read back with mtools match its MANIFEST', async () => {
    const stick = lab.loopDevice('caliop-stick.bin', statSync(STICK_IMAGE).size + 4 * MiB);
    const run = await runFlash(['flash', '--image', STICK_IMAGE, '--target', stick.device, '--yes', '--json', '--log', join(lab.folder, 'caliop.jsonl')]);
    expect(run.code).toBe(0);
    expect(expectFilesMatchManifest(stick.device)).toBeGreaterThan(0);
  });
});
