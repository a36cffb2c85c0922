// Runs the real `caliop` (the tsc build of src/cli/main.ts) as a user or script would.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const CALIOP_ENTRY = resolve(import.meta.dirname, '../../build/src/cli/main.js');

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
  const command = [...(options.wrapper ?? []), process.execPath, CALIOP_ENTRY, ...args];
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

/** A fresh stick with an identity (online machine: --allow-online). */
export async function initStick(stick: string, name: string, email: string): Promise<InitResult> {
  const run = await onStick(stick, ['--batch', '--json', 'init', '--name', name, '--email', email, '--allow-online']);
  if (run.status !== 0) throw new Error(`caliop init failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as InitResult;
}

/** A caliop run with its time and its peak resident memory (VmHWM of the process, polled until it exits). */
export interface Watched {
  status: number;
  stderr: string;
  stdout: string;
  seconds: number;
  peakRssMiB: number;
}

/** Runs caliop on a stick, polling its peak resident memory (VmHWM) until it exits. */
export function watched(stick: string, args: readonly string[], input = ''): Promise<Watched> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [CALIOP_ENTRY, '--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], { env: testEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
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

