// docs/store.md §10: one process at a time holds the stick. Real `caliop` processes, real
// files, a real relay: a `sync` held mid-way (test/hostile/withholding-proxy.ts holds the relay's answer)
// while a second command asks for the stick; a lock left by a SIGKILLed process, one written
// by another computer, one of a reused pid, and hostile lock files; processes racing for a
// stale lock, on FAT through FUSE where it can be mounted (test/helpers/fat-stick.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLockRecord, STICK_LOCK_NAME, type StickLockRecord } from '../src/core/stick-lock.js';
import { ERROR_TABLE } from '../src/errors.js';
import { caliop, initEnrolled, initStick, onStick, temporaryFolder, testCliEntry, testEnv } from './helpers/caliop.js';
import { fatStick, type StickFilesystem } from './helpers/fat-stick.js';
import { startWithholdingProxy, type WithholdingProxy } from './hostile/withholding-proxy.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const IN_USE = ERROR_TABLE.stick_in_use.exit;
const scratch = temporaryFolder('stick-lock');
let relay: RelayProcess;
let proxy: WithholdingProxy;
const sticks: Record<string, string> = {};
let carolCert = '';

interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<{ status: number; stdout: string; stderr: string }>;
}

/** `caliop` on a stick, its stdin left open when `input` is undefined (a `sign` then holds the stick until it is ended). */
function start(stick: string, args: readonly string[], input?: string): Running {
  const child = spawn(process.execPath, [testCliEntry(), '--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], { env: testEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin!.on('error', () => undefined);
  if (input !== undefined) child.stdin!.end(input);
  const done = new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ status: code ?? (signal ? -1 : -2), stdout, stderr })));
  return { child, done };
}

function lockFiles(stick: string): string[] {
  return readdirSync(join(stick, 'vault')).filter((name) => STICK_LOCK_NAME.test(name));
}

function locks(stick: string): StickLockRecord[] {
  return lockFiles(stick).flatMap((name) => {
    try {
      const record = decodeLockRecord(readFileSync(join(stick, 'vault', name)));
      return record ? [record] : [];
    } catch {
      return [];
    }
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A stick copied file by file, its lock files left out (fusefat has no copy_file_range: cpSync fails there). */
function copyStick(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.name.startsWith('caliop.lock')) continue;
    if (entry.isDirectory()) copyStick(join(from, entry.name), join(to, entry.name));
    else writeFileSync(join(to, entry.name), readFileSync(join(from, entry.name)));
  }
}

/** Linux: this process's start time, as the lock records it (field 22 of /proc/PID/stat). */
function startTicksOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

function writeLock(stick: string, name: string, record: Partial<StickLockRecord> & Record<string, unknown>): void {
  const full = { format: 'caliop-stick-lock/1', holder: 'interface', pid: process.pid, host: hostname(), since: new Date().toISOString(), ...record };
  writeFileSync(join(stick, 'vault', name), `${JSON.stringify(full)}\n`);
}

/** A command that needs the stick and changes nothing: the time it took, and how it ended. */
async function timedInbox(stick: string): Promise<{ status: number; stderr: string; ms: number }> {
  const began = Date.now();
  const run = await onStick(stick, ['--json', 'inbox']);
  return { status: run.status, stderr: run.stderr, ms: Date.now() - began };
}

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0 });
  proxy = await startWithholdingProxy(Number(new URL(relay.url).port));
  const throughProxy = relay.url.replace(/:\d+(\/?)$/, `:${proxy.port}$1`);
  for (const name of ['alice', 'bob', 'carol', 'dave']) mkdirSync((sticks[name] = join(scratch.path, name)));
  await Promise.all([
    initEnrolled(sticks.alice!, 'alice', `alice@${DOMAIN}`, { url: throughProxy, pin: relay.pin }),
    initEnrolled(sticks.bob!, 'bob', `bob@${DOMAIN}`, { url: relay.url, pin: relay.pin }),
    initStick(sticks.carol!, 'carol', 'carol@elsewhere.test'),
    initStick(sticks.dave!, 'dave', 'dave@elsewhere.test'),
  ]);
  carolCert = (await onStick(sticks.carol!, ['key', 'export'])).stdout;
}, 300_000);

