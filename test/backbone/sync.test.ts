import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Central } from '../../central/central.js';
import { topicOf } from '../../sync/protocol.js';
import { orderNumber } from '../../sync/schemas.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { freePort, waitFor } from '../peers/net.js';
import { describeWithPeers } from '../helpers/peers.js';
import { BROKER_KINDS, suiteMosquitto } from '../helpers/broker.js';
import { startAgent, startCentral, sampleOrder } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { centralUserLogin, embeddedBrokerAt, type BrokerTarget } from '../helpers/logins.js';

for (const broker of BROKER_KINDS) {
  describeWithPeers(`order sync over ${broker.kind}`, broker.peers, () => {
    const mosquitto = suiteMosquitto();
    const running: { stop(): Promise<void> }[] = [];
    afterEach(async () => {
      for (const item of running.splice(0).reverse()) await item.stop();
    });

    /** Where agents connect, with the logins an embedded broker wants, and how to start central on it. */
    async function setup(dir: string): Promise<{ target: BrokerTarget; central: () => Promise<Central> }> {
      if (broker.kind === 'mosquitto') {
        const peer = await mosquitto();
        return { target: { url: peer.url }, central: () => startCentral(dir, { mqttUrl: peer.url }) };
      }
      const port = await freePort();
      const target = embeddedBrokerAt(join(dir, 'central'), port);
      return { target, central: () => startCentral(dir, { brokerPort: port }) };
    }

    it('1,000 orders entered while central is unreachable reach it exactly once and are synced on the box', async () => {
      const dir = tempDir(`sync-${broker.kind}`);
      const { target, central: startIt } = await setup(dir);
      const pointId = `drain-${broker.kind}`;
      const agent = await startAgent(dir, pointId, target);
      running.push(agent);
      for (let i = 0; i < 1000; i++) {
        const res = await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(i));
        expect(res.status).toBe(201);
      }
      expect(agent.store.unsyncedStats().count).toBe(1000);

      const central = await startIt();
      running.push(central);
      await waitFor(() => agent.store.unsyncedStats().count === 0, 'every order synced on the box', 60_000);
      const atCentral = central.store.listOrders({ pointId, limit: 5000 });
      expect(atCentral).toHaveLength(1000);
      expect(new Set(atCentral.map((o) => o.id)).size).toBe(1000);
      const onBox = agent.store.list('all', { limit: 5000 }).map((s) => s.order.id).sort();
      expect(atCentral.map((o) => o.id).sort()).toEqual(onBox);
      expect(central.store.orderStats().byPoint[pointId]).toBe(1000);
      const health = await httpJson<{ unsynced: number; mode: string }>(agent.httpPort!, 'GET', '/api/health');
      expect(health.body.unsynced).toBe(0);
    });

    it('rejects bad MQTT input, counts it, never acks it, and keeps serving', async () => {
      const dir = tempDir(`bad-${broker.kind}`);
      const { target, central: startIt } = await setup(dir);
      const central = await startIt();
      running.push(central);
      const client = await mqtt.connectAsync(target.url, { clientId: `hostile-${Date.now()}`, protocolVersion: 4, ...centralUserLogin(target) });
      running.push({ stop: () => client.endAsync() });
      const acks: string[] = [];
      client.on('message', (topic) => acks.push(topic));
      await client.subscribeAsync('hotpot/v1/points/+/acks', { qos: 1 });

      const goodOrder = (pointId: string, seq: number) => ({
        id: uuidv7(), pointId, seq, number: orderNumber(pointId, seq), createdAt: Date.now(),
        items: [{ sku: null, name: 'Tea', unitPrice: 400, qty: 1, lineTotal: 400 }], total: 400, currency: 'GEL',
        payment: 'cash', note: null, clientRef: null, mode: 'offline',
      });
      const send = (topic: string, payload: string | Buffer) => client.publishAsync(topic, payload, { qos: 1 });
      await send(topicOf('pointOrders', { pointId: 'evil-01' }), '{"ts": 1, "orders": [');
      await send(topicOf('pointOrders', { pointId: 'evil-01' }), JSON.stringify({ ts: 1, orders: [{ id: 'nope' }] }));
      await send(topicOf('pointOrders', { pointId: 'evil-01' }), Buffer.alloc(1024 * 1024, 0x20));
      await send('hotpot/v1/points/evil-01/bogus', '{}');
      await send(topicOf('pointOrders', { pointId: 'evil-01' }), JSON.stringify({ ts: 1, orders: [goodOrder('victim-01', 1)] }));
      await send(topicOf('pointHealth', { pointId: 'evil-01' }), JSON.stringify({ pointId: 'evil-01', mode: 'sideways' }));

      const metric = async (reason: string) => {
        const res = await httpJson<string>(central.httpPort!, 'GET', '/metrics');
        const line = res.body.split('\n').find((l) => l.startsWith(`hotpot_mqtt_rejected_total{reason="${reason}"}`));
        return line ? Number(line.split(' ').pop()) : 0;
      };
      await waitFor(async () => (await metric('point_mismatch')) >= 1 && (await metric('bad_schema')) >= 2, 'rejections counted', 10_000);
      expect(await metric('bad_json')).toBe(1);
      expect(await metric('too_large')).toBe(1);
      expect(await metric('unknown_topic')).toBe(1);
      expect(central.store.orderStats().total).toBe(0);

      // Still serving: a good order from the same client is committed and acked.
      await send(topicOf('pointOrders', { pointId: 'evil-01' }), JSON.stringify({ ts: 1, orders: [goodOrder('evil-01', 1)] }));
      await waitFor(() => acks.length === 1, 'the ack for the one good order', 10_000);
      expect(acks).toEqual([topicOf('pointAcks', { pointId: 'evil-01' })]);
      expect(central.store.orderStats()).toEqual({ total: 1, byPoint: { 'evil-01': 1 }, voids: 0 });
      const health = await httpJson<{ status: string }>(central.httpPort!, 'GET', '/api/health');
      expect(health.status).toBe(200);
    });

    it('marks a point offline by its will and ignores a late will from an older session', async () => {
      const dir = tempDir(`will-${broker.kind}`);
      const { target, central: startIt } = await setup(dir);
      const central = await startIt();
      running.push(central);
      const agent = await startAgent(dir, 'will-01', target);
      await waitFor(() => central.fleet.view('will-01', Date.now())?.connected === true, 'the point connected', 10_000);
      const session = central.fleet.view('will-01', Date.now())!.session;
      const client = await mqtt.connectAsync(target.url, { clientId: `late-will-${Date.now()}`, ...centralUserLogin(target) });
      await client.publishAsync(topicOf('pointStatus', { pointId: 'will-01' }), JSON.stringify({ online: false, ts: Date.now(), version: 'x', session: session - 1 }), { qos: 1, retain: true });
      await client.endAsync();
      // The agent sees its own retained status overwritten and announces itself again.
      await waitFor(async () => {
        const retained = await mqtt.connectAsync(target.url, { clientId: `peek-${Date.now()}`, ...centralUserLogin(target) });
        const got = new Promise<string>((resolve) => retained.on('message', (_t, p) => resolve(p.toString())));
        await retained.subscribeAsync(topicOf('pointStatus', { pointId: 'will-01' }));
        const payload = await got;
        await retained.endAsync();
        return JSON.parse(payload).online === true;
      }, 'the retained status back to online', 10_000);
      expect(central.fleet.view('will-01', Date.now())!.connected).toBe(true);
      await agent.stop(false);
      await waitFor(() => central.fleet.view('will-01', Date.now())?.connected === false, 'the will marking the point offline', 20_000);
    });
  });
}
