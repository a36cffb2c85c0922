// What a flashing target IS, so that it can be proved again at the moment of
// writing (docs/flashing-station.md §Re-proving the target). Pure: lsblk's
// drive, the loop device facts and the system facts in; identities and the
// differences between two of them out. src/flash/lsblk.ts reads the facts.

import type { CandidateDrive } from './drive-list.js';

/** One loop device as `losetup --list --json --output NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN` prints it. */
export interface LoopDeviceFacts {
  readonly device: string;
  readonly backingFile: string;
  /** "major:minor:inode" of the backing file: the same file under any name. */
  readonly backingKey: string;
}

/** Everything checked before the question, and checked again before the first byte and before the verify pass. */
export interface TargetIdentity {
  readonly path: string;
  /** "major:minor" of the block device. */
  readonly deviceNumber: string;
  readonly serial: string;
  readonly vendor: string;
  readonly model: string;
  readonly sizeBytes: number;
  readonly removable: boolean;
  readonly transport: string;
  /** Mount points of the drive and all its volumes. */
  readonly mountpoints: readonly string[];
  /** The refusal lsblk's facts give now ('' when none): mounted, holding the station's files, … */
  readonly refusal: string;
  /** Loop devices only: the backing file, and the other loop devices over the same file. */
  readonly loop?: { readonly backingFile: string; readonly backingKey: string; readonly sharedWith: readonly string[] };
}

/** Parses `losetup --list --json --output NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN`. */
export function parseLosetupList(output: string): LoopDeviceFacts[] {
  const parsed = JSON.parse(output === '' ? '{"loopdevices":[]}' : output) as { loopdevices?: unknown };
  if (!Array.isArray(parsed.loopdevices)) throw new TypeError('losetup output has no "loopdevices" array');
  const facts: LoopDeviceFacts[] = [];
  for (const entry of parsed.loopdevices as Array<Record<string, unknown>>) {
    const device = typeof entry['name'] === 'string' ? entry['name'] : '';
    if (device === '') continue;
    const backingFile = typeof entry['back-file'] === 'string' ? entry['back-file'].replace(/ \(deleted\)$/, '') : '';
    const inode = entry['back-ino'];
    const holder = entry['back-maj:min'];
    facts.push({ device, backingFile, backingKey: `${String(holder ?? '')}:${String(inode ?? '')}` });
  }
  return facts;
}

/** The identity of `drive` given every loop device of the system. */
export function identityOf(drive: CandidateDrive, loopDevices: readonly LoopDeviceFacts[]): TargetIdentity {
  const identity: TargetIdentity = {
    path: drive.path,
    deviceNumber: drive.deviceNumber,
    serial: drive.serial,
    vendor: drive.vendor,
    model: drive.model,
    sizeBytes: drive.sizeBytes,
    removable: drive.removable,
    transport: drive.transport,
    mountpoints: [...drive.mountpoints].sort(),
    refusal: drive.refusal?.detail ?? '',
  };
  if (drive.type !== 'loop') return identity;
  const own = loopDevices.find((loop) => loop.device === drive.path);
  const backingKey = own?.backingKey ?? '';
  const sharedWith = own === undefined ? [] : loopDevices.filter((loop) => loop.device !== drive.path && loop.backingKey === backingKey).map((loop) => loop.device).sort();
  return { ...identity, loop: { backingFile: own?.backingFile ?? '', backingKey, sharedWith } };
}

/**
 * Why a loop device must not be written although lsblk sees nothing wrong with
 * it: another loop device (mounted or not) reads and writes the same file.
 */
export function loopSharingProblem(identity: TargetIdentity): string | undefined {
  if (identity.loop === undefined || identity.loop.sharedWith.length === 0) return undefined;
  return `${identity.path} writes to ${identity.loop.backingFile}, which ${identity.loop.sharedWith.join(', ')} also uses (a file system mounted from it would be corrupted)`;
}

function _list(values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}

/**
 * What changed between the identity checked before the question and the one
 * read now, in the volunteer's words; empty when nothing did. After the write
 * (`afterWrite`), mounts and the refusals they cause are not compared: the
 * kernel and a desktop automounter see, and may mount, the volumes we just wrote;
 * the verify pass only reads.
 */
export function identityChanges(before: TargetIdentity, now: TargetIdentity, options: { afterWrite?: boolean } = {}): string[] {
  const changes: string[] = [];
  const compare = (what: string, a: string | number | boolean, b: string | number | boolean) => {
    if (a !== b) changes.push(`${what} was ${JSON.stringify(a)}, is now ${JSON.stringify(b)}`);
  };
  compare('device number', before.deviceNumber, now.deviceNumber);
  compare('serial', before.serial, now.serial);
  compare('vendor', before.vendor, now.vendor);
  compare('model', before.model, now.model);
  compare('size in bytes', before.sizeBytes, now.sizeBytes);
  compare('removable', before.removable, now.removable);
  compare('transport', before.transport, now.transport);
  if (options.afterWrite !== true) {
    if (_list(before.mountpoints) !== _list(now.mountpoints)) changes.push(`mounted at ${_list(before.mountpoints)} before, now at ${_list(now.mountpoints)}`);
    if (now.refusal !== '' && now.refusal !== before.refusal) changes.push(`now refused: ${now.refusal}`);
  }
  if (before.loop !== undefined || now.loop !== undefined) {
    compare('backing file', before.loop?.backingFile ?? '', now.loop?.backingFile ?? '');
    if ((before.loop?.backingFile ?? '') === (now.loop?.backingFile ?? '')) compare('backing file (device:inode)', before.loop?.backingKey ?? '', now.loop?.backingKey ?? '');
    const sharing = now.loop === undefined ? undefined : loopSharingProblem(now);
    if (sharing !== undefined && _list(before.loop?.sharedWith ?? []) !== _list(now.loop?.sharedWith ?? [])) changes.push(sharing);
  }
  return changes;
}
