// The I/O side of drive discovery: runs lsblk(8) and reads /proc, then hands
// the text to the pure functions of drive-list.ts and system-facts.ts.

import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { CaliopError } from '../errors.js';
import { LSBLK_COLUMNS, listCandidateDrives, type CandidateDrive, type DriveListOptions } from './drive-list.js';
import { systemFactsFrom, type SystemFacts } from './system-facts.js';

const execFileAsync = promisify(execFile);

/** Runs lsblk on every drive, or only on `devicePath`, and returns its JSON text. */
export async function runLsblk(devicePath?: string): Promise<string> {
  const args = ['--json', '--bytes', '--output', LSBLK_COLUMNS.join(',')];
  if (devicePath !== undefined) args.push(devicePath);
  const { stdout } = await execFileAsync('lsblk', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The folder of the station's own code (build/src/flash → the checkout it runs from). */
export function stationCodePath(): string {
  return dirname(fileURLToPath(import.meta.url));
}

/** Reads /proc/self/mountinfo and /proc/swaps: the drives holding the system, the station's code and the current folder. */
export async function readSystemFacts(extraPaths: readonly string[] = []): Promise<SystemFacts> {
  const [mountinfo, swaps] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8'),
    readFile('/proc/swaps', 'utf8').catch(() => ''),
  ]);
  return systemFactsFrom({ mountinfo, swaps, stationPaths: [stationCodePath(), process.cwd(), process.execPath, ...extraPaths] });
}

/** Every drive lsblk knows, with the station's refusals. */
export async function detectDrives(options: Omit<DriveListOptions, 'mode'> & { extraSystemPaths?: readonly string[] } = {}): Promise<CandidateDrive[]> {
  const [output, facts] = await Promise.all([runLsblk(), readSystemFacts(options.extraSystemPaths)]);
  return listCandidateDrives(output, facts, { ...options, mode: 'detection' });
}

/**
 * Describes a drive named on the command line, with its refusal if any.
 * Throws flash_target_refused when the path is not a block device at all.
 */
export async function describeNamedTarget(path: string, options: Omit<DriveListOptions, 'mode'> & { extraSystemPaths?: readonly string[] } = {}): Promise<CandidateDrive> {
  const info = await stat(path).catch((cause: unknown) => {
    throw new CaliopError('flash_target_refused', `${path} does not exist`, { cause, hint: 'name a block device such as /dev/sdb (see lsblk)' });
  });
  if (!info.isBlockDevice()) {
    throw new CaliopError('flash_target_refused', `${path} is not a block device`, { hint: 'name a whole drive such as /dev/sdb (see lsblk)' });
  }
  const [output, facts] = await Promise.all([runLsblk(path), readSystemFacts(options.extraSystemPaths)]);
  const [drive] = listCandidateDrives(output, facts, { ...options, mode: 'explicit' });
  if (drive === undefined) throw new CaliopError('flash_target_refused', `lsblk does not know ${path}`);
  return drive;
}
