import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { REDACT_PATHS } from '../../lib/redact.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { centralPlugins } from '../../central/plugins.js';
import type { Role } from '../../central/plugin.js';
import { httpJson, tempDir, type HttpResult } from '../helpers/hotpot.js';
import { freePort, waitFor } from '../peers/net.js';

const PASSWORD = 'a long enough password';
const ROLE_ORDER: Role[] = ['viewer', 'operator', 'approver', 'admin'];

/** Central's pino lines, parsed: what the service really logs. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink) };
}

describe('access control at central', () => {
  const running: Central[] = [];
  afterEach(async () => {
    for (const central of running.splice(0)) await central.stop();
  });

  async function start(extra: Record<string, unknown> = {}) {
    const { lines, log } = capturedLogger();
    const dataDir = join(tempDir('access'), 'central');
    const config = loadCentralConfig(undefined, {}, {
      dataDir,
      http: { port: 0 },
      broker: { host: '127.0.0.1', port: 0 },
      recovery: { host: { enabled: false } },
      // Forwarding on, so its routes are mounted and checked too (nothing listens there).
      upstream: { url: `http://127.0.0.1:${await freePort()}/api/sales` },
      ...extra,
    });
    const central = new Central(config, { log, plugins: centralPlugins() });
    running.push(central);
    await central.start();
    return { central, port: central.httpPort!, lines, dataDir };
  }

  async function cookieFor(port: number, username: string): Promise<string> {
    const res = await httpJson(port, 'POST', '/api/login', { username, password: PASSWORD }, { authorization: '' });
    expect(res.status).toBe(200);
    return String(res.headers['set-cookie']).split(';')[0]!;
  }

  it('guards every state-changing route the router has: login, role, Origin, JSON and Host', async () => {
    const { central, port } = await start();
    const cookies: Partial<Record<Role, string>> = {};
    const tokens: Partial<Record<Role, string>> = {};
    for (const role of ROLE_ORDER) {
      await central.access.addUser(`${role}-user`, role, PASSWORD);
      cookies[role] = await cookieFor(port, `${role}-user`);
      tokens[role] = await central.access.createToken(`${role}-token`, role);
    }
    const origin = `http://127.0.0.1:${port}`;
    const incident = central.incidents.raise({ key: 'test:guard', title: 'guarded', severity: 'minor', detail: 'x' });

    const changes = central.router.list().filter((route) => !['GET', 'HEAD'].includes(route.method) && route.meta.access !== 'public');
    // Every plugin's changes are here: a new route cannot be forgotten by this test.
    expect(changes.length).toBeGreaterThanOrEqual(8);
    for (const route of changes) {
      const path = route.path.replace(/:[a-zA-Z]+/g, 'nope');
      const needed = route.meta.access as Role;
      const call = (headers: Record<string, string>, body: string | undefined = '{}'): Promise<HttpResult<{ code?: string; requiredRole?: string }>> =>
        httpJson(port, route.method, path, body, { authorization: '', 'content-type': 'application/json', ...headers });
      const what = `${route.method} ${route.path}`;

      expect((await call({})).status, `${what} without login`).toBe(401);
      const lower = ROLE_ORDER[ROLE_ORDER.indexOf(needed) - 1];
      if (lower) {
        const refused = await call({ cookie: cookies[lower]!, origin });
        expect(refused.status, `${what} as ${lower}`).toBe(403);
        expect(refused.body.requiredRole, what).toBe(needed);
        expect((await call({ authorization: `Bearer ${tokens[lower]}` })).status, `${what} with a ${lower} token`).toBe(403);
      }
      const cookie = cookies[needed]!;
      expect((await call({ cookie, origin: 'http://evil.example' })).body.code, `${what} cross-site`).toBe('CROSS_SITE');
      expect((await call({ cookie, origin, 'content-type': 'text/plain' })).status, `${what} text/plain`).toBe(415);
      expect((await call({ cookie })).body.code, `${what} without Origin`).toBe('ORIGIN_REQUIRED');
      expect((await call({ cookie, origin, host: 'attacker.example' })).body.code, `${what} foreign Host`).toBe('HOST_NOT_ALLOWED');
      expect((await call({ authorization: `Bearer ${tokens[needed]}`, host: 'attacker.example' })).body.code, `${what} token, foreign Host`).toBe('HOST_NOT_ALLOWED');
      // Past the gate: whatever the handler says of a dummy id, it is not an access refusal.
      const through = await call({ cookie, origin });
      expect([401, 403, 415], `${what} with the right role`).not.toContain(through.status);
    }
    // A refused ack changes nothing; the same request from the signed-in operator's page acks.
    const ack = (headers: Record<string, string>) => httpJson(port, 'POST', `/api/incidents/${incident.id}/ack`, '{}', { authorization: '', 'content-type': 'application/json', ...headers });
    await ack({ cookie: cookies.operator!, origin: 'http://evil.example', 'content-type': 'text/plain' });
    await ack({ cookie: cookies.operator!, origin, host: 'attacker.example' });
    await ack({ cookie: cookies.viewer!, origin });
    expect(central.incidents.get(incident.id)!.status).toBe('open');
    expect((await ack({ cookie: cookies.operator!, origin })).status).toBe(200);
    expect(central.incidents.get(incident.id)).toMatchObject({ status: 'acked', ackedBy: 'operator-user' });
  });

  it('opens only health, metrics, the login and setup pages, assets, signed ack links and the public status page without login', async () => {
    const { central, port } = await start();
    const open = central.router
      .list()
      .filter((route) => route.meta.access === 'public')
      .map((route) => `${route.method} ${route.path}`)
      .sort();
    expect(open).toEqual(
      [
        'GET /access/:file',
        'GET /api/a/:code',
        'GET /api/ack/:incidentId',
        'GET /api/health',
        'GET /login',
        'GET /metrics',
        'GET /setup',
        'GET /static/:file',
        'GET /static/panels/:file',
        'GET /status',
        'GET /status.json',
        'GET /vendor/uplot/:file',
        'POST /api/a/:code',
        'POST /api/ack/:incidentId',
        'POST /api/login',
        'POST /api/logout',
        'POST /api/setup',
      ].sort(),
    );
    for (const route of central.router.list().filter((r) => r.method === 'GET' && r.meta.access !== 'public')) {
      const path = route.path.replace(/:[a-zA-Z]+/g, 'nope');
      const res = await httpJson(port, 'GET', path, undefined, { authorization: '' });
      if (path.startsWith('/api/')) expect(res.status, path).toBe(401);
      else expect([res.status, res.headers.location], path).toEqual([303, `/login?next=${encodeURIComponent(path)}`]);
    }
    // DNS rebinding: even health is not answered under a name central does not have.
    expect((await httpJson(port, 'GET', '/api/health', undefined, { host: 'attacker.example' })).status).toBe(403);
    expect((await httpJson(port, 'GET', '/api/health', undefined, { host: `localhost:${port}` })).status).toBe(200);
  });

  it('logs in with an HttpOnly SameSite=Strict cookie, says who is signed in, and logs out', async () => {
    const { central, port } = await start();
    await central.access.addUser('nino', 'operator', PASSWORD);
    const login = await httpJson(port, 'POST', '/api/login', { username: 'nino', password: PASSWORD }, { authorization: '' });
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^hotpot_session=[A-Za-z0-9_-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const cookie = setCookie.split(';')[0]!;
    expect((await httpJson(port, 'GET', '/api/me', undefined, { cookie })).body).toEqual({ username: 'nino', role: 'operator' });
    const token = await central.access.createToken('grafana', 'viewer');
    expect((await httpJson(port, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).body).toEqual({ username: 'grafana', role: 'viewer', kind: 'token' });
    expect((await httpJson(port, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}x` })).status).toBe(401);
    await central.access.revokeToken('grafana');
    expect((await httpJson(port, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).status).toBe(401);
    expect((await httpJson(port, 'POST', '/api/logout', {}, { cookie, origin: `http://127.0.0.1:${port}` })).status).toBe(204);
    expect((await httpJson(port, 'GET', '/api/me', undefined, { cookie })).status).toBe(401);
  });

  it('throttles wrong passwords per user and per client with 429 and Retry-After, logging each (never the password)', async () => {
    const { central, port, lines } = await start();
    await central.access.addUser('nino', 'operator', PASSWORD);
    for (let i = 0; i < 5; i++) expect((await httpJson(port, 'POST', '/api/login', { username: 'nino', password: `wrong-${i}-guess` }, { authorization: '' })).status).toBe(401);
    const throttled = await httpJson<{ code: string }>(port, 'POST', '/api/login', { username: 'nino', password: PASSWORD }, { authorization: '' });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(800);
    const failures = lines.filter((line) => line.msg === 'wrong user name or password');
    expect(failures).toHaveLength(5);
    expect(failures[0]).toMatchObject({ user: 'nino', client: '127.0.0.1' });
    expect(JSON.stringify(lines)).not.toContain('wrong-0-guess');
    // An unknown name is refused the same way (no user enumeration).
    expect((await httpJson<{ code: string }>(port, 'POST', '/api/login', { username: 'nobody', password: PASSWORD }, { authorization: '' })).body.code).toBe('LOGIN_FAILED');
  });

  it('ends sessions when the password changes or the user is removed', async () => {
    const { central, port } = await start();
    await central.access.addUser('nino', 'operator', PASSWORD);
    await central.access.addUser('giorgi', 'operator', PASSWORD);
    const nino = await cookieFor(port, 'nino');
    const giorgi = await cookieFor(port, 'giorgi');
    await central.access.setPassword('nino', 'another long password');
    expect((await httpJson(port, 'GET', '/api/me', undefined, { cookie: nino })).status).toBe(401);
    expect((await httpJson(port, 'GET', '/api/me', undefined, { cookie: giorgi })).status).toBe(200);
    await central.access.removeUser('giorgi');
    expect((await httpJson(port, 'GET', '/api/me', undefined, { cookie: giorgi })).status).toBe(401);
  });

  it('first start: a 0600 setup token file (named in the log, never shown) lets /setup create the first admin once', async () => {
    const { port, lines, dataDir } = await start();
    const file = join(dataDir, 'setup-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    const hint = lines.find((line) => line.tokenFile === file);
    expect(hint).toMatchObject({ path: '/setup' });
    expect(JSON.stringify(lines)).not.toContain(token);
    expect((await httpJson<string>(port, 'GET', '/setup', undefined, { authorization: '' })).body).toContain('first admin');
    const wrong = await httpJson<{ code: string }>(port, 'POST', '/api/setup', { token: 'guess', username: 'ada', password: PASSWORD }, { authorization: '' });
    expect(wrong.body.code).toBe('SETUP_REFUSED');
    expect((await httpJson(port, 'POST', '/api/setup', { token, username: 'ada', password: PASSWORD }, { authorization: '' })).status).toBe(201);
    expect(existsSync(file)).toBe(false);
    expect((await httpJson(port, 'GET', '/setup', undefined, { authorization: '' })).headers.location).toBe('/login');
    const cookie = await cookieFor(port, 'ada');
    expect((await httpJson(port, 'GET', '/api/me', undefined, { cookie })).body).toEqual({ username: 'ada', role: 'admin' });
    expect((await httpJson<{ code: string }>(port, 'POST', '/api/setup', { token, username: 'eve', password: PASSWORD }, { authorization: '' })).body.code).toBe('SETUP_DONE');
  });

  it('trusts an SSO proxy only from its addresses, and /metrics takes its token when one is set', async () => {
    const proxied = await start({ http: { port: 0, metricsToken: 'metrics-token-0123456789', authProxy: { userHeader: 'X-User', roleHeader: 'X-Role', trustedProxies: ['127.0.0.1/32', '::1'] } } });
    const me = await httpJson(proxied.port, 'GET', '/api/me', undefined, { authorization: '', 'x-user': 'Nino', 'x-role': 'approver' });
    expect(me.body).toEqual({ username: 'nino', role: 'approver', kind: 'proxy' });
    expect((await httpJson(proxied.port, 'GET', '/api/me', undefined, { authorization: '', 'x-user': 'nino', 'x-role': 'emperor' })).body).toMatchObject({ role: 'viewer' });
    expect((await httpJson(proxied.port, 'GET', '/metrics', undefined, { authorization: '' })).status).toBe(401);
    expect((await httpJson(proxied.port, 'GET', '/metrics', undefined, { authorization: 'Bearer metrics-token-0123456789' })).status).toBe(200);

    const untrusted = await start({ http: { port: 0, authProxy: { userHeader: 'X-User', trustedProxies: ['10.0.0.0/8'] } } });
    expect((await httpJson(untrusted.port, 'GET', '/api/me', undefined, { authorization: '', 'x-user': 'nino' })).status).toBe(401);
    expect((await httpJson(untrusted.port, 'GET', '/metrics', undefined, { authorization: '' })).status).toBe(200);
  });

  it('a destructive step needs two different approvers (not whoever started the run); the audit names both, a forged `by` is ignored', async () => {
    const marker = join(tempDir('two-approvers'), 'failed-over');
    const { central, port } = await start({
      recovery: {
        host: { enabled: false },
        approvals: 2,
        procedures: {
          'main-server': {
            // Healthy main server (nothing to restart): the run is a planned failover started by hand.
            probe: { every: '1h', checks: [{ type: 'command', argv: [process.execPath, '-e', ''] }] },
            stages: [{ name: 'failover', steps: [{ type: 'command', id: 'switch', argv: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'yes')`], destructive: true }] }],
          },
        },
      },
    });
    const as = async (name: string, role: Role) => ({ authorization: `Bearer ${await central.access.createToken(name, role)}` });
    const ada = await as('ada', 'admin');
    const anna = await as('anna', 'approver');
    const boris = await as('boris', 'approver');
    const started = await httpJson<{ run: { id: string; awaiting: { id: string } | null } | null }>(port, 'POST', '/api/runbooks/main-server/run', { reason: 'planned failover' }, ada);
    expect(started.status).toBe(202);
    await waitFor(async () => (await httpJson<Array<{ run: { awaiting: unknown } | null }>>(port, 'GET', '/api/runbooks', undefined, ada)).body[0]?.run?.awaiting != null, 'the run to ask for approval');
    const run = (await httpJson<Array<{ run: { id: string; awaiting: { id: string } } }>>(port, 'GET', '/api/runbooks', undefined, ada)).body[0]!.run;
    const approve = (who: Record<string, string>) => httpJson<{ error?: string }>(port, 'POST', `/api/runbooks/runs/${run.id}/approve`, { stepId: run.awaiting.id, by: 'mallory' }, who);

    expect((await approve(ada)).status).toBe(409); // ada started it
    expect((await approve(anna)).status).toBe(200);
    expect(existsSync(marker)).toBe(false); // one approval is not enough
    const again = await approve(anna);
    expect(again.status).toBe(409);
    expect(again.body.error).toContain('anna has approved');
    expect((await approve(boris)).status).toBe(200);
    await waitFor(() => existsSync(marker), 'the approved failover to run');
    const runs = await httpJson<Array<{ startedBy: string; steps: Array<{ what: string; by: string }> }>>(port, 'GET', '/api/runbooks/runs', undefined, ada);
    expect(runs.body[0]!.startedBy).toBe('ada');
    const approvals = runs.body[0]!.steps.filter((step) => step.what.startsWith('approved'));
    expect(approvals.map((step) => step.by)).toEqual(['anna', 'boris']);
    expect(JSON.stringify(runs.body)).not.toContain('mallory');
  });
});
