import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { withTimeout } from '../lib/timeout.js';

export interface HttpGetResult {
  status: number;
  /** Empty unless `readBody`. */
  body: Buffer;
}

/** An error from the socket under an HTTP request, with its errno code kept. */
export class HttpGetError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'HttpGetError';
  }
}

/** The URL with any password hidden, for logs and `detail`. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * One GET without a connection pool (no idle sockets left behind), bounded by `timeoutMs`
 * end to end and by `maxBytes` of body.
 */
export async function httpGet(url: string, options: { timeoutMs: number; readBody: boolean; maxBytes?: number; what: string }): Promise<HttpGetResult> {
  const parsed = new URL(url);
  const request = (parsed.protocol === 'https:' ? httpsRequest : httpRequest)(parsed, { method: 'GET', agent: false, headers: { 'user-agent': 'hotpot-agent' } });
  try {
    return await withTimeout(
      new Promise<HttpGetResult>((resolve, reject) => {
        request.once('error', (error: NodeJS.ErrnoException) => reject(new HttpGetError(error.code ?? 'EIO', error.message)));
        request.once('response', (response: IncomingMessage) => {
          const status = response.statusCode ?? 0;
          if (!options.readBody) {
            response.destroy();
            resolve({ status, body: Buffer.alloc(0) });
            return;
          }
          readBody(response, options.maxBytes ?? 20 * 1024 * 1024).then((body) => resolve({ status, body }), reject);
        });
        request.end();
      }),
      options.timeoutMs,
      options.what,
    );
  } finally {
    request.destroy();
  }
}

async function readBody(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpGetError('EFBIG', `response larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
