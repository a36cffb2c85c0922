// Which drives the flashing station may write, decided from lsblk's JSON and
// the system facts (docs/flashing-station.md §Safety rules). Pure: facts in,
// decisions out; src/flash/lsblk.ts runs lsblk and reads /proc.

import { SYSTEM_MOUNTPOINTS, type SystemFacts } from './system-facts.js';

/** The lsblk columns the station asks for (lsblk(8) --output). */
export const LSBLK_COLUMNS = [
  'NAME', 'KNAME', 'PATH', 'MAJ:MIN', 'TYPE', 'SIZE', 'RM', 'HOTPLUG', 'RO', 'TRAN',
  'VENDOR', 'MODEL', 'SERIAL', 'MOUNTPOINTS', 'FSTYPE', 'LABEL',
] as const;

/** 128 GB as printed on a stick's label (decimal); larger drives need --force. */
export const LARGE_DRIVE_BYTES = 128 * 1000 ** 3;

export type RefusalReason =
  | 'not_a_drive' // a partition, a CD-ROM, a device-mapper volume: only whole disks are written
  | 'loop_device' // loop devices are accepted only when named with --target
  | 'system_drive' // holds the root file system, /boot, swap or the station's own files
  | 'mounted_system_volume' // one of its volumes is mounted at a system mount point
  | 'mounted' // one of its volumes is mounted elsewhere
  | 'read_only'
  | 'not_removable'
  | 'no_medium' // a card reader without a card: size 0
  | 'too_small' // smaller than the image
  | 'larger_than_128gb' // needs --force
  | 'loop_backing_shared'; // another loop device uses the same backing file

export interface Refusal {
  readonly reason: RefusalReason;
  /** In the user's words, for the error line. */
  readonly detail: string;
}

export interface CandidateDrive {
  readonly path: string;
  readonly name: string;
  /** "major:minor" */
  readonly deviceNumber: string;
  readonly type: string;
  readonly sizeBytes: number;
  readonly vendor: string;
  readonly model: string;
  readonly serial: string;
  readonly removable: boolean;
  readonly hotplug: boolean;
  readonly readOnly: boolean;
  /** 'usb', 'sata', 'nvme' …, or '' when lsblk does not know (loop devices). */
  readonly transport: string;
  /** Mount points of the drive and all its partitions and volumes ('[SWAP]' for swap). */
  readonly mountpoints: readonly string[];
  /** Set when the drive must not be written; the station never writes a refused drive. */
  readonly refusal?: Refusal;
}

export interface DriveListOptions {
  /** 'detection': what the station offers by itself; 'explicit': drives named with --target (loop devices allowed). */
  readonly mode: 'detection' | 'explicit';
  /** Accept drives over 128 GB. */
  readonly force?: boolean;
  /** Refuse drives smaller than this. */
  readonly imageSizeBytes?: number;
}

interface LsblkNode {
  readonly name: string;
  readonly kname: string;
  readonly path: string;
  readonly deviceNumber: string;
  readonly type: string;
  readonly sizeBytes: number;
  readonly removable: boolean;
  readonly hotplug: boolean;
  readonly readOnly: boolean;
  readonly transport: string;
  readonly vendor: string;
  readonly model: string;
  readonly serial: string;
  readonly mountpoints: readonly string[];
  readonly children: readonly LsblkNode[];
}

// lsblk ≥ 2.37 prints booleans and numbers; older versions print "0"/"1" and strings.
function _flag(value: unknown): boolean {
  return value === true || value === '1' || value === 1;
}

function _text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

function _size(value: unknown): number {
  const size = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : 0;
  return Number.isSafeInteger(size) && size >= 0 ? size : 0;
}

function _mountpoints(entry: Record<string, unknown>): string[] {
  // lsblk ≥ 2.37: "mountpoints": [..] (null when not mounted); older: "mountpoint": "..".
  const list = Array.isArray(entry['mountpoints']) ? entry['mountpoints'] : [entry['mountpoint']];
  return list.filter((item): item is string => typeof item === 'string' && item.length > 0);
}

function _node(value: unknown): LsblkNode | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const entry = value as Record<string, unknown>;
  const name = _text(entry['name']);
  if (name === '') return undefined;
  const kname = _text(entry['kname']) || name;
  const children = Array.isArray(entry['children']) ? entry['children'].map(_node).filter((child): child is LsblkNode => child !== undefined) : [];
  return {
    name,
    kname,
    path: _text(entry['path']) || `/dev/${kname}`,
    deviceNumber: _text(entry['maj:min']),
    type: _text(entry['type']),
    sizeBytes: _size(entry['size']),
    removable: _flag(entry['rm']),
    hotplug: _flag(entry['hotplug']),
    readOnly: _flag(entry['ro']),
    transport: _text(entry['tran']),
    vendor: _text(entry['vendor']),
    model: _text(entry['model']),
    serial: _text(entry['serial']),
    mountpoints: _mountpoints(entry),
    children,
  };
}

