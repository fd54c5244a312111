import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { withTimeout } from '../../lib/timeout.js';
import { displayUrl } from './config.js';
import type { Exchange } from './decisions.js';

export interface ExchangeRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
}

/** More than any answer the main server gives; the rest is not read into memory. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * HTTP(S) to the main server over kept-alive connections (node:http: a fraction of fetch's cost
 * per request, which bounds how fast a backlog drains). Never throws: no answer (refused, reset,
 * timed out) comes back as `{error}` naming the request, so the caller's decision covers it.
 */
export class JsonHttpClient {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(maxSockets: number) {
    this.http = new HttpAgent({ keepAlive: true, maxSockets });
    this.https = new HttpsAgent({ keepAlive: true, maxSockets });
  }

  async exchange(request: ExchangeRequest): Promise<Exchange> {
    const what = `${request.method} ${displayUrl(request.url)}`;
    const url = new URL(request.url);
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers: Record<string, string | number> = { accept: 'application/json', ...request.headers };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    const answer = new Promise<Exchange>((resolve) => {
      const fail = (error: Error) => resolve({ error: `${what}: ${describeFailure(error, request.timeoutMs)}` });
      const req = send(
        url,
        { method: request.method, headers, agent: secure ? this.https : this.http, signal: AbortSignal.timeout(request.timeoutMs) },
        (res) => readAnswer(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), fail),
      );
      req.on('error', fail);
      req.end(body);
    });
    return withTimeout(answer, request.timeoutMs + 1000, what).catch((error: unknown) => ({ error: `${what}: ${(error as Error).message}` }));
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

async function readAnswer(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFailure(error: Error, timeoutMs: number): string {
  return error.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : error.message;
}
