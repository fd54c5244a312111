import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router, listen, type StartedServer } from '../../lib/http.js';
import { silentLogger } from '../../lib/log.js';
import { StaticFiles, selfOnlyPageHeaders } from '../../lib/static.js';
import { tempDir } from '../helpers/hotpot.js';

describe('StaticFiles over a real server', () => {
  const root = tempDir('static');
  const dir = join(root, 'public');
  let server: StartedServer;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`http://127.0.0.1:${server.port}${path}`, { method, headers, signal: AbortSignal.timeout(5000) });

  beforeAll(async () => {
    mkdirSync(join(dir, 'nested'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>page</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log("app");');
    writeFileSync(join(dir, 'app.css'), 'body { margin: 0 }');
    writeFileSync(join(dir, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(dir, 'draft.js'), 'not served: left out by `only`');
    writeFileSync(join(dir, '.hidden.js'), 'never served');
    writeFileSync(join(dir, 'notes.txt'), 'no content type for this');
    writeFileSync(join(dir, 'nested', 'inner.js'), 'not in this directory');
    writeFileSync(join(root, 'secret.js'), 'outside the directory');
    const files = new StaticFiles(dir, { headers: selfOnlyPageHeaders(), only: (name) => name !== 'draft.js' });
    const missing = new StaticFiles(join(root, 'no-such-dir'), { headers: {} });
    const router = new Router()
      .get('/', (req) => files.reply('index.html', req.headers))
      .get('/files/:file', (req) => files.reply(req.params.file!, req.headers))
      .get('/missing/:file', (req) => missing.reply(req.params.file!, req.headers));
    server = await listen(router, '127.0.0.1', 0, silentLogger());
  });
  afterAll(() => server.close());

  it('serves each file with its content type, the page security headers, an ETag, and revalidation', async () => {
    for (const [path, type, text] of [
      ['/', 'text/html; charset=utf-8', '<!doctype html><title>page</title>'],
      ['/files/app.js', 'text/javascript; charset=utf-8', 'console.log("app");'],
      ['/files/app.css', 'text/css; charset=utf-8', 'body { margin: 0 }'],
      ['/files/logo.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ] as const) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe(text);
      expect(response.headers.get('content-type'), path).toBe(type);
      expect(response.headers.get('content-security-policy'), path).toContain("script-src 'self'");
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('cache-control'), path).toBe('no-cache');
      expect(response.headers.get('etag'), path).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    }
  });

  it('answers 304 with no body when If-None-Match names the current ETag (strong, weak, in a list, or *)', async () => {
    const etag = (await get('/files/app.js')).headers.get('etag')!;
    expect((await get('/files/app.css')).headers.get('etag')).not.toBe(etag);
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await get('/files/app.js', { 'if-none-match': ifNoneMatch });
      expect(response.status, ifNoneMatch).toBe(304);
      expect(await response.text(), ifNoneMatch).toBe('');
      expect(response.headers.get('etag'), ifNoneMatch).toBe(etag);
    }
    const stale = await get('/files/app.js', { 'if-none-match': '"an-older-version"' });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe('console.log("app");');
  });

  it('answers HEAD with the headers alone', async () => {
    const response = await get('/files/app.css', {}, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await response.text()).toBe('');
  });

  it('serves nothing but plain names of the directory’s own files: no traversal, dot-files, sub-directories, unknown types or left-out files', async () => {
    for (const path of [
      '/files/..%2Fsecret.js',
      '/files/..%2F..%2F..%2Fetc%2Fpasswd',
      '/files/nested%2Finner.js',
      '/files/nested',
      '/files/.hidden.js',
      '/files/notes.txt',
      '/files/draft.js',
      '/files/absent.js',
      '/files/%2Fetc%2Fpasswd',
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      const body = (await response.json()) as { error: string };
      expect(body.error, path).toMatch(/^no such file: /);
    }
  });

  it('serves nothing from a directory that does not exist, without failing', async () => {
    const response = await get('/missing/app.js');
    expect(response.status).toBe(404);
  });
});
