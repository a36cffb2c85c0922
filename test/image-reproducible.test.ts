// The stick image (scripts/build-image.ts, docs/manifest.md, docs/stick-layout.md):
// two builds from the same inputs, at different moments and in different folders,
// are byte-identical; the image's partition table and FAT32 volume are what the
// layout says; its files, read back with mtools, match its signed MANIFEST.
//
// Small dummy executables keep it fast (the real ones are ~150 MB each); a throwaway
// release key is made in a temp folder.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  checkFitsSmallestStick,
  EXECUTABLE_NAMES,
  imageSizeMiB,
  PARTITION_OFFSET_BYTES,
  renderStickConfig,
  SMALLEST_STICK_BYTES,
  type BuiltImage,
  type ImageBuildConfig,
} from '../scripts/build-image.js';
import { parseManifest } from '../src/core/stick-manifest.js';
import { generateReleaseKey, type ReleaseKey } from '../src/service/manifest-signature.js';
import { verifyStick } from '../src/service/stick-verify.js';

let dir: string;
let release: ReleaseKey;
let config: ImageBuildConfig;
let first: BuiltImage;
let second: BuiltImage;
const epoch = Math.floor(Date.now() / 1000) - 3600;
/** Bytes of a full `npm run build:exe` of caliop 0.1.0 (docs/decisions/executables.md §Apple silicon, Sizes). */
const REAL_SIZES = { linuxX64: 155_901_053, linuxArm64: 155_532_336, winX64: 110_193_992, macosX64: 152_956_512, macosArm64: 94_278_786 };

