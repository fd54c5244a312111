import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import type { NoticesBody } from '../../agent/notices.js';
import type { Central } from '../../central/central.js';
import type { ProcedureSummary, RunRecord } from '../../central/recovery/index.js';
import { startAgent, startCentral } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { brokerOf } from '../helpers/logins.js';
import { waitFor } from '../peers/net.js';
import { mainServerPeer, mainServerRunbook, type ManagedProcess } from '../peers/recovery-peers.js';

/** The seed procedure's notice (central/recovery/README.md). */
const MAIN_SERVER_DOWN = {
  ru: 'Основной сервер недоступен. Заказы хранятся на этой кассе и будут отправлены, когда он вернётся.',
  en: 'The main server is down. Orders are kept on this box and will be sent when it is back.',
  ka: 'მთავარი სერვერი მიუწვდომელია. შეკვეთები ინახება ამ მოწყობილობაზე და გაიგზავნება, როცა ის დაბრუნდება.',
};

describe('a main-server outage tells the staff by itself: its procedure posts a notice and clears it once the server is verified up', () => {
  let dir: string;
  let central: Central;
  let server: ManagedProcess;
  let agent: Agent;

  beforeAll(async () => {
    dir = tempDir('runbook-notice');
    server = await mainServerPeer(dir);
    await server.start();
    const runbook = mainServerRunbook(server, { every: '500ms', waitIntervalMs: 250 });
    const [immediate] = runbook.stages;
    central = await startCentral(dir, {
      extra: {
        recovery: {
          host: { enabled: false },
          procedures: {
            'main-server': {
              ...runbook,
              stages: [{ ...immediate!, steps: [{ type: 'notice', id: 'tell-staff', severity: 'critical', text: MAIN_SERVER_DOWN }, ...immediate!.steps] }],
            },
          },
        },
      },
    });
    agent = await startAgent(dir, 'tbilisi-01', brokerOf(central), { language: 'ka' });
  });

  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const notices = async () => ((await (await fetch(`http://127.0.0.1:${agent.httpPort}/api/notices`)).json()) as NoticesBody).notices;
  const procedure = async () => (await httpJson<ProcedureSummary[]>(central.httpPort!, 'GET', '/api/runbooks')).body[0]!;

  it('posts the notice when the server goes down and clears it when the run verifies it up', async () => {
    await waitFor(async () => (await procedure()).health === 'up', 'the first probe to see the main server up', 20_000);
    const runsBefore = (await httpJson<RunRecord[]>(central.httpPort!, 'GET', '/api/runbooks/runs')).body.length;
    await server.kill();
    await waitFor(async () => (await notices()).length === 1, 'the staff to see the notice', 20_000, 50);
    const [notice] = await notices();
    expect(notice).toMatchObject({ severity: 'critical', text: MAIN_SERVER_DOWN });
    await waitFor(async () => (await procedure()).lastRun?.status === 'resolved', 'the run to restart and verify the server', 60_000);
    await waitFor(async () => (await notices()).length === 0, 'the notice to clear', 10_000, 50);
    expect((await httpJson(central.httpPort!, 'GET', '/api/notices')).body).toEqual([]);

    const runs = (await httpJson<RunRecord[]>(central.httpPort!, 'GET', '/api/runbooks/runs')).body;
    expect(runs.length).toBe(runsBefore + 1);
    const steps = runs[0]!.steps;
    expect(steps.find((s) => s.stepId === 'tell-staff' && s.phase === 'announce')).toMatchObject({
      ok: true,
      detail: `notice ${notice!.id} (critical) posted for the staff at every point: ${MAIN_SERVER_DOWN.en}`,
    });
    expect(steps.some((s) => s.phase === 'note' && s.what === `notice(s) ${notice!.id} cleared: main-server is verified up`)).toBe(true);
  });
});