afterAll(async () => {
  await proxy?.close();
  await relay?.dispose();
  scratch.remove();
});

describe('two caliop processes on one stick', { timeout: 300_000 }, () => {
  it('a sync held mid-way by the relay: a second command waits, then fails with stick_in_use naming it; afterwards nothing is lost or refused', async () => {
    const alice = sticks.alice!;
    const sent = await onStick(sticks.bob!, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'while the stick was busy'], { input: 'held\n' });
    expect(sent.status, sent.stderr).toBe(0);

    proxy.hold(true);
    const sync = start(alice, ['--json', 'sync'], '');
    try {
      await until('the sync to hold the stick and wait on the relay', () => proxy.heldBytes() > 0 && locks(alice).some((lock) => lock.pid === sync.child.pid));
      expect(locks(alice)).toEqual([expect.objectContaining({ holder: 'command', command: 'sync', pid: sync.child.pid })]);
      // A writer of the vault document (the contacts), with --json: its error as every error is.
      const began = Date.now();
      const second = await onStick(alice, ['--json', 'contacts', 'import'], { input: carolCert });
      const waited = Date.now() - began;
      expect(second.status, second.stderr).toBe(IN_USE);
      const holder = `"caliop sync" \\(process ${sync.child.pid}, since \\d\\d:\\d\\d\\)`;
      expect(second.stderr).toMatch(new RegExp(`^caliop: the stick is in use by ${holder}: waiting for it \\(5 s at most\\)\\ncaliop: error: the stick is in use by ${holder}\\ncaliop: hint: let it finish`));
      expect(second.stdout).toBe('');
      expect(waited).toBeGreaterThanOrEqual(4_500); // it waited for the stick (docs/store.md §10: 5 s)
    } finally {
      proxy.hold(false);
    }
    const synced = await sync.done;
    expect(synced.status, synced.stderr).toBe(0);
    expect(lockFiles(alice)).toEqual([]); // released at its exit

    // Afterwards: the same command goes through, and the vault and the store hold both changes.
    const again = await onStick(alice, ['contacts', 'import'], { input: carolCert });
    expect(again.status, again.stderr).toBe(0);
    const inbox = await onStick(alice, ['--json', 'inbox']);
    expect(inbox.status, inbox.stderr).toBe(0);
    expect((JSON.parse(inbox.stdout) as Array<{ subject: string }>).map((line) => line.subject)).toContain('while the stick was busy');
    const contacts = await onStick(alice, ['--json', 'contacts', 'list']);
    expect(contacts.status, contacts.stderr).toBe(0);
    expect(contacts.stdout).toContain('carol@elsewhere.test');
    expect(lockFiles(alice)).toEqual([]);
  });

  it('the lock of a SIGKILLed caliop is stale: the next command takes the stick at once and removes it', async () => {
    const dave = sticks.dave!;
    const holder = start(dave, ['sign']); // unlocked, then reads stdin: holds the stick
    await until('sign to hold the stick', () => locks(dave).some((lock) => lock.pid === holder.child.pid));
    const left = lockFiles(dave);
    holder.child.kill('SIGKILL');
    expect((await holder.done).status).toBe(-1);
    expect(lockFiles(dave)).toEqual(left); // a killed process cannot clean up
    const next = await timedInbox(dave);
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('waiting for it'); // no wait: the process is gone (a time bound flips under load)
    expect(lockFiles(dave)).toEqual([]);
  });

  it('SIGTERM and SIGINT release the stick', async () => {
    const dave = sticks.dave!;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const holder = start(dave, ['sign']);
      await until('sign to hold the stick', () => locks(dave).some((lock) => lock.pid === holder.child.pid));
      holder.child.kill(signal);
      const ended = await holder.done;
      expect(lockFiles(dave), `${signal}: ${ended.status} ${ended.stderr}`).toEqual([]);
    }
  });
});

