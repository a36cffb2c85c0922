// The stick's MANIFEST: its text format, its parser, and the comparison of a
// stick's files against it (docs/manifest.md). Pure: file listing and hashing
// happen in src/edges/stick-tree.ts, signatures in src/service/stick-verify.ts.

import { CaliopError } from '../errors.js';

/** docs/manifest.md §2: the first line of every MANIFEST. */
export const MANIFEST_HEADER = 'caliop-stick-manifest 1';
/** docs/manifest.md §1: the file names of the manifest and its signature at the stick's root. */
export const MANIFEST_FILE = 'MANIFEST';
export const MANIFEST_SIGNATURE_FILE = 'MANIFEST.sig';
/**
 * docs/manifest.md §1.1: the largest MANIFEST read (it is read whole): a line is 64 + 1 + at
 * most 10 + 1 + its path + 1 bytes, and an image holds a dozen files; 1 MiB is some 4,000 lines
 * of paths of 180 bytes.
 */
export const MANIFEST_MAX_BYTES = 1024 * 1024;
/** docs/manifest.md §1.1: the largest MANIFEST.sig read: the 64 KiB the image build allows it (scripts/build-image.ts). */
export const MANIFEST_SIGNATURE_MAX_BYTES = 64 * 1024;
/** docs/stick-layout.md §1: the only folder caliop writes after the image is made. */
export const VAULT_FOLDER = 'vault';

/** One file of the stick: its path from the stick's root ('/'-separated), size in bytes, SHA-256. */
export interface ManifestEntry {
  readonly path: string;
  readonly size: number;
  /** 64 lower-case hex digits. */
  readonly sha256: string;
}

/** What a file on the stick is, as far as the comparison needs: its size, and its SHA-256 once read. */
export interface StickFileFacts {
  readonly path: string;
  readonly size: number;
  /** Absent when the file was not read (its size already differs from the manifest's). */
  readonly sha256?: string;
}

export interface ManifestComparison {
  /** In the manifest and on the stick, with another size or SHA-256. */
  readonly differs: string[];
  /** In the manifest, not on the stick. */
  readonly missing: string[];
  /** On the stick, not in the manifest (and not excluded: docs/manifest.md §4). */
  readonly extra: string[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SIZE_DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/**
 * docs/manifest.md §3: a path is printable ASCII without backslash, '/'-separated,
 * relative, with no empty, "." or ".." segment. Returns why not, or undefined.
 */
export function manifestPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'the path is empty';
  if (path.length > 1024) return 'the path is longer than 1024 characters';
  if (!/^[\x20-\x7e]+$/.test(path)) return 'the path holds a character outside printable ASCII';
  if (path.includes('\\')) return 'the path holds a backslash';
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return `the path has an empty, "." or ".." segment`;
  }
  return undefined;
}

/**
 * docs/manifest.md §4: files a manifest never lists and a comparison ignores:
 * the manifest and its signature, everything under vault/ (the user's data,
 * written after the image is made), and what operating systems add to any
 * volume they mount.
 */
export function isExcludedFromManifest(path: string): boolean {
  if (path === MANIFEST_FILE || path === MANIFEST_SIGNATURE_FILE) return true;
  const segments = path.split('/');
  const top = segments[0]!;
  if (top === VAULT_FOLDER) return true;
  if (OS_MADE_TOP_FOLDERS.has(top)) return true;
  if (/^\.Trash-[0-9]+$/.test(top)) return true;
  const name = segments[segments.length - 1]!;
  return name === '.DS_Store' || name.startsWith('._') || name === 'desktop.ini' || name === 'Thumbs.db';
}

// docs/manifest.md §4: folders Windows, macOS and Linux desktops create at a volume's root.
const OS_MADE_TOP_FOLDERS = new Set(['System Volume Information', '$RECYCLE.BIN', '.Spotlight-V100', '.fseventsd', '.Trashes', '.TemporaryItems']);

