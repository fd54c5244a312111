import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineError } from '../../lib/errors.js';
import { listen, parseWith, Router, type StartedServer } from '../../lib/http.js';
import { silentLogger } from '../../lib/log.js';

const NoThing = defineError('NO_THING', 404, (id: string) => `no thing ${id}`, (id) => ({ id }));

describe('the HTTP router', () => {
  let server: StartedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(router: Router<{ tag: string }>) {
    server = await listen(router, '127.0.0.1', 0, silentLogger());
    return async (method: string, path: string, body?: string, type?: string) => {
      const res = await fetch(`http://127.0.0.1:${server!.port}${path}`, { method, body, headers: type ? { 'content-type': type } : {}, signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
  }

  it('answers coded errors with their status and code, malformed escapes with 400 and non-JSON bodies with 415', async () => {
    const router = new Router<{ tag: string }>();
    router.add('GET', '/things/:id', { meta: { tag: 'read' } }, (req) => {
      throw NoThing(req.params.id!);
    });
    router.add('POST', '/things', { meta: { tag: 'write' } }, (req) => ({ status: 201, body: parseWith(z.object({ name: z.string() }), req.body) }));
    const call = await serve(router);
    expect(await call('GET', '/things/7')).toEqual({ status: 404, body: { error: 'no thing 7', code: 'NO_THING', id: '7' } });
    expect(await call('GET', '/things/%zz')).toMatchObject({ status: 400, body: { code: 'BAD_URL_ESCAPE' } });
    expect(await call('GET', '/things/%E0')).toMatchObject({ status: 400, body: { code: 'BAD_URL_ESCAPE' } });
    // text/plain is what a cross-site form or fetch without preflight sends
    expect(await call('POST', '/things', '{"name":"x"}', 'text/plain')).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect(await call('POST', '/things', '{"name":"x"}', 'application/json; charset=utf-8')).toEqual({ status: 201, body: { name: 'x' } });
    expect(await call('POST', '/things', '{"name":', 'application/json')).toMatchObject({ status: 400, body: { code: 'BAD_JSON' } });
    expect(await call('POST', '/things', '{"name":1}', 'application/json')).toMatchObject({ status: 400, body: { code: 'INVALID', issues: [{ path: 'name' }] } });
    expect(await call('DELETE', '/things')).toMatchObject({ status: 405, body: { code: 'METHOD_NOT_ALLOWED' } });
    expect(await call('GET', '/nothing')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('runs hooks before the body is read, with the route and its metadata', async () => {
    const router = new Router<{ tag: string }>();
    const seen: string[] = [];
    router.addHook((req, route) => {
      seen.push(`${route.method} ${route.path} ${route.meta.tag}`);
      return req.headers['x-deny'] ? { status: 403, body: { error: 'denied' } } : undefined;
    });
    router.add('POST', '/things/:id', { meta: { tag: 'write' } }, () => ({ status: 200, body: { ok: true } }));
    server = await listen(router, '127.0.0.1', 0, silentLogger());
    // a denied request is answered before its (malformed, mistyped) body is even looked at
    const denied = await fetch(`http://127.0.0.1:${server.port}/things/1`, { method: 'POST', body: 'not json', headers: { 'x-deny': '1', 'content-type': 'text/plain' } });
    expect(denied.status).toBe(403);
    expect(seen).toEqual(['POST /things/:id write']);
  });

  it('refuses the same route twice, whatever its parameters are called', () => {
    const router = new Router<{ tag: string }>();
    router.add('GET', '/points/:pointId', { meta: { tag: 'a' } }, () => undefined);
    expect(() => router.add('GET', '/points/:id', { meta: { tag: 'b' } }, () => undefined)).toThrow(/registered twice/);
    router.add('POST', '/points/:id', { meta: { tag: 'c' } }, () => undefined);
    expect(router.list().map((r) => `${r.method} ${r.path}`)).toEqual(['GET /points/:pointId', 'POST /points/:id']);
  });
});
