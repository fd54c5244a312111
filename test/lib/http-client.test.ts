import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool, HttpClientError, httpRequest } from '../../lib/http-client.js';
import { freePort } from '../../lib/net.js';
import { TimeoutError } from '../../lib/timeout.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on loopback whose behaviour each test sets; it records every request and connection. */
class TestServer {
  readonly seen: Seen[] = [];
  readonly sockets = new Set<Socket>();
  handler: Handler = (_req, res) => res.end('ok');
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, socket: req.socket });
        this.handler(req, res, body);
      });
    });
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('httpRequest', () => {
  const server = new TestServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.seen.length = 0;
    server.handler = (_req, res) => res.end('ok');
  });

  it('GETs by default and resolves with any status, its headers and body', async () => {
    server.handler = (_req, res) => {
      res.writeHead(503, { 'x-reason': 'maintenance' });
      res.end('down for maintenance');
    };
    const answer = await httpRequest({ url: server.url('/api/status'), timeoutMs: 5000 });
    expect(answer).toMatchObject({ status: 503, truncated: false });
    expect(answer.headers['x-reason']).toBe('maintenance');
    expect(answer.body.toString()).toBe('down for maintenance');
    expect(server.seen[0]).toMatchObject({ method: 'GET', url: '/api/status' });
  });

  it('sends an object as JSON with its length, and a string as it is with the caller’s content type', async () => {
    await httpRequest({ method: 'POST', url: server.url('/json'), body: { sale: { total: 3000 } }, headers: { 'X-Trace': 't1' }, timeoutMs: 5000 });
    expect(server.seen[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'content-length': '23', 'x-trace': 't1' });
    expect(JSON.parse(server.seen[0]!.body)).toEqual({ sale: { total: 3000 } });
    await httpRequest({ method: 'POST', url: server.url('/form'), body: 'To=%2B995&Body=hi', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, timeoutMs: 5000 });
    expect(server.seen[1]).toMatchObject({ body: 'To=%2B995&Body=hi', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '17' } });
  });

  it('times out a server that never answers, naming what it waited for, and closes the connection', async () => {
    server.handler = () => undefined;
    const error = await httpRequest({ url: server.url('/hang'), timeoutMs: 300, what: 'the main server’s status' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('timed out after 300 ms waiting for the main server’s status');
    await waitUntil(() => server.sockets.size === 0, 'the client to close its connection');
  });

  it('times out a body that stops half way: the timeout covers the whole exchange', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only the start');
    };
    const error = await httpRequest({ url: server.url('/stall'), timeoutMs: 300 }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`timed out after 300 ms waiting for GET ${server.url('/stall')}`);
  });

  it('names the request, with its password redacted, when nothing listens', async () => {
    const port = await freePort();
    const error = await httpRequest({ url: `http://admin:hunter22@127.0.0.1:${port}/snap.jpg?token=tk-9`, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpClientError);
    expect((error as HttpClientError).code).toBe('ECONNREFUSED');
    expect((error as Error).message).toBe(`GET http://admin:[redacted]@127.0.0.1:${port}/snap.jpg?token=[redacted]: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('reads at most maxBytes of body and says it cut it; 0 reads none', async () => {
    server.handler = (_req, res) => res.end('x'.repeat(200_000));
    const cut = await httpRequest({ url: server.url('/big'), timeoutMs: 5000, maxBytes: 1000 });
    expect(cut).toMatchObject({ status: 200, truncated: true });
    expect(cut.body.length).toBe(1000);
    const whole = await httpRequest({ url: server.url('/big'), timeoutMs: 5000 });
    expect(whole).toMatchObject({ truncated: false });
    expect(whole.body.length).toBe(200_000);
    const none = await httpRequest({ url: server.url('/big'), timeoutMs: 5000, maxBytes: 0 });
    expect(none).toMatchObject({ status: 200, truncated: false });
    expect(none.body.length).toBe(0);
  });

  it('fails when the server hangs up before the body is complete', async () => {
    server.handler = (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => req.socket.destroy());
    };
    const error = await httpRequest({ url: server.url('/cut'), timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpClientError);
    expect((error as HttpClientError).code).toBe('ECONNRESET');
  });

  it('opens a connection of its own per request and leaves none idle', async () => {
    await httpRequest({ url: server.url('/a'), timeoutMs: 5000 });
    await httpRequest({ url: server.url('/b'), timeoutMs: 5000 });
    expect(server.seen[0]!.socket).not.toBe(server.seen[1]!.socket);
    expect(server.seen[0]!.headers.connection).toBe('close');
    await waitUntil(() => server.sockets.size === 0, 'no connection left open');
  });

  it('reuses kept-alive connections from a pool, no more than its size at once, until the pool closes', async () => {
    const pool = new ConnectionPool(2);
    try {
      await Promise.all(Array.from({ length: 6 }, (_, i) => httpRequest({ url: server.url(`/p${i}`), timeoutMs: 5000, pool })));
      expect(new Set(server.seen.map((s) => s.socket)).size).toBe(2);
      expect(server.sockets.size).toBe(2);
    } finally {
      pool.close();
    }
    await waitUntil(() => server.sockets.size === 0, 'the pool to close its connections');
  });

  describe('redirects', () => {
    beforeEach(() => {
      server.handler = (req, res) => {
        if (req.url === '/moved') {
          res.writeHead(303, { location: '/final' });
          res.end();
        } else if (req.url === '/elsewhere') {
          res.writeHead(307, { location: `http://localhost:${server.port}/final` });
          res.end();
        } else if (req.url === '/loop') {
          res.writeHead(302, { location: '/loop' });
          res.end();
        } else {
          res.end(`final via ${req.method}`);
        }
      };
    });

    it('returns a redirect as it is by default', async () => {
      const answer = await httpRequest({ url: server.url('/moved'), timeoutMs: 5000 });
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe('/final');
    });

    it('follows them when asked, as fetch does: 303 turns a POST into a GET, credentials stay with their origin', async () => {
      const answer = await httpRequest({ method: 'POST', url: server.url('/moved'), body: { a: 1 }, timeoutMs: 5000, redirects: 'follow' });
      expect(answer.body.toString()).toBe('final via GET');
      expect(server.seen[1]).toMatchObject({ method: 'GET', url: '/final', body: '' });
      expect(server.seen[1]!.headers['content-type']).toBeUndefined();

      server.seen.length = 0;
      await httpRequest({ method: 'POST', url: server.url('/elsewhere'), body: 'x', headers: { authorization: 'Bearer t' }, timeoutMs: 5000, redirects: 'follow' });
      expect(server.seen[1]).toMatchObject({ method: 'POST', url: '/final', body: 'x' });
      expect(server.seen[0]!.headers.authorization).toBe('Bearer t');
      expect(server.seen[1]!.headers.authorization).toBeUndefined();
    });

    it('stops after 20, and refuses them when told to', async () => {
      const loop = await httpRequest({ url: server.url('/loop'), timeoutMs: 10_000, redirects: 'follow' }).catch((e: unknown) => e);
      expect((loop as Error).message).toBe(`GET ${server.url('/loop')}: more than 20 redirects`);
      const refused = await httpRequest({ url: server.url('/moved'), timeoutMs: 5000, redirects: 'error', what: 'the chat webhook' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(HttpClientError);
      expect((refused as Error).message).toBe('the chat webhook: answered 303, a redirect to /final (redirects are refused)');
    });
  });

  it('refuses what is not an http(s) URL before sending anything', async () => {
    await expect(httpRequest({ url: 'ftp://files.example/x', timeoutMs: 1000 })).rejects.toThrow('GET ftp://files.example/x: not an http(s) URL');
    await expect(httpRequest({ url: 'not a url', timeoutMs: 1000 })).rejects.toThrow('GET not a url: not a URL');
  });
});
