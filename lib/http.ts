import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from './log.js';
import { withTimeout } from './timeout.js';
import { listenOn } from './net.js';

export class HttpError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(String(body.error ?? `HTTP ${status}`));
  }
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
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as is (HTML, metrics text, files). */
  text?: string | Buffer;
}

export type Handler = (req: Request, res: ServerResponse) => Promise<Reply | undefined> | Reply | undefined;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** Parses a value with a zod schema or throws a 400 whose `issues` name each bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(400, {
      error: `invalid ${what}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return result.data;
}

/** A minimal router over node:http: JSON in, JSON out, every body size-limited. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/:([a-zA-Z]+)/g, (_, key: string) => {
        keys.push(key);
        return '([^/]+)';
      })}$`,
    );
    this.routes.push({ method, pattern, keys, handler });
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

  async handle(raw: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const method = raw.method ?? 'GET';
    try {
      const matching = this.routes.filter((route) => route.pattern.test(url.pathname));
      const route = matching.find((r) => r.method === method || (method === 'HEAD' && r.method === 'GET'));
      if (!route) {
        throw matching.length
          ? new HttpError(405, { error: `${method} is not allowed on ${url.pathname}` })
          : new HttpError(404, { error: `no such endpoint: ${method} ${url.pathname}` });
      }
      const match = route.pattern.exec(url.pathname)!;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(match[i + 1]!)));
      const body = method === 'GET' || method === 'HEAD' ? undefined : await readJsonBody(raw);
      const reply = await route.handler({ method, path: url.pathname, query: url.searchParams, params, headers: raw.headers, body, raw }, res);
      if (reply) send(res, reply);
    } catch (error) {
      if (error instanceof HttpError) {
        send(res, { status: error.status, body: error.body });
      } else {
        log.error({ err: error, path: url.pathname }, 'request failed');
        send(res, { status: 500, body: { error: 'internal error; see the service log' } });
      }
    }
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
    if (size > MAX_BODY_BYTES) throw new HttpError(413, { error: `request body larger than ${MAX_BODY_BYTES} bytes` });
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, { error: 'request body is not valid JSON', issues: [] });
  }
}

export interface StartedServer {
  server: Server;
  port: number;
  host: string;
  close(): Promise<void>;
}

/** Starts a router on host:port (port 0 picks a free one) and resolves once it listens. */
export async function listen(router: Router, host: string, port: number, log: Logger): Promise<StartedServer> {
  const server = createServer((req, res) => {
    void router.handle(req, res, log);
  });
  server.keepAliveTimeout = 5000;
  const bound = await listenOn(server, host, port, 'the HTTP server');
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
