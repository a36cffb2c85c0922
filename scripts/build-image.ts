// `npm run build:image`: the stick image dist/caliop.img (issue 5; layout in
// docs/stick-layout.md, manifest in docs/manifest.md, choices in
// docs/decisions/executables.md §Image).
//
//   1. Stage the stick's tree in dist/image-tree/: usb-image/ (launchers, README),
//      config.json rendered from usb-image/config.json and the build config, the
//      four executables, an empty vault/.
//   2. Write MANIFEST and sign it with the release key (MANIFEST.sig).
//   3. Make the image without root: an MBR partition table (sfdisk on a file), one
//      FAT32 partition at 1 MiB labelled CALIOP (mkfs.vfat --offset), files copied
//      in sorted order with mtools (mcopy -i FILE@@OFFSET).
//
// Two builds from the same inputs are byte-identical: fixed volume id, --invariant,
// every time is SOURCE_DATE_EPOCH (mtools honours it), entries in sorted order, and
// a deterministic signature (scripts/release-key.ts signManifestReproducibly).
//
// Usage: node build/scripts/build-image.js --config FILE --release-key FILE
//          [--passphrase-file FILE] [--exe-dir DIR] [--out FILE] [--source-date-epoch N]
//
// Build config (JSON; paths relative to the config file):
//   { "relayUrl": "https://…", "relayPin": "sha256/…", "releaseCertFile": "release.cert.asc",
//     "volumeId": "CA110001", "vaultReserveMiB": 64 }

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { formatManifest, MANIFEST_FILE, MANIFEST_SIGNATURE_FILE, VAULT_FOLDER, type ManifestEntry } from '../src/core/stick-manifest.js';
import { manifestEntriesOf } from '../src/edges/stick-tree.js';
import { readReleaseSecretKey, signManifestReproducibly } from '../src/service/manifest-signature.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');

/** docs/stick-layout.md §1: the executables the image must hold. */
export const EXECUTABLE_NAMES = ['caliop-linux-x64', 'caliop-linux-arm64', 'caliop-win-x64.exe', 'caliop-macos-x64', 'caliop-macos-arm64'] as const;
/**
 * docs/stick-layout.md §5: the smallest stick we support is sold as "1 GB" (10^9 bytes,
 * decimal as printed); some hold a few percent less, so the image must fit in this.
 */
export const SMALLEST_STICK_BYTES = 960_000_000;
/** The FAT32 partition starts at 1 MiB (2048 sectors of 512 bytes), the usual alignment. */
export const PARTITION_OFFSET_BYTES = 1024 * 1024;
export const VOLUME_LABEL = 'CALIOP';

export interface ImageBuildConfig {
  readonly relayUrl: string;
  readonly relayPin: string;
  /** The release certificate, armored. */
  readonly releaseCertArmored: string;
  /** 8 hex digits: the FAT volume serial number, also the MBR disk id. */
  readonly volumeId: string;
  /** Free space kept for the vault, in MiB. */
  readonly vaultReserveMiB: number;
}

export interface BuildImageOptions {
  readonly config: ImageBuildConfig;
  /** Armored release secret key (unlocked with passphrase when protected). */
  readonly releaseKeyArmored: string;
  readonly passphrase?: string;
  /** Folder holding the five executables (EXECUTABLE_NAMES). */
  readonly executablesDir: string;
  /** The stick's static tree (default usb-image/). */
  readonly treeSource?: string;
  /** Where the tree is staged (emptied first). */
  readonly stagingDir: string;
  readonly outputPath: string;
  /** Seconds since 1970: every time in the image. */
  readonly sourceDateEpoch: number;
}

export interface BuiltImage {
  readonly imagePath: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly manifest: ManifestEntry[];
  readonly manifestText: string;
}

/** Reads a build config file (paths inside are relative to it). */
export function readImageBuildConfig(path: string): ImageBuildConfig {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const known = new Set(['relayUrl', 'relayPin', 'releaseCertFile', 'volumeId', 'vaultReserveMiB', '$comment']);
  for (const key of Object.keys(raw)) if (!known.has(key)) throw new Error(`build-image: unknown field "${key}" in ${path} (known: ${[...known].join(', ')})`);
  const text = (key: string): string => {
    const value = raw[key];
    if (typeof value !== 'string' || value === '') throw new Error(`build-image: ${path} needs "${key}" (a string)`);
    return value;
  };
  return {
    relayUrl: text('relayUrl'),
    relayPin: text('relayPin'),
    releaseCertArmored: readFileSync(resolve(dirname(path), text('releaseCertFile')), 'utf8'),
    volumeId: typeof raw['volumeId'] === 'string' ? raw['volumeId'] : 'CA110001',
    vaultReserveMiB: typeof raw['vaultReserveMiB'] === 'number' ? raw['vaultReserveMiB'] : 64,
  };
}

