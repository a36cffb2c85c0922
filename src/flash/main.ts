#!/usr/bin/env node
// caliop-flash: the flashing station's two faces over one pipeline
// (docs/flashing-station.md). Linux only; never part of the stick executable.
//
//   caliop-flash flash --image FILE --target DEV [--target DEV …] [--yes] [--json]
//   caliop-flash station [--image FILE] [--json] [--yes]
//
// Errors go to stderr as "caliop-flash: error: …" / "caliop-flash: hint: …",
// with the exit codes of src/errors.ts.

import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';

import { Command, CommanderError, Option } from 'commander';

import { CaliopError, ERROR_TABLE, isCaliopError } from '../errors.js';
import { printProgramError } from '../error-printer.js';
import type { CandidateDrive, DriveListOptions } from './drive-list.js';
import { createDriveWatcher } from './drive-watcher.js';
import { appendFlashLog } from './flash-log.js';
import { describeNamedTarget, detectDrives, reproveTarget } from './lsblk.js';
import { exitCodeOf, flashTargets, openImage, type FlashImage, type FlashResult, type FlashTarget } from './pipeline.js';
import { FlashStation } from './station.js';

const PROGRAM = 'caliop-flash';
const DEFAULT_IMAGE = 'dist/caliop.img';
const DEFAULT_LOG = 'flash-log.jsonl';

