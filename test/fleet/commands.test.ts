import { afterEach, describe, expect, it } from 'vitest';
import type { CommandRecord } from '../../central/commands/store.js';
import { topicOf } from '../../sync/protocol.js';
import { waitFor } from '../peers/net.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { startAgent } from '../helpers/inproc.js';
import { HandPublisher, startFleetCentral, viewOf } from './helpers.js';
import { join } from 'node:path';
import { Agent } from '../../agent/agent.js';
import { loadAgentConfig } from '../../agent/config.js';
import { deviceDeps } from '../../agent/checks/index.js';
import { silentLogger } from '../../lib/log.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { agentMqtt, brokerOf } from '../helpers/logins.js';

describe('commands to points (real central, real agent)', () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  async function setup() {
    const dir = tempDir('commands');
    const central = await startFleetCentral(dir);
    running.push(central);
    const agent = await startAgent(dir, 'tbilisi-05', brokerOf(central));
    running.push(agent);
    await waitFor(() => viewOf(central, 'tbilisi-05')?.connected === true, 'the agent connected', 15_000);
    const port = central.httpPort!;
    const nino = { authorization: `Bearer ${await central.access.createToken('nino', 'operator')}` };
    // `by` in the body is ignored: the audit names the signed-in operator.
    const send = (name: string, pointId = 'tbilisi-05') => httpJson<CommandRecord>(port, 'POST', `/api/points/${pointId}/commands`, { name, by: 'forged' }, nino);
    const get = async (id: string) => (await httpJson<CommandRecord>(port, 'GET', `/api/commands/${id}`)).body;
    return { central, port, send, get };
  }

  it('resync, rebirth and reprint reach the agent; each result is stored and listed', async () => {
    const { central, port, send, get } = await setup();
    const lastSeenBefore = viewOf(central, 'tbilisi-05')!.lastSeen!;
    const resync = await send('resync');
    expect(resync.status).toBe(202);
    expect(resync.body).toMatchObject({ pointId: 'tbilisi-05', name: 'resync', status: 'sent', sentBy: 'nino' });
    await waitFor(async () => (await get(resync.body.id)).status !== 'sent', 'the resync result', 10_000);
    expect(await get(resync.body.id)).toMatchObject({ status: 'ok', detail: 'resending 0 unsynced orders' });

    const rebirth = await send('rebirth');
    await waitFor(async () => (await get(rebirth.body.id)).status === 'ok', 'the rebirth result', 10_000);
    expect(viewOf(central, 'tbilisi-05')!.lastSeen!).toBeGreaterThan(lastSeenBefore);

    // This agent has no printer: the point answers, and says why it could not.
    const reprint = await send('reprint');
    await waitFor(async () => (await get(reprint.body.id)).status !== 'sent', 'the reprint result', 10_000);
    expect((await get(reprint.body.id)).status).toBe('failed');

    const listed = await httpJson<CommandRecord[]>(port, 'GET', '/api/points/tbilisi-05/commands');
    expect(listed.body.map((c) => c.name)).toEqual(['reprint', 'rebirth', 'resync']);
  });

  it('mode from central forces a point into manual-order mode and hands it back', async () => {
    const dir = tempDir('commands-mode');
    const central = await startFleetCentral(dir);
    running.push(central);
    const config = loadAgentConfig(undefined, {}, { pointId: 'batumi-07', dataDir: join(dir, 'batumi-07'), menuFile: sampleMenuFile(), http: { port: 0 }, mqtt: agentMqtt(brokerOf(central), 'batumi-07') });
    let agent: Agent | undefined;
    const devices = await deviceDeps(config, silentLogger(), () => agent?.link.connected ?? false);
    agent = new Agent(config, { log: silentLogger(), health: devices.health });
    await agent.start();
    running.push({ stop: async () => { await agent!.stop(); await devices.close(); } });
    await waitFor(() => viewOf(central, 'batumi-07')?.mode === 'online', 'the point online', 15_000);
    const port = central.httpPort!;
    const forced = await httpJson<CommandRecord>(port, 'POST', '/api/points/batumi-07/commands', { name: 'mode', force: 'offline' });
    expect(forced.status).toBe(202);
    await waitFor(() => viewOf(central, 'batumi-07')?.mode === 'offline', 'the point in manual-order mode', 15_000);
    expect(agent.healthBody().mode).toBe('offline');
    await httpJson(port, 'POST', '/api/points/batumi-07/commands', { name: 'mode', force: null });
    await waitFor(() => viewOf(central, 'batumi-07')?.mode === 'online', 'the point back online', 15_000);
    const bad = await httpJson(port, 'POST', '/api/points/batumi-07/commands', { name: 'mode', force: 'sideways' });
    expect(bad.status).toBe(400);
  });

  it('refuses names off the fixed list and unknown points; checks where a result comes from', async () => {
    const { central, port, send, get } = await setup();
    const bad = await send('rm -rf /');
    expect(bad.status).toBe(400);
    expect((await send('resync', 'nowhere-01')).status).toBe(404);

    // A command the agent will answer; meanwhile a forger answers on other topics first.
    const hand = await HandPublisher.connect(brokerOf(central));
    running.push({ stop: () => hand.close() });
    const sent = await httpJson<CommandRecord>(port, 'POST', '/api/points/tbilisi-05/commands', { name: 'rebirth' });
    const forged = (claimed: string) => JSON.stringify({ ts: Date.now(), id: sent.body.id, pointId: claimed, ok: false, detail: 'forged' });
    const rejected = async (reason: string) => {
      const text = (await httpJson<string>(port, 'GET', '/metrics')).body;
      return Number(text.split('\n').find((l) => l.startsWith(`hotpot_mqtt_rejected_total{reason="${reason}"}`))?.split(' ').pop() ?? 0);
    };
    await hand.raw(topicOf('pointCommandResult', { pointId: 'batumi-01', command: 'rebirth' }), forged('batumi-01'));
    await hand.raw(topicOf('pointCommandResult', { pointId: 'batumi-01', command: 'rebirth' }), forged('tbilisi-05'));
    await hand.raw(topicOf('pointCommandResult', { pointId: 'tbilisi-05', command: 'resync' }), forged('tbilisi-05'));
    await hand.raw(topicOf('pointCommandResult', { pointId: 'tbilisi-05', command: 'rebirth' }), '{"ts": 1, "id": ');
    // The bad JSON is published last: wait for it too, not only for the three before it.
    await waitFor(async () => (await rejected('point_mismatch')) >= 3 && (await rejected('bad_json')) >= 1, 'the forged results rejected', 10_000);
    expect(await rejected('bad_json')).toBeGreaterThanOrEqual(1);

    await waitFor(async () => (await get(sent.body.id)).status !== 'sent', 'the real result', 10_000);
    expect(await get(sent.body.id)).toMatchObject({ status: 'ok', detail: 'status and health published again' });
  });
});