function checkConfig(config: ImageBuildConfig): void {
  if (!/^https:\/\/[^\s]+$/.test(config.relayUrl) && !/^http:\/\/127\.0\.0\.1[:/][^\s]*$/.test(config.relayUrl)) {
    throw new Error(`build-image: relayUrl must be https://… (docs/stick-layout.md §3), not "${config.relayUrl}"`);
  }
  if (!/^sha256\/[A-Za-z0-9+/]{43}=$/.test(config.relayPin)) throw new Error(`build-image: relayPin must be "sha256/<base64 of 32 bytes>" (docs/stick-layout.md §3)`);
  if (!/^[0-9A-Fa-f]{8}$/.test(config.volumeId)) throw new Error('build-image: volumeId must be 8 hex digits');
  if (!Number.isInteger(config.vaultReserveMiB) || config.vaultReserveMiB < 1) throw new Error('build-image: vaultReserveMiB must be a whole number of MiB, at least 1');
}

/** usb-image/config.json with its @PLACEHOLDER@ strings filled in. */
export function renderStickConfig(template: string, config: ImageBuildConfig): string {
  const values: Record<string, string> = {
    '@RELAY_URL@': config.relayUrl,
    '@RELAY_PIN@': config.relayPin,
    '@RELEASE_CERT@': config.releaseCertArmored.replace(/\r\n/g, '\n'),
  };
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (/^@[A-Z_]+@$/.test(value)) {
        const filled = values[value];
        if (filled === undefined) throw new Error(`build-image: usb-image/config.json has an unknown placeholder ${value}`);
        return filled;
      }
      return value;
    }
    if (Array.isArray(value)) return value.map(fill);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    return value;
  };
  return `${JSON.stringify(fill(JSON.parse(template)), null, 2)}\n`;
}

function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(command, args, {
    input: options.input,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
}

function setTimesRecursively(path: string, date: Date): void {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) setTimesRecursively(join(path, name), date);
  utimesSync(path, date, date);
}

/** Step 1: the stick's tree, staged. */
function stageTree(options: BuildImageOptions): void {
  const source = options.treeSource ?? join(REPO_ROOT, 'usb-image');
  rmSync(options.stagingDir, { recursive: true, force: true });
  mkdirSync(options.stagingDir, { recursive: true });
  for (const name of readdirSync(source).sort()) {
    if (name.startsWith('.') || name === 'config.json' || name === MANIFEST_FILE || name === MANIFEST_SIGNATURE_FILE) continue;
    const from = join(source, name);
    if (!statSync(from).isFile()) continue; // vault/ is made below; nothing else is a folder
    copyFileSync(from, join(options.stagingDir, name));
  }
  writeFileSync(join(options.stagingDir, 'config.json'), renderStickConfig(readFileSync(join(source, 'config.json'), 'utf8'), options.config));
  for (const name of EXECUTABLE_NAMES) {
    const from = join(options.executablesDir, name);
    if (!existsSync(from)) throw new Error(`build-image: ${from} is missing; run "npm run build:exe" first`);
    copyFileSync(from, join(options.stagingDir, name));
    chmodSync(join(options.stagingDir, name), 0o755);
  }
  mkdirSync(join(options.stagingDir, VAULT_FOLDER));
}

/**
 * The image size in MiB: the files (sizes in bytes, MANIFEST included; MANIFEST.sig is
 * within the 64 KiB allowance), one cluster of slack each, FAT overhead, the vault reserve.
 */
export function imageSizeMiB(fileSizes: readonly number[], reserveMiB: number): number {
  const content = fileSizes.reduce((sum, size) => sum + size, 0) + 64 * 1024;
  const withOverhead = content * 1.02 + (fileSizes.length + 3) * 32 * 1024;
  // FAT32 needs at least 65525 clusters: 33 MiB with 512-byte clusters. Stay well above.
  return Math.max(MINIMUM_IMAGE_MIB, Math.ceil(withOverhead / (1024 * 1024)) + reserveMiB + 8);
}

