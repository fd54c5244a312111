import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { z } from 'zod';
import type { Logger } from './log.js';
import { withTimeout } from './timeout.js';
import { listenOn } from './net.js';
import { CodedError, defineError } from './errors.js';

/**
 * An error whose reply body is given whole (the agent's API words its own bodies); central's domain
 * code throws coded errors from `defineError` instead. Both reach the client through `errorReply`.
 */
export class HttpError extends CodedError {
  constructor(status: number, private readonly replyBody: Record<string, unknown>) {
    super(typeof replyBody.code === 'string' ? replyBody.code : `HTTP_${status}`, status, String(replyBody.error ?? `HTTP ${status}`));
  }

  get status(): number {
    return this.statusCode;
  }

  override body(): Record<string, unknown> {
    return this.replyBody;
  }
}

/** Errors the router itself answers with. */
export const RouterErrors = {
  notFound: defineError('NOT_FOUND', 404, (method: string, path: string) => `no such endpoint: ${method} ${path}`),
  methodNotAllowed: defineError('METHOD_NOT_ALLOWED', 405, (method: string, path: string) => `${method} is not allowed on ${path}`),
  badTarget: defineError('BAD_REQUEST_TARGET', 400, (target: string) => `the request target ${target.slice(0, 200)} is not a path (it must start with /)`),
  badEscape: defineError('BAD_URL_ESCAPE', 400, (path: string) => `the URL path ${path.slice(0, 200)} holds a malformed %-escape`),
  notJson: defineError('UNSUPPORTED_MEDIA_TYPE', 415, (type: string) => `the request body must be JSON (Content-Type: application/json), not ${type || 'untyped'}`),
  tooLarge: defineError('BODY_TOO_LARGE', 413, (max: number) => `request body larger than ${max} bytes`),
  badJson: defineError('BAD_JSON', 400, () => 'request body is not valid JSON', () => ({ issues: [] })),
  invalid: defineError(
    'INVALID',
    400,
    (what: string, issues: readonly { path: string; message: string }[]) => `invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    (_what, issues) => ({ issues }),
  ),
};

/** Who a request comes from, once a hook has established it (central's access gate). */
export interface Principal {
  name: string;
  role: string;
  kind: string;
}

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body (undefined when there is none). */
  body: unknown;
  raw: IncomingMessage;
  principal?: Principal;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as is (HTML, metrics text, files). */
  text?: string | Buffer;
}

export type Handler = (req: Request, res: ServerResponse) => Promise<Reply | undefined> | Reply | undefined;

/** What a route says about itself: its metadata (e.g. central's required role) and what body it takes. */
export interface RouteOptions<M> {
  meta: M;
  /** `form`: an HTML form post whose body is not read (the signed ack link's confirmation). Default `json`. */
  body?: 'json' | 'form';
}

export interface RouteInfo<M> {
  method: string;
  path: string;
  meta: M;
  body: 'json' | 'form';
}

/** Runs before a route's handler (and before its body is read); returning a Reply answers the request instead. */
export type Hook<M> = (req: Request, route: RouteInfo<M>) => Promise<Reply | undefined> | Reply | undefined;

interface Route<M> extends RouteInfo<M> {
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

const MAX_BODY_BYTES = 2 * 1024 * 1024;
const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/** Parses a value with a zod schema or throws a 400 whose `issues` name each bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw RouterErrors.invalid(what, result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  return result.data;
}

/** The reply for any error a handler throws: coded errors carry their own status and body. */
export function errorReply(error: unknown, log: Logger, path: string): Reply {
  if (error instanceof CodedError) return { status: error.statusCode, body: error.body(), headers: { ...error.headers } };
  log.error({ err: error, path }, 'request failed');
  return { status: 500, body: { error: 'internal error; see the service log', code: 'INTERNAL' } };
}

/** `/api/points/:pointId` and `/api/points/:id` are the same route. */
const routeShape = (method: string, path: string) => `${method} ${path.replace(/:[a-zA-Z]+/g, ':')}`;

/**
 * A minimal router over node:http: JSON in, JSON out, every body size-limited. Routes carry
 * metadata `M` that hooks read (central: the role a route needs). The same method and path
 * registered twice is refused at once, so a plugin cannot shadow another's route.
 */
export class Router<M = undefined> {
  private readonly routes: Route<M>[] = [];
  private readonly hooks: Hook<M>[] = [];

  add(method: string, path: string, handler: Handler): this;
  add(method: string, path: string, options: RouteOptions<M>, handler: Handler): this;
  add(method: string, path: string, a: Handler | RouteOptions<M>, b?: Handler): this {
    const [options, handler] = typeof a === 'function' ? [{ meta: undefined as M }, a] : [a, b!];
    const shape = routeShape(method, path);
    if (this.routes.some((route) => routeShape(route.method, route.path) === shape)) throw new Error(`route ${method} ${path} is registered twice`);
    const keys: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/:([a-zA-Z]+)/g, (_, key: string) => {
        keys.push(key);
        return '([^/]+)';
      })}$`,
    );
    this.routes.push({ method, path, meta: options.meta, body: options.body ?? 'json', pattern, keys, handler });
    return this;
  }

  get(path: string, handler: Handler): this {
    return this.add('GET', path, handler);
  }
  post(path: string, handler: Handler): this {
    return this.add('POST', path, handler);
  }
  put(path: string, handler: Handler): this {
    return this.add('PUT', path, handler);
  }
  delete(path: string, handler: Handler): this {
    return this.add('DELETE', path, handler);
  }

  /** Hooks run in the order added, before every route's handler. */
  addHook(hook: Hook<M>): this {
    this.hooks.push(hook);
    return this;
  }

  /** Every route, for start-up checks and for tests that must not forget one. */
  list(): RouteInfo<M>[] {
    return this.routes.map(({ method, path, meta, body }) => ({ method, path, meta, body }));
  }

  async handle(raw: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
    // The request target is parsed here and nowhere else: `//x` or junk is a 400, not a throw outside the try.
    const target = raw.url ?? '/';
    const url = parseTarget(target);
    const method = raw.method ?? 'GET';
    try {
      if (!url) throw RouterErrors.badTarget(target);
      const matching = this.routes.filter((route) => route.pattern.test(url.pathname));
      const route = matching.find((r) => r.method === method || (method === 'HEAD' && r.method === 'GET'));
      if (!route) throw matching.length ? RouterErrors.methodNotAllowed(method, url.pathname) : RouterErrors.notFound(method, url.pathname);
      const match = route.pattern.exec(url.pathname)!;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeSegment(match[i + 1]!, url.pathname)));
      const req: Request = { method, path: url.pathname, query: url.searchParams, params, headers: raw.headers, body: undefined, raw };
      for (const hook of this.hooks) {
        const early = await hook(req, route);
        if (early) return send(res, early);
      }
      if (method !== 'GET' && method !== 'HEAD' && route.body === 'json') req.body = await readJsonBody(raw);
      const reply = await route.handler(req, res);
      if (reply) send(res, reply);
    } catch (error) {
      send(res, errorReply(error, log, url?.pathname ?? target.slice(0, 200)));
    }
  }
}