function mtools(command: string, args: string[]): Buffer {
  return execFileSync(command, args, { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' }, maxBuffer: 1 << 30 });
}

function drive(image: string): string {
  return `${image}@@${PARTITION_OFFSET_BYTES}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'caliop-image-'));
  // The release key predates SOURCE_DATE_EPOCH, as a real one does.
  release = await generateReleaseKey({ name: 'Throwaway image test key', date: new Date((epoch - 86_400) * 1000) });
  config = {
    relayUrl: 'https://relay.caliop.invalid',
    relayPin: `sha256/${createHash('sha256').update('relay spki').digest('base64')}`,
    releaseCertArmored: release.certArmored,
    volumeId: 'CA110001',
    vaultReserveMiB: 8,
  };
  const exeDir = join(dir, 'exe');
  mkdirSync(exeDir);
  // Each carries the release fingerprint, as build-exe --release-cert compiles it in (docs/manifest.md §8).
  for (const name of EXECUTABLE_NAMES) writeFileSync(join(exeDir, name), `dummy ${name} "${release.fingerprint}"\n`.repeat(1000));
  const build = (name: string) =>
    buildImage({
      config,
      releaseKeyArmored: release.secretKeyArmored,
      executablesDir: exeDir,
      stagingDir: join(dir, `stage-${name}`),
      outputPath: join(dir, `${name}.img`),
      sourceDateEpoch: epoch,
    });
  first = await build('first');
  await new Promise((resolve) => setTimeout(resolve, 1100)); // another second on the clock
  second = await build('second');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the stick image', () => {
  it('two builds from the same inputs are byte-identical', () => {
    expect(second.sha256).toBe(first.sha256);
    expect(createHash('sha256').update(readFileSync(first.imagePath)).digest('hex')).toBe(
      createHash('sha256').update(readFileSync(second.imagePath)).digest('hex'),
    );
  });

  it('has an MBR with one FAT32 partition at 1 MiB, labelled CALIOP, fixed volume id', () => {
    const table = JSON.parse(execFileSync('sfdisk', ['--json', first.imagePath], { encoding: 'utf8' })) as {
      partitiontable: { label: string; id: string; partitions: { start: number; type: string }[] };
    };
    expect(table.partitiontable.label).toBe('dos');
    expect(table.partitiontable.id).toBe('0xca110001');
    expect(table.partitiontable.partitions).toHaveLength(1);
    expect(table.partitiontable.partitions[0]).toMatchObject({ start: 2048, type: 'c' });
    const info = mtools('minfo', ['-i', drive(first.imagePath)]).toString();
    expect(info).toMatch(/disk label="CALIOP\s*"/);
    expect(info).toMatch(/serial number: CA110001/);
    expect(info).toMatch(/hidden sectors: 2048/);
    expect(info).toMatch(/Fat32 specific:|fat32|FAT32/i);
  });

  it('every time in the volume is SOURCE_DATE_EPOCH', () => {
    const listing = mtools('mdir', ['-/', '-i', drive(first.imagePath), '::/']).toString();
    const stamp = new Date(epoch * 1000);
    const day = `${stamp.getUTCFullYear()}-${String(stamp.getUTCMonth() + 1).padStart(2, '0')}-${String(stamp.getUTCDate()).padStart(2, '0')}`;
    const dates = [...listing.matchAll(/(\d{4}-\d{2}-\d{2})\s+\d{1,2}:\d{2}/g)].map((m) => m[1]);
    expect(dates.length).toBeGreaterThan(10);
    for (const date of dates) expect(date).toBe(day);
  });

  it('its files, read back with mtools, are exactly those of its MANIFEST, plus MANIFEST, MANIFEST.sig and vault/', () => {
    const image = drive(first.imagePath);
    const manifestText = mtools('mcopy', ['-i', image, '::/MANIFEST', '-']).toString('utf8');
    expect(manifestText).toBe(first.manifestText);
    const manifest = parseManifest(manifestText);
    expect(manifest.map((entry) => entry.path)).toEqual(
      ['Caliop.cmd', 'Caliop.command', 'LISEZ-MOI-README.txt', ...EXECUTABLE_NAMES, 'caliop.sh', 'config.json'].sort(),
    );
    for (const entry of manifest) {
      const bytes = mtools('mcopy', ['-i', image, `::/${entry.path}`, '-']);
      expect(bytes.length, entry.path).toBe(entry.size);
      expect(createHash('sha256').update(bytes).digest('hex'), entry.path).toBe(entry.sha256);
    }
    // Nothing else: a recursive bare listing of the volume.
    const listed = mtools('mdir', ['-/', '-b', '-i', image, '::/'])
      .toString()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.replace(/^::\//, ''))
      .sort();
    expect(listed).toEqual([...manifest.map((entry) => entry.path), 'MANIFEST', 'MANIFEST.sig', 'vault/'].sort());
  });

  it('config.json holds the relay and the release cert; the copied-out stick verifies against the release cert', async () => {
    const out = join(dir, 'copied-out');
    mkdirSync(out);
    mtools('mcopy', ['-s', '-i', drive(first.imagePath), '::/*', out]);
    const stickConfig = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { relay: { url: string; pin: string }; releaseCert: string };
    expect(stickConfig.relay).toEqual({ url: config.relayUrl, pin: config.relayPin });
    expect(stickConfig.releaseCert).toBe(release.certArmored.replace(/\r\n/g, '\n'));
    expect(await verifyStick(out, release.certArmored)).toEqual({ ok: true, signatureValid: true, differs: [], missing: [], extra: [] });
    // The MANIFEST covers the macOS arm64 executable like the others: one changed byte is named.
    const arm64 = readFileSync(join(out, 'caliop-macos-arm64'));
    arm64[arm64.length - 1]! ^= 0x01;
    writeFileSync(join(out, 'caliop-macos-arm64'), arm64);
    expect(await verifyStick(out, release.certArmored)).toMatchObject({ ok: false, differs: ['caliop-macos-arm64'], missing: [], extra: [] });
    rmSync(join(out, 'caliop-macos-arm64'));
    expect(await verifyStick(out, release.certArmored)).toMatchObject({ ok: false, differs: [], missing: ['caliop-macos-arm64'], extra: [] });
  });

  it('the launchers are in the image byte for byte (CRLF for Windows, LF for the shells)', () => {
    const image = drive(first.imagePath);
    expect(mtools('mcopy', ['-i', image, '::/Caliop.cmd', '-']).toString()).toMatch(/^@echo off\r\n/);
    const sh = mtools('mcopy', ['-i', image, '::/caliop.sh', '-']).toString();
    expect(sh.startsWith('#!/bin/sh\n')).toBe(true);
    expect(sh).not.toContain('\r');
    const command = mtools('mcopy', ['-i', image, '::/Caliop.command', '-']).toString();
    expect(command).toContain('EXE="$STICK/caliop-macos-x64"');
    expect(command).toContain('EXE="$STICK/caliop-macos-arm64"');
  });

  it('the image fits the smallest stick we support with the real executables (sizes of a full build, docs/decisions/executables.md), and a bigger one is refused', () => {
    // Bytes of `npm run build:exe` outputs, caliop 0.1.0 (docs/decisions/executables.md §Sizes); MANIFEST ~1 KiB.
    const realSizes = [REAL_SIZES.linuxX64, REAL_SIZES.linuxArm64, REAL_SIZES.winX64, REAL_SIZES.macosX64, REAL_SIZES.macosArm64, 1024, 16 * 1024, 4 * 1024, 2 * 1024, 2 * 1024];
    const sizeMiB = imageSizeMiB(realSizes, 64);
    expect(() => checkFitsSmallestStick(sizeMiB)).not.toThrow();
    expect(sizeMiB * 1024 * 1024).toBeLessThan(SMALLEST_STICK_BYTES);
    // Twice the macOS arm64 executable would still fit; a sixth ~150 MB executable would not.
    expect(() => checkFitsSmallestStick(imageSizeMiB([...realSizes, REAL_SIZES.macosArm64], 64))).not.toThrow();
    expect(() => checkFitsSmallestStick(imageSizeMiB([...realSizes, REAL_SIZES.linuxX64, REAL_SIZES.macosArm64], 64))).toThrow(/more than the smallest stick/);
  });

  it('an enrolment with the image relay rewrites config.json with the same bytes (so the stick still verifies)', () => {
    // src/service/relay-account.ts writes {...config, relay: {url, pin}} as JSON.stringify(…, null, 2) + LF.
    const rendered = renderStickConfig(readFileSync(join(import.meta.dirname, '..', 'usb-image', 'config.json'), 'utf8'), config);
    const parsed = JSON.parse(rendered) as Record<string, unknown>;
    const rewritten = `${JSON.stringify({ ...parsed, relay: { url: config.relayUrl, pin: config.relayPin } }, null, 2)}\n`;
    expect(rewritten).toBe(rendered);
  });

  it('refuses a config placeholder it does not know, and a release key that is not the cert in config.json', async () => {
    expect(() => renderStickConfig('{"x":"@NOT_A_FIELD@"}', config)).toThrow(/unknown placeholder/);
    const other = await generateReleaseKey({ date: new Date((epoch - 86_400) * 1000) });
    await expect(
      buildImage({
        config,
        releaseKeyArmored: other.secretKeyArmored,
        executablesDir: join(dir, 'exe'),
        stagingDir: join(dir, 'stage-other'),
        outputPath: join(dir, 'other.img'),
        sourceDateEpoch: epoch,
      }),
    ).rejects.toThrow(/is not the one whose certificate/);
  });

  it('refuses executables that were not built to trust the release certificate (no anchor outside the stick)', async () => {
    const exeDir = join(dir, 'exe-unanchored');
    mkdirSync(exeDir);
    for (const name of EXECUTABLE_NAMES) writeFileSync(join(exeDir, name), `dummy ${name}\n`);
    writeFileSync(join(exeDir, EXECUTABLE_NAMES[0]), `dummy "${release.fingerprint}"\n`);
    const attempt = buildImage({ config, releaseKeyArmored: release.secretKeyArmored, executablesDir: exeDir, stagingDir: join(dir, 'stage-unanchored'), outputPath: join(dir, 'unanchored.img'), sourceDateEpoch: epoch });
    await expect(attempt).rejects.toThrow(`${EXECUTABLE_NAMES.slice(1).join(', ')} were not built to trust the release certificate ${release.fingerprint}`);
    await expect(attempt).rejects.toThrow(/hint: build them with "npm run build:exe -- --release-cert FILE"/);
  });

  it('explains a release key younger than SOURCE_DATE_EPOCH, with the --source-date-epoch to use', async () => {
    const young = await generateReleaseKey({ date: new Date((epoch + 600) * 1000) });
    const attempt = buildImage({
      config: { ...config, releaseCertArmored: young.certArmored },
      releaseKeyArmored: young.secretKeyArmored,
      executablesDir: join(dir, 'exe'),
      stagingDir: join(dir, 'stage-young'),
      outputPath: join(dir, 'young.img'),
      sourceDateEpoch: epoch,
    });
    await expect(attempt).rejects.toThrow(/Signature creation time is in the future/);
    await expect(attempt).rejects.toThrow(new RegExp(`hint: pass --source-date-epoch ${epoch + 600} `));
    expect(existsSync(join(dir, 'young.img'))).toBe(false);
  });
});