/** Refuses an image that would not fit the smallest stick we support (docs/stick-layout.md §5). */
export function checkFitsSmallestStick(sizeMiB: number): void {
  const bytes = sizeMiB * 1024 * 1024;
  if (bytes > SMALLEST_STICK_BYTES) {
    throw new Error(
      `build-image: the image would be ${sizeMiB} MiB (${bytes} bytes), more than the smallest stick we support (${SMALLEST_STICK_BYTES} bytes, docs/stick-layout.md §5)`,
    );
  }
}

function imageMiB(stagingDir: string, files: readonly ManifestEntry[], reserveMiB: number): number {
  const sizeMiB = imageSizeMiB([...files.map((file) => file.size), statSync(join(stagingDir, MANIFEST_FILE)).size], reserveMiB);
  checkFitsSmallestStick(sizeMiB);
  return sizeMiB;
}

const MINIMUM_IMAGE_MIB = 64;

/** Step 3: MBR + FAT32 made without root, files copied in sorted order. */
function makeImage(stagingDir: string, paths: readonly string[], options: BuildImageOptions, sizeMiB: number): void {
  const image = `${options.outputPath}.building`;
  rmSync(image, { force: true });
  mkdirSync(dirname(image), { recursive: true });
  writeFileSync(image, '');
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  // One primary partition, type 0x0c (FAT32 LBA), from 1 MiB to the end; fixed disk id.
  const startSector = PARTITION_OFFSET_BYTES / 512;
  run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', image], {
    input: `label: dos\nlabel-id: 0x${options.config.volumeId.toLowerCase()}\nunit: sectors\n\nstart=${startSector}, type=c\n`,
  });
  const partitionKiB = sizeMiB * 1024 - PARTITION_OFFSET_BYTES / 1024;
  // --invariant fixes what mkfs would take from the clock or randomness; -i after it sets our volume id.
  run('mkfs.vfat', ['--invariant', `--offset=${startSector}`, '-h', String(startSector), '-F', '32', '-n', VOLUME_LABEL, '-i', options.config.volumeId.toUpperCase(), image, String(partitionKiB)]);
  const drive = `${image}@@${PARTITION_OFFSET_BYTES}`;
  const env = { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch), MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };
  const madeFolders = new Set<string>();
  for (const path of paths) {
    const segments = path.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const folder = segments.slice(0, depth).join('/');
      if (madeFolders.has(folder)) continue;
      run('mmd', ['-i', drive, `::/${folder}`], { env });
      madeFolders.add(folder);
    }
    if (path.endsWith('/')) continue; // a folder only (vault/)
    run('mcopy', ['-i', drive, '-m', '-o', join(stagingDir, path), `::/${path}`], { env });
  }
  renameSync(image, options.outputPath);
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * docs/manifest.md §8: each executable must carry, compiled in, the fingerprint of the
 * release certificate that goes into config.json (build-exe --release-cert), or
 * `caliop stick verify` on the stick would have no anchor outside the stick. The bundle
 * keeps the fingerprint as plain ASCII inside every executable (the SEA blob is not compressed).
 */
export function checkExecutablesAnchor(executablesDir: string, fingerprint: string): void {
  const needle = Buffer.from(fingerprint, 'ascii');
  const without = EXECUTABLE_NAMES.filter((name) => {
    const path = join(executablesDir, name);
    return existsSync(path) && !readFileSync(path).includes(needle);
  });
  if (without.length > 0) {
    throw new Error(
      `build-image: error: ${without.join(', ')} ${without.length === 1 ? 'was' : 'were'} not built to trust the release certificate ${fingerprint}; ` +
        `"caliop stick verify" on this stick would have no anchor outside the stick\n` +
        `build-image: hint: build them with "npm run build:exe -- --release-cert FILE" with the certificate named in the build config`,
    );
  }
}

