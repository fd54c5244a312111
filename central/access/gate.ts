import { BlockList, isIPv6 } from 'node:net';
import type { Hook, Reply, Request } from '../../lib/http.js';
import { CentralErrors } from '../errors.js';
import { ROLES, type Role, type RouteMeta } from '../plugin.js';
import { roleAtLeast, NAME, type Access, type Identity } from './access.js';

export const SESSION_COOKIE = 'hotpot_session';

export interface AuthProxy {
  userHeader: string;
  roleHeader?: string | undefined;
  defaultRole: Role;
  trustedProxies: string[];
}

export interface GateOptions {
  access: Access;
  /** Host names (the port is ignored) central answers to besides localhost, 127.0.0.1, ::1. */
  allowedHosts: readonly string[];
  authProxy?: AuthProxy | undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/** `CIDR` or a single address → a BlockList that `check`s addresses (IPv4-mapped IPv6 included). */
export function addressList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/') as [string, string | undefined];
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

function inList(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  return v4 ? list.check(v4, 'ipv4') : list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** The name part of a Host header: `central.example:8080` → `central.example`, `[::1]:8080` → `::1`. */
export function hostName(host: string | undefined): string {
  if (!host) return '';
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(host);
  return (bracketed ? bracketed[1]! : host.replace(/:\d+$/, '')).toLowerCase();
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether the request reached central over TLS (directly, or through a trusted proxy that says so). */
export function viaTls(req: Request, trusted: BlockList | undefined): boolean {
  const socket = req.raw.socket as { encrypted?: boolean; remoteAddress?: string };
  if (socket.encrypted) return true;
  return Boolean(trusted && inList(trusted, socket.remoteAddress) && req.headers['x-forwarded-proto'] === 'https');
}

/**
 * The one gate in front of every route of central (a core hook, run before any plugin's): the
 * Host must be one of central's names (DNS rebinding), a change may not come from another site,
 * then anything but a public route needs a user — a bearer token, a trusted SSO proxy's headers,
 * or a session cookie — with at least the route's role. A change made with a cookie (or through
 * the proxy, i.e. from a browser) must also carry this site's Origin and a JSON body.
 */
export function accessGate(o: GateOptions): Hook<RouteMeta> {
  const allowed = new Set(['localhost', '127.0.0.1', '::1', ...o.allowedHosts.map((host) => host.toLowerCase())]);
  const trusted = o.authProxy ? addressList(o.authProxy.trustedProxies) : undefined;

  const fromProxy = (req: Request): Identity | null => {
    const proxy = o.authProxy;
    if (!proxy || !trusted || !inList(trusted, req.raw.socket.remoteAddress)) return null;
    const name = String(req.headers[proxy.userHeader.toLowerCase()] ?? '').trim().toLowerCase();
    if (!NAME.test(name)) return null;
    const claimed = proxy.roleHeader ? String(req.headers[proxy.roleHeader.toLowerCase()] ?? '').trim() : '';
    const role = (ROLES as readonly string[]).includes(claimed) ? (claimed as Role) : proxy.defaultRole;
    return { name, role, kind: 'proxy' };
  };

  const identify = async (req: Request): Promise<Identity | null> => {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      return bearer ? o.access.identifyToken(bearer) : null;
    }
    const proxied = fromProxy(req);
    if (proxied) return proxied;
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return session ? o.access.identifySession(session) : null;
  };

  return async (req, route): Promise<Reply | undefined> => {
    const host = hostName(req.headers.host);
    if (!allowed.has(host)) throw CentralErrors.hostNotAllowed(host);
    const changes = !SAFE_METHODS.has(req.method);
    const origin = req.headers.origin;
    if (changes && origin !== undefined && !sameSite(origin, req.headers.host)) throw CentralErrors.crossSite(origin);
    if (route.meta.access === 'public') return undefined;

    const identity = await identify(req);
    if (!identity) {
      if (req.method === 'GET' && !req.path.startsWith('/api/')) {
        return { status: 303, headers: { location: `/login?next=${encodeURIComponent(req.path)}` }, text: '' };
      }
      throw CentralErrors.loginRequired();
    }
    if (!roleAtLeast(identity.role, route.meta.access)) throw CentralErrors.roleRequired(route.meta.access);
    if (changes && identity.kind !== 'token') {
      if (origin === undefined) throw CentralErrors.originRequired();
      if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) throw CentralErrors.jsonRequired();
    }
    req.principal = identity;
    return undefined;
  };
}

function sameSite(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host.toLowerCase() === (host ?? '').toLowerCase();
  } catch {
    return false;
  }
}
