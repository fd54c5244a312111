import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import type { PointView } from '../../central/fleet.js';
import { StatusBoard, statusConfigSchema, statusSnapshot, type StatusSnapshot } from '../../central/status/index.js';
import { ManualClock } from '../../lib/clock.js';
import { pageLanguage } from '../../central/status/page.js';
import { startAgent, startCentral } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { brokerOf } from '../helpers/logins.js';
import { waitFor } from '../peers/net.js';
import { mainServerPeer, type ManagedProcess } from '../peers/recovery-peers.js';

const TEXT = {
  ru: 'Оплата картой временно недоступна.',
  en: 'Card payments are unavailable for now.',
  ka: 'ბარათით გადახდა დროებით მიუწვდომელია.',
};
const open = { authorization: '' };

describe('the public status page: /status and /status.json without login', () => {
  let dir: string;
  let central: Central;
  let server: ManagedProcess;
  let agent: Agent;

  beforeAll(async () => {
    dir = tempDir('status');
    server = await mainServerPeer(dir);
    await server.start();
    central = await startCentral(dir, {
      extra: {
        recovery: {
          host: { enabled: false },
          procedures: {
            // No restart: once down it stays down (escalated), so the page has an outage to show.
            'main-server': {
              probe: { every: '500ms', checks: [{ type: 'http', url: `http://127.0.0.1:${server.port}/api/status` }] },
              stages: [{ name: 'wait', steps: [{ type: 'wait', id: 'comes-back', timeoutMs: 500, intervalMs: 100 }] }],
            },
          },
        },
      },
    });
    agent = await startAgent(dir, 'tbilisi-01', brokerOf(central));
  });

  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = () => httpJson<StatusSnapshot>(central.httpPort!, 'GET', '/status.json', undefined, open);

  it('lists components (unwatched ones "not monitored"), fleet counts and notices, with no point id, address or URL', async () => {
    await waitFor(async () => (await status()).body.components[0]?.state === 'up' && (await status()).body.fleet.points === 1, 'the main server up and the point counted');
    const posted = await httpJson<{ id: string }>(central.httpPort!, 'POST', '/api/notices', { severity: 'warning', text: TEXT });
    await waitFor(async () => (await status()).body.notices.length === 1, 'the notice on the status', 5000, 100);
    const res = await status();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      overall: 'degraded',
      timeZone: 'Asia/Tbilisi',
      components: [
        { id: 'mainServer', state: 'up' },
        { id: 'database', state: 'not-monitored', since: null },
        { id: 'chain', state: 'not-monitored', since: null },
      ],
      fleet: { points: 1 },
      notices: [{ id: posted.body.id, severity: 'warning', text: TEXT }],
      incidents: [],
    });
    expect(Object.values(res.body.fleet.byCondition).reduce((a, b) => a + b, 0)).toBe(1);
    expect(res.body).not.toHaveProperty('points');
    const text = JSON.stringify(res.body);
    expect(text).not.toContain('tbilisi-01');
    expect(text).not.toContain(String(server.port));
    expect(text).not.toMatch(/https?:\/\/|127\.0\.0\.1/);
    await httpJson(central.httpPort!, 'DELETE', `/api/notices/${posted.body.id}`);
  });

  it('is cacheable: an ETag, Cache-Control public, and 304 for a browser that has it', async () => {
    const first = await status();
    expect(first.headers['cache-control']).toBe('public, max-age=15');
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await httpJson(central.httpPort!, 'GET', '/status.json', undefined, { ...open, 'if-none-match': etag });
    // The same status (built within its second, or rebuilt with the same content): not sent again.
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();
    const page = await httpJson<string>(central.httpPort!, 'GET', '/status?lang=en', undefined, open);
    const cached = await httpJson(central.httpPort!, 'GET', '/status?lang=en', undefined, { ...open, 'if-none-match': page.headers.etag! });
    expect(cached.status).toBe(304);
  });

  it('the page reads in ka, ru or en (by ?lang= or the browser), with its own CSP and nothing internal', async () => {
    const posted = await httpJson<{ id: string }>(central.httpPort!, 'POST', '/api/notices', { severity: 'info', text: TEXT });
    await waitFor(async () => (await status()).body.notices.length === 1, 'the notice on the status', 5000, 100);
    const ka = await httpJson<string>(central.httpPort!, 'GET', '/status', undefined, open);
    expect(ka.status).toBe(200);
    expect(ka.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(ka.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'; style-src 'self' 'sha256-[\w+/=]+'/);
    expect(ka.headers.vary).toBe('Accept-Language');
    expect(ka.body).toContain('<html lang="ka">');
    expect(ka.body).toContain('სერვისის სტატუსი');
    expect(ka.body).toContain(TEXT.ka);
    expect(ka.body).toContain('მთავარი სერვერი');
    const ru = await httpJson<string>(central.httpPort!, 'GET', '/status', undefined, { ...open, 'accept-language': 'ru-RU,ru;q=0.9,en;q=0.8' });
    expect(ru.body).toContain('<html lang="ru">');
    expect(ru.body).toContain(TEXT.ru);
    expect(ru.body).toContain('Не отслеживается');
    const en = await httpJson<string>(central.httpPort!, 'GET', '/status?lang=en', undefined, { ...open, 'accept-language': 'ru' });
    expect(en.body).toContain('Service status');
    for (const page of [ka, ru, en]) {
      expect(page.body).not.toContain('tbilisi-01');
      expect(page.body).not.toContain(String(server.port));
    }
    await httpJson(central.httpPort!, 'DELETE', `/api/notices/${posted.body.id}`);
  });

  it("shows a component's outage and its open incident while its runbook says it is down", async () => {
    await server.kill();
    await waitFor(async () => (await status()).body.overall === 'outage', 'the outage on the status page', 30_000, 200);
    const res = (await status()).body;
    expect(res.components[0]).toMatchObject({ id: 'mainServer', state: 'down', since: expect.any(Number) });
    expect(res.incidents).toEqual([{ component: 'mainServer', severity: 'critical', since: expect.any(Number), acknowledged: false }]);
    const page = await httpJson<string>(central.httpPort!, 'GET', '/status?lang=en', undefined, open);
    expect(page.body).toContain('Outage');
    expect(page.body).toMatch(/Main server<\/span><span class="state-down">Down <span class="muted">since \d\d:\d\d<\/span>/);
    expect(page.body).toContain('Open incidents');
    expect(JSON.stringify(res)).not.toContain('main-server');
  });
});

