// The macOS arm64 executable (scripts/build-bun-exe.ts; docs/decisions/executables.md
// §Apple silicon), checked as far as Linux can: no Mac runs here.
//
// beforeAll has the pinned Bun compile the run's release bundle of the CLI (shared with the
// other executables' tests: test/helpers/release-bundle.ts) twice for bun-darwin-arm64, in two
// different folders. Then:
//   - it is a thin arm64 Mach-O executable with one LC_CODE_SIGNATURE at the end of
//     __LINKEDIT, whose superblob holds an ad-hoc CodeDirectory;
//   - every page hash of that CodeDirectory matches the file's page, recomputed here
//     (scripts/macho-signature.ts parses the big-endian superblob; nothing is taken
//     from bun's word), and one changed byte is caught on exactly its page;
//   - the two builds are byte-identical (reproducible);
//   - a binary that does not match its pin is refused.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBunExe, ensureBunBinary, readBunPins } from '../scripts/build-bun-exe.js';
import { REPO_ROOT } from '../scripts/build-exe.js';
import {
  adHocArm64Problems,
  CPU_TYPE_ARM64,
  CS_ADHOC,
  CS_HASHTYPE_SHA256,
  CSMAGIC_CODEDIRECTORY,
  LC_CODE_SIGNATURE,
  MachOError,
  MH_EXECUTE,
  MH_MAGIC_64,
  readMachOSignature,
} from '../scripts/macho-signature.js';
import { releaseBundle } from './helpers/release-bundle.js';

