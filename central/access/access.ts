import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { CentralErrors } from '../errors.js';
import { ROLES, type Role } from '../plugin.js';
import { DECOY_HASH, hashSecret, randomSecret, sameSecret, sha256, verifySecret } from './secrets.js';
import type { AccessStore } from './store.js';
import { FailureThrottle } from './throttle.js';

/** Who made a request: a named user, an API token, or a user a trusted SSO proxy vouches for. */
export interface Identity {
  name: string;
  role: Role;
  kind: 'user' | 'token' | 'proxy';
}

/** User and token names: what audits show. */
export const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MIN_PASSWORD = 10;

/** `hotpot.<token name>.<secret>`: the name finds the row, the secret is checked against its slow hash. */
const TOKEN = /^hotpot\.([a-z0-9][a-z0-9_-]{0,63})\.([A-Za-z0-9_-]{20,100})$/;
const TOKEN_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A verified session or token is believed this long before the store is asked again (other replicas, the CLI). */
const RECHECK_MS = 5000;
const SETUP_FILE = 'setup-token';

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export interface AccessOptions {
  store: AccessStore;
  clock: Clock;
  log: Logger;
  /** A session lasts this long from login. */
  sessionTtlMs: number;
  dataDir: string;
}

/**
 * Central's people: users with roles, API tokens, login sessions, the login throttle and the
 * one-time setup token. Passwords and tokens are kept only as scrypt hashes; session ids only as
 * sha256. Verified sessions and tokens are cached for a few seconds so a request costs a map
 * lookup, not a slow hash or a database round trip.
 */
export class Access {
  private readonly byUser = new FailureThrottle(5, 15 * 60_000);
  private readonly byClient = new FailureThrottle(20, 15 * 60_000);
  private readonly sessions = new Map<string, { identity: Identity; expiresAt: number; checkedAt: number }>();
  private readonly tokens = new Map<string, { identity: Identity; checkedAt: number }>();

  constructor(private readonly o: AccessOptions) {}

  get store(): AccessStore {
    return this.o.store;
  }

  get sessionTtlMs(): number {
    return this.o.sessionTtlMs;
  }

  // ---- users and tokens (the CLI and admins) ------------------------------------------------

  async addUser(name: string, role: Role, password: string): Promise<void> {
    checkName(name);
    checkPassword(password);
    const now = this.o.clock.now();
    if (!(await this.o.store.addUser({ name, role, passwordHash: await hashSecret(password), createdAt: now, passwordChangedAt: now }))) throw CentralErrors.userExists(name);
    this.o.log.info({ user: name, role }, 'user added');
  }

  async removeUser(name: string): Promise<void> {
    if (!(await this.o.store.removeUser(name))) throw CentralErrors.noUser(name);
    this.forgetSessionsOf(name);
    this.o.log.info({ user: name }, 'user removed; their sessions ended');
  }

  async setPassword(name: string, password: string): Promise<void> {
    checkPassword(password);
    if (!(await this.o.store.setPassword(name, await hashSecret(password), this.o.clock.now()))) throw CentralErrors.noUser(name);
    this.forgetSessionsOf(name);
    this.o.log.info({ user: name }, 'password changed; the user\'s sessions ended');
  }

  /** Returns the bearer token: shown once, stored only as a hash. */
  async createToken(name: string, role: Role): Promise<string> {
    if (!TOKEN_NAME.test(name)) throw CentralErrors.badName(name);
    const token = `hotpot.${name}.${randomSecret(32)}`;
    if (!(await this.o.store.addToken({ name, role, hash: await hashSecret(token), createdAt: this.o.clock.now() }))) throw CentralErrors.tokenExists(name);
    this.o.log.info({ token: name, role }, 'token created');
    return token;
  }

  async revokeToken(name: string): Promise<void> {
    if (!(await this.o.store.revokeToken(name))) throw CentralErrors.noToken(name);
    for (const [key, entry] of this.tokens) if (entry.identity.name === name) this.tokens.delete(key);
    this.o.log.info({ token: name }, 'token revoked');
  }

  // ---- login ------------------------------------------------------------------------------

