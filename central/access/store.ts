import type Database from 'better-sqlite3';
import pg from 'pg';
import { migrate } from '../migrations.js';
import { migratePostgres } from '../migrations-postgres.js';
import type { Role } from '../plugin.js';

export interface UserRecord {
  name: string;
  role: Role;
  passwordHash: string;
  createdAt: number;
  passwordChangedAt: number;
}

export interface TokenRecord {
  name: string;
  role: Role;
  hash: string;
  createdAt: number;
}

export interface SessionRecord {
  /** sha256 of the cookie's value: the database never holds a usable session id. */
  id: string;
  username: string;
  createdAt: number;
  expiresAt: number;
}

/**
 * Named users, API tokens and sessions of central. SQLite for a single central; PostgreSQL
 * (`database.url`) so every replica knows the same people. Both pass test/access/store.contract.ts.
 */
export interface AccessStore {
  countUsers(): Promise<number>;
  getUser(name: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
  /** False when the name is taken. */
  addUser(user: UserRecord): Promise<boolean>;
  /** Also ends the user's sessions. */
  removeUser(name: string): Promise<boolean>;
  /** Also ends the user's sessions. */
  setPassword(name: string, passwordHash: string, at: number): Promise<boolean>;
  getToken(name: string): Promise<TokenRecord | null>;
  listTokens(): Promise<TokenRecord[]>;
  addToken(token: TokenRecord): Promise<boolean>;
  revokeToken(name: string): Promise<boolean>;
  addSession(session: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  removeSession(id: string): Promise<void>;
  /** Drops sessions past their expiry. */
  pruneSessions(now: number): Promise<number>;
  close(): Promise<void>;
}

/** Append only (central/migrations.ts). */
export const ACCESS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE access_users (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     password_changed_at INTEGER NOT NULL
   );
   CREATE TABLE access_tokens (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL,
     hash TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE access_sessions (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX access_sessions_user ON access_sessions (username);`,
];

/** The same tables in PostgreSQL (bigint for epoch milliseconds). */
export const ACCESS_POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE access_users (
     name text PRIMARY KEY,
     role text NOT NULL,
     password_hash text NOT NULL,
     created_at bigint NOT NULL,
     password_changed_at bigint NOT NULL
   );
   CREATE TABLE access_tokens (
     name text PRIMARY KEY,
     role text NOT NULL,
     hash text NOT NULL,
     created_at bigint NOT NULL
   );
   CREATE TABLE access_sessions (
     id text PRIMARY KEY,
     username text NOT NULL,
     created_at bigint NOT NULL,
     expires_at bigint NOT NULL
   );
   CREATE INDEX access_sessions_user ON access_sessions (username);`,
];

interface UserRow {
  name: string;
  role: Role;
  password_hash: string;
  created_at: number | string;
  password_changed_at: number | string;
}
interface TokenRow {
  name: string;
  role: Role;
  hash: string;
  created_at: number | string;
}
interface SessionRow {
  id: string;
  username: string;
  created_at: number | string;
  expires_at: number | string;
}

// PostgreSQL returns bigint as a string.
const toUser = (row: UserRow): UserRecord => ({ name: row.name, role: row.role, passwordHash: row.password_hash, createdAt: Number(row.created_at), passwordChangedAt: Number(row.password_changed_at) });
const toToken = (row: TokenRow): TokenRecord => ({ name: row.name, role: row.role, hash: row.hash, createdAt: Number(row.created_at) });
const toSession = (row: SessionRow): SessionRecord => ({ id: row.id, username: row.username, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) });

export class SqliteAccessStore implements AccessStore {
  private readonly stmts;

  constructor(private readonly db: Database.Database, now: number) {
    migrate(db, 'access', ACCESS_MIGRATIONS, now);
    this.stmts = {
      countUsers: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM access_users'),
      getUser: db.prepare<[string], UserRow>('SELECT * FROM access_users WHERE name = ?'),
      listUsers: db.prepare<[], UserRow>('SELECT * FROM access_users ORDER BY name'),
      addUser: db.prepare('INSERT INTO access_users (name, role, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING'),
      removeUser: db.prepare<[string]>('DELETE FROM access_users WHERE name = ?'),
      setPassword: db.prepare<[string, number, string]>('UPDATE access_users SET password_hash = ?, password_changed_at = ? WHERE name = ?'),
      endSessionsOf: db.prepare<[string]>('DELETE FROM access_sessions WHERE username = ?'),
      getToken: db.prepare<[string], TokenRow>('SELECT * FROM access_tokens WHERE name = ?'),
      listTokens: db.prepare<[], TokenRow>('SELECT * FROM access_tokens ORDER BY name'),
      addToken: db.prepare('INSERT INTO access_tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING'),
      revokeToken: db.prepare<[string]>('DELETE FROM access_tokens WHERE name = ?'),
      addSession: db.prepare('INSERT INTO access_sessions (id, username, created_at, expires_at) VALUES (?, ?, ?, ?)'),
      getSession: db.prepare<[string], SessionRow>('SELECT * FROM access_sessions WHERE id = ?'),
      removeSession: db.prepare<[string]>('DELETE FROM access_sessions WHERE id = ?'),
      prune: db.prepare<[number]>('DELETE FROM access_sessions WHERE expires_at <= ?'),
    };
  }

  async countUsers(): Promise<number> {
    return this.stmts.countUsers.get()!.n;
  }
  async getUser(name: string): Promise<UserRecord | null> {
    const row = this.stmts.getUser.get(name);
    return row ? toUser(row) : null;
  }
  async listUsers(): Promise<UserRecord[]> {
    return this.stmts.listUsers.all().map(toUser);
  }
  async addUser(user: UserRecord): Promise<boolean> {
    return this.stmts.addUser.run(user.name, user.role, user.passwordHash, user.createdAt, user.passwordChangedAt).changes === 1;
  }
  async removeUser(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmts.endSessionsOf.run(name);
      return this.stmts.removeUser.run(name).changes === 1;
    })();
  }
  async setPassword(name: string, passwordHash: string, at: number): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmts.endSessionsOf.run(name);
      return this.stmts.setPassword.run(passwordHash, at, name).changes === 1;
    })();
  }
  async getToken(name: string): Promise<TokenRecord | null> {
    const row = this.stmts.getToken.get(name);
    return row ? toToken(row) : null;
  }
  async listTokens(): Promise<TokenRecord[]> {
    return this.stmts.listTokens.all().map(toToken);
  }
  async addToken(token: TokenRecord): Promise<boolean> {
    return this.stmts.addToken.run(token.name, token.role, token.hash, token.createdAt).changes === 1;
  }
  async revokeToken(name: string): Promise<boolean> {
    return this.stmts.revokeToken.run(name).changes === 1;
  }
  async addSession(session: SessionRecord): Promise<void> {
    this.stmts.addSession.run(session.id, session.username, session.createdAt, session.expiresAt);
  }
  async getSession(id: string): Promise<SessionRecord | null> {
    const row = this.stmts.getSession.get(id);
    return row ? toSession(row) : null;
  }
  async removeSession(id: string): Promise<void> {
    this.stmts.removeSession.run(id);
  }
  async pruneSessions(now: number): Promise<number> {
    return this.stmts.prune.run(now).changes;
  }
  async close(): Promise<void> {
    // The database belongs to whoever opened it.
  }
}