describe('status snapshot (pure)', () => {
  const point = (pointId: string, condition: PointView['condition']) => ({ pointId, group: pointId.split('-')[0]!, condition }) as PointView;
  const sources = {
    now: 0,
    timeZone: 'Asia/Tbilisi',
    health: () => null,
    incident: () => null,
    notices: [],
    points: [point('tbilisi-01', 'ok'), point('batumi-01', 'manual'), point('batumi-02', 'offline')],
  };

  it('names points only when status.showPoints says so', () => {
    const hidden = statusSnapshot(statusConfigSchema.parse({}), sources);
    expect(hidden).toMatchObject({ overall: 'operational', fleet: { points: 3, byCondition: { ok: 1, manual: 1, offline: 1, down: 0, degraded: 0 } } });
    expect(JSON.stringify(hidden)).not.toContain('batumi');
    const shown = statusSnapshot(statusConfigSchema.parse({ showPoints: true }), sources);
    expect(shown.points).toEqual([
      { pointId: 'tbilisi-01', group: 'tbilisi', condition: 'ok' },
      { pointId: 'batumi-01', group: 'batumi', condition: 'manual' },
      { pointId: 'batumi-02', group: 'batumi', condition: 'offline' },
    ]);
  });

  it('builds at most once a second, and keeps its ETag across rebuilds that change nothing', () => {
    const clock = new ManualClock(1000);
    let builds = 0;
    let notices: StatusSnapshot['notices'] = [];
    const board = new StatusBoard((now) => (builds++, statusSnapshot(statusConfigSchema.parse({}), { ...sources, now, notices })), clock);
    const first = board.body('json', (snapshot) => JSON.stringify(snapshot));
    clock.advance(500);
    expect(board.body('json', () => 'never rendered again')).toBe(first);
    expect(builds).toBe(1);
    clock.advance(60_000);
    expect(board.body('json', () => 'never rendered again')).toBe(first);
    expect(builds).toBe(2);
    expect(board.snapshot.updatedAt).toBe(1000);
    notices = [{ id: 'n1', severity: 'info', text: TEXT, since: 0 }];
    clock.advance(1000);
    const changed = board.body('json', (snapshot) => JSON.stringify(snapshot));
    expect(changed.etag).not.toBe(first.etag);
    expect(board.snapshot.updatedAt).toBe(62_500);
  });

  it('picks the language from ?lang=, then the browser, then the config', () => {
    expect(pageLanguage('ru', 'en', 'ka')).toBe('ru');
    expect(pageLanguage(null, 'de-DE,en;q=0.5,ru;q=0.8', 'ka')).toBe('ru');
    expect(pageLanguage('xx', 'de', 'ka')).toBe('ka');
  });
});
