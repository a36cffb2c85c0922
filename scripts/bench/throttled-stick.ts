// A stick-speed target for the benchmarks (issue 13): a file-backed loop device made
// here, formatted ext4 (this kernel has no vfat module), mounted in a temporary folder,
// its writes throttled to 20 MB/s by the cgroup v1 blkio controller at the root group
// (blkio.throttle.write_bps_device: every writer to that device, the kernel's flusher
// threads included, is held to the rate). Root only; only the device made here is
// touched, and it is undone by release(). Without root (or without loop devices or
// blkio), undefined: the caller says it ran unthrottled.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const THROTTLE_FILE = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';
export const STICK_WRITE_BYTES_PER_SECOND = 20 * 1000 * 1000;

export interface ThrottledStick {
  /** The mounted folder, throttled. */
  readonly folder: string;
  /** What it is, for the benchmark's line. */
  readonly description: string;
  /** Bytes written to the device so far (its /sys/block/…/stat: what reached the "stick", file system metadata included). */
  deviceBytesWritten(): number;
  release(): void;
}

export function throttledStick(sizeMiB = 512): ThrottledStick | undefined {
  if (process.getuid?.() !== 0 || !existsSync(THROTTLE_FILE)) return undefined;
  const work = mkdtempSync(join(tmpdir(), 'caliop-bench-stick-'));
  const image = join(work, 'stick.img');
  const folder = join(work, 'mnt');
  let device: string | undefined;
  let majorMinor: string | undefined;
  let mounted = false;
  const release = () => {
    if (mounted) execFileSync('umount', [folder], { stdio: 'ignore' });
    if (majorMinor) writeFileSync(THROTTLE_FILE, `${majorMinor} 0`);
    if (device) execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  };
  try {
    execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
    device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
    majorMinor = execFileSync('lsblk', ['-dno', 'MAJ:MIN', device], { encoding: 'utf8' }).trim();
    execFileSync('mkfs.ext4', ['-q', device]);
    execFileSync('mkdir', ['-p', folder]);
    execFileSync('mount', [device, folder]);
    mounted = true;
    writeFileSync(THROTTLE_FILE, `${majorMinor} ${STICK_WRITE_BYTES_PER_SECOND}`);
    if (!readFileSync(THROTTLE_FILE, 'utf8').includes(`${majorMinor} ${STICK_WRITE_BYTES_PER_SECOND}`)) throw new Error('the throttle did not take');
    return {
      folder,
      description: `loop device ${device} (ext4, ${sizeMiB} MiB file), writes throttled to 20 MB/s by cgroup v1 blkio.throttle.write_bps_device`,
      deviceBytesWritten: () => {
        execFileSync('sync', ['-f', folder]);
        const fields = readFileSync(`/sys/block/${device!.replace('/dev/', '')}/stat`, 'utf8').trim().split(/\s+/);
        return Number(fields[6]) * 512; // field 7: sectors written
      },
      release,
    };
  } catch {
    release();
    return undefined;
  }
}
