import { createHmac, randomBytes } from 'node:crypto';
import { Router, type Reply, type Request } from '../../lib/http.js';
import type { Clock } from '../../lib/clock.js';
import { isLoopbackHost } from '../config.js';
import type { PinGate, PinResult } from './pin-gate.js';
import type { SessionStore } from '../store.js';
import { isDiskFull } from '../../lib/sqlite.js';

export const SESSION_COOKIE = 'hotpot_staff';
/** One shift: a tablet stays logged in through a working day. */
const SESSION_TTL_MS = 12 * 60 * 60_000;

/** Routes open without a staff session: health for monitoring, and what the login form needs. */
const PUBLIC_ROUTES = new Set(['/api/health', '/login', '/api/login', '/assets/:file']);

/** The address a request came from: the key for PIN attempt limiting. */
export function clientOf(req: Request): string {
  return req.raw.socket.remoteAddress ?? 'unknown';
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * What the store keeps of a session token: an HMAC keyed by the staff PIN, so the token itself is
 * never on disk and changing the PIN (then restarting) logs every tablet out.
 */
export function sessionTokenHash(staffPin: string, token: string): string {
  return createHmac('sha256', staffPin).update(token).digest('base64url');
}

/**
 * Staff sessions behind the staff PIN (needed only when the page is exposed beyond the box).
 * Durable, so an agent restart mid-shift does not log every tablet out.
 */
export class StaffSessions {
  /** Sessions begun while the data disk was full: kept until they expire or the agent restarts. */
  private readonly inMemory = new Map<string, number>();

  constructor(
    private readonly gate: PinGate,
    private readonly staffPin: string,
    private readonly clock: Clock,
    private readonly store: SessionStore,
    private readonly ttlMs = SESSION_TTL_MS,
  ) {}

  private tokenHash(token: string): string {
    return sessionTokenHash(this.staffPin, token);
  }

  valid(req: Request): boolean {
    const token = cookie(req, SESSION_COOKIE);
    if (!token) return false;
    const hash = this.tokenHash(token);
    const expiresAt = this.store.sessionExpiry(hash) ?? this.inMemory.get(hash) ?? null;
    return expiresAt !== null && expiresAt > this.clock.now();
  }

  /** On the right PIN: a new session and its Set-Cookie header value. */
  login(client: string, pin: string): PinResult & { setCookie?: string } {
    const result = this.gate.check(client, pin);
    if (!result.ok) return result;
    const now = this.clock.now();
    const token = randomBytes(32).toString('base64url');
    const hash = this.tokenHash(token);
    try {
      this.store.dropSessionsExpiredBy(now);
      this.store.saveSession(hash, now + this.ttlMs);
    } catch (error) {
      // A full data disk must not lock staff out of the page that tells them so: this session lives in memory.
      if (!isDiskFull(error)) throw error;
      for (const [old, expiresAt] of this.inMemory) if (expiresAt <= now) this.inMemory.delete(old);
      this.inMemory.set(hash, now + this.ttlMs);
    }
    return { ok: true, setCookie: `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(this.ttlMs / 1000)}` };
  }

  /** Ends the request's session; the Set-Cookie value that clears it. */
  logout(req: Request): string {
    const token = cookie(req, SESSION_COOKIE);
    if (token) {
      const hash = this.tokenHash(token);
      this.inMemory.delete(hash);
      try {
        this.store.dropSession(hash);
      } catch (error) {
        // The cookie is cleared all the same; the stored session ends at its expiry.
        if (!isDiskFull(error)) throw error;
      }
    }
    return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }
}

/**
 * Why a request is refused before any route sees it, or null. Bound to loopback, a Host that is
 * not loopback means DNS rebinding; a state-changing request whose Origin is another site is CSRF.
 */
export function crossSiteProblem(req: Request, loopbackOnly: boolean): string | null {
  const host = req.headers.host ?? '';
  if (loopbackOnly && !isLoopbackHost(host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'))) {
    return `this page answers only on the box itself (Host "${host.slice(0, 100)}" refused)`;
  }
  const origin = req.headers.origin;
  if (req.method !== 'GET' && req.method !== 'HEAD' && origin !== undefined) {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = null;
    }
    if (originHost !== host) return 'a request from another site was refused';
  }
  return null;
}

/** The check every route passes first: cross-site refusal, then the staff session when required. */
export function accessGate(options: { loopbackOnly: boolean; sessions: StaffSessions | undefined }) {
  return (req: Request, route: string): Reply | undefined => {
    if (route === '/api/health') return undefined;
    const problem = crossSiteProblem(req, options.loopbackOnly);
    if (problem) return { status: 403, body: { error: problem, code: 'cross_site' } };
    if (!options.sessions || PUBLIC_ROUTES.has(route) || options.sessions.valid(req)) return undefined;
    if (req.method === 'GET' && route === '/') return { status: 303, headers: { location: '/login' }, text: '' };
    return { status: 401, body: { error: 'log in with the staff PIN first (open the staff page)', code: 'login_required' } };
  };
}

/** A Router whose every route passes `gate` first (before its body is read); a reply from the gate ends the request. */
export class GuardedRouter extends Router {
  constructor(gate: (req: Request, route: string) => Reply | undefined) {
    super();
    this.addHook((req, route) => gate(req, route.path));
  }
}
