import { request } from 'node:http';
import fc from 'fast-check';

/** One raw HTTP exchange: the path is sent byte for byte (malformed escapes included). */
export interface RawAnswer {
  status: number;
  body: string;
}

export function rawRequest(port: number, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      // A server-sent event stream never ends: its status line is the answer.
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0, body: '' });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`hang: ${method} ${path.slice(0, 120)} got no answer in ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(body);
  });
}

/** A path segment: plain ids, unicode, malformed and valid %-escapes, dots, very long. */
export const segment = fc.oneof(
  fc.constantFrom('%', '%zz', '%E0', '%E0%A4', '%00', '%2F', '..', '.', '0', '-1', 'null', '00000000-0000-7000-8000-000000000000'),
  fc.stringMatching(/^[a-z0-9-]{1,70}$/),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => encodeURIComponent(s) || 'x'),
  fc.string({ maxLength: 12 }).map((s) => s.replace(/[^\x21-\x7e]/g, '%').replace(/[/?#]/g, '%2F') || '%'),
  fc.integer({ min: 1, max: 5000 }).map((n) => 'a'.repeat(n)),
);

/** A path from a route template, each `:param` replaced by a fuzzed segment, sometimes with a tail. */
export function pathFrom(templates: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...templates), fc.array(segment, { minLength: 4, maxLength: 4 }), fc.option(segment, { freq: 5 }))
    .map(([template, segs, tail]) => {
      let i = 0;
      const path = template.replace(/:[a-zA-Z]+/g, () => segs[i++ % segs.length]!);
      return tail ? `${path}/${tail}` : path;
    });
}

/** Query strings: dates in and out of range, numbers huge and negative, repeated keys, junk escapes. */
export const query = fc
  .array(
    fc.tuple(
      fc.constantFrom('date', 'status', 'limit', 'since', 'until', 'pointId', 'after', 'from', 'to', 'q', 'state', 'kind', 'group', 'x'),
      fc.oneof(
        fc.constantFrom('9999-12-31', '0000-00-00', '2024-02-30', '2025-06-01', '1970-01-01', '-1', '1e308', 'NaN', '%', '%zz', '', 'all', 'unsynced', 'true'),
        fc.integer().map(String),
        fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
        fc.string({ maxLength: 30 }).map(encodeURIComponent),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

/** JSON values of any shape. */
export const anyJson = fc.jsonValue({ maxDepth: 4 });

/** A request body: structure-aware JSON (from `shaped`), any JSON, broken JSON, or bytes. */
export function bodyFrom(shaped: fc.Arbitrary<unknown>): fc.Arbitrary<{ type: string; bytes: Buffer } | undefined> {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null');
  return fc.oneof(
    { weight: 5, arbitrary: shaped.map((value) => ({ type: 'application/json', bytes: json(value) })) },
    { weight: 2, arbitrary: anyJson.map((value) => ({ type: 'application/json', bytes: json(value) })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ type: 'application/json', bytes: Buffer.from(`{${text}`) })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/json; charset=utf-8', ''), fc.uint8Array({ maxLength: 300 })).map(([type, bytes]) => ({ type, bytes: Buffer.from(bytes) })) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

export const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS');

/** A value that is almost right: the usual field types, their edges, and wrong types. */
export const fieldValue = fc.oneof(
  fc.integer({ min: -5, max: 20 }),
  fc.constantFrom(0, -1, 0.5, 1e9, 1e12, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -0, null, true, '', '1', [], {}),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 400, maxLength: 2000 }),
);