describe('locks found on the stick', { timeout: 300_000 }, () => {
  it('written by another computer (a stick moved after a yank): taken over at once, whatever its pid', async () => {
    const dave = sticks.dave!;
    // The pid is this test's, which runs: only the host tells the lock is stale.
    writeLock(dave, 'caliop.lock-00000000000000a1', { host: 'the-other-computer', startTicks: startTicksOf(process.pid) });
    const next = await timedInbox(dave);
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('waiting for it');
    expect(lockFiles(dave)).toEqual([]);
  });

  it('of this computer before its last boot, and of a reused pid: stale; of a running process: the stick is in use', async () => {
    const dave = sticks.dave!;
    const boot = bootId();
    if (boot !== undefined) {
      writeLock(dave, 'caliop.lock-00000000000000b1', { bootId: '00000000-0000-4000-8000-000000000000', startTicks: startTicksOf(process.pid) });
      const afterReboot = await timedInbox(dave);
      expect(afterReboot.status, afterReboot.stderr).toBe(0);
      expect(afterReboot.stderr).not.toContain('waiting for it');
    }
    // This test's pid, but another start time: the pid was reused.
    writeLock(dave, 'caliop.lock-00000000000000b2', { ...(boot ? { bootId: boot } : {}), startTicks: '1' });
    const reused = await timedInbox(dave);
    expect(reused.status, reused.stderr).toBe(0);
    expect(lockFiles(dave)).toEqual([]);
    // This test's pid and start time: a live holder (as the interface of another terminal would be).
    writeLock(dave, 'caliop.lock-00000000000000b3', { ...(boot ? { bootId: boot } : {}), startTicks: startTicksOf(process.pid) });
    const held = await timedInbox(dave);
    expect(held.status, held.stderr).toBe(IN_USE);
    expect(held.stderr).toContain(`the stick is in use by the Caliop interface (process ${process.pid}, since `);
    expect(lockFiles(dave)).toEqual(['caliop.lock-00000000000000b3']); // a live lock is never removed
    // Commands that never open the vault take no lock: they answer at once while it is held.
    for (const args of [['--version'], ['sop', 'version'], ['--stick', dave, 'stick', 'verify']]) {
      const run = await caliop(args);
      // `stick verify` fails here (a test stick has no MANIFEST), but not for the lock.
      expect(run.status, `${args.join(' ')}: ${run.stderr}`).not.toBe(IN_USE);
      expect(run.stderr, args.join(' ')).not.toContain('in use');
    }
    rmSync(join(dave, 'vault', 'caliop.lock-00000000000000b3'));
  });

  it('an init waiting on an empty stick whose holder gives it back and removes the folder it made: the init makes it again and succeeds', async () => {
    // What a failed init or recover does when it releases (removeFolderIfEmpty); before, the waiting init then
    // failed with stick_write_failed (exit 23): its folder had been checked once, before it waited.
    const empty = join(scratch.path, 'empty-for-init');
    mkdirSync(join(empty, 'vault'), { recursive: true });
    const boot = bootId();
    writeLock(empty, 'caliop.lock-00000000000000c1', { holder: 'command', command: 'init', ...(boot ? { bootId: boot } : {}), startTicks: startTicksOf(process.pid) });
    const init = start(empty, ['--batch', '--json', 'init', '--name', 'erin', '--email', 'erin@elsewhere.test', '--allow-online'], '');
    let stderr = '';
    init.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    await until('the init waiting for the stick', () => stderr.includes('waiting for it'));
    rmSync(join(empty, 'vault'), { recursive: true });
    const ended = await init.done;
    expect(ended.status, ended.stderr).toBe(0);
    expect(lockFiles(empty)).toEqual([]);
    const shown = await onStick(empty, ['--json', 'key', 'show']);
    expect(shown.status, shown.stderr).toBe(0);
  });

  it('hostile lock files (huge, binary, cut short, empty, over-long fields, a folder) neither crash it nor hold the stick', async () => {
    const dave = sticks.dave!;
    const vault = join(dave, 'vault');
    const record = JSON.stringify({ format: 'caliop-stick-lock/1', holder: 'command', command: 'sync', pid: process.pid, host: hostname(), since: new Date().toISOString() });
    writeFileSync(join(vault, 'caliop.lock-00000000000000c1'), Buffer.alloc(8 << 20, 0x7b)); // 8 MiB of "{"
    writeFileSync(join(vault, 'caliop.lock-00000000000000c2'), Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 37 + 11) & 0xff)));
    writeFileSync(join(vault, 'caliop.lock-00000000000000c3'), record.slice(0, 40));
    writeFileSync(join(vault, 'caliop.lock-00000000000000c4'), '');
    writeLock(dave, 'caliop.lock-00000000000000c5', { host: 'x'.repeat(5000) });
    writeLock(dave, 'caliop.lock-00000000000000c6', { pid: -1, extra: '\u001b[2J' });
    mkdirSync(join(vault, 'caliop.lock-00000000000000c7'));
    writeFileSync(join(vault, 'caliop.lock-zz'), 'not of the pattern');
    const next = await timedInbox(dave);
    expect(next.status, next.stderr).toBe(0);
    // Unreadable files are stale once seen unchanged for 1 s (a taker writes its record at once).
    expect(next.ms).toBeGreaterThanOrEqual(1_000);
    expect(lockFiles(dave)).toEqual(['caliop.lock-00000000000000c7']); // a folder is not a lock: ignored, kept
  });
});

