import type pg from 'pg';
import type { Migrations } from './migrations.js';

/** One advisory-lock key for every owner's migrations: replicas starting together migrate one at a time. */
const MIGRATION_LOCK = 0x686f7401;

/**
 * `migrate` for PostgreSQL, for tables every replica shares: each owner's append-only steps in one
 * transaction under an advisory lock, its version kept in `hotpot_schema_versions`.
 */
export async function migratePostgres(pool: pg.Pool, owner: string, migrations: Migrations): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS hotpot_schema_versions (owner text PRIMARY KEY, version integer NOT NULL)');
    const row = (await client.query<{ version: number }>('SELECT version FROM hotpot_schema_versions WHERE owner = $1', [owner])).rows[0];
    const from = row?.version ?? 0;
    if (from > migrations.length) throw new Error(`${owner}'s PostgreSQL tables are at version ${from}, newer than this build knows (${migrations.length}): install the newer hotpot`);
    for (let version = from; version < migrations.length; version++) await client.query(migrations[version]!);
    await client.query('INSERT INTO hotpot_schema_versions (owner, version) VALUES ($1, $2) ON CONFLICT (owner) DO UPDATE SET version = excluded.version', [owner, migrations.length]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
