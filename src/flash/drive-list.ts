// Which drives the flashing station may write, decided from lsblk's JSON and
// the system facts (docs/flashing-station.md §Safety rules). Pure: facts in,
// decisions out; src/flash/lsblk.ts runs lsblk and reads /proc.

import { SYSTEM_MOUNTPOINTS, type SystemFacts } from './system-facts.js';

/** The lsblk columns the station asks for (lsblk(8) --output). */
export const LSBLK_COLUMNS = [
  'NAME', 'KNAME', 'PATH', 'MAJ:MIN', 'TYPE', 'SIZE', 'RM', 'HOTPLUG', 'RO', 'TRAN',
  'VENDOR', 'MODEL', 'SERIAL', 'MOUNTPOINTS', 'FSTYPE', 'LABEL', 'ROTA',
] as const;

/** 128 GB as printed on a stick's label (decimal): the default largest drive the station writes (--max-size). */
export const LARGE_DRIVE_BYTES = 128 * 1000 ** 3;

/**
 * Signatures (blkid TYPE / lsblk FSTYPE) of volumes that a system uses without
 * mounting them: swap, volume managers, RAID, encrypted containers, pools.
 * A drive carrying one is never written (docs/flashing-station.md §Station policy).
 */
export const IN_USE_SIGNATURES: ReadonlySet<string> = new Set([
  'swap', 'LVM2_member', 'LVM1_member', 'linux_raid_member', 'ddf_raid_member', 'isw_raid_member', 'crypto_LUKS',
  'BitLocker', 'zfs_member', 'bcache', 'ceph', 'VMFS_volume_member', 'drbd', 'jmicron_raid_member', 'nvidia_raid_member',
  'promise_fasttrack_raid_member', 'silicon_medley_raid_member', 'via_raid_member', 'adaptec_raid_member', 'hpt45x_raid_member', 'lsi_mega_raid_member',
]);

/** Devices stacked on a drive (lsblk TYPE of a child) that mean a system holds it open. */
const HOLDER_TYPES: ReadonlySet<string> = new Set(['lvm', 'crypt', 'dm', 'mpath', 'md', 'raid0', 'raid1', 'raid4', 'raid5', 'raid6', 'raid10', 'linear']);

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
  | 'too_large' // over the station's size limit (--max-size, 128 GB by default) without --force
  | 'loop_backing_shared' // another loop device uses the same backing file
  | 'partition_in_use' // a volume a system uses without mounting it: swap, LVM, RAID, LUKS, ZFS …
  | 'denied_serial' // its serial is on the station's deny list
  | 'not_usb' // the station writes only USB mass storage
  | 'needs_allow' // an SSD, or a disk saying it is not removable: only with --allow SERIAL
  | 'present_at_start'; // the station saw this serial when it started (src/flash/station.ts)

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
  /** The largest drive written (default LARGE_DRIVE_BYTES); --force lifts it. */
  readonly maxSizeBytes?: number;
  /** Serials never written (the station's deny list: the volunteers' own disks). */
  readonly denySerials?: readonly string[];
  /** Serials of SSDs or non-removable disks the volunteer allows (--allow SERIAL). */
  readonly allowSerials?: readonly string[];
  /** Volume signatures found by probing (blkid -p) the drive and its partitions, by path: lsblk's FSTYPE needs udev. */
  readonly probedSignatures?: Readonly<Record<string, string>>;
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
  readonly fstype: string;
  /** lsblk ROTA: false for an SSD; undefined when lsblk did not say. */
  readonly rotational: boolean | undefined;
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
    fstype: _text(entry['fstype']),
    rotational: entry['rota'] === undefined || entry['rota'] === null ? undefined : _flag(entry['rota']),
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

/** The paths of each drive's volumes (itself, its partitions, what is stacked on them) that `blkid -p` should probe. */
export function volumesToProbe(lsblkOutput: string | unknown, mode: DriveListOptions['mode']): string[] {
  return parseLsblk(lsblkOutput)
    .filter((node) => (mode === 'explicit' || node.transport === 'usb') && node.sizeBytes > 0)
    .flatMap((node) => _descendants(node).filter((member) => member.type === 'disk' || member.type === 'loop' || member.type === 'part'))
    .map((member) => member.path);
}

function _gigabytes(bytes: number): string {
  return bytes >= 1000 ** 3 ? `${(bytes / 1000 ** 3).toFixed(1)} GB` : `${(bytes / 1000 ** 2).toFixed(1)} MB`;
}

/** A volume on the drive that a system may be using without mounting it, or undefined. */
function _inUse(family: readonly LsblkNode[], options: DriveListOptions): string | undefined {
  for (const member of family.slice(1)) {
    if (HOLDER_TYPES.has(member.type)) return `${member.path} (${member.type}) is active on it`;
  }
  for (const member of family) {
    const signature = options.probedSignatures?.[member.path] || member.fstype;
    if (IN_USE_SIGNATURES.has(signature)) return `${member.path} is a ${signature} volume`;
  }
  return undefined;
}

/**
 * docs/flashing-station.md §Safety rules and §Station policy, in this order. In one
 * sentence: only USB mass storage, at most the configured size, never a drive with a
 * volume any system could be using, never a serial on the deny list; an SSD or a disk
 * saying it is not removable needs --allow SERIAL. (Never a drive present when the
 * station started: src/flash/station.ts, which knows what was there.)
 */
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
  const inUse = _inUse(family, options);
  if (inUse !== undefined) return { reason: 'partition_in_use', detail: `${node.path} may be in use by a system: ${inUse}` };
  if (node.serial !== '' && options.denySerials?.includes(node.serial) === true) {
    return { reason: 'denied_serial', detail: `${node.path} (serial ${node.serial}) is on the station's deny list` };
  }
  if (node.readOnly) return { reason: 'read_only', detail: `${node.path} is read-only (write-protect switch?)` };
  const explicitLoop = node.type === 'loop' && options.mode === 'explicit';
  if (!explicitLoop && !node.removable && !node.hotplug && node.transport !== 'usb') {
    return { reason: 'not_removable', detail: `${node.path} is not a removable drive` };
  }
  if (node.sizeBytes === 0) return { reason: 'no_medium', detail: `${node.path} has no medium (empty card reader?)` };
  if (options.mode === 'detection' && node.transport !== 'usb') {
    return { reason: 'not_usb', detail: `${node.path} is not a USB drive (${node.transport || 'unknown transport'}); the station writes only USB mass storage` };
  }
  if (options.imageSizeBytes !== undefined && node.sizeBytes < options.imageSizeBytes) {
    return { reason: 'too_small', detail: `${node.path} holds ${node.sizeBytes} bytes, the image needs ${options.imageSizeBytes}` };
  }
  const maxSize = options.maxSizeBytes ?? LARGE_DRIVE_BYTES;
  if (node.sizeBytes > maxSize && options.force !== true) {
    return { reason: 'too_large', detail: `${node.path} is ${_gigabytes(node.sizeBytes)}, larger than the station's limit of ${_gigabytes(maxSize)}; pass --force if you really mean it` };
  }
  if (!explicitLoop && (node.rotational === false || !node.removable) && !(node.serial !== '' && options.allowSerials?.includes(node.serial) === true)) {
    const what = node.rotational === false ? 'an SSD' : 'a disk that says it is not removable';
    const how = node.serial === '' ? 'it has no serial, so it cannot be allowed' : `pass --allow ${node.serial} if you really mean to erase it`;
    return { reason: 'needs_allow', detail: `${node.path} is ${what}, which could be someone's data disk; ${how}` };
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
