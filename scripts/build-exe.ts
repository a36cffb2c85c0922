// `npm run build:exe`: the single executables of the stick (issue 5; choices in
// docs/decisions/executables.md).
//
//   1. esbuild bundles the CLI (src/cli/main.ts) as ONE ESM file (dist/bundle/caliop.mjs).
//   2. The Node 26 base binaries come from the npm registry packages pinned in
//      scripts/node-binaries.json; each tarball's integrity and each binary's
//      SHA-256 are checked before use. They are kept in .cache/ (gitignored).
//   3. The pinned linux-x64 Node runs `node --build-sea` once per target; the
//      config's "executable" field names the base binary of that target.
//   4. macos-arm64 (no Node base binary exists for it): Bun compiles the same bundle,
//      ad-hoc signed (scripts/build-bun-exe.ts, pins in scripts/bun-binaries.json).
//
// Usage: node build/scripts/build-exe.js [--targets linux-x64,win-x64,macos-arm64] [--entry FILE]
//        [--no-code-cache] [--bundle-only] [--release-cert FILE]
//
// Every bundle is a release bundle (src/build-facts.ts): test switches are dead code;
// --release-cert compiles that certificate's fingerprint in as `stick verify`'s anchor.
//
// It only builds: it never writes outside the repository's dist/ and .cache/
// (npm's cache included: `npm pack --cache .cache/npm-cache`).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { BUN_SHIPPED_TARGETS, buildBunExe, type BunTarget } from './build-bun-exe.js';
import { cleanPeFile } from './pe-clean.js';
import { SEA_MAIN_FILE, SEA_OPEN_WORKER_ASSET, SEA_OPEN_WORKER_FILE, SEA_PROGRAM_ASSET, SEA_PROGRAM_CACHE_ASSET, SEA_PROGRAM_FILE } from './sea-assets.js';

// build/scripts/build-exe.js -> repo root; works from scripts/ too.
const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');

export type ExeTarget = 'linux-x64' | 'linux-arm64' | 'win-x64' | 'macos-x64';
export const ALL_TARGETS: readonly ExeTarget[] = ['linux-x64', 'linux-arm64', 'win-x64', 'macos-x64'];

interface NodeBinaryPin {
  readonly package: string;
  readonly binaryInPackage: string;
  readonly tarballIntegrity: string;
  readonly binarySha256: string;
  readonly output: string;
}
interface NodeBinaryPins {
  readonly version: string;
  readonly targets: Record<ExeTarget, NodeBinaryPin>;
}

/** Packages whose presence means a native addon (.node) would be needed at run time. */
const NATIVE_ADDON_LOADERS = ['bindings', 'node-gyp-build', 'prebuild-install', 'node-pre-gyp', '@mapbox/node-pre-gyp'];