/** The error and hint for a release key younger than the image's timestamp. */
export function signingTimeProblem(keyCreated: Date, date: Date): string {
  const keyEpoch = Math.ceil(keyCreated.getTime() / 1000);
  return (
    `build-image: error: cannot sign MANIFEST: the release key was made at ${keyCreated.toISOString()}, after the image's timestamp ` +
    `SOURCE_DATE_EPOCH=${Math.floor(date.getTime() / 1000)} (${date.toISOString()}); a signature cannot predate its key ` +
    `(openpgp.js: "Signature creation time is in the future")\n` +
    `build-image: hint: pass --source-date-epoch ${keyEpoch} (or any later time), or set SOURCE_DATE_EPOCH; ` +
    `by default it is the time of the last commit, which is older than a release key made since`
  );
}

export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  checkConfig(options.config);
  const date = new Date(options.sourceDateEpoch * 1000);
  const releaseKey = await readReleaseSecretKey(options.releaseKeyArmored, options.passphrase);
  const releaseCert = await openpgp.readKey({ armoredKey: options.config.releaseCertArmored });
  if (releaseCert.getFingerprint() !== releaseKey.getFingerprint()) {
    throw new Error(`build-image: the release key (${releaseKey.getFingerprint()}) is not the one whose certificate goes into config.json (${releaseCert.getFingerprint()})`);
  }

  // docs/manifest.md §6: the release key must be older than SOURCE_DATE_EPOCH; openpgp.js
  // would otherwise fail late with a bare "Signature creation time is in the future".
  const keyCreated = releaseKey.getCreationTime();
  if (keyCreated.getTime() > date.getTime()) throw new Error(signingTimeProblem(keyCreated, date));

  checkExecutablesAnchor(options.executablesDir, releaseCert.getFingerprint().toUpperCase());

  stageTree(options);
  const manifest = await manifestEntriesOf(options.stagingDir);
  const manifestText = formatManifest(manifest);
  const manifestBytes = new TextEncoder().encode(manifestText);
  writeFileSync(join(options.stagingDir, MANIFEST_FILE), manifestBytes);
  const signature = await signManifestReproducibly(manifestBytes, releaseKey, date).catch((error: unknown) => {
    if (error instanceof Error && /creation time is in the future/i.test(error.message)) throw new Error(signingTimeProblem(keyCreated, date), { cause: error });
    throw error;
  });
  writeFileSync(join(options.stagingDir, MANIFEST_SIGNATURE_FILE), signature);
  setTimesRecursively(options.stagingDir, date);

  const paths = [...manifest.map((entry) => entry.path), MANIFEST_FILE, MANIFEST_SIGNATURE_FILE, `${VAULT_FOLDER}/`].sort();
  makeImage(options.stagingDir, paths, options, imageMiB(options.stagingDir, manifest, options.config.vaultReserveMiB));
  return { imagePath: options.outputPath, bytes: statSync(options.outputPath).size, sha256: sha256File(options.outputPath), manifest, manifestText };
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

function defaultSourceDateEpoch(): number {
  const fromEnv = process.env['SOURCE_DATE_EPOCH'];
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv);
  // The time of the commit being built, as reproducible-builds.org recommends.
  return Number(execFileSync('git', ['-C', REPO_ROOT, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim());
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const configPath = option(args, '--config');
  const keyPath = option(args, '--release-key');
  if (configPath === undefined || keyPath === undefined) {
    throw new Error('usage: build-image --config FILE --release-key FILE [--passphrase-file FILE] [--exe-dir DIR] [--out FILE] [--source-date-epoch N]');
  }
  const passphraseFile = option(args, '--passphrase-file');
  const epochText = option(args, '--source-date-epoch');
  const built = await buildImage({
    config: readImageBuildConfig(configPath),
    releaseKeyArmored: readFileSync(keyPath, 'utf8'),
    ...(passphraseFile === undefined ? {} : { passphrase: readFileSync(passphraseFile, 'utf8').replace(/\r?\n$/, '') }),
    executablesDir: resolve(option(args, '--exe-dir') ?? join(REPO_ROOT, 'dist')),
    stagingDir: join(REPO_ROOT, 'dist', 'image-tree'),
    outputPath: resolve(option(args, '--out') ?? join(REPO_ROOT, 'dist', 'caliop.img')),
    sourceDateEpoch: epochText === undefined ? defaultSourceDateEpoch() : Number(epochText),
  });
  writeFileSync(`${built.imagePath}.sha256`, `${built.sha256}  ${built.imagePath.split('/').pop()}\n`);
  process.stdout.write(`image   ${built.imagePath}  ${built.bytes} bytes  sha256 ${built.sha256}\n${built.manifestText}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
