// The executables Node cannot make from Linux: Bun compiles the same bundle
// (dist/bundle/caliop.mjs) with a pinned Bun runtime of the target (issue 18;
// docs/decisions/executables.md §Apple silicon). Called by scripts/build-exe.ts.
//
//   - The builder is the pinned Bun of the build host: npm ci installs it as the optional
//     dependency @oven/bun-<host> of the devDependency "bun" (its postinstall is denied
//     in package.json "allowScripts": the binary stays where npm put it and we run it
//     from there); else it is fetched with npm pack like the target runtimes.
//   - The target runtime (@oven/bun-darwin-aarch64 …) is fetched with `npm pack` into
//     .cache/bun-<version>/ and handed to bun with --compile-executable-path, so bun
//     downloads nothing. Tarball integrity and binary SHA-256 are checked against
//     scripts/bun-binaries.json before every use.
//   - bun runs in a work folder of its own, on a copy of the bundle named caliop.mjs, with
//     a fixed small environment: the output depends on the bundle and the pins only.
//   - The executable ignores .env, bunfig.toml, tsconfig.json and package.json found
//     where it runs (--no-compile-autoload-*): by default a Bun executable loads them.
//   - For a Mach-O target, the ad-hoc signature Bun writes is checked here by recomputing
//     every page hash (scripts/macho-signature.ts); a bad one stops the build.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adHocArm64Problems, readMachOSignature, type CodeDirectoryFacts } from './macho-signature.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');

/** Outputs made by Bun: the shipped macOS arm64 one, and a linux-x64 one for the tests only. */
export type BunTarget = 'macos-arm64' | 'linux-x64';
export const BUN_SHIPPED_TARGETS: readonly BunTarget[] = ['macos-arm64'];

interface BunPackagePin {
  readonly package: string;
  readonly binaryInPackage: string;
  readonly tarballIntegrity: string;
  readonly binarySha256: string;
}
interface BunTargetPin extends BunPackagePin {
  readonly bunTarget: string;
  readonly output: string;
}
export interface BunPins {
  readonly version: string;
  readonly builders: Partial<Record<string, BunPackagePin>>;
  readonly targets: Record<BunTarget, BunTargetPin>;
}

