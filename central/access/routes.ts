import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseWith, type Request, type Router } from '../../lib/http.js';
import { packageRoot } from '../../lib/paths.js';
import { StaticFiles, selfOnlyPageHeaders } from '../../lib/static.js';
import type { RouteMeta } from '../plugin.js';
import type { Access } from './access.js';
import { cookieValue, SESSION_COOKIE } from './gate.js';
import type { KeyAge } from './key-age.js';

/** The login and first-admin pages: files of static/, served from memory. */
const pages = new StaticFiles(join(packageRoot(), 'central', 'access', 'static'), { headers: selfOnlyPageHeaders() });

const LoginBody = z.strictObject({ username: z.string().trim().toLowerCase().min(1).max(64), password: z.string().min(1).max(1000) });
const SetupBody = z.strictObject({ token: z.string().min(1).max(200), username: z.string().trim().toLowerCase().min(1).max(64), password: z.string().min(1).max(1000) });

export interface AccessRouteOptions {
  access: Access;
  /** Every credential's age and expiry (`GET /api/credentials`, admin). */
  keyAge: KeyAge;
  /** Whether the request came over TLS (the session cookie is then Secure). */
  overTls(req: Request): boolean;
}

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

const clientOf = (req: Request) => req.raw.socket.remoteAddress ?? 'unknown';

/** Login, logout, `/api/me`, and the first-start `/setup`: core routes, open where they must be. */
export function registerAccessRoutes(router: Router<RouteMeta>, o: AccessRouteOptions): void {
  const meta = (access: RouteMeta['access']) => ({ meta: { access, owner: 'core' } });
  router.add('GET', '/login', meta('public'), (req) => pages.reply('login.html', req.headers));
  // Once central has users there is nothing to set up: the page sends people to log in.
  router.add('GET', '/setup', meta('public'), async (req) =>
    (await o.access.store.countUsers()) > 0 ? { status: 303, headers: { location: '/login' }, text: '' } : pages.reply('setup.html', req.headers),
  );
  router.add('GET', '/access/:file', meta('public'), (req) => pages.reply(req.params.file!, req.headers));

  router.add('POST', '/api/login', meta('public'), async (req) => {
    const body = parseWith(LoginBody, req.body);
    const { sessionId, identity } = await o.access.login(body.username, body.password, clientOf(req));
    const maxAge = Math.floor(o.access.sessionTtlMs / 1000);
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
  router.add('GET', '/api/credentials', meta('admin'), () => ({ status: 200, body: o.keyAge.view() }));
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
