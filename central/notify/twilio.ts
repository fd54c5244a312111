import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { withTimeout } from '../../lib/timeout.js';

/** Twilio's webhooks are small forms; anything bigger is not from Twilio. */
const MAX_FORM_BYTES = 64 * 1024;
const READ_TIMEOUT_MS = 10_000;

/**
 * Twilio's request signature: HMAC-SHA1 with the account's auth token over the full URL Twilio
 * requested followed by every POST parameter, sorted by name, as name and value run together.
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const sorted = [...params.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHmac('sha1', authToken)
    .update(url + sorted.map(([name, value]) => name + value).join(''))
    .digest('base64');
}

export function verifyTwilioSignature(authToken: string, url: string, params: URLSearchParams, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The urlencoded form of a webhook request (the router leaves form bodies unread). */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const read = (async () => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) throw new Error(`form larger than ${MAX_FORM_BYTES} bytes`);
      chunks.push(chunk);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  })();
  return withTimeout(read, READ_TIMEOUT_MS, 'the webhook form');
}
