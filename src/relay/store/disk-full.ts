// docs/api.md §5.4: a full disk, as each store reports it. SQLite says SQLITE_FULL
// (better-sqlite3's error code), PostgreSQL SQLSTATE 53100 (disk_full), the file
// system ENOSPC.

export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC';
}
