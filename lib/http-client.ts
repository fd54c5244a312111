/**
 * The one outbound HTTP(S) client: node:http (a fraction of fetch's cost per request, and light
 * enough for the box's agent). Every call is bounded by a timeout that names what it waited for,
 * reads at most `maxBytes` of body, and names its URL only with secrets redacted.
 */
import { Agent as HttpAgent, request as plainRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as tlsRequest } from 'node:https';
import { redactSecrets } from './redact.js';
import { withTimeout } from './timeout.js';

export interface HttpCall {
  url: string;
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  /** A string or bytes are sent as they are; anything else as JSON (content-type application/json unless set). */
  body?: unknown;
  timeoutMs: number;
  /** What the caller waits for, named by the timeout and every error; default "<METHOD> <url, secrets redacted>". */
  what?: string;
  /** Bytes of body to read (default 1 MiB); the rest is not read and `truncated` says so. 0 reads no body. */
  maxBytes?: number;
  /** A 3xx answer is returned as it is (`manual`, the default), followed (`follow`, at most 20), or an error (`error`). */
  redirects?: 'manual' | 'follow' | 'error';
  /** Kept-alive connections to reuse; without one, each request has a connection of its own, closed after. */
  pool?: ConnectionPool;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body was longer than `maxBytes`; `body` holds its start. */
  truncated: boolean;
}

/** The request got no answer (refused, reset, not found, redirected when told not to); `code` is the errno code. */
export class HttpClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpClientError';
  }
}

/** Kept-alive connections, at most `maxSockets` per host, for a caller that sends many requests to the same server. */
export class ConnectionPool {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;

  constructor(maxSockets: number) {
    this.http = new HttpAgent({ keepAlive: true, maxSockets });
    this.https = new HttpsAgent({ keepAlive: true, maxSockets });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * One HTTP exchange. Resolves with any answer the server gives (whatever its status); rejects with
 * a TimeoutError naming `what` at `timeoutMs` (connect, answer and body together), or an
 * HttpClientError naming `what` when there is no answer.
 */
export async function httpRequest(call: HttpCall): Promise<HttpAnswer> {
  const method = call.method ?? 'GET';
  const what = call.what ?? `${method} ${redactSecrets(call.url)}`;
  const inFlight: { request?: ClientRequest } = {};
  try {
    return await withTimeout(exchange(call, method, what, inFlight), call.timeoutMs, what);
  } catch (error) {
    inFlight.request?.destroy();
    throw error;
  }
}

async function exchange(call: HttpCall, firstMethod: string, what: string, inFlight: { request?: ClientRequest }): Promise<HttpAnswer> {
  let method = firstMethod;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(call.headers ?? {})) headers[name.toLowerCase()] = value;
  let body = encodeBody(call.body, headers);
  let url = parseUrl(call.url, what);
  for (let redirects = 0; ; redirects++) {
    const answer = await once(url, { method, headers, body, what, maxBytes: call.maxBytes ?? DEFAULT_MAX_BYTES, pool: call.pool }, inFlight);
    const location = answer.headers.location;
    const mode = call.redirects ?? 'manual';
    if (mode === 'manual' || !REDIRECTS.has(answer.status) || !location) return answer;
    if (mode === 'error') throw new HttpClientError('EREDIRECT', `${what}: answered ${answer.status}, a redirect to ${redactSecrets(location)} (redirects are refused)`);
    if (redirects === MAX_REDIRECTS) throw new HttpClientError('EREDIRECT', `${what}: more than ${MAX_REDIRECTS} redirects`);
    const next = parseUrl(location, what, url);
    // As fetch does: 303, and 301/302 after a POST, become a GET without a body.
    if ((answer.status === 303 && method !== 'HEAD') || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      delete headers['content-type'];
      delete headers['content-length'];
    }
    // Credentials are not handed to another origin.
    if (next.origin !== url.origin) {
      delete headers.authorization;
      delete headers.cookie;
    }
    url = next;
  }
}

function parseUrl(raw: string, what: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new HttpClientError('EINVAL', `${what}: ${base ? `a redirect to ${redactSecrets(raw)}, ` : ''}not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpClientError('EINVAL', `${what}: not an http(s) URL`);
  return url;
}

function encodeBody(body: unknown, headers: Record<string, string>): string | Buffer | undefined {
  if (body === undefined) return undefined;
  const encoded = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  if (encoded !== body) headers['content-type'] ??= 'application/json';
  headers['content-length'] = String(Buffer.byteLength(encoded));
  return encoded;
}

interface Hop {
  method: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  what: string;
  maxBytes: number;
  pool: ConnectionPool | undefined;
}

function once(url: URL, hop: Hop, inFlight: { request?: ClientRequest }): Promise<HttpAnswer> {
  const secure = url.protocol === 'https:';
  // `false`: a connection of this request's own (Node's global agent would keep it open, idle).
  const agent = hop.pool ? (secure ? hop.pool.https : hop.pool.http) : false;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(new HttpClientError(error.code ?? 'EIO', `${hop.what}: ${error.message}`));
    const request = (secure ? tlsRequest : plainRequest)(url, { method: hop.method, headers: hop.headers, agent }, (response) =>
      readAnswer(response, hop.maxBytes).then(resolve, fail),
    );
    inFlight.request = request;
    request.on('error', fail);
    request.end(hop.body);
  });
}

function readAnswer(response: IncomingMessage, maxBytes: number): Promise<HttpAnswer> {
  const status = response.statusCode ?? 0;
  const headers = response.headers;
  if (maxBytes === 0) {
    response.destroy();
    return Promise.resolve({ status, headers, body: Buffer.alloc(0), truncated: false });
  }
  return new Promise<HttpAnswer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    response.on('data', (chunk: Buffer) => {
      if (truncated) return;
      if (size + chunk.length <= maxBytes) {
        chunks.push(chunk);
        size += chunk.length;
        return;
      }
      chunks.push(chunk.subarray(0, maxBytes - size));
      truncated = true;
      // The rest is not read: this connection is given up rather than drained.
      response.destroy();
      resolve({ status, headers, body: Buffer.concat(chunks, maxBytes), truncated: true });
    });
    response.once('end', () => resolve({ status, headers, body: Buffer.concat(chunks, size), truncated: false }));
    response.once('error', reject);
    response.once('close', () => {
      if (!response.complete) reject(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
    });
  });
}
