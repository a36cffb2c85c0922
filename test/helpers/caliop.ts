// Runs the real `caliop` (the tsc build of src/cli/main.ts) as a user or script would.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { putInCache, stickCacheSlot, takeFromCache } from './stick-cache.js';

/** The tsc build: what `caliop` is in a clone; the tests that name CALIOP_ENTRY run it. */
export const CALIOP_ENTRY = resolve(import.meta.dirname, '../../build/src/cli/main.js');

/**
 * Issue 16: the run's bundled CLI with V8's code cache (test/global-setup.ts, scripts/build-exe.ts
 * bundleTestCli), which caliop() and onStick() spawn: the same program, cheaper to start than
 * ~180 module files. `tsc` (or unset, or a missing file) runs the tsc build instead.
 */
export const TEST_CLI_ENV = 'CALIOP_TEST_CLI';

/** What caliop() runs with Node: the run's bundled CLI, else the tsc build. */
export function testCliEntry(): string {
  const launcher = process.env[TEST_CLI_ENV];
  return launcher && launcher !== 'tsc' && existsSync(launcher) ? launcher : CALIOP_ENTRY;
}

export interface CaliopRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
  readonly stdoutBytes: Buffer;
}

export interface CaliopOptions {
  readonly input?: string | Uint8Array;
  readonly env?: NodeJS.ProcessEnv;
  /** Prefix the command, e.g. ['unshare', '-n'] to run without a network. */
  readonly wrapper?: readonly string[];
}

/** Test passphrases travel through the environment (@ENV:), never argv. */
export const PASSPHRASE = 'a long enough passphrase for the test suite 42';

export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, CALIOP_UNSAFE_TEST_KDF: '1', TEST_PASSPHRASE: PASSPHRASE, ...extra };
}

export function caliop(args: readonly string[], options: CaliopOptions = {}): Promise<CaliopRun> {
  const command = [...(options.wrapper ?? []), process.execPath, testCliEntry(), ...args];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command[0]!, command.slice(1), { env: options.env ?? testEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolvePromise({ stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status: code ?? -1, stdoutBytes });
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading stdin
    child.stdin.end(options.input ?? '');
  });
}

/** `caliop --stick DIR --passphrase-file @ENV:TEST_PASSPHRASE ARGS…` */
export function onStick(stick: string, args: readonly string[], options: CaliopOptions = {}): Promise<CaliopRun> {
  return caliop(['--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], options);
}

export { temporaryFolder, type TemporaryFolder } from './temp-folder.js';

export interface InitResult {
  fingerprint: string;
  recoveryPhrase: string;
  recoverySheet: string;
  creationDate: string;
  cert: string;
  revocationCertificate: string;
  ceremony: { offline: boolean; allowedOnline: boolean; backupChecked: boolean; networkEvidence: string[] };
  kdf: { algorithm: string; memoryKiB: number; passes: number; parallelism: number };
}

export interface InitStickOptions {
  /** More `init` arguments, e.g. ['--language', 'fr'] (part of the cache key). */
  readonly args?: readonly string[];
  /** Always run the real `caliop init` (tests of init itself), never a cached copy. */
  readonly fresh?: boolean;
}

/**
 * A stick with an identity of its own (online machine: --allow-online), not enrolled
 * anywhere. Set-up sticks come from the run's cache when the same parameters were made
 * before (test/helpers/stick-cache.ts); `fresh: true` runs the real `caliop init`.
 */
export async function initStick(stick: string, name: string, email: string, options: InitStickOptions = {}): Promise<InitResult> {
  const args = ['--batch', '--json', 'init', '--name', name, '--email', email, '--allow-online', ...(options.args ?? [])];
  const slot = options.fresh ? undefined : stickCacheSlot(stick, args);
  const cached = slot === undefined ? undefined : takeFromCache(slot, stick);
  if (cached !== undefined) return JSON.parse(cached) as InitResult;
  const run = await onStick(stick, args);
  if (run.status !== 0) throw new Error(`caliop init failed (${run.status}): ${run.stderr}`);
  if (slot !== undefined) putInCache(slot, stick, run.stdout);
  return JSON.parse(run.stdout) as InitResult;
}

/** init's `relay` field: what enrolWithRelay answered (src/service/relay-account.ts). */
export interface RelayAccountResult {
  url: string;
  address: string;
  enrolled: true;
  deviceName?: string;
}

/**
 * A set-up stick enrolled with a relay: initStick (a cached copy when those parameters were
 * made before in this run), then `caliop relay enrol --server URL --server-pin PIN`, which runs
 * the same enrolWithRelay as `init --server` (src/cli/commands/init.ts, commands/mail.ts). The
 * result carries init's `relay` field as `init --server` prints it. The tests of init's own
 * enrolment (mail-between-sticks, no-host-writes, hostile/secrets-grep, the executables) run
 * `init --server` for real.
 */
export async function initEnrolled(
  stick: string,
  name: string,
  email: string,
  relay: { url: string; pin?: string | undefined },
  options: InitStickOptions = {},
): Promise<InitResult & { relay: RelayAccountResult }> {
  const init = await initStick(stick, name, email, options);
  const enrol = await onStick(stick, ['--json', 'relay', 'enrol', '--server', relay.url, ...(relay.pin === undefined ? [] : ['--server-pin', relay.pin])]);
  if (enrol.status !== 0) throw new Error(`caliop relay enrol failed (${enrol.status}): ${enrol.stderr}`);
  return { ...init, relay: { ...(JSON.parse(enrol.stdout) as Omit<RelayAccountResult, 'enrolled'>), enrolled: true } };
}

/** A caliop run with its time and its peak resident memory (VmHWM of the process, polled until it exits). */
export interface Watched {
  status: number;
  stderr: string;
  stdout: string;
  seconds: number;
  peakRssMiB: number;
}

/** Runs caliop on a stick, polling its peak resident memory (VmHWM) until it exits; `env` is added to testEnv(). */
export function watched(stick: string, args: readonly string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Watched> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [CALIOP_ENTRY, '--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], { env: testEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peakKiB = 0;
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin!.end(input);
  const poll = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) peakKiB = Math.max(peakKiB, Number(match[1]));
    } catch {
      // gone
    }
  }, 25);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ status: code ?? -1, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMiB: Math.round(peakKiB / 1024) });
    });
  });
}

