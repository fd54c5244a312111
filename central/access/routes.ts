import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { parseWith, type Request, type Router } from '../../lib/http.js';
import { packageRoot } from '../../lib/paths.js';
import { STATIC_CONTENT_TYPES, selfOnlyPageHeaders } from '../../lib/static.js';
import { CentralErrors } from '../errors.js';
import type { RouteMeta } from '../plugin.js';
import type { Access } from './access.js';
import { cookieValue, SESSION_COOKIE } from './gate.js';

const STATIC_DIR = join(packageRoot(), 'central', 'access', 'static');
const FILES = new Set(['login.html', 'setup.html', 'login.js', 'login.css']);
const PAGE_HEADERS = selfOnlyPageHeaders();

const LoginBody = z.strictObject({ username: z.string().trim().toLowerCase().min(1).max(64), password: z.string().min(1).max(1000) });
const SetupBody = z.strictObject({ token: z.string().min(1).max(200), username: z.string().trim().toLowerCase().min(1).max(64), password: z.string().min(1).max(1000) });

export interface AccessRouteOptions {
  access: Access;
  /** Whether the request came over TLS (the session cookie is then Secure). */
  overTls(req: Request): boolean;
}

async function file(name: string) {
  if (!FILES.has(name)) throw CentralErrors.noFile(name);
  return { status: 200, text: await readFile(join(STATIC_DIR, name)), headers: { 'content-type': STATIC_CONTENT_TYPES[extname(name)]!, ...PAGE_HEADERS } };
}

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

const clientOf = (req: Request) => req.raw.socket.remoteAddress ?? 'unknown';

/** Login, logout, `/api/me`, and the first-start `/setup`: core routes, open where they must be. */
export function registerAccessRoutes(router: Router<RouteMeta>, o: AccessRouteOptions): void {
  const meta = (access: RouteMeta['access']) => ({ meta: { access, owner: 'core' } });
  router.add('GET', '/login', meta('public'), () => file('login.html'));
  router.add('GET', '/setup', meta('public'), () => file('setup.html'));
  router.add('GET', '/access/:file', meta('public'), (req) => file(req.params.file!));

  router.add('POST', '/api/login', meta('public'), async (req) => {
    const body = parseWith(LoginBody, req.body);
    const { sessionId, identity, expiresAt } = await o.access.login(body.username, body.password, clientOf(req));
    const maxAge = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
    return { status: 200, body: { username: identity.name, role: identity.role }, headers: { 'set-cookie': sessionCookie(sessionId, maxAge, o.overTls(req)) } };
  });
  router.add('POST', '/api/logout', meta('public'), async (req) => {
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (session) await o.access.logout(session);
    return { status: 204, headers: { 'set-cookie': sessionCookie('', 0, o.overTls(req)) } };
  });
  router.add('GET', '/api/me', meta('viewer'), (req) => {
    const who = req.principal!;
    return { status: 200, body: who.kind === 'user' ? { username: who.name, role: who.role } : { username: who.name, role: who.role, kind: who.kind } };
  });
  router.add('POST', '/api/setup', meta('public'), async (req) => {
    const body = parseWith(SetupBody, req.body);
    await o.access.setup(body.token, body.username, body.password, readSetupToken(o.access.setupTokenFile));
    return { status: 201, body: { username: body.username, role: 'admin' } };
  });
}

function readSetupToken(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
