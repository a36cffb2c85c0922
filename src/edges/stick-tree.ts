// Lists and hashes the files of a stick (or of the image tree being built) for
// its MANIFEST (docs/manifest.md §5). Read-only: it never writes.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isExcludedFromManifest, type ManifestEntry, type StickFileFacts } from '../core/stick-manifest.js';

/** SHA-256 of a file, streamed (the executables are ~150 MB on a slow stick). */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface ListOptions {
  /**
   * Whether to read and hash this file, knowing its size. Defaults to always.
   * stick verify skips files whose size already differs from the manifest's.
   */
  readonly shouldHash?: (path: string, size: number) => boolean;
}

/**
 * Every file under root, with '/'-separated relative paths, sorted; folders
 * excluded from the manifest (vault/, OS-made folders: docs/manifest.md §4) are
 * not entered. A symbolic link or other non-regular file is listed with size -1
 * and no hash, so that it never matches a manifest entry.
 */
export async function listStickFiles(root: string, options: ListOptions = {}): Promise<StickFileFacts[]> {
  const found: StickFileFacts[] = [];
  async function walk(relative: string): Promise<void> {
    const entries = await readdir(relative === '' ? root : join(root, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (isExcludedFromManifest(path)) continue;
      const absolute = join(root, path);
      const stats = await lstat(absolute);
      if (stats.isDirectory()) {
        await walk(path);
      } else if (stats.isFile()) {
        const hashIt = options.shouldHash?.(path, stats.size) ?? true;
        found.push(hashIt ? { path, size: stats.size, sha256: await sha256OfFile(absolute) } : { path, size: stats.size });
      } else {
        found.push({ path, size: -1 });
      }
    }
  }
  await walk('');
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The manifest entries of a tree (the image build): every listed file, hashed. */
export async function manifestEntriesOf(root: string): Promise<ManifestEntry[]> {
  const files = await listStickFiles(root);
  return files.map((file) => {
    if (file.size < 0 || file.sha256 === undefined) throw new Error(`${file.path} in ${root} is not a regular file; the image holds regular files only`);
    return { path: file.path, size: file.size, sha256: file.sha256 };
  });
}
