import Database from 'better-sqlite3';
import { mkdirSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';

export class StoreCorruptError extends Error {
  constructor(file: string, detail: string) {
    super(
      `the database ${file} failed its integrity check (${detail}). ` +
        'Do not delete it: stop the service, copy the file aside for recovery (docs/OPERATIONS.md, "replace a broken box"), ' +
        'then start the service with an empty dataDir.',
    );
    this.name = 'StoreCorruptError';
  }
}

/**
 * True when SQLite could not write because its filesystem is full (SQLITE_FULL, or the OS's ENOSPC
 * as an I/O error). The transaction it happened in was rolled back: nothing of it is on disk.
 */
export function isDiskFull(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SQLITE_FULL';
}

/**
 * The disk holding a database is full: SQLite could not even open it (its -shm index or the
 * schema need room). Nothing was changed; freeing space and starting again is all it needs.
 */
export class DiskFullAtOpenError extends Error {
  constructor(file: string, detail: string) {
    super(
      `the data disk holding ${file} is full (${detail}): the database could not be opened. Nothing was changed. ` +
        "Free space on that disk (df -h; old logs, journalctl --vacuum-size=100M, files that are not hotpot's; never the database's own files), then start the service again.",
    );
    this.name = 'DiskFullAtOpenError';
  }
}

/** At open: an error that is the disk being full (SQLite's own code, or an I/O error on a disk with no free block). */
function fullAtOpen(error: unknown, file: string): boolean {
  if (isDiskFull(error)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_IOERR')) return false;
  try {
    return statfsSync(dirname(file)).bavail === 0;
  } catch {
    return false;
  }
}

export interface OpenOptions {
  /**
   * On a disk too full to open the file as usual, open it held by this process alone
   * (locking_mode EXCLUSIVE: WAL without the -shm file), so reads work and writes fail with
   * SQLITE_FULL until space is back. Other processes cannot read the file until a restart.
   */
  exclusiveWhenFull?: boolean;
}

/** The database as opened: `exclusive` when a full disk made it open held alone (OpenOptions). */
export type OpenedDatabase = Database.Database & { readonly openedExclusive?: true };

/** Opens a SQLite file for durability first: WAL + synchronous=FULL, checked before use. */
export function openDatabase(file: string, migrations: readonly string[], options: OpenOptions = {}): OpenedDatabase {
  mkdirSync(dirname(file), { recursive: true });
  let db: Database.Database;
  try {
    db = openChecked(file, false);
  } catch (error) {
    if (!fullAtOpen(error, file)) throw error;
    if (!options.exclusiveWhenFull) throw new DiskFullAtOpenError(file, (error as Error).message);
    try {
      db = Object.assign(openChecked(file, true), { openedExclusive: true as const });
    } catch (again) {
      if (fullAtOpen(again, file)) throw new DiskFullAtOpenError(file, (again as Error).message);
      throw again;
    }
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    db.close();
    throw new Error(`${file} has schema version ${version}, newer than this build knows (${migrations.length}); install the newer hotpot`);
  }
  try {
    for (let v = version; v < migrations.length; v++) {
      db.transaction(() => {
        db.exec(migrations[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
  } catch (error) {
    db.close();
    // A new database or an upgrade needs room for its schema: without it the service cannot start.
    if (isDiskFull(error)) throw new DiskFullAtOpenError(file, `${(error as Error).message} while setting up its tables`);
    throw error;
  }
  return db;
}

/** WAL + FULL + quick_check; a failure other than a full disk is a StoreCorruptError. */
function openChecked(file: string, exclusive: boolean): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    // Before WAL is entered: in exclusive mode WAL keeps its index in this process's memory, no -shm file.
    if (exclusive) db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    // better-sqlite3's WAL default (NORMAL) can lose a committed transaction in a power cut.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new StoreCorruptError(file, String(check));
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof StoreCorruptError || fullAtOpen(error, file)) throw error;
    throw new StoreCorruptError(file, (error as Error).message);
  }
}
