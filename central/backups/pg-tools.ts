import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const DEBIAN_ROOT = '/usr/lib/postgresql';

/**
 * The directory holding pg_dump/pg_restore: the configured one, else the newest
 * /usr/lib/postgresql/<version>/bin (Debian keeps the client per major version there), else ''
 * meaning "whatever PATH finds".
 */
export function findPgBinDir(configured: string | undefined, root = DEBIAN_ROOT): string {
  if (configured) return configured;
  if (!existsSync(root)) return '';
  const versions = readdirSync(root)
    .filter((name) => /^\d+(\.\d+)?$/.test(name) && existsSync(join(root, name, 'bin', 'pg_dump')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0]!, 'bin') : '';
}

export function pgProgram(binDir: string, name: 'pg_dump' | 'pg_restore'): string {
  return binDir ? join(binDir, name) : name;
}

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
