// A stick's file system for tests: a FAT image made by mkfs.vfat (dosfstools) on a file
// this test creates, mounted through FUSE by Debian's `fusefat` (the kernel here has no
// vfat). Real sticks are FAT32 (docs/stick-layout.md); FAT has no journal, renames by
// rewriting directory entries, and fusefat implements fsync and rename its own way, so
// a yank-safety claim is only as good as a trial on it. Where FUSE, fusefat or root is
// missing, the host's temporary folder stands in, and `description` says so (tests
// print it with their counts). Used by test/hostile/pulled-stick.test.ts and
// test/hostile/full-stick.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface StickFilesystem {
  /** The folder to use as the stick (the root of the mounted FAT volume, or a host folder). */
  readonly path: string;
  readonly kind: 'fat-fuse' | 'host';
  /** Which file system it is, and why, in words: printed with the trial counts. */
  readonly description: string;
  /** Unmounts (fusefat writes its last changes to the image then) and leaves the image. */
  release(): void;
}

export interface FatStickOptions {
  /** The image size; FAT32 needs at least 33 MiB (mkfs.vfat picks FAT12/16 below unless told). */
  readonly sizeMiB: number;
  /** 12, 16 or 32 (default: 32 from 33 MiB, else what mkfs.vfat picks). */
  readonly fatBits?: 12 | 16 | 32;
  /** Bytes per cluster (mkfs.vfat -s in sectors of 512); default: mkfs.vfat's choice. */
  readonly clusterBytes?: number;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Why a FUSE FAT mount cannot be made here, or null when it can be tried. */
function fuseFatUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (mounting needs it)';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  if (!onPath('fusefat')) return 'fusefat is not installed (Debian package fusefat)';
  if (!onPath('mkfs.vfat')) return 'mkfs.vfat is not installed (Debian package dosfstools)';
  return null;
}

function mountedAt(mountPoint: string): string | undefined {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[1] === mountPoint)?.[2];
}

/**
 * Makes `parent/fat.img`, formats it FAT and mounts it on `parent/stick` through fusefat.
 * Falls back to `parent/stick` on the host file system when that cannot be done.
 */
export function fatStick(parent: string, options: FatStickOptions): StickFilesystem {
  const mountPoint = join(parent, 'stick');
  mkdirSync(mountPoint, { recursive: true });
  const host = (why: string): StickFilesystem => ({
    path: mountPoint,
    kind: 'host',
    description: `the host file system (${statfsType(mountPoint)}), not FAT: ${why}`,
    release() {},
  });
  const unavailable = fuseFatUnavailable();
  if (unavailable !== null) return host(unavailable);

  const image = join(parent, 'fat.img');
  const fd = openSync(image, 'wx');
  try {
    writeSync(fd, Buffer.alloc(1), 0, 1, options.sizeMiB * 1024 * 1024 - 1);
  } finally {
    closeSync(fd);
  }
  const fatBits = options.fatBits ?? (options.sizeMiB >= 33 ? 32 : undefined);
  const mkfsArgs = ['-n', 'CALIOP', ...(fatBits ? ['-F', String(fatBits)] : []), ...(options.clusterBytes ? ['-s', String(options.clusterBytes / 512)] : []), image];
  try {
    execFileSync('mkfs.vfat', mkfsArgs, { stdio: 'ignore' });
  } catch (error) {
    return host(`mkfs.vfat ${mkfsArgs.join(' ')} failed (${(error as Error).message})`);
  }
  // fusefat mounts before it returns (libfuse's fuse_main), then serves from the background.
  // It prints its own notes on stdout: ignored. rw+ is its read-write mode.
  const mounted = spawnSync('fusefat', ['-o', 'rw+', image, mountPoint], { stdio: 'ignore' });
  const type = mountedAt(mountPoint);
  if (mounted.status !== 0 || type !== 'fuse.fusefat') return host(`fusefat exited ${mounted.status} (mounted as ${type ?? 'nothing'})`);
  const bits = readFatBits(image);
  return {
    path: mountPoint,
    kind: 'fat-fuse',
    description: `FAT${bits} (mkfs.vfat, ${options.sizeMiB} MiB image) mounted through FUSE by fusefat`,
    release() {
      if (mountedAt(mountPoint) === undefined) return;
      if (spawnSync('umount', [mountPoint], { stdio: 'ignore' }).status !== 0) spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    },
  };
}

/** The FAT type mkfs.vfat wrote, from the boot sector's file system type string. */
function readFatBits(image: string): string {
  const fd = openSync(image, 'r');
  try {
    const sector = Buffer.alloc(512);
    readSync(fd, sector, 0, sector.length, 0);
    if (sector.toString('latin1', 82, 87) === 'FAT32') return '32';
    const type = sector.toString('latin1', 54, 59);
    return type.startsWith('FAT1') ? type.slice(3) : '?';
  } finally {
    closeSync(fd);
  }
}

function statfsType(path: string): string {
  const type = statfsSync(path).type;
  const names: Record<number, string> = { 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs', 0x9123683e: 'btrfs', 0x58465342: 'xfs' };
  return names[type] ?? `type 0x${type.toString(16)}`;
}
