import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import type { NoticesBody } from '../../agent/notices.js';
import type { Central } from '../../central/central.js';
import type { StoredNotice } from '../../central/notices/index.js';
import { startAgent, startCentral } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { brokerOf } from '../helpers/logins.js';
import { waitFor } from '../peers/net.js';

const TEXT = {
  ru: 'Основной сервер недоступен. Заказы хранятся на этой кассе и будут отправлены, когда он вернётся.',
  en: 'The main server is down. Orders are kept on this box and will be sent when it is back.',
  ka: 'მთავარი სერვერი მიუწვდომელია. შეკვეთები ინახება ამ მოწყობილობაზე და გაიგზავნება, როცა ის დაბრუნდება.',
};

/** What a staff page reads: the agent's `GET /api/notices`. */
async function agentNotices(agent: Agent): Promise<NoticesBody> {
  const res = await fetch(`http://127.0.0.1:${agent.httpPort}/api/notices`, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  return (await res.json()) as NoticesBody;
}

describe('notices: posted at central, retained on `notices`, read by every agent', () => {
  let dir: string;
  let central: Central;
  const agents: Agent[] = [];

  beforeEach(async () => {
    dir = tempDir('notices');
    central = await startCentral(dir);
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.stop();
    await central.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (pointId: string, language: 'ru' | 'en' | 'ka') => {
    const agent = await startAgent(dir, pointId, brokerOf(central), { language });
    agents.push(agent);
    return agent;
  };

  it('an operator posts a notice: two agents (ru, ka) have it within 5 s, an agent started later too; clearing it empties them all', async () => {
    const ru = await start('tbilisi-01', 'ru');
    const ka = await start('batumi-01', 'ka');
    await waitFor(async () => (await agentNotices(ru)).updatedAt !== null && (await agentNotices(ka)).updatedAt !== null, 'the agents to hear the (empty) retained notices');
    expect((await agentNotices(ru)).notices).toEqual([]);

    const operator = await central.access.createToken('shift-lead', 'operator');
    const posted = await httpJson<StoredNotice>(central.httpPort!, 'POST', '/api/notices', { severity: 'critical', text: TEXT }, { authorization: `Bearer ${operator}` });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ severity: 'critical', text: TEXT, source: 'user:shift-lead', createdBy: 'shift-lead', clearedAt: null });
    const postedAt = Date.now();
    for (const agent of [ru, ka]) {
      await waitFor(async () => (await agentNotices(agent)).notices.some((n) => n.id === posted.body.id), `${agent.config.pointId} to have the notice`, 5000, 50);
      const [notice] = (await agentNotices(agent)).notices;
      // Each page shows it in its own language.
      expect(notice!.text[agent.config.language]).toBe(TEXT[agent.config.language]);
      expect(notice).toEqual({ id: posted.body.id, severity: 'critical', text: TEXT, since: posted.body.since });
    }
    expect(Date.now() - postedAt).toBeLessThan(5000);

    const later = await start('kutaisi-01', 'en');
    await waitFor(async () => (await agentNotices(later)).notices.length === 1, 'the later agent to get the retained notice', 5000, 50);

    expect((await httpJson<StoredNotice[]>(central.httpPort!, 'GET', '/api/notices')).body.map((n) => n.id)).toEqual([posted.body.id]);
    const cleared = await httpJson<StoredNotice>(central.httpPort!, 'DELETE', `/api/notices/${posted.body.id}`, undefined, { authorization: `Bearer ${operator}` });
    expect(cleared).toMatchObject({ status: 200, body: { clearedBy: 'shift-lead' } });
    for (const agent of [ru, ka, later]) await waitFor(async () => (await agentNotices(agent)).notices.length === 0, `${agent.config.pointId} to drop the notice`, 5000, 50);
    expect((await httpJson(central.httpPort!, 'DELETE', `/api/notices/${posted.body.id}`, undefined, { authorization: `Bearer ${operator}` })).status).toBe(200);
    expect((await httpJson(central.httpPort!, 'DELETE', '/api/notices/no-such-notice', undefined, { authorization: `Bearer ${operator}` })).status).toBe(404);
  });

  it('refuses bad notices and viewers, and changes nothing', async () => {
    const viewer = await central.access.createToken('watcher', 'viewer');
    expect((await httpJson(central.httpPort!, 'POST', '/api/notices', { severity: 'info', text: TEXT }, { authorization: `Bearer ${viewer}` })).status).toBe(403);
    expect((await httpJson(central.httpPort!, 'POST', '/api/notices', { severity: 'info', text: TEXT }, { authorization: '' })).status).toBe(401);
    const missing = await httpJson<{ issues: { path: string }[] }>(central.httpPort!, 'POST', '/api/notices', { severity: 'urgent', text: { ru: 'a', en: 'b' } });
    expect(missing.status).toBe(400);
    expect(missing.body.issues.map((i) => i.path)).toEqual(['severity', 'text.ka']);
    const long = await httpJson<{ issues: { path: string; message: string }[] }>(central.httpPort!, 'POST', '/api/notices', { severity: 'info', text: { ...TEXT, en: 'x'.repeat(501) } });
    expect(long.status).toBe(400);
    expect(long.body.issues[0]).toMatchObject({ path: 'text.en' });
    expect((await httpJson(central.httpPort!, 'GET', '/api/notices')).body).toEqual([]);
  });

  it('publishes the notices again on every broker connection: a fresh broker (central restarted) still serves them to a new agent', async () => {
    const posted = await httpJson<StoredNotice>(central.httpPort!, 'POST', '/api/notices', { severity: 'warning', text: TEXT });
    expect(posted.status).toBe(201);
    await central.stop();
    // The embedded broker starts empty: only central's republish on connect can give the new agent the notice.
    central = await startCentral(dir);
    const agent = await start('tbilisi-02', 'ka');
    await waitFor(async () => (await agentNotices(agent)).notices.some((n) => n.id === posted.body.id), 'the notice on a fresh broker', 5000, 50);
  });
});
