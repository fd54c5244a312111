import { chmodSync, chownSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import { silentLogger } from '../../lib/log.js';
import { CentralStatusMessage } from '../../sync/schemas.js';
import { topicOf } from '../../sync/protocol.js';
import { CENTRAL_MQTT_USER } from '../../central/broker/index.js';
import { generatePassword, provisionCa, writeLogins } from '../../tools/provision/index.js';
import { MosquittoPeer } from '../peers/mosquitto.js';
import { freePort, waitFor } from '../peers/net.js';
import { describeWithPeers, peers, type Peer } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { sampleOrder, startCentral } from '../helpers/inproc.js';
import { embeddedBrokerAt } from '../helpers/logins.js';
import { INSTALL } from '../install/fixtures.js';
import { boxConfig, collect, connect, provision, type ProvisionedPoint } from './points.js';

/** The group Mosquitto drops to, so it reads the broker's secrets as on a host installed by central.sh. */
function mosquittoGid(): number {
  const line = readFileSync('/etc/group', 'utf8').split('\n').find((entry) => entry.startsWith('mosquitto:'));
  if (!line) throw new Error('no mosquitto group: is the mosquitto package installed?');
  return Number(line.split(':')[2]);
}

interface Setup {
  central: Central;
  brokerUrl: string;
  points: Map<string, ProvisionedPoint>;
  /** Env a box needs on this machine beside its agent.json (where the CA is). */
  boxEnv: Record<string, string>;
  /** mqtt.js options a raw client needs to reach the broker (TLS trust). */
  clientTls: Record<string, unknown>;
}

type Cleanup = (step: () => Promise<void>) => void;

/** Central with its embedded broker; the points provisioned into its password file before it starts. */
async function embedded(pointIds: readonly string[], cleanup: Cleanup): Promise<Setup> {
  const dir = tempDir('takeover-aedes');
  const port = await freePort();
  const target = embeddedBrokerAt(join(dir, 'central'), port);
  const points = new Map<string, ProvisionedPoint>();
  for (const pointId of pointIds) points.set(pointId, await provision(pointId, { brokerUrl: target.url, passwordFile: target.passwordFile! }));
  const central = await startCentral(dir, { brokerPort: port });
  cleanup(() => central.stop());
  return { central, brokerUrl: target.url, points, boxEnv: {}, clientTls: {} };
}

/**
 * Mosquitto running install/mosquitto/hotpot.conf and hotpot.acl as shipped (only the TLS port
 * and the directory differ), with provision-ca's certificates and a password file holding
 * central's login and the provisioned points'; central joins it as `hotpot-central`.
 */
async function shippedMosquitto(pointIds: readonly string[], cleanup: Cleanup): Promise<Setup> {
  const dir = tempDir('takeover-mosquitto');
  const caDir = join(dir, 'ca');
  const ca = (await provisionCa(caDir)).files;
  const gid = mosquittoGid();
  const install = (from: string, name: string, mode: number) => {
    const to = join(dir, name);
    copyFileSync(from, to);
    chownSync(to, 0, gid);
    chmodSync(to, mode);
  };
  install(ca.caCert, 'ca.crt', 0o644);
  install(ca.serverCert, 'server.crt', 0o644);
  install(ca.serverKey, 'server.key', 0o640);
  install(join(INSTALL, 'mosquitto/hotpot.acl'), 'acl', 0o640);
  const port = await freePort();
  const brokerUrl = `mqtts://127.0.0.1:${port}`;
  const passwordFile = join(dir, 'passwd');
  const centralLogin = { username: CENTRAL_MQTT_USER, password: generatePassword() };
  writeLogins(passwordFile, [centralLogin]);
  chownSync(passwordFile, 0, gid);
  const points = new Map<string, ProvisionedPoint>();
  for (const pointId of pointIds) points.set(pointId, await provision(pointId, { brokerUrl, passwordFile, caDir }));
  chmodSync(dir, 0o755);

  const conf = readFileSync(join(INSTALL, 'mosquitto/hotpot.conf'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.replace(/^listener 8883$/, `listener ${port} 127.0.0.1`).replaceAll('@DIR@', dir));
  const broker = new MosquittoPeer({ port, listenerConfig: () => conf });
  chmodSync(broker.dir, 0o777);
  await broker.start();
  cleanup(() => broker.stop());
  const central = await startCentral(dir, { extra: { mqtt: { url: brokerUrl, ...centralLogin, ca: ca.caCert, keepalive: 5 } } });
  cleanup(() => central.stop());
  return { central, brokerUrl, points, boxEnv: { HOTPOT_MQTT_CA: ca.caCert }, clientTls: { ca: readFileSync(ca.caCert), rejectUnauthorized: true } };
}

const BROKERS: { kind: string; peers: Peer[]; setup: (pointIds: readonly string[], cleanup: Cleanup) => Promise<Setup> }[] = [
  { kind: 'embedded aedes', peers: [], setup: embedded },
  { kind: 'Mosquitto with the shipped config', peers: [peers.mosquitto()], setup: shippedMosquitto },
];

for (const broker of BROKERS) {
  describeWithPeers(`client ids bound to their users (${broker.kind})`, broker.peers, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    it('no point can disconnect central or another point by reusing its client id', async () => {
      const { central, brokerUrl, points, boxEnv, clientTls } = await broker.setup(['point-a', 'point-b', 'point-c'], (step) => cleanup.push(step));
      const [attacker, victim, watcherPoint] = ['point-a', 'point-b', 'point-c'].map((pointId) => points.get(pointId)!) as [ProvisionedPoint, ProvisionedPoint, ProvisionedPoint];

      // The victim point: a real agent as provisioned. The watcher, a point too, hears central's retained status.
      const agent = new Agent(boxConfig(victim, boxEnv), { log: silentLogger() });
      cleanup.push(() => agent.stop());
      let agentConnections = 0;
      agent.link.on('connect', () => agentConnections++);
      await agent.start();
      await waitFor(() => central.fleet.view('point-b', Date.now())?.connected === true, 'the victim point connected at central', 20_000);
      const session = central.fleet.view('point-b', Date.now())!.session;
      const watcher = await connect(brokerUrl, { ...watcherPoint.login, ...clientTls });
      cleanup.push(() => watcher.endAsync(true));
      const centralStatus = collect(watcher);
      await watcher.subscribeAsync(topicOf('centralStatus', {}), { qos: 1 });
      await waitFor(() => centralStatus.length > 0, "central's retained status at the watcher");

      const admitted: MqttClient[] = [];
      cleanup.push(async () => {
        await Promise.all(admitted.map((client) => client.endAsync(true)));
      });
      for (const clientId of [central.config.mqtt.clientId, victim.login.clientId]) {
        const attempt = connect(brokerUrl, { ...attacker.login, ...clientTls, clientId });
        if (broker.kind === 'embedded aedes') {
          // Refused before aedes registers the id, so the client holding it never notices.
          await expect(attempt, clientId).rejects.toThrow(/Identifier rejected/);
        } else {
          // use_username_as_clientid: Mosquitto lets it in as point-a, whatever id it asked for.
          admitted.push(await attempt);
        }
      }

      // Both still serve, on the connections they had: an order on the victim's box reaches central and is acked.
      expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(1))).status).toBe(201);
      await waitFor(() => agent.store.unsyncedStats().count === 0, 'the order acked by central', 20_000);
      expect(agentConnections).toBe(1);
      expect(central.fleet.view('point-b', Date.now())).toMatchObject({ connected: true, session });
      expect(central.mqttConnected).toBe(true);
      const statuses = centralStatus.map((m) => CentralStatusMessage.parse(JSON.parse(m.payload)));
      expect(statuses.map((status) => status.online)).toEqual([true]);
    });
  });
}