describe('processes racing for a stale lock', { timeout: 300_000 }, () => {
  let fat: StickFilesystem;
  let stick = '';
  beforeAll(() => {
    fat = fatStick(join(scratch.path, 'race'), { sizeMiB: 40 });
    stick = join(fat.path, 'stick');
    copyStick(sticks.dave!, stick);
  });
  afterAll(() => fat?.release());

  it('three `sign`s started at once on a stick with a dead lock: exactly one holds it, the others wait and fail with stick_in_use', async () => {
    console.log(`[stick-lock] race on ${fat.description}`);
    writeLock(stick, 'caliop.lock-00000000000000d1', { holder: 'command', command: 'sync', pid: 4_194_303, startTicks: '1' /* a pid above every running one (pid_max is at most 2^22) */ });
    const racers = [0, 1, 2].map(() => start(stick, ['sign']));
    // Each one unlocks after it holds the stick, and then reads stdin: the holder waits there.
    await until('one racer to hold the stick', () => locks(stick).some((lock) => racers.some((racer) => racer.child.pid === lock.pid)));
    // The losers end by themselves after their 5 s; the winner waits on its stdin.
    const ended: Array<{ status: number; stdout: string; stderr: string } | undefined> = [undefined, undefined, undefined];
    racers.forEach((racer, index) => void racer.done.then((outcome) => (ended[index] = outcome)));
    await until('two racers to give up', () => ended.filter(Boolean).length >= 2, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a third one ending too would be a failure: give it the time to show
    const [first, second, third] = ended.map((outcome) => outcome ?? { status: NaN, stdout: '', stderr: '' });
    const outcomes = [first!, second!, third!];
    const failed = outcomes.filter((outcome) => outcome.status === IN_USE);
    expect(failed, outcomes.map((outcome) => outcome.stderr).join('\n')).toHaveLength(2);
    for (const outcome of failed) expect(outcome.stderr).toMatch(/the stick is in use by "caliop sign" \(process \d+, since/);
    const winner = racers[outcomes.findIndex((outcome) => Number.isNaN(outcome.status))]!;
    expect(locks(stick).map((lock) => lock.pid)).toEqual([winner.child.pid]);
    winner.child.stdin!.end('signed by the one that held the stick\n');
    const signed = await winner.done;
    expect(signed.status, signed.stderr).toBe(0);
    expect(signed.stdout).toContain('-----BEGIN PGP MESSAGE-----');
    expect(lockFiles(stick)).toEqual([]);
  });
});
