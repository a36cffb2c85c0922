// Flashing throughput (issue 5 §What it must show): caliop-flash's pipeline
// (write + read-back verify) against `dd conv=fsync` followed by `sha256sum`
// of the device, on the same loop devices, in the same run, for 1 and 4
// sticks at once. Both sides drop the device's buffer cache before reading back
// (blockdev --flushbufs), so both read what the device holds.
//
// Loop devices sit on files under os.tmpdir(): their "medium" is the host's
// page cache and disk, so the figures compare the two programs, not USB sticks.
// Needs root (losetup). Bounded: two interleaved rounds, loop devices detached
// and files removed even on failure.
//
//   node build/scripts/bench/flash-throughput.js [imageMiB]

import { execFileSync, spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { flashTargets, openImage, type FlashImage } from '../../src/flash/pipeline.js';

const MiB = 1024 * 1024;
const ROUNDS = 2;

function _writeDeterministicImage(path: string, bytes: number): void {
  const keystream = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16));
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += 4 * MiB) writeSync(fd, keystream.update(Buffer.alloc(Math.min(4 * MiB, bytes - done))));
  } finally {
    closeSync(fd);
  }
}

function _run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} exited ${code}: ${stderr}`))));
  });
}

/** The baseline for one device: dd with fsync, drop the cache, sha256sum of the image-length prefix. */
async function _ddThenSha256sum(image: FlashImage, device: string): Promise<string> {
  const script = 'dd if="$1" of="$2" bs=4M conv=fsync status=none && blockdev --flushbufs "$2" && head -c "$3" "$2" | sha256sum';
  const output = await _run('sh', ['-c', script, 'dd-baseline', image.path, device, String(image.sizeBytes)]);
  return output.split(' ')[0] ?? '';
}

function _mbPerSecond(bytes: number, seconds: number): string {
  return (bytes / 1e6 / seconds).toFixed(0);
}

export async function benchFlashThroughput(imageMiB = 256): Promise<{ name: string; lines: string[] }> {
  const name = 'flash throughput (write + verify)';
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    return { name, lines: ['skipped: needs Linux and root (losetup) for loop devices'] };
  }
  const folder = mkdtempSync(join(tmpdir(), 'caliop-flash-bench-'));
  const devices: string[] = [];
  const lines: string[] = [];
  try {
    const imagePath = join(folder, 'bench.img');
    _writeDeterministicImage(imagePath, imageMiB * MiB);
    const image = await openImage(imagePath);
    for (let index = 0; index < 4; index++) {
      const backing = join(folder, `stick-${index}.bin`);
      writeFileSync(backing, '');
      truncateSync(backing, imageMiB * MiB);
      devices.push(execFileSync('losetup', ['--find', '--show', backing], { encoding: 'utf8' }).trim());
    }
    for (const count of [1, 4]) {
      const targets = devices.slice(0, count);
      const totalBytes = image.sizeBytes * count;
      let bestCaliop = Infinity;
      let bestDd = Infinity;
      let writeSeconds = 0;
      let verifySeconds = 0;
      for (let round = 0; round < ROUNDS; round++) {
        let started = performance.now();
        const results = await flashTargets(image, targets.map((path) => ({ path })), { eject: false });
        const caliopSeconds = (performance.now() - started) / 1000;
        const failed = results.find((result) => result.result !== 'ok');
        if (failed !== undefined) throw new Error(`caliop-flash failed on ${failed.target}: ${failed.error?.message}`);
        if (caliopSeconds < bestCaliop) {
          bestCaliop = caliopSeconds;
          writeSeconds = Math.max(...results.map((result) => result.writeSeconds));
          verifySeconds = Math.max(...results.map((result) => result.verifySeconds));
        }
        started = performance.now();
        const hashes = await Promise.all(targets.map((device) => _ddThenSha256sum(image, device)));
        const ddSeconds = (performance.now() - started) / 1000;
        if (hashes.some((hash) => hash !== image.sha256)) throw new Error('dd + sha256sum read back another hash');
        bestDd = Math.min(bestDd, ddSeconds);
      }
      lines.push(
        `${count} loop device${count > 1 ? 's' : ''} × ${imageMiB} MiB: caliop-flash ${_mbPerSecond(totalBytes, bestCaliop)} MB/s ` +
          `(${bestCaliop.toFixed(2)} s; slowest write ${writeSeconds.toFixed(2)} s, verify ${verifySeconds.toFixed(2)} s) · ` +
          `dd conv=fsync + sha256sum ${_mbPerSecond(totalBytes, bestDd)} MB/s (${bestDd.toFixed(2)} s) · ratio caliop/dd ${(bestDd / bestCaliop).toFixed(2)}`,
      );
    }
    lines.push(`best of ${ROUNDS} interleaved rounds; loop devices over files in ${tmpdir()} (page cache + disk), not USB sticks`);
  } finally {
    for (const device of devices) {
      try {
        execFileSync('losetup', ['--detach', device]);
      } catch {
        // Already gone.
      }
    }
    rmSync(folder, { recursive: true, force: true });
  }
  return { name, lines };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const imageMiB = Number(process.argv[2] ?? 256);
  const { name, lines } = await benchFlashThroughput(imageMiB);
  process.stdout.write(`${name}\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
}