export function readBunPins(): BunPins {
  const pins = JSON.parse(readFileSync(join(REPO_ROOT, 'scripts', 'bun-binaries.json'), 'utf8')) as BunPins;
  const declared = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> }).devDependencies?.['bun'];
  if (declared !== pins.version) {
    throw new Error(`build-exe: package.json pins bun ${declared ?? '(none)'} but scripts/bun-binaries.json pins ${pins.version}; pin one version in both`);
  }
  return pins;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function integrityOf(path: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`;
}

/**
 * The checked binary of a pinned Bun package: node_modules' copy when its SHA-256 matches,
 * else the tarball from the npm registry (npm pack), integrity and SHA-256 checked.
 */
export function ensureBunBinary(pin: BunPackagePin, version: string, cacheRoot: string = join(REPO_ROOT, '.cache')): string {
  const installed = join(REPO_ROOT, 'node_modules', pin.package, pin.binaryInPackage);
  if (existsSync(installed) && sha256File(installed) === pin.binarySha256) return installed;

  const dir = join(cacheRoot, `bun-${version}`);
  const unpacked = join(dir, pin.package.replace(/^@/, '').replace('/', '-'));
  const binary = join(unpacked, pin.binaryInPackage.split('/').pop()!);
  if (existsSync(binary) && sha256File(binary) === pin.binarySha256) return binary;

  mkdirSync(unpacked, { recursive: true });
  const tarball = join(dir, `${pin.package.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  if (!existsSync(tarball) || integrityOf(tarball) !== pin.tarballIntegrity) {
    rmSync(tarball, { force: true });
    process.stderr.write(`build-exe: fetching ${pin.package}@${version} from the npm registry\n`);
    execFileSync('npm', ['pack', `${pin.package}@${version}`, '--silent', '--cache', join(REPO_ROOT, '.cache', 'npm-cache'), '--pack-destination', dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const integrity = integrityOf(tarball);
  if (integrity !== pin.tarballIntegrity) {
    throw new Error(`build-exe: ${tarball} has integrity ${integrity}, but scripts/bun-binaries.json pins ${pin.tarballIntegrity}; refusing to use it`);
  }
  const depth = pin.binaryInPackage.split('/').length;
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked, `--strip-components=${depth}`, `package/${pin.binaryInPackage}`]);
  const digest = sha256File(binary);
  if (digest !== pin.binarySha256) {
    rmSync(binary, { force: true });
    throw new Error(`build-exe: ${binary} has SHA-256 ${digest}, but scripts/bun-binaries.json pins ${pin.binarySha256}; refusing to use it`);
  }
  chmodSync(binary, 0o755);
  return binary;
}

/** The pinned Bun that compiles on this machine. */
export function ensureBunBuilder(pins: BunPins = readBunPins()): string {
  const host = `${platform() === 'darwin' ? 'macos' : platform()}-${arch()}`;
  const pin = pins.builders[host];
  if (pin === undefined) {
    throw new Error(`build-exe: no Bun builder is pinned for ${host} in scripts/bun-binaries.json (pinned: ${Object.keys(pins.builders).join(', ')})`);
  }
  return ensureBunBinary(pin, pins.version);
}

export interface BunBuild {
  readonly target: BunTarget;
  readonly output: string;
  readonly bytes: number;
  readonly seconds: number;
  /** For a Mach-O output: its checked CodeDirectory. */
  readonly codeDirectory?: CodeDirectoryFacts;
}

/** One executable: `bun build --compile` of the bundle for the target, with the pinned runtime. */
export function buildBunExe(options: { target: BunTarget; bundlePath: string; outDir: string; workDir: string; pins?: BunPins; builder?: string }): BunBuild {
  const pins = options.pins ?? readBunPins();
  const pin = pins.targets[options.target];
  const builder = options.builder ?? ensureBunBuilder(pins);
  const runtime = ensureBunBinary(pin, pins.version);
  const started = process.hrtime.bigint();

  // A fresh folder: bun embeds the entry's path relative to its working folder (a
  // "// caliop.mjs" comment) and the output's file name, nothing else of the machine.
  const work = join(options.workDir, `bun-${options.target}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'home'), { recursive: true });
  mkdirSync(join(work, 'tmp'));
  mkdirSync(join(work, 'out'));
  copyFileSync(options.bundlePath, join(work, 'caliop.mjs'));
  execFileSync(
    builder,
    [
      'build',
      './caliop.mjs',
      '--compile',
      `--target=${pin.bunTarget}`,
      `--compile-executable-path=${runtime}`,
      '--no-compile-autoload-dotenv',
      '--no-compile-autoload-bunfig',
      '--no-compile-autoload-tsconfig',
      '--no-compile-autoload-package-json',
      `--outfile=out/${pin.output}`,
    ],
    {
      cwd: work,
      // Nothing of the builder's environment reaches bun (BUN_OPTIONS, NODE_ENV …).
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: join(work, 'home'), TMPDIR: join(work, 'tmp'), DO_NOT_TRACK: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  mkdirSync(options.outDir, { recursive: true });
  const output = join(options.outDir, pin.output);
  renameSync(join(work, 'out', pin.output), output);
  chmodSync(output, 0o755);
  rmSync(work, { recursive: true, force: true });

  let codeDirectory: CodeDirectoryFacts | undefined;
  if (options.target === 'macos-arm64') {
    const bytes = readFileSync(output);
    const facts = readMachOSignature(bytes);
    const problems = adHocArm64Problems(facts, bytes.byteLength);
    if (problems.length > 0) throw new Error(`build-exe: ${output} is not a correctly ad-hoc signed arm64 executable: ${problems.join('; ')}`);
    codeDirectory = facts.codeDirectory;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { target: options.target, output, bytes: statSync(output).size, seconds, ...(codeDirectory === undefined ? {} : { codeDirectory }) };
}
