import { isDiskFull } from './sqlite.js';

/** PostgreSQL's SQLSTATE for "no space left" (disk_full), e.g. "could not extend file": the statement was rolled back. */
export const PG_DISK_FULL = '53100';

/**
 * Which store said its disk is full — SQLite's `SQLITE_FULL` or PostgreSQL's SQLSTATE 53100 — or
 * null for any other error. Either way the transaction was rolled back: nothing of it is stored.
 */
export function storeDiskFull(error: unknown): 'SQLITE_FULL' | typeof PG_DISK_FULL | null {
  if (isDiskFull(error)) return 'SQLITE_FULL';
  return (error as { code?: unknown } | null)?.code === PG_DISK_FULL ? PG_DISK_FULL : null;
}
