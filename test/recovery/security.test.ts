import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { silentLogger } from '../../lib/log.js';
import type { Central } from '../../central/central.js';
import { brokerPasswordFile } from '../../central/broker/index.js';
import { approveIsolation } from '../../central/recovery/security.js';
import { startCentral } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { boxConfig, connect, provision } from '../broker/points.js';
import { waitFor } from '../peers/net.js';

const REFUSED_LOGIN = /Not authorized|Bad username or password/i;

describe('isolating a point: the approval rule', () => {
  it('with two approvals the requester is not one of them and nobody approves twice', () => {
    const pending = { runId: 'r', pointId: 'p', reason: 'x', requestedBy: 'olga', approvers: [] };
    expect(approveIsolation(pending, 'olga', 2)).toEqual({ refused: expect.stringContaining('olga asked for this isolation') });
    expect(approveIsolation({ ...pending, approvers: ['nino'] }, 'nino', 2)).toEqual({ refused: expect.stringContaining('already') });
    expect(approveIsolation(pending, 'nino', 2)).toEqual({ approvers: ['nino'], done: false });
    expect(approveIsolation({ ...pending, approvers: ['nino'] }, 'giorgi', 2)).toEqual({ approvers: ['nino', 'giorgi'], done: true });
    expect(approveIsolation(pending, 'olga', 1)).toEqual({ approvers: ['olga'], done: true });
  });
});

describe('isolating a point at a real central with its embedded broker', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('after approval the point is dropped and its agent cannot log in; re-provisioning undoes it', async () => {
    const dir = tempDir('isolate');
    const central: Central = await startCentral(dir, { extra: { recovery: { approvals: 2, host: { enabled: false } } } });
    stops.push(() => central.stop());
    const port = central.httpPort!;
    const passwordFile = brokerPasswordFile(central.config);
    const point = await provision('batumi-02', { brokerUrl: central.brokerUrl, passwordFile });
    const agent = new Agent(boxConfig(point, { HOTPOT_DATA_DIR: join(dir, 'box') }), { log: silentLogger() });
    await agent.start();
    stops.push(() => agent.stop());
    const connected = () => central.fleet.view('batumi-02', central.now())?.connected === true;
    await waitFor(connected, 'the point to connect', 15_000);

    const as = async (name: string, role: 'operator' | 'approver') => `Bearer ${await central.access.createToken(name, role)}`;
    const olga = await as('olga', 'operator');
    const nino = await as('nino', 'approver');
    const giorgi = await as('giorgi', 'approver');
    expect((await httpJson(port, 'POST', '/api/runbooks/security/isolate', { pointId: 'Batumi 02', reason: 'x' }, { authorization: olga })).status).toBe(400);
    const asked = await httpJson<{ runId: string; status: string }>(port, 'POST', '/api/runbooks/security/isolate', { pointId: 'batumi-02', reason: 'card skimmer found on the box' }, { authorization: olga });
    expect(asked.status).toBe(202);
    expect(asked.body.status).toBe('awaiting-approval');
    const runId = asked.body.runId;
    const approve = (authorization: string, stepId = 'isolate') => httpJson<{ status: string; code?: string }>(port, 'POST', `/api/runbooks/runs/${runId}/approve`, { stepId }, { authorization });

    // An operator cannot approve; the requester is not an approver; one approval of two changes nothing.
    expect((await approve(olga)).status).toBe(403);
    expect((await approve(nino)).body.status).toBe('awaiting-approval');
    expect((await approve(nino)).status).toBe(409);
    expect(connected()).toBe(true);

    expect((await approve(giorgi)).body.status).toBe('resolved');
    await waitFor(() => !connected(), 'central to see the point gone', 15_000);
    await expect(connect(central.brokerUrl, point.login)).rejects.toThrow(REFUSED_LOGIN);
    const incident = central.incidents.openFor('security:batumi-02:isolated')!;
    expect(incident).toMatchObject({ pointId: 'batumi-02', severity: 'major' });
    expect(incident.detail).toContain('card skimmer found on the box');

    type Run = { id: string; status: string; reason: string; startedBy: string; steps: { phase: string; what: string; by: string; ok: boolean | null }[] };
    const runs = (await httpJson<Run[]>(port, 'GET', '/api/runbooks/runs?procedure=security')).body;
    expect(runs[0]).toMatchObject({ id: runId, status: 'resolved', reason: 'card skimmer found on the box', startedBy: 'olga' });
    expect(runs[0]!.steps.map((step) => [step.phase, step.by])).toEqual([
      ['request', 'olga'],
      ['approval', 'nino'],
      ['approval', 'giorgi'],
      ['action', 'nino and giorgi (approved)'],
    ]);
    expect(runs[0]!.steps.at(-1)).toMatchObject({ ok: true, what: 'revoke the broker login of batumi-02' });

    // Undo: provision the point again (a new password) and install its new config on the box.
    await agent.stop();
    const again = await provision('batumi-02', { brokerUrl: central.brokerUrl, passwordFile, rotate: true, outDir: join(point.agentJson, '..') });
    const restored = new Agent(boxConfig(again, { HOTPOT_DATA_DIR: join(dir, 'box') }), { log: silentLogger() });
    await restored.start();
    stops.push(() => restored.stop());
    await waitFor(connected, 'the re-provisioned point to connect', 15_000);
    await waitFor(() => central.incidents.openFor('security:batumi-02:isolated') === null, 'the isolation incident to resolve');
  });
});
