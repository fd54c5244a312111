import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
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

/** Opens a SQLite file for durability first: WAL + synchronous=FULL, checked before use. */
export function openDatabase(file: string, migrations: readonly string[]): Database.Database {
  mkdirSync(dirname(file), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // better-sqlite3's WAL default (NORMAL) can lose a committed transaction in a power cut.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new StoreCorruptError(file, String(check));
  } catch (error) {
    if (error instanceof StoreCorruptError) throw error;
    throw new StoreCorruptError(file, (error as Error).message);
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    db.close();
    throw new Error(`${file} has schema version ${version}, newer than this build knows (${migrations.length}); install the newer hotpot`);
  }
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

