import { afterEach, expect, it } from 'vitest';
import type { Central } from '../../central/central.js';
import type { PointView } from '../../central/fleet.js';
import type { FleetEvent } from '../../central/history/store.js';
import { topicOf } from '../../sync/protocol.js';
import { waitFor } from '../peers/net.js';
import { describeWithPeers } from '../helpers/peers.js';
import { BROKER_KINDS, suiteMosquitto } from '../helpers/broker.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { HandPublisher, healthFor, startFleetCentral } from './helpers.js';
import { agentMqttEnv, brokerOf } from '../helpers/logins.js';

const KEEPALIVE_S = 2;

for (const broker of BROKER_KINDS) {
  describeWithPeers(`point presence over ${broker.kind}`, broker.peers, () => {
    const mosquitto = suiteMosquitto();
    const running: { stop(): Promise<void> }[] = [];
    afterEach(async () => {
      for (const item of running.splice(0).reverse()) await item.stop();
    });

    async function startCentralHere(name: string): Promise<Central> {
      const dir = tempDir(`presence-${name}-${broker.kind}`);
      const central = await startFleetCentral(dir, broker.kind === 'mosquitto' ? { mqttUrl: (await mosquitto()).url } : {});
      running.push(central);
      return central;
    }

    async function startAgentProcess(central: Central, pointId: string, keepaliveS = KEEPALIVE_S): Promise<HotpotProcess> {
      const agent = await startHotpot('agent', {
        HOTPOT_POINT_ID: pointId,
        HOTPOT_DATA_DIR: tempDir(`agent-${pointId}`),
        ...agentMqttEnv(brokerOf(central), pointId),
        HOTPOT_MQTT_KEEPALIVE: String(keepaliveS),
        HOTPOT_HTTP_PORT: '0',
      });
      running.push({ stop: () => agent.kill('SIGKILL') });
      return agent;
    }

    const point = async (central: Central, pointId: string) => (await httpJson<PointView>(central.httpPort!, 'GET', `/api/points/${pointId}`)).body;
    const metric = async (central: Central, line: string) => {
      const text = (await httpJson<string>(central.httpPort!, 'GET', '/metrics')).body;
      const found = text.split('\n').find((l) => l.startsWith(line));
      return found ? Number(found.split(' ').pop()) : 0;
    };

    it(`an agent killed with -9 shows disconnected in the API within 1.5 × keepalive (${KEEPALIVE_S} s)`, async () => {
      const central = await startCentralHere('kill');
      const pointId = `killed-${broker.kind}`;
      const agent = await startAgentProcess(central, pointId);
      await waitFor(async () => (await point(central, pointId)).connected === true, 'the agent connected in the API', 20_000);

      const killedAt = Date.now();
      await agent.kill('SIGKILL');
      await waitFor(async () => (await point(central, pointId)).connected === false, 'the point disconnected in the API', 1.5 * KEEPALIVE_S * 1000 + 5000);
      const elapsed = Date.now() - killedAt;
      process.stderr.write(`${broker.kind}: kill -9 → disconnected in the API after ${elapsed} ms\n`);
      expect(elapsed).toBeLessThanOrEqual(1.5 * KEEPALIVE_S * 1000);
      const view = await point(central, pointId);
      expect(view).toMatchObject({ connected: false, condition: 'offline', stale: false });
      expect(view.disconnectedSince).toBeGreaterThanOrEqual(killedAt - 50);
    });

    it('a late will from an old session does not mark a reconnected point offline', async () => {
      const central = await startCentralHere('late-will');
      const pointId = `late-will-${broker.kind}`;
      // A long keepalive: on a loaded machine a 2 s one can lapse for real, and that disconnect is not what this test is about.
      await startAgentProcess(central, pointId, 30);
      await waitFor(async () => (await point(central, pointId)).connected === true, 'the agent connected', 20_000);
      const { session } = await point(central, pointId);
      expect(session).toBeGreaterThanOrEqual(1);

      const hand = await HandPublisher.connect(brokerOf(central));
      running.push({ stop: () => hand.close() });
      await hand.status(pointId, false, session - 1, Date.now());
      await waitFor(async () => (await metric(central, 'hotpot_fleet_late_wills_ignored_total')) >= 1, 'the late will ignored', 10_000);
      expect((await point(central, pointId)).connected).toBe(true);
      // Never shown offline, not even for a moment: the history holds no disconnect.
      const history = await httpJson<{ events: FleetEvent[] }>(central.httpPort!, 'GET', `/api/points/${pointId}/history`);
      expect(history.body.events.filter((e) => e.kind === 'connection').map((e) => e.value)).toEqual(['connected']);
    });

    it('bad health payloads are rejected, counted by reason, and never shown', async () => {
      const central = await startCentralHere('bad-health');
      const good = `good-${broker.kind}`;
      const hand = await HandPublisher.connect(brokerOf(central));
      running.push({ stop: () => hand.close() });
      await hand.status(good, true, 1, Date.now());
      await hand.health(healthFor(good, Date.now()));
      // The status alone makes the point connected: wait until its health is read too, or `before`
      // could predate the health message and the comparison below would see it arrive.
      await waitFor(async () => {
        const view = await point(central, good);
        return view.connected === true && view.checks.printer?.status === 'up';
      }, 'the good point and its health', 10_000);
      const before = await point(central, good);

      await hand.raw(topicOf('pointHealth', { pointId: 'evil-01' }), '{"pointId": "evil-01", "mode":');
      await hand.raw(topicOf('pointHealth', { pointId: 'evil-01' }), JSON.stringify({ pointId: 'evil-01', mode: 'sideways', checks: {}, unsynced: -1, ts: 1 }));
      await hand.raw(topicOf('pointHealth', { pointId: 'evil-01' }), JSON.stringify(healthFor('victim-01', Date.now())));
      await hand.raw(topicOf('pointHealth', { pointId: 'evil-01' }), Buffer.alloc(600 * 1024, 0x20));
      const exploded = { ...healthFor(good, Date.now()), checks: { ...healthFor(good, Date.now()).checks, printer: { status: 'exploded', detail: 'x', since: 1 } } };
      await hand.raw(topicOf('pointHealth', { pointId: good }), JSON.stringify(exploded));

      await waitFor(async () => (await metric(central, 'hotpot_mqtt_rejected_total{reason="bad_schema"}')) >= 2, 'the schema rejections counted', 10_000);
      expect(await metric(central, 'hotpot_mqtt_rejected_total{reason="bad_json"}')).toBe(1);
      expect(await metric(central, 'hotpot_mqtt_rejected_total{reason="point_mismatch"}')).toBe(1);
      expect(await metric(central, 'hotpot_mqtt_rejected_total{reason="too_large"}')).toBe(1);
      const listed = (await httpJson<PointView[]>(central.httpPort!, 'GET', '/api/points')).body.map((p) => p.pointId);
      // (Other tests' retained points may be listed too when they share the broker.)
      expect(listed).toContain(good);
      expect(listed.filter((id) => id === 'evil-01' || id === 'victim-01')).toEqual([]);
      expect((await httpJson(central.httpPort!, 'GET', '/api/points/evil-01')).status).toBe(404);
      const after = await point(central, good);
      expect(after.checks).toEqual(before.checks);
      expect(after.lastSeen).toBe(before.lastSeen);
    });
  });
}
