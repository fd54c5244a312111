import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Central } from '../../central/central.js';
import type { ProcedureSummary, RunRecord } from '../../central/recovery/index.js';
import { startCentral } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { waitFor } from '../peers/net.js';
import { mainServerPeer, type ManagedProcess } from '../peers/recovery-peers.js';
import { startHttpReceiver, type HttpReceiver } from '../notify/receivers.js';

const TELL_OPS = 'main server failed over to the backup server';

/**
 * The README's failover example, end to end: the restart fails, ops approve the DNS switch and
 * the backup's start, and the notify step tells the team chat (a real HTTP receiver) before the
 * run resolves — the audit names the channel that accepted it.
 */
describe("the README's failover example: restart fails → dns-switch → start-backup → notify", () => {
  let dir: string;
  let central: Central;
  let server: ManagedProcess;
  let chat: HttpReceiver;
  let backup: HttpReceiver;
  let dnsFile: string;

  beforeAll(async () => {
    dir = tempDir('failover');
    server = await mainServerPeer(dir);
    await server.start();
    chat = await startHttpReceiver();
    // The backup server's start hook: answers once "the backup" (the same port) serves again.
    backup = await startHttpReceiver(async () => {
      await server.start();
      return { status: 202, body: '{"started":true}' };
    });
    dnsFile = join(dir, 'dns-target');
    central = await startCentral(dir, {
      extra: {
        notify: { channels: { chat: { webhookUrl: `${chat.url}/hooks/team` } } },
        recovery: {
          host: { enabled: false },
          procedures: {
            'main-server': {
              probe: { every: '500ms', checks: [{ type: 'http', url: `http://127.0.0.1:${server.port}/api/status`, expectJson: { path: 'status', equals: 'ok' } }] },
              stages: [
                {
                  name: 'immediate',
                  steps: [{ type: 'command', id: 'restart', argv: [process.execPath, '-e', 'process.exit(1)'], restart: true, timeoutMs: 10_000 }],
                },
                {
                  name: 'failover',
                  steps: [
                    { type: 'command', id: 'dns-switch', argv: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(dnsFile)}, 'backup')`], destructive: true },
                    { type: 'http', id: 'start-backup', url: `${backup.url}/api/start`, destructive: true },
                    { type: 'notify', id: 'tell-ops', text: TELL_OPS },
                  ],
                },
              ],
            },
          },
        },
      },
    });
  });

  afterAll(async () => {
    await central?.stop();
    await server?.kill();
    await chat?.close();
    await backup?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const procedure = async () => (await httpJson<ProcedureSummary[]>(central.httpPort!, 'GET', '/api/runbooks')).body[0]!;
  async function approve(stepId: string): Promise<void> {
    await waitFor(async () => (await procedure()).run?.awaiting?.id === stepId, `the run to wait for approval of ${stepId}`, 30_000);
    const runId = (await procedure()).run!.id;
    const approved = await httpJson(central.httpPort!, 'POST', `/api/runbooks/runs/${runId}/approve`, { stepId });
    expect(approved.status).toBe(200);
  }
  const chatTexts = () => chat.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);

  it('delivers the notify step on the team chat, in order, and audits the channel that accepted it', async () => {
    await waitFor(async () => (await procedure()).health === 'up', 'the first probe to see the main server up', 20_000);
    await server.kill();
    await approve('dns-switch');
    await approve('start-backup');
    await waitFor(async () => (await procedure()).lastRun?.status === 'resolved', 'the failover run to resolve', 60_000);
    expect(readFileSync(dnsFile, 'utf8')).toBe('backup');
    expect(backup.requests).toHaveLength(1);

    // The all-clear follows the resolution at once (not a tick later); the step's words were sent before it.
    await waitFor(() => chat.requests.length >= 3, 'the all-clear on chat', 10_000);
    const headings = chatTexts().map((text) => text.split('\n')[0]);
    expect(headings).toEqual(['[CRITICAL] main-server is down', `[CRITICAL] ${TELL_OPS}`, '[RESOLVED] main-server is down']);
    expect(chatTexts()[1]).toMatch(/^\[CRITICAL\] main server failed over to the backup server\nmain-server is down · since \d\d:\d\d\nAcknowledge: http:\/\/127\.0\.0\.1:\d+\/api\/ack\//);

    const [run] = (await httpJson<RunRecord[]>(central.httpPort!, 'GET', '/api/runbooks/runs')).body;
    const tellOps = run!.steps.find((step) => step.stepId === 'tell-ops' && step.phase === 'announce');
    expect(tellOps).toMatchObject({ ok: true, detail: 'notified (critical) on chat: accepted by team chat' });
    // The announcement finished before the run's final verification, which resolved it.
    const verify = run!.steps.filter((step) => step.phase === 'verify').at(-1)!;
    expect(tellOps!.finishedAt!).toBeLessThanOrEqual(verify.startedAt);
    expect(run!.steps.some((step) => step.phase === 'note' && step.what === 'tell-ops: notified (critical) on chat: accepted by team chat')).toBe(true);

    const incident = central.incidents.list({ status: 'resolved' }).find((i) => i.key === 'runbook:main-server')!;
    const timeline = central.incidents.timeline(incident.id).map((entry) => entry.text);
    expect(timeline).toContain('chat step to team chat: sent (attempt 1)');
    expect(existsSync(dnsFile)).toBe(true);
  });
});