function printError(error: unknown): number {
  if (isCaliopError(error)) {
    printProgramError(PROGRAM, error);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  printProgramError(PROGRAM, { message: `${ERROR_TABLE.internal.message}: ${message}`, hint: ERROR_TABLE.internal.hint });
  return ERROR_TABLE.internal.exit;
}

/** Asks one yes/no question on stderr and reads the answer from stdin (a terminal or a pipe). */
async function confirm(question: string): Promise<boolean> {
  const reader = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  try {
    const answer = await new Promise<string | undefined>((resolveAnswer) => {
      reader.once('close', () => resolveAnswer(undefined));
      reader.question(question, resolveAnswer);
    });
    if (answer === undefined) {
      throw new CaliopError('confirmation_required', 'no answer to the question before the first write', { hint: 'answer "yes", or pass --yes' });
    }
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    reader.close();
  }
}

function describeDrive(drive: CandidateDrive): string {
  const name = [drive.vendor, drive.model].filter((part) => part !== '').join(' ') || drive.type;
  return `${drive.path} (${name}, ${(drive.sizeBytes / 1000 ** 3).toFixed(2)} GB${drive.serial === '' ? '' : `, serial ${drive.serial}`})`;
}

function humanResult(result: FlashResult): string {
  if (result.result === 'ok') {
    return `${result.target}: ok, ${result.bytesWritten} bytes written in ${result.writeSeconds} s, verified in ${result.verifySeconds} s (SHA-256 ${result.sha256})\n`;
  }
  return `${result.target}: failed while ${result.step}: ${result.error?.message ?? 'unknown error'}\n`;
}

interface FlashCommandOptions {
  image: string;
  target: string[];
  yes: boolean;
  json: boolean;
  force: boolean;
  log: string;
  eject: boolean;
  maxSize: number;
  allow: string[];
  deny: string[];
  denyList?: string;
}

/** The station policy of the options (docs/flashing-station.md §Station policy). */
async function policyOf(options: Omit<FlashCommandOptions, 'target'>, image: FlashImage): Promise<Omit<DriveListOptions, 'mode'>> {
  const denySerials = [...options.deny];
  if (options.denyList !== undefined) {
    let text: string;
    try {
      text = await readFile(resolve(options.denyList), 'utf8');
    } catch (cause) {
      throw new CaliopError('file_unreadable', `cannot read the deny list ${options.denyList}`, { cause, hint: 'one serial per line (see lsblk -o NAME,SERIAL); # starts a comment' });
    }
    for (const line of text.split('\n')) {
      const serial = line.replace(/#.*$/, '').trim();
      if (serial !== '') denySerials.push(serial);
    }
  }
  return { force: options.force, imageSizeBytes: image.sizeBytes, maxSizeBytes: options.maxSize * 1000 ** 3, denySerials, allowSerials: options.allow };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function gigabytes(value: string): number {
  const size = Number(value);
  if (!Number.isFinite(size) || size <= 0) throw new CaliopError('usage', `--max-size takes a size in GB, such as 64; got "${value}"`);
  return size;
}

/** The policy options, the same for both forms. */
function withPolicyOptions(command: Command): Command {
  return command
    .option('--max-size <GB>', 'the largest drive written, in GB as printed on sticks', gigabytes, 128)
    .option('--allow <serial>', 'write this SSD or non-removable disk anyway (its serial, see lsblk -o NAME,SERIAL); repeat for several', collect, [])
    .option('--deny <serial>', 'never write the drive with this serial; repeat for several', collect, [])
    .option('--deny-list <file>', 'never write the drives whose serials this file lists (one per line)');
}

async function runFlash(options: FlashCommandOptions): Promise<number> {
  const image = await openImage(resolve(options.image));
  const policy = await policyOf(options, image);
  const drives: CandidateDrive[] = [];
  for (const path of options.target) {
    drives.push(await describeNamedTarget(path, policy));
  }
  const refused = drives.filter((drive) => drive.refusal !== undefined);
  if (refused.length > 0) {
    // Nothing is written when any named target is refused: a mistyped target may hide another.
    const firstRefused = refused[0] as CandidateDrive;
    if (options.json) {
      for (const drive of drives) {
        const detail = drive.refusal?.detail ?? `not written because ${firstRefused.path} was refused`;
        process.stdout.write(JSON.stringify(refusedResult(image, drive, detail)) + '\n');
      }
    }
    const hint = refused.some((drive) => drive.refusal?.reason === 'too_large') ? `pass --force for a drive over ${options.maxSize} GB you really mean to erase` : ERROR_TABLE.flash_target_refused.hint;
    // One error line per refused drive, the hint once, after the last.
    refused.forEach((drive, index) =>
      printProgramError(PROGRAM, { message: `${ERROR_TABLE.flash_target_refused.message}: ${drive.refusal?.detail}`, hint: index === refused.length - 1 ? `${hint}; nothing was written` : undefined }),
    );
    return ERROR_TABLE.flash_target_refused.exit;
  }

  if (!options.yes) {
    const list = drives.map((drive) => `  ${describeDrive(drive)}\n`).join('');
    const agreed = await confirm(`${PROGRAM}: everything on these drives will be ERASED and replaced by ${image.path}:\n${list}Type "yes" to go on: `);
    if (!agreed) throw new CaliopError('confirmation_required', 'not confirmed: nothing was written', { hint: 'answer "yes", or pass --yes' });
  }

  const logPath = resolve(options.log);
  const results = await flashTargets(image, drives, {
    eject: options.eject,
    // docs/flashing-station.md §Re-proving the target: after the exclusive open, before the first byte, and before verifying.
    reprove: async (target, moment) => (target.identity === undefined ? undefined : reproveTarget(target.path, target.identity, 'explicit', { ...policy, afterWrite: moment === 'before-verify' })),
    onResult: (result) => {
      process.stdout.write(options.json ? JSON.stringify(result) + '\n' : humanResult(result));
    },
  });
  for (const result of results) await appendFlashLog(logPath, image, result);
  for (const result of results) {
    if (result.error !== undefined) printProgramError(PROGRAM, result.error);
  }
  return exitCodeOf(results);
}

function refusedResult(image: FlashImage, drive: CandidateDrive, detail: string): FlashResult {
  const now = new Date().toISOString();
  const spec = ERROR_TABLE.flash_target_refused;
  return {
    target: drive.path,
    serial: drive.serial,
    vendor: drive.vendor,
    model: drive.model,
    sizeBytes: drive.sizeBytes,
    result: 'failed',
    step: 'checking',
    error: { code: 'flash_target_refused', exit: spec.exit, message: detail, hint: spec.hint },
    bytesWritten: 0,
    writeSeconds: 0,
    verifySeconds: 0,
    sha256: '',
    imageSha256: image.sha256,
    ejected: 'skipped',
    startedAt: now,
    finishedAt: now,
  };
}

/** The station takes the scripted form's options but the targets: it waits for sticks. */
type StationCommandOptions = Omit<FlashCommandOptions, 'target'>;

async function runStation(options: StationCommandOptions): Promise<number> {
  const image = await openImage(resolve(options.image));
  if (!options.yes) {
    const agreed = await confirm(
      `${PROGRAM}: from now on, every USB stick you plug in will be ERASED and written with ${image.path}.\n` +
        `Sticks already plugged in are left alone. Type "yes" to start: `,
    );
    if (!agreed) throw new CaliopError('confirmation_required', 'not confirmed: the station did not start', { hint: 'answer "yes", or pass --yes' });
  }
  const policy = await policyOf(options, image);
  const watcher = createDriveWatcher({ listDrives: () => detectDrives(policy) });
  const reprove = async (target: FlashTarget, moment: 'before-write' | 'before-verify') =>
    target.identity === undefined ? undefined : reproveTarget(target.path, target.identity, 'detection', { ...policy, afterWrite: moment === 'before-verify' });
  const station = new FlashStation({ image, watcher, logPath: resolve(options.log), flashOptions: { eject: options.eject, reprove } });
  const results: FlashResult[] = [];
  station.on('result', (result) => results.push(result));

  let unmount: (() => void) | undefined;
  if (options.json) {
    station.on('change', (_state, event) => {
      if (event.type === 'progress' && event.progress.bytesDone !== 0) return; // one line per step, not per chunk
      // docs/flashing-station.md §1: `started` once Ctrl-C/SIGINT is handled (a script waits for it, not for a time).
      const line = event.type === 'started' ? { event: 'started', usesUsbDetection: event.usesUsbDetection } : event.type === 'progress' ? { event: 'step', target: event.progress.target, step: event.progress.step } : { event: event.type, ...('drive' in event ? { drive: event.drive } : {}), ...('result' in event ? { result: event.result } : {}) };
      process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...line }) + '\n');
    });
    station.on('error', (error) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), event: 'error', message: String(error) }) + '\n'));
  } else {
    const [{ render }, { createElement }, { StationApp }] = await Promise.all([import('ink'), import('react'), import('./ui/StationApp.js')]);
    const instance = render(createElement(StationApp, { station }), { exitOnCtrlC: false });
    unmount = () => instance.unmount();
  }
  // The signals are handled before the station starts (and says `started`): a Ctrl-C at any moment ends it cleanly.
  const stopAsked = new Promise<void>((resolveStop) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveStop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Ink puts stdin in raw mode: Ctrl-C arrives as a byte, not a signal.
    if (!options.json && process.stdin.isTTY) {
      const onData = (data: Buffer) => {
        if (!data.includes(3)) return;
        process.stdin.off('data', onData);
        onSignal();
      };
      process.stdin.on('data', onData);
    }
  });
  await station.start();
  await stopAsked;
  await station.stop();
  if (unmount !== undefined) {
    await new Promise((resolveFrame) => setTimeout(resolveFrame, 100)); // let Ink draw the summary
    unmount();
  }
  process.stdin.pause();
  return exitCodeOf(results);
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command(PROGRAM)
    .description('Writes the Caliop stick image to USB sticks and verifies each by reading it back (Linux, as root)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text.startsWith('error:') ? `${PROGRAM}: ${text}` : text) });

  withPolicyOptions(program
    .command('flash'))
    .description('write and verify the named drives, then exit (loop devices accepted here only)')
    .requiredOption('--image <file>', 'the image to write')
    .addOption(new Option('--target <device>', 'a whole drive to erase and write; repeat for several').argParser((value: string, previous: string[] = []) => [...previous, value]).makeOptionMandatory())
    .option('--yes', 'do not ask before writing', false)
    .option('--json', 'one JSON result per target on stdout', false)
    .option('--force', 'accept drives over the --max-size limit', false)
    .option('--log <file>', 'append one JSON line per drive to this file', DEFAULT_LOG)
    .option('--no-eject', 'leave the drives powered on')
    .action(async (options: FlashCommandOptions) => setExit(await runFlash(options)));

  withPolicyOptions(program
    .command('station'))
    .description('wait for USB sticks and write the image to each one plugged in')
    .option('--image <file>', 'the image to write', DEFAULT_IMAGE)
    .option('--yes', 'do not ask before the first write of the session', false)
    .option('--json', 'a JSON-lines log on stdout instead of the live view', false)
    .option('--force', 'accept drives over the --max-size limit', false)
    .option('--log <file>', 'append one JSON line per stick to this file', DEFAULT_LOG)
    .option('--no-eject', 'leave the sticks powered on')
    .action(async (options: StationCommandOptions) => setExit(await runStation(options)));
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  if (process.platform !== 'linux') return printError(new CaliopError('flash_linux_only'));
  let exitCode = 0;
  try {
    await buildProgram((code) => {
      exitCode = code;
    }).parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      process.stderr.write(`${PROGRAM}: hint: run "${PROGRAM} help flash" or "${PROGRAM} help station" to see the options\n`);
      return ERROR_TABLE.usage.exit;
    }
    return printError(error);
  }
  return exitCode;
}

// No process.exit(): the process ends when its event loop is empty. Calling it right
// after usb-detection's stopMonitoring() aborts the process (SIGABRT, seen with
// usb-detection 4.14.2 on Node 20).
process.exitCode = await main(process.argv.slice(2));