/** Byte order of ASCII paths (docs/manifest.md §2: "sorted by path, byte by byte"). */
function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function checkEntry(entry: ManifestEntry): void {
  const problem = manifestPathProblem(entry.path);
  if (problem !== undefined) throw new CaliopError('manifest_invalid', `manifest entry "${entry.path}": ${problem}`);
  if (isExcludedFromManifest(entry.path)) throw new CaliopError('manifest_invalid', `manifest entry "${entry.path}": this path is never listed (docs/manifest.md §4)`);
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw new CaliopError('manifest_invalid', `manifest entry "${entry.path}": the size is not a whole number of bytes`);
  if (!SHA256_HEX.test(entry.sha256)) throw new CaliopError('manifest_invalid', `manifest entry "${entry.path}": the SHA-256 is not 64 lower-case hex digits`);
}

/** docs/manifest.md §2: the MANIFEST text of these entries (sorted here; duplicates refused). */
export function formatManifest(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort(byPath);
  const lines = [MANIFEST_HEADER];
  for (let i = 0; i < sorted.length; i++) {
    const entry = sorted[i]!;
    checkEntry(entry);
    if (i > 0 && sorted[i - 1]!.path === entry.path) throw new CaliopError('manifest_invalid', `manifest entry "${entry.path}" appears twice`);
    lines.push(`${entry.sha256} ${entry.size} ${entry.path}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * docs/manifest.md §2: parses a MANIFEST strictly. Anything that formatManifest
 * would not have written (wrong header, CR, unsorted or duplicate paths, missing
 * final newline) is refused with manifest_invalid.
 */
export function parseManifest(text: string): ManifestEntry[] {
  if (!text.endsWith('\n')) throw new CaliopError('manifest_invalid', 'the manifest does not end with a newline');
  if (text.includes('\r')) throw new CaliopError('manifest_invalid', 'the manifest holds a carriage return (its lines end with LF only)');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== MANIFEST_HEADER) throw new CaliopError('manifest_invalid', `the manifest does not start with "${MANIFEST_HEADER}"`);
  const entries: ManifestEntry[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    const firstSpace = line.indexOf(' ');
    const secondSpace = firstSpace < 0 ? -1 : line.indexOf(' ', firstSpace + 1);
    if (firstSpace < 0 || secondSpace < 0) throw new CaliopError('manifest_invalid', `manifest line ${n + 1} is not "SHA256 SIZE PATH"`);
    const sha256 = line.slice(0, firstSpace);
    const sizeText = line.slice(firstSpace + 1, secondSpace);
    const path = line.slice(secondSpace + 1);
    if (!SIZE_DECIMAL.test(sizeText)) throw new CaliopError('manifest_invalid', `manifest line ${n + 1}: the size is not a decimal number`);
    const entry = { path, size: Number(sizeText), sha256 };
    checkEntry(entry);
    const previous = entries[entries.length - 1];
    if (previous !== undefined && byPath(previous, entry) >= 0) {
      throw new CaliopError('manifest_invalid', `manifest line ${n + 1}: "${path}" is not after "${previous.path}" (paths are sorted and unique)`);
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * docs/manifest.md §5: compares the files found on a stick with its manifest.
 * Excluded paths (§4) on the stick are ignored. Each list is sorted.
 */
export function compareWithManifest(manifest: readonly ManifestEntry[], found: readonly StickFileFacts[]): ManifestComparison {
  const onStick = new Map<string, StickFileFacts>();
  for (const file of found) if (!isExcludedFromManifest(file.path)) onStick.set(file.path, file);
  const differs: string[] = [];
  const missing: string[] = [];
  const listed = new Set<string>();
  for (const entry of manifest) {
    listed.add(entry.path);
    const file = onStick.get(entry.path);
    if (file === undefined) missing.push(entry.path);
    else if (file.size !== entry.size || file.sha256 !== entry.sha256) differs.push(entry.path);
  }
  const extra = [...onStick.keys()].filter((path) => !listed.has(path));
  const sort = (list: string[]): string[] => list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { differs: sort(differs), missing: sort(missing), extra: sort(extra) };
}
