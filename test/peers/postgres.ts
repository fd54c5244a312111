import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { withTimeout } from '../../lib/timeout.js';
import { freePort, waitFor, waitForPort } from './net.js';
import { startChild, type Child } from './process.js';

const run = promisify(execFile);

/** The real PostgreSQL 15 on 127.0.0.1:5432 (trust auth for postgres). Never restarted by tests. */
export const SYSTEM_POSTGRES = { host: '127.0.0.1', port: 5432 };
export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** One statement on its own connection (the `postgres` database of the machine's server by default). */
export async function adminQuery(sql: string, url = PG_ADMIN_URL): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, query_timeout: 60_000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The same server and user, another database. */
function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface ThrowawayDatabase {
  name: string;
  url: string;
  query(sql: string): Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

/** A uniquely named throwaway database (`<prefix>_<random>`); drop() removes only it. */
export async function throwawayDatabase(prefix: string, adminUrl = PG_ADMIN_URL): Promise<ThrowawayDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`, adminUrl);
  const url = databaseUrl(adminUrl, name);
  return {
    name,
    url,
    query: (sql) => adminQuery(sql, url),
    // FORCE: connections a killed process left behind must not keep it alive.
    drop: async () => {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, adminUrl);
    },
  };
}

const PG_BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin', '/usr/local/bin'];

/** Where initdb and postgres live (Debian keeps them per major version), or undefined. */
export const PG_SERVER_BIN = PG_BIN_DIRS.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));

/** uid and gid of the `postgres` account: the server refuses to run as root. */
function postgresAccount(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error('no postgres account in /etc/passwd (apt-get install postgresql)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * A throwaway PostgreSQL cluster (initdb in a temp dir, its own port, run as the postgres user)
 * that a fault campaign may crash and restart: the machine's server is never touched.
 */
export class PostgresCluster {
  readonly dir: string;
  port = 0;
  private child: Child | undefined;
  private readonly account = postgresAccount();

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'hotpot-pgcluster-'));
    chownSync(this.dir, this.account.uid, this.account.gid);
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async init(): Promise<this> {
    if (!PG_SERVER_BIN) throw new Error('initdb/postgres not found (apt-get install postgresql)');
    await run(join(PG_SERVER_BIN, 'initdb'), ['-D', this.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'], {
      ...this.account,
      cwd: this.dir,
      timeout: 120_000,
    });
    return this;
  }

  async start(): Promise<this> {
    if (!PG_SERVER_BIN) throw new Error('postgres not found (apt-get install postgresql)');
    this.port ||= await freePort();
    const args = ['-D', this.dataDir, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'];
    this.child = startChild(join(PG_SERVER_BIN, 'postgres'), args, { ...this.account, cwd: this.dir, logFile: join(this.dir, 'postgres.log') });
    await waitForPort('127.0.0.1', this.port, 'the throwaway PostgreSQL', 60_000);
    // The port opens before crash recovery ends: wait until it answers queries.
    const answers = () =>
      adminQuery('SELECT 1', this.url('postgres')).then(
        () => true,
        () => false,
      );
    await waitFor(answers, 'the throwaway PostgreSQL to accept queries', 60_000, 100);
    return this;
  }

  /** Immediate shutdown (SIGQUIT): no checkpoint, crash recovery on the next start. */
  async crash(): Promise<void> {
    await this.child?.kill('SIGQUIT');
    this.child = undefined;
  }

  /** Fast shutdown (SIGINT): clients are disconnected, then a clean stop. */
  async stop(): Promise<void> {
    await this.child?.kill('SIGINT');
    this.child = undefined;
  }

  async destroy(): Promise<void> {
    await withTimeout(this.stop(), 30_000, 'the throwaway PostgreSQL to stop').catch(() => this.child?.kill('SIGKILL'));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
