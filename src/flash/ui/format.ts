// Text helpers shared by the station's Ink components.

/** Sizes as printed on sticks: decimal units. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1000 ** 3) return `${(bytes / 1000 ** 3).toFixed(1)} GB`;
  if (bytes >= 1000 ** 2) return `${(bytes / 1000 ** 2).toFixed(1)} MB`;
  if (bytes >= 1000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${bytes} B`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1000 ** 2).toFixed(1)} MB/s`;
}

/** A fixed-width bar: "[#####-----]  50%". */
export function progressBar(done: number, total: number, width = 20): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%`;
}