/** Parses `lsblk --json --bytes --output …` (text or parsed JSON) into its top-level devices. */
export function parseLsblk(output: string | unknown): LsblkNode[] {
  const parsed: unknown = typeof output === 'string' ? JSON.parse(output) : output;
  const devices = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['blockdevices'] : undefined;
  if (!Array.isArray(devices)) throw new TypeError('lsblk output has no "blockdevices" array');
  return devices.map(_node).filter((node): node is LsblkNode => node !== undefined);
}

function _descendants(node: LsblkNode): LsblkNode[] {
  return [node, ...node.children.flatMap(_descendants)];
}

function _gigabytes(bytes: number): string {
  return `${(bytes / 1000 ** 3).toFixed(1)} GB`;
}

function _refusal(node: LsblkNode, facts: SystemFacts, options: DriveListOptions): Refusal | undefined {
  const family = _descendants(node);
  const mountpoints = family.flatMap((member) => member.mountpoints);
  if (node.type !== 'disk' && node.type !== 'loop') {
    return { reason: 'not_a_drive', detail: `${node.path} is a ${node.type || 'device'}, not a whole drive` };
  }
  if (node.type === 'loop' && options.mode === 'detection') {
    return { reason: 'loop_device', detail: `${node.path} is a loop device; loop devices are written only when named with --target` };
  }
  const holdsSystem = family.some(
    (member) => facts.systemDeviceNumbers.includes(member.deviceNumber) || facts.systemDevicePaths.includes(member.path),
  );
  if (holdsSystem) {
    return { reason: 'system_drive', detail: `${node.path} holds the running system or the station's own files` };
  }
  const systemMount = mountpoints.find((mountpoint) => SYSTEM_MOUNTPOINTS.has(mountpoint) || mountpoint === '[SWAP]');
  if (systemMount !== undefined) {
    return { reason: 'mounted_system_volume', detail: `${node.path} has a system volume mounted at ${systemMount}` };
  }
  if (mountpoints.length > 0) {
    return { reason: 'mounted', detail: `${node.path} is mounted at ${mountpoints.join(', ')}; unmount it first` };
  }
  if (node.readOnly) return { reason: 'read_only', detail: `${node.path} is read-only (write-protect switch?)` };
  const explicitLoop = node.type === 'loop' && options.mode === 'explicit';
  if (!explicitLoop && !node.removable && !node.hotplug && node.transport !== 'usb') {
    return { reason: 'not_removable', detail: `${node.path} is not a removable drive` };
  }
  if (node.sizeBytes === 0) return { reason: 'no_medium', detail: `${node.path} has no medium (empty card reader?)` };
  if (options.imageSizeBytes !== undefined && node.sizeBytes < options.imageSizeBytes) {
    return { reason: 'too_small', detail: `${node.path} holds ${node.sizeBytes} bytes, the image needs ${options.imageSizeBytes}` };
  }
  if (node.sizeBytes > LARGE_DRIVE_BYTES && options.force !== true) {
    return { reason: 'larger_than_128gb', detail: `${node.path} is ${_gigabytes(node.sizeBytes)}, larger than any Caliop stick; pass --force if you really mean it` };
  }
  return undefined;
}

/**
 * Every top-level drive in lsblk's output, each with a refusal when it must
 * not be written. Loop devices are refused in 'detection' mode: the station
 * never offers them by itself.
 */
export function listCandidateDrives(lsblkOutput: string | unknown, facts: SystemFacts, options: DriveListOptions): CandidateDrive[] {
  return parseLsblk(lsblkOutput).map((node) => {
    const refusal = _refusal(node, facts, options);
    const drive: CandidateDrive = {
      path: node.path,
      name: node.name,
      deviceNumber: node.deviceNumber,
      type: node.type,
      sizeBytes: node.sizeBytes,
      vendor: node.vendor,
      model: node.model,
      serial: node.serial,
      removable: node.removable,
      hotplug: node.hotplug,
      readOnly: node.readOnly,
      transport: node.transport,
      mountpoints: _descendants(node).flatMap((member) => member.mountpoints),
    };
    return refusal === undefined ? drive : { ...drive, refusal };
  });
}

/** Drives the station shows to the volunteer: USB or removable drives, never system or loop devices. */
export function isShownByStation(drive: CandidateDrive): boolean {
  if (drive.refusal?.reason === 'system_drive' || drive.refusal?.reason === 'loop_device' || drive.refusal?.reason === 'not_a_drive') return false;
  return drive.transport === 'usb' || drive.removable || drive.hotplug;
}
