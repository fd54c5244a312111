import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { loadAgentConfig } from '../../agent/config.js';
import type { Central } from '../../central/central.js';
import { ConfigError } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { startCentral, sampleOrder } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { MosquittoPeer } from '../peers/mosquitto.js';
import { waitFor } from '../peers/net.js';

const POINT = 'rustavi-01';

it('mqtt.url and mqtt.urls together are a config error naming mqtt.urls; url is the one-broker shorthand', () => {
  const both = () => loadAgentConfig(undefined, { HOTPOT_POINT_ID: POINT, HOTPOT_MQTT_URL: 'mqtt://a:1883', HOTPOT_MQTT_URLS: 'mqtt://a:1883,mqtt://b:1883' });
  expect(both).toThrow(ConfigError);
  expect(() => both()).toThrow(/mqtt\.urls: set mqtt\.url or mqtt\.urls, not both/);
  const list = loadAgentConfig(undefined, { HOTPOT_POINT_ID: POINT, HOTPOT_MQTT_URLS: 'mqtt://a:1883,mqtts://b:8883' });
  expect(list.mqtt).toMatchObject({ url: 'mqtt://a:1883', urls: ['mqtt://a:1883', 'mqtts://b:8883'], primaryRetryMs: 30_000 });
  expect(loadAgentConfig(undefined, { HOTPOT_POINT_ID: POINT }).mqtt).toMatchObject({ url: 'mqtt://127.0.0.1:1883', urls: ['mqtt://127.0.0.1:1883'] });
  expect(() => loadAgentConfig(undefined, { HOTPOT_POINT_ID: POINT, HOTPOT_MQTT_URLS: 'http://a' })).toThrow(/mqtt\.urls\.0: /);
});

/**
 * The shop's own broker (primary) bridged to central's broker; the agent lists both. Central reads
 * only its own broker: orders reach it over the bridge while the agent is on the primary, directly
 * while the primary is down.
 */
describeWithPeers('agent broker list: two real Mosquittos, one bridged to the other', [peers.mosquitto()], () => {
  let centralBroker: MosquittoPeer;
  let shopBroker: MosquittoPeer;
  let central: Central;
  let agent: Agent;

  beforeAll(async () => {
    const dir = tempDir('broker-list');
    centralBroker = await new MosquittoPeer().start();
    shopBroker = await new MosquittoPeer({
      extraConfig: [
        'connection central',
        `address 127.0.0.1:${centralBroker.port}`,
        'topic hotpot/v1/# both 1',
        'cleansession false',
        'remote_clientid bridge-rustavi',
        'bridge_protocol_version mqttv311',
        'try_private true',
        'restart_timeout 1',
        'notifications false',
      ],
    }).start();
    central = await startCentral(dir, { mqttUrl: centralBroker.url });
    const config = loadAgentConfig(undefined, {}, {
      pointId: POINT,
      dataDir: join(dir, POINT),
      menuFile: sampleMenuFile(),
      http: { port: 0 },
      mqtt: { urls: [shopBroker.url, centralBroker.url], primaryRetryMs: 1500, keepalive: 2, ackTimeoutMs: 3000 },
    });
    agent = new Agent(config, { log: silentLogger() });
    await agent.start();
  });
  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
    await shopBroker?.stop();
    await centralBroker?.stop();
  });

  const atCentral = () =>
    central.store.db.prepare<[string], { n: number; numbers: number; ids: number }>('SELECT COUNT(*) AS n, COUNT(DISTINCT number) AS numbers, COUNT(DISTINCT id) AS ids FROM orders WHERE point_id = ?').get(POINT)!;
  const sell = async (i: number) => {
    const res = await httpJson<{ id: string }>(agent.httpPort!, 'POST', '/api/orders', sampleOrder(i));
    expect(res.status).toBe(201);
  };

  it('200 orders across a kill -9 of the primary reach central exactly once; the agent returns to the primary', async () => {
    await waitFor(() => agent.link.connected && agent.link.url === shopBroker.url, 'the agent on the shop broker', 15_000);
    for (let i = 1; i <= 200; i++) {
      await sell(i);
      if (i === 60) await shopBroker.kill();
    }
    await waitFor(() => agent.link.url === centralBroker.url && agent.link.connected, 'the agent on central broker', 15_000);
    await waitFor(() => atCentral().n === 200 && agent.store.unsyncedStats().count === 0, '200 orders at central, none unsynced', 60_000);
    expect(atCentral()).toEqual({ n: 200, numbers: 200, ids: 200 });

    await shopBroker.start();
    await waitFor(() => agent.link.url === shopBroker.url && agent.link.connected, 'the agent back on the shop broker', 20_000);
    for (let i = 201; i <= 210; i++) await sell(i);
    // Over the bridge again: the acks come back the same way.
    await waitFor(() => atCentral().n === 210 && agent.store.unsyncedStats().count === 0, '210 orders at central', 30_000);
    expect(atCentral()).toEqual({ n: 210, numbers: 210, ids: 210 });
    const points = await httpJson<{ pointId: string; connected: boolean }[]>(central.httpPort!, 'GET', '/api/points');
    expect(points.body.find((p) => p.pointId === POINT)?.connected).toBe(true);
  });
});
