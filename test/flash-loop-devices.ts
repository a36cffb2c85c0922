// Real block devices for the flashing tests: loop devices over files under
// os.tmpdir() (losetup, as root). Every device and file made here is undone by
// cleanup(), even when a test failed halfway.

import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Deterministic bytes: AES-128-CTR keystream under a key derived from `seed`. Same seed, same bytes. */
export function deterministicBytes(length: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed, 0);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

export class LoopDeviceLab {
  readonly folder: string;
  private readonly devices: string[] = [];
  /** File systems mounted from our loop devices: unmounted before the devices are detached. */
  private readonly deviceMounts: string[] = [];
  /** tmpfs holding backing files: unmounted after the devices are detached. */
  private readonly tmpfsMounts: string[] = [];

  constructor(prefix: string) {
    this.folder = mkdtempSync(join(tmpdir(), prefix));
  }

  /** A file of `bytes`, written with deterministic content. */
  image(name: string, bytes: number, seed: number): string {
    const path = join(this.folder, name);
    writeFileSync(path, deterministicBytes(bytes, seed));
    return path;
  }

  /** A loop device over a new sparse (all-zero) backing file of `bytes`; returns the device and its backing file. */
  loopDevice(name: string, bytes: number, folder = this.folder): { device: string; backing: string } {
    const backing = join(folder, name);
    writeFileSync(backing, '');
    truncateSync(backing, bytes);
    const device = execFileSync('losetup', ['--find', '--show', backing], { encoding: 'utf8' }).trim();
    this.devices.push(device);
    return { device, backing };
  }

  /** A second loop device over an existing file (as `mount -o loop` twice would make). */
  attachFile(file: string): string {
    const device = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
    this.devices.push(device);
    return device;
  }

  /** Grows the file behind `device` and tells the kernel (losetup -c): the device is now `bytes` long. */
  grow(device: string, backing: string, bytes: number): void {
    truncateSync(backing, bytes);
    execFileSync('losetup', ['--set-capacity', device]);
  }

  /**
   * Detaches `device` and attaches `file` at the same /dev/loopN: the same path and device
   * number, another medium (a stick swapped while the question waited).
   */
  swap(device: string, file: string): void {
    execFileSync('losetup', ['--detach', device]);
    try {
      execFileSync('losetup', [device, file], { stdio: 'pipe' });
    } catch (error) {
      // Someone else took /dev/loopN meanwhile: it is not ours to detach at cleanup.
      this.devices.splice(this.devices.indexOf(device), 1);
      throw error;
    }
  }

  /** A tmpfs of `bytes` mounted under the lab's folder: files on it run out of space like a fake-capacity stick. */
  smallFilesystem(name: string, bytes: number): string {
    const mountpoint = join(this.folder, name);
    mkdirSync(mountpoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', mountpoint]);
    this.tmpfsMounts.push(mountpoint);
    return mountpoint;
  }

  /** Mounts `device` (already formatted) at a new folder. */
  mount(device: string, name: string): string {
    const mountpoint = join(this.folder, name);
    mkdirSync(mountpoint);
    execFileSync('mount', [device, mountpoint]);
    this.deviceMounts.push(mountpoint);
    return mountpoint;
  }

  cleanup(): void {
    const problems: string[] = [];
    const attempt = (command: string, args: string[]) => {
      try {
        execFileSync(command, args, { stdio: 'pipe' });
      } catch (error) {
        problems.push(`${command} ${args.join(' ')}: ${String(error)}`);
      }
    };
    for (const mountpoint of this.deviceMounts.splice(0).reverse()) attempt('umount', [mountpoint]);
    for (const device of this.devices.splice(0)) attempt('losetup', ['--detach', device]);
    for (const mountpoint of this.tmpfsMounts.splice(0).reverse()) attempt('umount', [mountpoint]);
    rmSync(this.folder, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`cleanup left things behind:\n${problems.join('\n')}`);
  }
}
