// The I/O side of drive discovery: runs lsblk(8) and reads /proc, then hands
// the text to the pure functions of drive-list.ts and system-facts.ts.

import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { CaliopError } from '../errors.js';
import { LSBLK_COLUMNS, listCandidateDrives, volumesToProbe, type CandidateDrive, type DriveListOptions } from './drive-list.js';
import { systemFactsFrom, type SystemFacts } from './system-facts.js';
import { identityChanges, identityOf, loopSharingProblem, parseLosetupList, type LoopDeviceFacts, type TargetIdentity } from './target-identity.js';

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

/**
 * The volume signature (blkid TYPE) of each path, probed from the device itself
 * (`blkid -p`): lsblk's FSTYPE comes from udev and is empty where udev does not run.
 * A path with no signature is left out.
 */
export async function probeSignatures(paths: readonly string[]): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  await Promise.all(
    paths.map(async (path) => {
      try {
        const { stdout } = await execFileAsync('blkid', ['--probe', '--output', 'export', path], { timeout: 10_000 });
        const type = /^TYPE=(.*)$/m.exec(stdout)?.[1];
        if (type !== undefined && type !== '') found[path] = type;
      } catch {
        // blkid exits 2 when it finds no signature; an unreadable device is judged by lsblk alone.
      }
    }),
  );
  return found;
}

async function _listDrives(output: string, facts: SystemFacts, options: DriveListOptions): Promise<CandidateDrive[]> {
  const probedSignatures = await probeSignatures(volumesToProbe(output, options.mode));
  return listCandidateDrives(output, facts, { ...options, probedSignatures });
}

/** Every drive lsblk knows, with the station's refusals. */
export async function detectDrives(options: Omit<DriveListOptions, 'mode'> & { extraSystemPaths?: readonly string[] } = {}): Promise<CandidateDrive[]> {
  const [output, facts] = await Promise.all([runLsblk(), readSystemFacts(options.extraSystemPaths)]);
  return _listDrives(output, facts, { ...options, mode: 'detection' });
}

/** Every loop device of the system with its backing file (losetup(8)); [] when there is none. */
export async function readLoopDevices(): Promise<LoopDeviceFacts[]> {
  const { stdout } = await execFileAsync('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN']);
  return parseLosetupList(stdout.trim());
}

type TargetOptions = Omit<DriveListOptions, 'mode'> & { extraSystemPaths?: readonly string[] };

/**
 * A drive as it is now, with its refusal if any, and its identity (docs/flashing-station.md
 * §Re-proving the target). A loop device over a file that another loop device uses is refused.
 */
export async function readTarget(path: string, mode: DriveListOptions['mode'], options: TargetOptions = {}): Promise<{ drive: CandidateDrive; identity: TargetIdentity }> {
  const [output, facts] = await Promise.all([runLsblk(path), readSystemFacts(options.extraSystemPaths)]);
  const [listed] = await _listDrives(output, facts, { ...options, mode });
  if (listed === undefined) throw new CaliopError('flash_target_refused', `lsblk does not know ${path}`);
  const loops = listed.type === 'loop' ? await readLoopDevices() : [];
  let identity = identityOf(listed, loops);
  const sharing = loopSharingProblem(identity);
  const drive: CandidateDrive = listed.refusal === undefined && sharing !== undefined ? { ...listed, refusal: { reason: 'loop_backing_shared', detail: sharing } } : listed;
  if (drive !== listed) identity = { ...identity, refusal: sharing ?? '' };
  return { drive, identity };
}

/**
 * Proves `path` is still the drive checked before the question: undefined when
 * it is, else what changed (the flash then refuses it and writes nothing more).
 */
export async function reproveTarget(
  path: string,
  expected: TargetIdentity,
  mode: DriveListOptions['mode'],
  options: TargetOptions & { afterWrite?: boolean } = {},
): Promise<string | undefined> {
  let now: TargetIdentity;
  try {
    now = (await readTarget(path, mode, options)).identity;
  } catch (error) {
    return `it can no longer be read (${error instanceof Error ? error.message : String(error)})`;
  }
  const changes = identityChanges(expected, now, { afterWrite: options.afterWrite === true });
  return changes.length === 0 ? undefined : changes.join('; ');
}

/**
 * Describes a drive named on the command line, with its refusal if any.
 * Throws flash_target_refused when the path is not a block device at all.
 */
export async function describeNamedTarget(path: string, options: TargetOptions = {}): Promise<CandidateDrive & { identity: TargetIdentity }> {
  const info = await stat(path).catch((cause: unknown) => {
    throw new CaliopError('flash_target_refused', `${path} does not exist`, { cause, hint: 'name a block device such as /dev/sdb (see lsblk)' });
  });
  if (!info.isBlockDevice()) {
    throw new CaliopError('flash_target_refused', `${path} is not a block device`, { hint: 'name a whole drive such as /dev/sdb (see lsblk)' });
  }
  const { drive, identity } = await readTarget(path, 'explicit', options);
  return { ...drive, identity };
}