export function readPins(): NodeBinaryPins {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'scripts', 'node-binaries.json'), 'utf8')) as NodeBinaryPins;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function integrityOf(path: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`;
}

function cacheDir(version: string): string {
  return join(REPO_ROOT, '.cache', `node-${version}`);
}

/**
 * The path of the Node base binary for a target when it is already in .cache/ (no download,
 * no checksum: for tests that run code under the executables' Node when it is at hand).
 */
export function cachedNodeBinary(target: ExeTarget, pins: NodeBinaryPins = readPins()): string | undefined {
  const pin = pins.targets[target];
  const binary = join(cacheDir(pins.version), target, pin.binaryInPackage.split('/').pop()!);
  return existsSync(binary) ? binary : undefined;
}

/**
 * The path of the checked Node base binary for a target, downloading it with
 * `npm pack` when absent. Throws when a checksum does not match its pin.
 */
export function ensureNodeBinary(target: ExeTarget, pins: NodeBinaryPins = readPins()): string {
  const pin = pins.targets[target];
  const dir = cacheDir(pins.version);
  const binaryName = pin.binaryInPackage.split('/').pop()!;
  const binary = join(dir, target, binaryName);
  if (existsSync(binary) && sha256File(binary) === pin.binarySha256) return binary;

  mkdirSync(join(dir, target), { recursive: true });
  const tarball = join(dir, `${pin.package}-${pins.version}.tgz`);
  if (!existsSync(tarball) || integrityOf(tarball) !== pin.tarballIntegrity) {
    rmSync(tarball, { force: true });
    process.stderr.write(`build-exe: fetching ${pin.package}@${pins.version} from the npm registry\n`);
    execFileSync('npm', ['pack', `${pin.package}@${pins.version}`, '--silent', '--cache', join(REPO_ROOT, '.cache', 'npm-cache'), '--pack-destination', dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const integrity = integrityOf(tarball);
  if (integrity !== pin.tarballIntegrity) {
    throw new Error(`build-exe: ${tarball} has integrity ${integrity}, but scripts/node-binaries.json pins ${pin.tarballIntegrity}; refusing to use it`);
  }
  const depth = pin.binaryInPackage.split('/').length; // package/bin/node -> strip 2
  execFileSync('tar', ['-xzf', tarball, '-C', join(dir, target), `--strip-components=${depth}`, `package/${pin.binaryInPackage}`]);
  const digest = sha256File(binary);
  if (digest !== pin.binarySha256) {
    rmSync(binary, { force: true });
    throw new Error(`build-exe: ${binary} has SHA-256 ${digest}, but scripts/node-binaries.json pins ${pin.binarySha256}; refusing to use it`);
  }
  return binary;
}

/** The host's own target: the only one whose Node can run --build-sea here and use a code cache. */
export function hostTarget(): ExeTarget | undefined {
  if (platform() === 'linux' && arch() === 'x64') return 'linux-x64';
  if (platform() === 'linux' && arch() === 'arm64') return 'linux-arm64';
  if (platform() === 'darwin' && arch() === 'x64') return 'macos-x64';
  return undefined;
}

/** The CLI entry (docs/cli.md). */
export function defaultEntry(): string {
  const cli = join(REPO_ROOT, 'src', 'cli', 'main.ts');
  if (!existsSync(cli)) throw new Error(`build-exe: ${cli} does not exist; give --entry FILE`);
  return cli;
}

export interface BundleResult {
  readonly bundlePath: string;
  readonly metafilePath: string;
  /** The Node executables' main script (scripts/sea-main.ts) and the program it runs (an asset). */
  readonly seaMainPath: string;
  readonly programPath: string;
  readonly bytes: number;
  readonly inputs: readonly string[];
}

/** What a release bundle is told at build time (src/build-facts.ts). */
export interface ReleaseFacts {
  /** The release certificate's fingerprint (40 hex digits) that `stick verify` trusts (docs/manifest.md §8). */
  readonly releaseFingerprint?: string;
}

/** esbuild defines of a release bundle: test switches become dead code; the release fingerprint is compiled in. */
export function releaseDefines(facts: ReleaseFacts): Record<string, string> {
  const fingerprint = facts.releaseFingerprint?.toUpperCase();
  if (fingerprint !== undefined && !/^[0-9A-F]{40}$/.test(fingerprint)) throw new Error(`build-exe: "${facts.releaseFingerprint}" is not a v4 fingerprint (40 hex digits)`);
  return { __CALIOP_RELEASE_BUILD__: 'true', __CALIOP_RELEASE_FINGERPRINT__: JSON.stringify(fingerprint ?? '') };
}

/** The fingerprint of an armored release certificate (for --release-cert). */
export async function releaseFingerprintOf(certArmored: string): Promise<string> {
  const openpgp = await import('openpgp');
  return (await openpgp.readKey({ armoredKey: certArmored })).getFingerprint().toUpperCase();
}

/**
 * What `caliop --help` prints on a pipe: commander's own text for src/cli/program.ts,
 * computed here once (width 80, no colour: what commander does when stdout is not a
 * terminal) and compiled into the bundle (src/build-facts.ts COMPILED_HELP), so the
 * executable answers `--help` without loading commander (src/cli/quick-answer.ts).
 */
export async function pipedHelpText(): Promise<string> {
  const { buildProgram } = await import('../src/cli/program.js');
  const { program } = buildProgram();
  program.configureOutput({ getOutHelpWidth: () => 80, getOutHasColors: () => false });
  return program.helpInformation();
}

/**
 * Issue 13: openpgp.js's copy of noble's AES builds its T-tables (two of 65,536 words, one of
 * 65,536 half-words, for encryption and again for decryption) when the module is evaluated: the
 * largest single cost of evaluating openpgp in the executable's profile of a first unlock, for
 * tables that Node's openpgp.js rarely uses (AES goes through node:crypto and WebCrypto; the
 * JavaScript AES serves OCB and the fallbacks). Each table is built on its first use instead.
 * Nothing else changes; undefined when the source no longer has the expected shape.
 */
export function lazyAesTables(source: string): string | undefined {
  let out = source;
  for (const table of ['tableEncoding', 'tableDecoding']) {
    const definition = new RegExp(`^const ${table} = /\\* @__PURE__ \\*/ (genTtable\\(.*\\));$`, 'm');
    const uses = new RegExp(`= ${table};`, 'g');
    const found = definition.exec(out);
    if (found === null || (out.match(uses)?.length ?? 0) < 2) return undefined;
    out = out.replace(definition, () => `let ${table}Built;\nconst ${table}Of = () => (${table}Built ??= ${found[1]});`).replace(uses, `= ${table}Of();`);
    if (new RegExp(`\\b${table}\\b`).test(out)) return undefined;
  }
  return out;
}

/**
 * The esbuild plugins of every bundle of the CLI (the executables' and the test suite's,
 * bundleTestCli): no native addon, openpgp.js's lazy modules bundled, built-ins taken lazily.
 */
function cliBundlePlugins(): esbuild.Plugin[] {
  const refuseNativeAddons: esbuild.Plugin = {
    name: 'refuse-native-addons',
    setup(build) {
      build.onResolve({ filter: /\.node$/ }, (args) => ({
        errors: [{ text: `native addon "${args.path}" imported by ${args.importer}: the single executable holds no native addon` }],
      }));
    },
  };
  // openpgp.js loads 'eckey-utils' lazily (util.nodeRequire, a createRequire) for brainpool
  // and NIST curves on Node; a single executable cannot resolve node_modules at run time, so
  // the call becomes a static import that esbuild bundles (issue 10, docs/decisions/executables.md).
  const bundleLazyOpenpgpModules: esbuild.Plugin = {
    name: 'bundle-lazy-openpgp-modules',
    setup(build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/]openpgp[\\/]dist[\\/]node[\\/]openpgp\.mjs$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const lazy = "util.nodeRequire('eckey-utils')";
        if (!source.includes(lazy)) return { errors: [{ text: `build-exe: ${args.path} no longer loads ${lazy}; check what openpgp.js loads lazily now` }] };
        const tables = lazyAesTables(source);
        if (tables === undefined) return { errors: [{ text: `build-exe: ${args.path} no longer builds its AES tables as lazyAesTables expects; check openpgp.js's noble AES` }] };
        return { contents: `import __caliopEckeyUtils from 'eckey-utils';\n${tables.split(lazy).join('__caliopEckeyUtils')}`, loader: 'js' };
      });
    },
  };
  // Issue 13: a Node built-in is taken when the module that imports it is first evaluated,
  // not when the bundle starts. esbuild keeps `import … from 'node:x'` of an external
  // module as a static import at the top of the single file, which Node evaluates before
  // anything (each through an ESM facade that reads every export: `node:http`'s facade
  // alone loads Node's bundled undici). As a CommonJS stub, `module.exports =
  // process.getBuiltinModule('node:x')`, it sits inside the importer's lazy __esm wrapper,
  // so the lazy `import()`s of src/cli/main.ts stay lazy for built-ins too.
  const lazyBuiltins: esbuild.Plugin = {
    name: 'lazy-builtins',
    setup(build) {
      build.onResolve({ filter: /^(node:)?[a-z_0-9/]+$/ }, (args) => {
        if (!isBuiltin(args.path)) return undefined;
        return { path: args.path.startsWith('node:') ? args.path : `node:${args.path}`, namespace: 'caliop-builtin' };
      });
      build.onLoad({ filter: /.*/, namespace: 'caliop-builtin' }, (args) => ({
        contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});\n`,
        loader: 'js',
      }));
    },
  };
  return [refuseNativeAddons, bundleLazyOpenpgpModules, lazyBuiltins];
}

/** Bundled CommonJS dependencies that compute the name they require() need a require; an ESM file has none. */
function makeRequire(metaUrl: string): string {
  return `const require = process.getBuiltinModule('node:module').createRequire(${metaUrl});`;
}

/** Step 1: one ESM file for Node 26, with no native addon inside. */
export async function bundleCli(entry: string, outDir: string, facts: ReleaseFacts = {}): Promise<BundleResult> {
  mkdirSync(outDir, { recursive: true });
  const bundlePath = join(outDir, 'caliop.mjs');
  const options: esbuild.BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node26',
    // Module-start comments ("// node_modules/openpgp/...") stay: test/exe.test.ts uses them
    // to find openpgp's code in the bundle. Identifiers are not minified, for readable traces.
    minifyWhitespace: false,
    minifySyntax: true,
    legalComments: 'eof',
    // ASCII output (non-ASCII escaped): measured a little faster to start than charset utf8.
    charset: 'ascii',
    alias: { 'react-devtools-core': join(REPO_ROOT, 'scripts', 'stubs', 'react-devtools-core.js') },
    define: { 'process.env.DEV': '"false"', 'process.env.NODE_ENV': '"production"', ...releaseDefines(facts), __CALIOP_HELP__: JSON.stringify(await pipedHelpText()) },
    plugins: cliBundlePlugins(),
    logLevel: 'warning',
  };
  const single = esbuild.build({ ...options, entryPoints: [entry], outfile: bundlePath, banner: { js: makeRequire('import.meta.url') }, metafile: true });
  // The Node single executables (issue 13, docs/decisions/executables.md §Start-up): the same
  // program as a classic script, `(async function (importMetaUrl) { … })`, carried as an asset
  // and compiled only when the command line needs it, under a main script that answers
  // --version and --help by itself (scripts/sea-main.ts).
  const programPath = join(outDir, SEA_PROGRAM_FILE);
  const program = esbuild.build({
    ...options,
    entryPoints: [entry],
    outfile: programPath,
    define: { ...options.define, 'import.meta.url': '__caliopImportMetaUrl' },
    banner: { js: `(async function (__caliopImportMetaUrl) {\n'use strict';\n${makeRequire('__caliopImportMetaUrl')}` },
    footer: { js: '})' },
  });
  // The sync worker (src/service/mail-open-worker.ts) the same way, as its own asset: a worker
  // of the executable starts from it with `new Worker(source, { eval: true })`
  // (src/edges/worker-pool.ts), since the executable carries no file to start one from.
  const openWorkerPath = join(outDir, SEA_OPEN_WORKER_FILE);
  const openWorker = esbuild.build({
    ...options,
    entryPoints: [join(REPO_ROOT, 'src', 'service', 'mail-open-worker.ts')],
    outfile: openWorkerPath,
    define: { ...options.define, 'import.meta.url': '__caliopImportMetaUrl' },
    banner: { js: `(async function (__caliopImportMetaUrl) {\n'use strict';\n${makeRequire('__caliopImportMetaUrl')}` },
    footer: { js: `})(require('node:url').pathToFileURL(process.execPath).href);` },
    legalComments: 'none',
  });
  const seaMainPath = join(outDir, SEA_MAIN_FILE);
  const seaMain = esbuild.build({ ...options, entryPoints: [join(REPO_ROOT, 'scripts', 'sea-main.ts')], outfile: seaMainPath, define: options.define, legalComments: 'none' });
  // The builds run at once (each is multi-threaded, but mostly waits on the disk here). All are
  // waited for before a failure is thrown: a caller that removes the output folder once this
  // rejects would race the builds still writing there (test/exe.test.ts failed so under load,
  // ENOTEMPTY, the issue-16 loop of 2026-12-02).
  const settled = await Promise.allSettled([single, program, seaMain, openWorker]);
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const result = (settled[0] as PromiseFulfilledResult<Awaited<typeof single>>).value;
  for (const scriptPath of [programPath, openWorkerPath]) {
    // Issue 13: esbuild's charset ascii escapes strings and identifiers, but the comments it
    // keeps (JSDoc) and one regular expression still carry a few non-ASCII characters
    // (§, ¹, 𝑊, …). One is enough to make the whole 5.8 MB program a two-byte string in V8 (twice
    // the memory, a slower decode and scan at every start): asciiOnly escapes them.
    const scriptText = asciiOnly(readFileSync(scriptPath, 'utf8'));
    writeFileSync(scriptPath, scriptText);
    // A classic script: no import or export statement may be left in it, nor import.meta.
    const moduleSyntax = /^(?:import|export)\b[^\n]*|\bimport\.meta\b/m.exec(scriptText.replace(/^#!.*\n/, ''));
    if (moduleSyntax !== null) throw new Error(`build-exe: ${scriptPath} still has module syntax: ${moduleSyntax[0].slice(0, 80)}`);
  }
  const inputs = Object.keys(result.metafile.inputs).sort();
  const nativeLoaders = inputs.filter((input) => NATIVE_ADDON_LOADERS.some((name) => input.includes(`node_modules/${name}/`)));
  const nativeFiles = inputs.filter((input) => input.endsWith('.node') || input.includes('node_modules/better-sqlite3/'));
  if (nativeLoaders.length > 0 || nativeFiles.length > 0) {
    throw new Error(`build-exe: the bundle would need a native addon (${[...nativeLoaders, ...nativeFiles].join(', ')}); the single executable holds none`);
  }
  const metafilePath = join(outDir, 'caliop.meta.json');
  writeFileSync(metafilePath, JSON.stringify(result.metafile, null, 1));
  return { bundlePath, metafilePath, bytes: statSync(bundlePath).size, inputs, seaMainPath, programPath };
}

/**
 * The text with every non-ASCII UTF-16 unit written as a \uXXXX escape: the same text in a
 * comment, the same character in a string and in a regular expression with or without the
 * u flag (there, an escaped surrogate pair is one code point).
 */
export function asciiOnly(text: string): string {
  return text.replace(/[^\x00-\x7f]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The test suite's CLI (bundleTestCli): the launcher to run with Node, `node LAUNCHER ARGS…`. */
export const TEST_CLI_LAUNCHER_FILE = 'caliop-test.cjs';

/**
 * Issue 16 (the suite's cost): the CLI the test suites spawn, made once per vitest run
 * (test/global-setup.ts). Under Node 20 the tsc build loads ~180 module files at every
 * start and V8 compiles them again each time (Node 20 has no module compile cache); this
 * is the same program as the executables' (bundleCli's classic script, the same plugins),
 * but for the Node that runs the tests and NOT a release build (no defines: test switches
 * such as CALIOP_UNSAFE_TEST_KDF work, as in the tsc build), started by a small launcher
 * that compiles it with V8's code cache, made here by a warm-up (two unlocks, as for the
 * executables). The sync worker is its own ESM bundle beside it (mail-open.ts starts
 * `./mail-open-worker.js` relative to the program).
 */
export async function bundleTestCli(outDir: string, entry: string = defaultEntry()): Promise<{ launcher: string; programPath: string; cachePath: string }> {
  mkdirSync(outDir, { recursive: true });
  const programPath = join(outDir, SEA_PROGRAM_FILE);
  const cachePath = join(outDir, SEA_PROGRAM_CACHE_ASSET);
  const options: esbuild.BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    charset: 'ascii',
    alias: { 'react-devtools-core': join(REPO_ROOT, 'scripts', 'stubs', 'react-devtools-core.js') },
    plugins: cliBundlePlugins(),
    logLevel: 'warning',
  };
  const program = esbuild.build({
    ...options,
    entryPoints: [entry],
    outfile: programPath,
    define: { 'import.meta.url': '__caliopImportMetaUrl' },
    banner: { js: `(async function (__caliopImportMetaUrl) {\n'use strict';\n${makeRequire('__caliopImportMetaUrl')}` },
    footer: { js: '})' },
  });
  const worker = esbuild.build({
    ...options,
    entryPoints: [join(REPO_ROOT, 'src', 'service', 'mail-open-worker.ts')],
    outfile: join(outDir, 'mail-open-worker.js'),
    banner: { js: makeRequire('import.meta.url') },
  });
  await Promise.all([program, worker]);
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  const scriptText = asciiOnly(readFileSync(programPath, 'utf8'));
  writeFileSync(programPath, scriptText);
  const moduleSyntax = /^(?:import|export)\b[^\n]*|\bimport\.meta\b/m.exec(scriptText.replace(/^#!.*\n/, ''));
  if (moduleSyntax !== null) throw new Error(`bundleTestCli: ${programPath} still has module syntax: ${moduleSyntax[0].slice(0, 80)}`);
  // The launcher: a CommonJS file (the folder's package.json says module, hence .cjs).
  // A cache V8 rejects (another Node, other flags) is ignored: the script is compiled as usual.
  const launcher = join(outDir, TEST_CLI_LAUNCHER_FILE);
  writeFileSync(
    launcher,
    `'use strict';
// Made by scripts/build-exe.ts bundleTestCli for the test suites (issue 16): the CLI program with V8's code cache.
const vm = require('node:vm'), fs = require('node:fs'), url = require('node:url'), path = require('node:path');
const programPath = path.join(__dirname, ${JSON.stringify(SEA_PROGRAM_FILE)});
let cachedData;
try { cachedData = fs.readFileSync(path.join(__dirname, ${JSON.stringify(SEA_PROGRAM_CACHE_ASSET)})); } catch { cachedData = undefined; }
const script = new vm.Script(fs.readFileSync(programPath, 'utf8'), {
  filename: programPath,
  ...(cachedData === undefined ? {} : { cachedData }),
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
script.runInThisContext()(url.pathToFileURL(programPath).href);
`,
  );
  writeProgramCodeCache(process.execPath, programPath, cachePath, outDir, programPath);
  return { launcher, programPath, cachePath };
}

export interface SeaBuild {
  readonly target: ExeTarget;
  readonly output: string;
  readonly bytes: number;
  readonly codeCache: boolean;
  readonly seconds: number;
}

/**
 * V8's code cache of the program script, made by the builder (the same Node as the target's,
 * same flags) from the same source and file name as scripts/sea-main.ts compiles it with.
 *
 * Issue 13: V8 compiles a function only when it first runs, and a cache made right after
 * compiling the script holds only its top level: the functions an unlock runs would still be
 * parsed and compiled on every start. So the builder first runs the program, twice, on a
 * throwaway copy of a test vector's stick (the first unlock migrates it, the second is an
 * ordinary one), and then makes the cache, which now holds every function those runs
 * compiled. The cache is bytecode, never the state of the run.
 */
export function writeProgramCodeCache(builder: string, programPath: string, cachePath: string, workDir: string, filename: string = SEA_PROGRAM_ASSET): void {
  const warmUp = warmUpStick(workDir);
  const make = `const vm = require('node:vm'), fs = require('node:fs'), url = require('node:url');
const [programPath, cachePath, stick] = process.argv.slice(1);
const script = new vm.Script(fs.readFileSync(programPath, 'utf8'), {
  filename: ${JSON.stringify(filename)},
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
(async () => {
  if (stick !== '') {
    for (let run = 0; run < 2; run += 1) {
      process.argv = [process.execPath, 'caliop', '--stick', stick, '--passphrase-file', '@ENV:CALIOP_WARM_UP_PASSPHRASE', 'key', 'show'];
      await script.runInThisContext()(url.pathToFileURL(programPath).href);
      if (process.exitCode !== 0 && process.exitCode !== undefined) throw new Error('the warm-up unlock failed (exit ' + process.exitCode + ')');
    }
  }
  fs.writeFileSync(cachePath, script.createCachedData());
})().catch((error) => { process.stderr.write('build-exe: code cache: ' + String(error && error.message || error) + '\\n'); process.exitCode = 1; });`;
  try {
    execFileSync(builder, ['-e', make, programPath, cachePath, warmUp?.stick ?? ''], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, CALIOP_WARM_UP_PASSPHRASE: warmUp?.passphrase ?? '' },
    });
  } finally {
    if (warmUp !== undefined) rmSync(warmUp.stick, { recursive: true, force: true });
  }
}

/** The warm-up stick: test/vectors/store/vault-v1-messages.json's vault (Argon2id m=8 MiB, t=1), copied to workDir. */
function warmUpStick(workDir: string): { stick: string; passphrase: string } | undefined {
  const vectorPath = join(REPO_ROOT, 'test', 'vectors', 'store', 'vault-v1-messages.json');
  if (!existsSync(vectorPath)) {
    process.stderr.write(`build-exe: ${vectorPath} is missing: the code cache holds the top level only (slower unlock)\n`);
    return undefined;
  }
  const vector = JSON.parse(readFileSync(vectorPath, 'utf8')) as { file: string; passphraseText: string };
  const stick = join(workDir, 'warm-up-stick');
  rmSync(stick, { recursive: true, force: true });
  mkdirSync(join(stick, 'vault'), { recursive: true });
  writeFileSync(join(stick, 'vault', 'caliop.vault'), Buffer.from(vector.file, 'base64'));
  return { stick, passphrase: vector.passphraseText };
}

/** Step 3: one single executable with `node --build-sea`, run by the builder (the pinned host Node). */
export function buildSea(options: {
  target: ExeTarget;
  builder: string;
  baseBinary: string;
  bundlePath: string;
  outDir: string;
  workDir: string;
  codeCache: boolean;
  pins?: NodeBinaryPins;
}): SeaBuild {
  const pins = options.pins ?? readPins();
  const output = join(options.outDir, pins.targets[options.target].output);
  const temporary = `${output}.building`;
  mkdirSync(options.workDir, { recursive: true });
  // Issue 13: the main script is scripts/sea-main.ts (tiny); the program is an asset, with
  // its V8 code cache when the builder's target is the target (the same rule as useCodeCache).
  const bundleDir = dirname(options.bundlePath);
  const assets: Record<string, string> = { [SEA_PROGRAM_ASSET]: join(bundleDir, SEA_PROGRAM_FILE), [SEA_OPEN_WORKER_ASSET]: join(bundleDir, SEA_OPEN_WORKER_FILE) };
  if (options.codeCache) {
    assets[SEA_PROGRAM_CACHE_ASSET] = join(options.workDir, `${SEA_PROGRAM_CACHE_ASSET}-${options.target}`);
    writeProgramCodeCache(options.builder, assets[SEA_PROGRAM_ASSET]!, assets[SEA_PROGRAM_CACHE_ASSET]!, options.workDir);
  }
  const config = {
    main: join(bundleDir, SEA_MAIN_FILE),
    mainFormat: 'module',
    executable: options.baseBinary,
    output: temporary,
    disableExperimentalSEAWarning: true,
    // Not allowed with an ESM main (Node docs); the main is tiny anyway.
    useSnapshot: false,
    // Code cache is V8 bytecode for the builder's CPU and flags: only for the builder's own target.
    useCodeCache: options.codeCache,
    // NODE_OPTIONS from the host must not inject code into the stick's executable.
    execArgv: [],
    execArgvExtension: 'none',
    // The Argon2id wasm travels inside the program (src/edges/argon2id-wasm.ts).
    assets,
  };
  const configPath = join(options.workDir, `sea-${options.target}.json`);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const started = process.hrtime.bigint();
  rmSync(temporary, { force: true });
  execFileSync(options.builder, ['--build-sea', configPath], { stdio: ['ignore', 'ignore', 'inherit'], cwd: options.workDir });
  // node.exe's stale Authenticode entry and checksum out: a clean unsigned file the operator can sign (scripts/pe-clean.ts).
  if (options.target === 'win-x64') cleanPeFile(temporary);
  renameSync(temporary, output);
  chmodSync(output, 0o755);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { target: options.target, output, bytes: statSync(output).size, codeCache: options.codeCache, seconds };
}

interface CliOptions {
  targets: (ExeTarget | BunTarget)[];
  entry: string;
  codeCache: boolean;
  bundleOnly: boolean;
  releaseCert?: string;
}

function parseArgs(argv: readonly string[]): CliOptions {
  const known: readonly string[] = [...ALL_TARGETS, ...BUN_SHIPPED_TARGETS];
  const options: CliOptions = { targets: [...ALL_TARGETS, ...BUN_SHIPPED_TARGETS], entry: defaultEntry(), codeCache: true, bundleOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--targets') {
      const list = (argv[++i] ?? '').split(',').filter((t) => t !== '');
      for (const t of list) if (!known.includes(t)) throw new Error(`build-exe: unknown target "${t}" (known: ${known.join(', ')})`);
      options.targets = list as (ExeTarget | BunTarget)[];
    } else if (arg === '--entry') {
      options.entry = resolve(argv[++i] ?? '');
    } else if (arg === '--no-code-cache') {
      options.codeCache = false;
    } else if (arg === '--bundle-only') {
      options.bundleOnly = true;
    } else if (arg === '--release-cert') {
      options.releaseCert = resolve(argv[++i] ?? '');
    } else {
      throw new Error(`build-exe: unknown option "${arg}"`);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const distDir = join(REPO_ROOT, 'dist');
  const releaseFingerprint = options.releaseCert === undefined ? undefined : await releaseFingerprintOf(readFileSync(options.releaseCert, 'utf8'));
  if (releaseFingerprint === undefined) process.stderr.write('build-exe: no --release-cert: "caliop stick verify" in these executables has no compiled-in anchor (docs/manifest.md §8)\n');
  const bundle = await bundleCli(options.entry, join(distDir, 'bundle'), releaseFingerprint === undefined ? {} : { releaseFingerprint });
  process.stdout.write(`bundle  ${relative(REPO_ROOT, bundle.bundlePath)}  ${bundle.bytes} bytes  (entry ${relative(REPO_ROOT, options.entry)}, ${bundle.inputs.length} inputs, release anchor ${releaseFingerprint ?? 'none'})\n`);
  if (options.bundleOnly) return;

  const seaTargets = options.targets.filter((t): t is ExeTarget => (ALL_TARGETS as readonly string[]).includes(t));
  const bunTargets = options.targets.filter((t): t is BunTarget => (BUN_SHIPPED_TARGETS as readonly string[]).includes(t));
  if (seaTargets.length > 0) buildSeaTargets(seaTargets, bundle.bundlePath, distDir, options.codeCache);
  for (const target of bunTargets) {
    const built = buildBunExe({ target, bundlePath: bundle.bundlePath, outDir: distDir, workDir: join(REPO_ROOT, '.cache', 'bun-work') });
    const signed = built.codeDirectory === undefined ? '' : `  ad-hoc signed, ${built.codeDirectory.nCodeSlots} page hashes checked, CDHash ${built.codeDirectory.cdHashSha256.slice(0, 40)}`;
    process.stdout.write(`exe     ${relative(REPO_ROOT, built.output)}  ${built.bytes} bytes  bun  ${built.seconds.toFixed(1)} s${signed}\n`);
  }
}

function buildSeaTargets(targets: readonly ExeTarget[], bundlePath: string, distDir: string, codeCache: boolean): void {
  const pins = readPins();
  const host = hostTarget();
  if (host === undefined) throw new Error(`build-exe: no pinned Node ${pins.version} runs on ${platform()}-${arch()}; build on linux-x64, linux-arm64 or macos-x64`);
  // The builder's Node version must equal the targets' (Node docs, --build-sea): use the pinned host binary.
  const builder = ensureNodeBinary(host, pins);
  for (const target of targets) {
    const built = buildSea({
      target,
      builder,
      baseBinary: ensureNodeBinary(target, pins),
      bundlePath,
      outDir: distDir,
      workDir: join(REPO_ROOT, '.cache', 'sea'),
      codeCache: codeCache && target === host,
      pins,
    });
    process.stdout.write(
      `exe     ${relative(REPO_ROOT, built.output)}  ${built.bytes} bytes  code cache ${built.codeCache ? 'yes' : 'no'}  ${built.seconds.toFixed(1)} s\n`,
    );
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
