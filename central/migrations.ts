import type Database from 'better-sqlite3';

/**
 * One owner's schema history in central's SQLite: append-only SQL steps, entry N moving the
 * owner's version N → N+1. Never edit a shipped entry; add one. A first entry written as
 * `CREATE TABLE IF NOT EXISTS` adopts tables a 0.1 central made before versions were kept.
 */
export type Migrations = readonly string[];

const VERSIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_versions (
  owner TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  migrated_at INTEGER NOT NULL
)`;

export interface MigrationResult {
  owner: string;
  from: number;
  to: number;
}

/**
 * Brings `owner`'s tables to the newest version, each step in its own transaction with the
 * version it reaches, so a crash leaves a consistent version to resume from.
 */
export function migrate(db: Database.Database, owner: string, migrations: Migrations, now: number): MigrationResult {
  db.exec(VERSIONS_TABLE);
  const row = db.prepare<[string], { version: number }>('SELECT version FROM schema_versions WHERE owner = ?').get(owner);
  const from = row?.version ?? 0;
  if (from > migrations.length) {
    throw new Error(`${owner}'s tables in ${db.name} are at version ${from}, newer than this build knows (${migrations.length}): install the newer hotpot`);
  }
  const record = db.prepare<[string, number, number]>(
    'INSERT INTO schema_versions (owner, version, migrated_at) VALUES (?, ?, ?) ON CONFLICT(owner) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at',
  );
  for (let version = from; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!);
      record.run(owner, version + 1, now);
    })();
  }
  return { owner, from, to: migrations.length };
}

/** Every owner's version, for `GET /api/health`-style diagnostics and the upgrade test. */
export function schemaVersions(db: Database.Database): Record<string, number> {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'").get();
  if (!exists) return {};
  const rows = db.prepare<[], { owner: string; version: number }>('SELECT owner, version FROM schema_versions ORDER BY owner').all();
  return Object.fromEntries(rows.map((row) => [row.owner, row.version]));
}