let work: string;
let exe: string;
let secondExe: string;
let bytes: Buffer;
let bundleText: string;
/** The release fingerprint compiled into the bundle (docs/manifest.md §8). */
let releaseFingerprint: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'caliop-exe-arm64-'));
  const { release, bundle } = await releaseBundle();
  releaseFingerprint = release.fingerprint;
  bundleText = readFileSync(bundle.bundlePath, 'utf8');
  const pins = readBunPins();
  exe = buildBunExe({ target: 'macos-arm64', bundlePath: bundle.bundlePath, outDir: join(work, 'out-1'), workDir: join(work, 'work-1'), pins }).output;
  // The second build: another folder, the bundle copied elsewhere first.
  copyFileSync(bundle.bundlePath, join(work, 'copy-of-caliop.mjs'));
  secondExe = buildBunExe({ target: 'macos-arm64', bundlePath: join(work, 'copy-of-caliop.mjs'), outDir: join(work, 'out-2'), workDir: join(work, 'elsewhere', 'work-2'), pins }).output;
  bytes = readFileSync(exe);
}, 900_000); // the bundle (three esbuild builds, when this file is the first to ask) and two Bun builds: over 5 min at load 38

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('caliop-macos-arm64', () => {
  it('is a thin 64-bit arm64 Mach-O executable (read from the header bytes)', () => {
    expect(bytes.readUInt32LE(0)).toBe(MH_MAGIC_64);
    expect(bytes.readUInt32LE(4)).toBe(CPU_TYPE_ARM64);
    expect(bytes.readUInt32LE(12)).toBe(MH_EXECUTE);
    // LC_CODE_SIGNATURE is among the load commands.
    const commands: number[] = [];
    for (let i = 0, at = 32; i < bytes.readUInt32LE(16); i++, at += bytes.readUInt32LE(at + 4)) commands.push(bytes.readUInt32LE(at));
    expect(commands).toContain(LC_CODE_SIGNATURE);
  });

  it('carries an ad-hoc signature whose CodeDirectory covers every byte before it, in SHA-256 pages of 4 KiB', () => {
    const facts = readMachOSignature(bytes);
    const cd = facts.codeDirectory;
    expect(bytes.readUInt32BE(facts.signatureOffset)).toBe(0xfade0cc0);
    expect(facts.blobTypes[0]).toBe(0); // CSSLOT_CODEDIRECTORY
    expect(cd.flags & CS_ADHOC).toBe(CS_ADHOC);
    expect(cd.hashType).toBe(CS_HASHTYPE_SHA256);
    expect(cd.pageSize).toBe(4096);
    expect(cd.codeLimit).toBe(facts.signatureOffset);
    expect(cd.nCodeSlots).toBe(Math.ceil(cd.codeLimit / 4096));
    expect(cd.nCodeSlots).toBeGreaterThan(20_000); // ~90 MB
    expect(adHocArm64Problems(facts, bytes.byteLength)).toEqual([]);
  });

  it('every page hash matches the file, recomputed here; the last page is partial', () => {
    const facts = readMachOSignature(bytes);
    const cd = facts.codeDirectory;
    expect(cd.mismatchedPages).toEqual([]);
    expect(cd.mismatchedSpecialSlots).toEqual([]);
    // Independently of the parser's loop: the first and last slots, read and hashed here.
    const cdStart = facts.signatureOffset + bytes.readUInt32BE(facts.signatureOffset + 16);
    expect(bytes.readUInt32BE(cdStart)).toBe(CSMAGIC_CODEDIRECTORY);
    const hashOffset = bytes.readUInt32BE(cdStart + 16);
    const slot = (i: number) => bytes.subarray(cdStart + hashOffset + 32 * i, cdStart + hashOffset + 32 * (i + 1)).toString('hex');
    const sha = (from: number, to: number) => createHash('sha256').update(bytes.subarray(from, to)).digest('hex');
    expect(slot(0)).toBe(sha(0, 4096));
    const last = cd.nCodeSlots - 1;
    expect(slot(last)).toBe(sha(last * 4096, cd.codeLimit));
  });

  it('one changed byte is caught on exactly its page; a changed hash slot too; a bad superblob is refused', () => {
    const facts = readMachOSignature(bytes);
    const tampered = Buffer.from(bytes);
    const page = 12_345;
    tampered[page * 4096 + 100]! ^= 0x01;
    expect(readMachOSignature(tampered).codeDirectory.mismatchedPages).toEqual([page]);
    expect(adHocArm64Problems(readMachOSignature(tampered), tampered.byteLength).join()).toMatch(/1 page hash/);

    const slotTampered = Buffer.from(bytes);
    const cdStart = facts.signatureOffset + bytes.readUInt32BE(facts.signatureOffset + 16);
    slotTampered[cdStart + bytes.readUInt32BE(cdStart + 16) + 32 * 7]! ^= 0x80;
    expect(readMachOSignature(slotTampered).codeDirectory.mismatchedPages).toEqual([7]);

    const badMagic = Buffer.from(bytes);
    badMagic.writeUInt32BE(0xfade0c00, facts.signatureOffset);
    expect(() => readMachOSignature(badMagic)).toThrow(MachOError);
    expect(() => readMachOSignature(bytes.subarray(0, facts.signatureOffset + 100))).toThrow(/past the end|out of range/);
  });

  it('holds the bundle it was made from (the same code the linux-x64 Bun build runs in test/exe-bun.test.ts)', () => {
    expect(bundleText).toContain('init_openpgp = __esm(');
    expect(bytes.includes(Buffer.from('init_openpgp = __esm('))).toBe(true);
    expect(bytes.includes(Buffer.from('/$bunfs/root/caliop-macos-arm64'))).toBe(true);
    // build:image looks for the compiled-in release fingerprint as ASCII in every executable.
    expect(bytes.includes(Buffer.from(releaseFingerprint, 'ascii'))).toBe(true);
  });

  it('is reproducible: built twice, from another folder and another copy of the bundle, byte for byte', () => {
    const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(digest(secondExe)).toBe(digest(exe));
  });
});

describe('the Bun pins', () => {
  it('package.json and scripts/bun-binaries.json name the same Bun version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; allowScripts: Record<string, boolean> };
    expect(pkg.devDependencies['bun']).toBe(readBunPins().version);
    // Its postinstall (moving the binary) is denied: we run @oven/bun-<host>/bin/bun where npm put it.
    expect(pkg.allowScripts['bun']).toBe(false);
  });

  it('a runtime whose SHA-256 is not the pinned one is refused', () => {
    const pins = readBunPins();
    const pin = pins.targets['macos-arm64'];
    // A cache of its own (the real one stays untouched), holding the genuine tarball.
    const cache = join(work, 'cache');
    mkdirSync(join(cache, `bun-${pins.version}`), { recursive: true });
    const tarball = `oven-bun-darwin-aarch64-${pins.version}.tgz`;
    copyFileSync(join(REPO_ROOT, '.cache', `bun-${pins.version}`, tarball), join(cache, `bun-${pins.version}`, tarball));
    expect(() => ensureBunBinary({ ...pin, binarySha256: '0'.repeat(64) }, pins.version, cache)).toThrow(/has SHA-256 [0-9a-f]{64}, but scripts\/bun-binaries.json pins 0{64}; refusing to use it/);
    expect(ensureBunBinary(pin, pins.version, cache)).toBe(join(cache, `bun-${pins.version}`, 'oven-bun-darwin-aarch64', 'bun'));
  });
});
