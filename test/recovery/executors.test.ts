import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router, listen, type StartedServer } from '../../lib/http.js';
import { silentLogger } from '../../lib/log.js';
import { probeSchema } from '../../central/recovery/config.js';
import { runProbe } from '../../central/recovery/executors.js';
import { runCommand } from '../../lib/command.js';
import { createRedactor } from '../../lib/redact.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { PG_ADMIN_URL } from '../peers/postgres.js';

const redact = createRedactor(['franchise-key-123']);
const node = (code: string): [string, ...string[]] => [process.execPath, '-e', code];
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const ctx = { redact, tailBytes: 4000 };

describe('command runner', () => {
  it('kills a hanging command with SIGKILL at its timeout', async () => {
    const started = Date.now();
    const result = await runCommand({ argv: node('process.on("SIGTERM", () => {}); console.log("working"); setInterval(() => {}, 1000)'), timeoutMs: 3000 }, { redact });
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: null });
    expect(result.output).toContain('working');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(alive(result.pid!)).toBe(false);
  });

  it('redacts configured secrets and secret-looking values from the output', async () => {
    const printed = [
      'connecting with password=hunter2 user=main',
      'PGPASSWORD=s3cr3tvalue pg_dump',
      'Authorization: Bearer eyJhbGciOi.payload.sig',
      'api key franchise-key-123 loaded',
      'db postgres://app:pw-in-url@db.local:5432/main',
      '{"token": "tok_abcdef"}',
    ].join('\n');
    const result = await runCommand({ argv: node(`process.stdout.write(${JSON.stringify(printed)})`), timeoutMs: 10_000 }, { redact });
    expect(result.exitCode).toBe(0);
    for (const secret of ['hunter2', 's3cr3tvalue', 'eyJhbGciOi', 'franchise-key-123', 'pw-in-url', 'tok_abcdef']) expect(result.output).not.toContain(secret);
    expect(result.output).toContain('password=[redacted] user=main');
    expect(result.output).toContain('Bearer [redacted]');
    expect(result.output).toContain('postgres://app:[redacted]@db.local:5432/main');
  });

  it('keeps only the tail of long output, and reports what could not start', async () => {
    const result = await runCommand({ argv: node('for (let i = 0; i < 5000; i++) console.log("line " + i)'), timeoutMs: 10_000 }, { redact, tailChars: 300 });
    expect(result.output.length).toBeLessThanOrEqual(300);
    expect(result.output).toContain('line 4999');
    const missing = await runCommand({ argv: ['/nonexistent/hotpot-tool', '--x'], timeoutMs: 1000 }, { redact });
    expect(missing.error).toMatch(/ENOENT/);
    expect(missing.exitCode).toBeNull();
  });

  it('never runs its argv through a shell', async () => {
    const result = await runCommand({ argv: ['echo', 'a; echo injected', '$(id)'], timeoutMs: 5000 }, { redact });
    expect(result.output.trim()).toBe('a; echo injected $(id)');
  });
});

describe('probes', () => {
  let server: StartedServer;
  beforeAll(async () => {
    const router = new Router()
      .get('/api/status', () => ({ status: 200, body: { status: 'ok', chain: { height: 12 } } }))
      .get('/broken', () => ({ status: 503, body: { status: 'degraded' } }));
    server = await listen(router, '127.0.0.1', 0, silentLogger());
  });
  afterAll(() => server.close());

  const probe = (spec: Record<string, unknown>) => runProbe(probeSchema.parse(spec), ctx);

  it('http: status, body text and JSON path', async () => {
    const url = `http://127.0.0.1:${server.port}/api/status`;
    expect(await probe({ type: 'http', url, expectBody: '"ok"' })).toMatchObject({ ok: true });
    expect(await probe({ type: 'http', url, expectJson: { path: 'chain.height', equals: 12 } })).toMatchObject({ ok: true });
    expect(await probe({ type: 'http', url, expectJson: { path: 'status', equals: 'down' } })).toMatchObject({ ok: false, detail: expect.stringContaining('expected "down"') });
    expect(await probe({ type: 'http', url, expectBody: 'maintenance' })).toMatchObject({ ok: false });
    expect(await probe({ type: 'http', url: `http://127.0.0.1:${server.port}/broken` })).toMatchObject({ ok: false, detail: expect.stringContaining('answered 503') });
  });

  it('http: a closed port fails within the probe timeout', async () => {
    const { freePort } = await import('../peers/net.js');
    const result = await probe({ type: 'http', url: `http://127.0.0.1:${await freePort()}/api/status`, timeoutMs: 2000 });
    expect(result.ok).toBe(false);
  });

  it('disk: free percentage against the limit', async () => {
    expect(await probe({ type: 'disk', path: '/', minFreePercent: 0 })).toMatchObject({ ok: true, detail: expect.stringMatching(/% free/) });
    expect(await probe({ type: 'disk', path: '/', minFreePercent: 100 })).toMatchObject({ ok: false });
  });

  it('command: exit code decides, output is kept', async () => {
    expect(await probe({ type: 'command', argv: ['true'] })).toMatchObject({ ok: true, exitCode: 0 });
    expect(await probe({ type: 'command', argv: node('console.log("inactive"); process.exit(3)'), expectExit: 0 })).toMatchObject({ ok: false, exitCode: 3, output: expect.stringContaining('inactive') });
  });
});

describeWithPeers('postgres probe', [peers.postgres()], () => {
  it('connects and runs SELECT 1, or a configured check', async () => {
    expect(await runProbe(probeSchema.parse({ type: 'postgres', url: PG_ADMIN_URL }), ctx)).toMatchObject({ ok: true });
    expect(await runProbe(probeSchema.parse({ type: 'postgres', url: PG_ADMIN_URL, query: 'SELECT count(*) FROM pg_database', min: 1 }), ctx)).toMatchObject({ ok: true });
    expect(await runProbe(probeSchema.parse({ type: 'postgres', url: PG_ADMIN_URL, query: "SELECT to_regclass('public.no_such_table') IS NOT NULL" }), ctx)).toMatchObject({ ok: false });
    const missing = await runProbe(probeSchema.parse({ type: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/hotpot_no_such_db_x' }), ctx);
    expect(missing).toMatchObject({ ok: false, detail: expect.stringContaining('does not exist') });
  });
});