export class PostgresAccessStore implements AccessStore {
  private readonly pool: pg.Pool;
  private readying: Promise<void> | undefined;

  constructor(url: string, options: { poolMax?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: options.poolMax ?? 3, connectionTimeoutMillis: 5000, query_timeout: 5000 });
    // An idle client losing its server must not crash central; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.readying ??= migratePostgres(this.pool, 'access', ACCESS_POSTGRES_MIGRATIONS).catch((error: unknown) => {
      this.readying = undefined;
      throw error;
    });
    await this.readying;
    return this.pool.query<R>(sql, params);
  }

  async countUsers(): Promise<number> {
    return Number((await this.query<{ n: string }>('SELECT COUNT(*) AS n FROM access_users')).rows[0]!.n);
  }
  async getUser(name: string): Promise<UserRecord | null> {
    const row = (await this.query<UserRow>('SELECT * FROM access_users WHERE name = $1', [name])).rows[0];
    return row ? toUser(row) : null;
  }
  async listUsers(): Promise<UserRecord[]> {
    return (await this.query<UserRow>('SELECT * FROM access_users ORDER BY name')).rows.map(toUser);
  }
  async addUser(user: UserRecord): Promise<boolean> {
    const result = await this.query(
      'INSERT INTO access_users (name, role, password_hash, created_at, password_changed_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING',
      [user.name, user.role, user.passwordHash, user.createdAt, user.passwordChangedAt],
    );
    return result.rowCount === 1;
  }
  async removeUser(name: string): Promise<boolean> {
    const result = await this.query('WITH ended AS (DELETE FROM access_sessions WHERE username = $1) DELETE FROM access_users WHERE name = $1', [name]);
    return result.rowCount === 1;
  }
  async setPassword(name: string, passwordHash: string, at: number): Promise<boolean> {
    const result = await this.query('WITH ended AS (DELETE FROM access_sessions WHERE username = $3) UPDATE access_users SET password_hash = $1, password_changed_at = $2 WHERE name = $3', [
      passwordHash,
      at,
      name,
    ]);
    return result.rowCount === 1;
  }
  async getToken(name: string): Promise<TokenRecord | null> {
    const row = (await this.query<TokenRow>('SELECT * FROM access_tokens WHERE name = $1', [name])).rows[0];
    return row ? toToken(row) : null;
  }
  async listTokens(): Promise<TokenRecord[]> {
    return (await this.query<TokenRow>('SELECT * FROM access_tokens ORDER BY name')).rows.map(toToken);
  }
  async addToken(token: TokenRecord): Promise<boolean> {
    const result = await this.query('INSERT INTO access_tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING', [token.name, token.role, token.hash, token.createdAt]);
    return result.rowCount === 1;
  }
  async revokeToken(name: string): Promise<boolean> {
    return (await this.query('DELETE FROM access_tokens WHERE name = $1', [name])).rowCount === 1;
  }
  async addSession(session: SessionRecord): Promise<void> {
    await this.query('INSERT INTO access_sessions (id, username, created_at, expires_at) VALUES ($1, $2, $3, $4)', [session.id, session.username, session.createdAt, session.expiresAt]);
  }
  async getSession(id: string): Promise<SessionRecord | null> {
    const row = (await this.query<SessionRow>('SELECT * FROM access_sessions WHERE id = $1', [id])).rows[0];
    return row ? toSession(row) : null;
  }
  async removeSession(id: string): Promise<void> {
    await this.query('DELETE FROM access_sessions WHERE id = $1', [id]);
  }
  async pruneSessions(now: number): Promise<number> {
    return (await this.query('DELETE FROM access_sessions WHERE expires_at <= $1', [now])).rowCount ?? 0;
  }
  async close(): Promise<void> {
    await this.pool.end();
  }
}
