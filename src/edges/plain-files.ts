// The plain file operations the services need (docs/architecture.md: a service does
// its I/O through edges only): whether a path exists, a folder made, a whole file
// read, a folder listed. Writes that must survive a yank go through atomic-file.ts.

import { existsSync, mkdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

export function pathExists(path: string): boolean {
  return existsSync(path);
}

/** Makes the folder and its parents; nothing if it exists. */
export function ensureFolder(path: string): void {
  mkdirSync(path, { recursive: true });
}

export async function readFileBytes(path: string): Promise<Buffer> {
  return readFile(path);
}

export async function readTextFile(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** The names in a folder; throws as readdir does (ENOENT for a missing folder). */
export async function listFolder(path: string): Promise<string[]> {
  return readdir(path);
}