  /** A new session for a right password; wrong ones are throttled per user and per client, and logged. */
  async login(username: string, password: string, client: string): Promise<{ sessionId: string; identity: Identity; expiresAt: number }> {
    const now = this.o.clock.now();
    const wait = Math.max(this.byUser.retryAfterMs(`user:${username}`, now), this.byClient.retryAfterMs(`client:${client}`, now));
    if (wait > 0) {
      this.o.log.warn({ user: username, client }, 'login refused: too many wrong passwords');
      throw CentralErrors.loginThrottled(Math.ceil(wait / 1000));
    }
    const user = await this.o.store.getUser(username);
    // An unknown name costs as long as a wrong password: no user enumeration by timing.
    const ok = await verifySecret(password, user?.passwordHash ?? DECOY_HASH);
    if (!user || !ok) {
      this.byUser.fail(`user:${username}`, now);
      this.byClient.fail(`client:${client}`, now);
      this.o.log.warn({ user: username, client }, 'wrong user name or password');
      throw CentralErrors.loginFailed();
    }
    this.byUser.reset(`user:${username}`);
    const sessionId = randomSecret(32);
    const expiresAt = now + this.o.sessionTtlMs;
    await this.o.store.addSession({ id: sha256(sessionId), username, createdAt: now, expiresAt });
    const identity: Identity = { name: user.name, role: user.role, kind: 'user' };
    this.sessions.set(sha256(sessionId), { identity, expiresAt, checkedAt: now });
    this.o.log.info({ user: username, client }, 'logged in');
    return { sessionId, identity, expiresAt };
  }

  async logout(sessionId: string): Promise<void> {
    const id = sha256(sessionId);
    this.sessions.delete(id);
    await this.o.store.removeSession(id);
  }

  /** The user behind a session cookie, or null (unknown, expired, user removed or password changed). */
  async identifySession(sessionId: string): Promise<Identity | null> {
    const id = sha256(sessionId);
    const now = this.o.clock.now();
    const cached = this.sessions.get(id);
    if (cached && cached.expiresAt > now && now - cached.checkedAt < RECHECK_MS) return cached.identity;
    this.sessions.delete(id);
    const session = await this.o.store.getSession(id);
    if (!session || session.expiresAt <= now) return null;
    const user = await this.o.store.getUser(session.username);
    if (!user) return null;
    const identity: Identity = { name: user.name, role: user.role, kind: 'user' };
    this.sessions.set(id, { identity, expiresAt: session.expiresAt, checkedAt: now });
    return identity;
  }

  /** The token's identity, or null for a malformed, unknown or revoked token. */
  async identifyToken(token: string): Promise<Identity | null> {
    const match = TOKEN.exec(token);
    if (!match) return null;
    const key = sha256(token);
    const now = this.o.clock.now();
    const cached = this.tokens.get(key);
    if (cached && now - cached.checkedAt < RECHECK_MS) return cached.identity;
    this.tokens.delete(key);
    const record = await this.o.store.getToken(match[1]!);
    // The slow hash runs only when the token is not cached (once per RECHECK_MS per replica).
    if (!record || !(await verifySecret(token, record.hash))) return null;
    const identity: Identity = { name: record.name, role: record.role, kind: 'token' };
    this.tokens.set(key, { identity, checkedAt: now });
    return identity;
  }

  // ---- first start ------------------------------------------------------------------------

  get setupTokenFile(): string {
    return join(this.o.dataDir, SETUP_FILE);
  }

  /**
   * With no users yet, writes a one-time setup token (0600) and returns its file; with users, makes
   * sure no such file is left behind.
   */
  async prepareSetup(): Promise<string | null> {
    const file = this.setupTokenFile;
    if ((await this.o.store.countUsers()) > 0) {
      if (existsSync(file)) unlinkSync(file);
      return null;
    }
    if (!existsSync(file)) writeFileSync(file, `${randomSecret(24)}\n`, { mode: 0o600 });
    return file;
  }

  /** Creates the first admin with the setup token; the token is gone afterwards. */
  async setup(token: string, username: string, password: string, expected: string | null): Promise<void> {
    if ((await this.o.store.countUsers()) > 0) throw CentralErrors.setupDone();
    if (!expected || !sameSecret(token.trim(), expected.trim())) {
      this.o.log.warn({ user: username }, 'setup refused: wrong setup token');
      throw CentralErrors.setupRefused();
    }
    await this.addUser(username, 'admin', password);
    if (existsSync(this.setupTokenFile)) unlinkSync(this.setupTokenFile);
    this.o.log.info({ user: username }, 'first admin created; the setup token is gone');
  }

  private forgetSessionsOf(name: string): void {
    for (const [id, entry] of this.sessions) if (entry.identity.name === name) this.sessions.delete(id);
  }
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw CentralErrors.badName(name);
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw CentralErrors.weakPassword(MIN_PASSWORD);
}