/** `/path?query` as a URL (`//x` is a path here, not a host); anything else (`*`, absolute URLs) is no path. */
function parseTarget(target: string): URL | undefined {
  if (!target.startsWith('/')) return undefined;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

function decodeSegment(segment: string, path: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw RouterErrors.badEscape(path);
  }
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers };
  if (reply.text !== undefined) {
    res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(reply.text);
    return;
  }
  const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(payload);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw RouterErrors.tooLarge(MAX_BODY_BYTES);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!JSON_TYPE.test(type)) throw RouterErrors.notJson(type);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw RouterErrors.badJson();
  }
}

export interface StartedServer {
  server: Server;
  port: number;
  host: string;
  close(): Promise<void>;
}

/** A server certificate chain and its key (PEM), for HTTPS. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** Starts a router on host:port (port 0 picks a free one) and resolves once it listens; with `tls`, over HTTPS. */
export async function listen<M>(router: Router<M>, host: string, port: number, log: Logger, tls?: TlsFiles): Promise<StartedServer> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void router.handle(req, res, log);
  };
  const server: Server = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, handler) : createServer(handler);
  server.keepAliveTimeout = 5000;
  const bound = await listenOn(server, host, port, tls ? 'the HTTPS server' : 'the HTTP server');
  return {
    server,
    host,
    port: bound,
    close: () =>
      withTimeout(
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        5000,
        'HTTP server close',
      ),
  };
}
