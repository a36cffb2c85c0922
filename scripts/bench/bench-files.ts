// Input files for the benches: data that does not compress (so OpenPGP's compression
// does not flatter anyone), written a MiB at a time, never held whole in memory.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

const MIB = 1024 * 1024;

/** `mib` MiB at `path`: one random MiB, each copy stamped with its index so no two are alike. */
export function writeIncompressibleFile(path: string, mib: number): void {
  const fd = openSync(path, 'w');
  try {
    const block = randomBytes(MIB);
    for (let index = 0; index < mib; index++) {
      block.writeUInt32BE(index, 0);
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
}
