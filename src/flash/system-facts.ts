// What the flashing station must never write to, read from the kernel's own
// tables (docs/flashing-station.md §Safety rules). Pure: the caller reads
// /proc/self/mountinfo and /proc/swaps and passes their text in.

/** Mount points whose volume belongs to the running system. */
export const SYSTEM_MOUNTPOINTS: ReadonlySet<string> = new Set([
  '/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/home', '/opt', '/srv', '/nix', '/etc', '/root', '/snap',
]);

export interface SystemFacts {
  /** "major:minor" of every block device that holds a system volume or the station's own files. */
  readonly systemDeviceNumbers: readonly string[];
  /** /dev paths named as the source of those mounts, and swap partitions. */
  readonly systemDevicePaths: readonly string[];
}

export const NO_SYSTEM_FACTS: SystemFacts = { systemDeviceNumbers: [], systemDevicePaths: [] };

interface MountinfoRow {
  readonly deviceNumber: string;
  readonly mountpoint: string;
  readonly source: string;
}

// proc(5): mountinfo escapes space, tab, newline and backslash as \ooo octal.
function _unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** proc(5) /proc/PID/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS". */
export function parseMountinfo(text: string): MountinfoRow[] {
  const rows: MountinfoRow[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const separator = fields.indexOf('-');
    if (fields.length < 7 || separator < 6) continue;
    rows.push({
      deviceNumber: fields[2] ?? '',
      mountpoint: _unescapeMountField(fields[4] ?? ''),
      source: _unescapeMountField(fields[separator + 2] ?? ''),
    });
  }
  return rows;
}

function _isInside(path: string, mountpoint: string): boolean {
  if (mountpoint === '/') return path.startsWith('/');
  return path === mountpoint || path.startsWith(mountpoint + '/');
}

/**
 * The block devices the station must never touch: those mounted at a system
 * mount point, the one holding each of `stationPaths` (the station's own files
 * and the current folder), and the swap partitions.
 */
export function systemFactsFrom(input: { mountinfo: string; swaps: string; stationPaths: readonly string[] }): SystemFacts {
  const rows = parseMountinfo(input.mountinfo);
  const chosen: MountinfoRow[] = rows.filter((row) => SYSTEM_MOUNTPOINTS.has(row.mountpoint));
  for (const stationPath of input.stationPaths) {
    // The mount holding a path is the longest mount point that contains it (the last one wins on ties: it is on top).
    let holder: MountinfoRow | undefined;
    for (const row of rows) {
      if (_isInside(stationPath, row.mountpoint) && (holder === undefined || row.mountpoint.length >= holder.mountpoint.length)) holder = row;
    }
    if (holder !== undefined) chosen.push(holder);
  }
  const numbers = new Set<string>();
  const paths = new Set<string>();
  for (const row of chosen) {
    numbers.add(row.deviceNumber);
    if (row.source.startsWith('/dev/')) paths.add(row.source);
  }
  // proc(5) /proc/swaps: "Filename Type Size Used Priority"; only partitions name a device.
  for (const line of input.swaps.split('\n').slice(1)) {
    const [filename, type] = line.trim().split(/\s+/);
    if (filename !== undefined && type === 'partition' && filename.startsWith('/dev/')) paths.add(filename);
  }
  return { systemDeviceNumbers: [...numbers].sort(), systemDevicePaths: [...paths].sort() };
}
