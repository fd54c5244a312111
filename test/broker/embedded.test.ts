import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import { silentLogger } from '../../lib/log.js';
import { withTimeout } from '../../lib/timeout.js';
import { NOTICES_TOPIC } from '../../central/broker/acl.js';
import { agentFilters, topicOf } from '../../sync/protocol.js';
import { caFiles, generatePassword, provisionCa, writeLogins } from '../../tools/provision/index.js';
import { loadAgentConfig } from '../../agent/config.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { capturedLogger } from '../page/harness.js';
import { freePort, waitFor } from '../peers/net.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { sampleOrder, startCentral } from '../helpers/inproc.js';
import { brokerOf, centralUserLogin } from '../helpers/logins.js';
import { boxConfig, closed, closes, collect, connect, provision, type ProvisionedPoint } from './points.js';

const REFUSED_LOGIN = /Not authorized|Bad username or password/i;

describe('the embedded broker: logins, ACL, password file', () => {
  let central: Central;
  let passwordFile: string;
  let pointA: ProvisionedPoint;
  let pointB: ProvisionedPoint;
  const clients: MqttClient[] = [];
  const open = async (options: Parameters<typeof connect>[1]) => {
    const client = await connect(central.brokerUrl, options);
    clients.push(client);
    return client;
  };
  /** A client of central's user that sees every v1 message. */
  const watchAll = async () => {
    const watcher = await open({ clientId: `watch-${clients.length}`, ...centralUserLogin(brokerOf(central)) });
    const seen = collect(watcher);
    await watcher.subscribeAsync('hotpot/v1/#', { qos: 1 });
    return seen;
  };

  beforeAll(async () => {
    central = await startCentral(tempDir('embedded-broker'));
    passwordFile = brokerOf(central).passwordFile!;
    // Provisioned after central started: it picks the new logins up by itself.
    pointA = await provision('point-a', { brokerUrl: central.brokerUrl, passwordFile });
    pointB = await provision('point-b', { brokerUrl: central.brokerUrl, passwordFile });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  });
  afterAll(async () => {
    await central?.stop();
  });

  it("refuses anonymous clients, wrong passwords, unknown users and another point's password", async () => {
    await expect(connect(central.brokerUrl, { clientId: pointA.login.clientId })).rejects.toThrow(REFUSED_LOGIN);
    await expect(connect(central.brokerUrl, { ...pointA.login, password: 'guess' })).rejects.toThrow(REFUSED_LOGIN);
    await expect(connect(central.brokerUrl, { ...pointA.login, password: pointB.login.password })).rejects.toThrow(REFUSED_LOGIN);
    await expect(connect(central.brokerUrl, { ...pointA.login, username: 'nobody-1', clientId: 'hotpot-agent-nobody-1' })).rejects.toThrow(REFUSED_LOGIN);
    await expect(connect(central.brokerUrl, { username: 'hotpot-central', password: pointA.login.password, clientId: 'impostor' })).rejects.toThrow(REFUSED_LOGIN);
    const a = await open(pointA.login);
    expect(a.connected).toBe(true);
  });

  it('lets a point provisioned by provision-point sync its orders with its agent.json as written', async () => {
    const agent = new Agent(boxConfig(pointA), { log: silentLogger() });
    await agent.start();
    try {
      for (let i = 0; i < 5; i++) expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(i))).status).toBe(201);
      await waitFor(() => agent.store.unsyncedStats().count === 0, 'the orders acked by central', 20_000);
      expect(central.store.orderStats().byPoint['point-a']).toBe(5);
      expect(central.fleet.view('point-a', Date.now())?.connected).toBe(true);
    } finally {
      await agent.stop();
    }
  });

  it("stops a point publishing on another point's topics or on central's", async () => {
    const seen = await watchAll();
    const forged = [topicOf('pointOrders', { pointId: 'point-b' }), topicOf('pointHealth', { pointId: 'point-b' }), topicOf('pointStatus', { pointId: 'point-b' }), topicOf('pointCommandResult', { pointId: 'point-b', command: 'resync' }), topicOf('menu', {}), topicOf('centralStatus', {}), NOTICES_TOPIC, 'elsewhere/x'];
    for (const topic of forged) {
      // A refused publish ends the connection (MQTT 3.1.1 has no way to say no to one): one client per try.
      const a = await open(pointA.login);
      const gone = closed(a);
      const outcome = await withTimeout(Promise.race([a.publishAsync(topic, JSON.stringify({ forgedBy: 'point-a' }), { qos: 1 }).then(() => 'acked', () => 'failed'), gone.then(() => 'closed')]), 10_000, `the broker's answer to a publish on ${topic}`);
      expect(outcome, topic).not.toBe('acked');
    }
    // Published after the forged ones on a fresh connection: once it is in, they had their chance.
    const a = await open(pointA.login);
    await a.publishAsync(topicOf('pointOrders', { pointId: 'point-a' }), 'control', { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload === 'control'), 'the control message at the watcher');
    expect(seen.filter((m) => m.payload.includes('forgedBy'))).toEqual([]);
    expect(central.fleet.view('point-b', Date.now())).toBeNull();
  });

  it("stops a point subscribing to another point's topics, wildcards and shared subscriptions that reach them", async () => {
    const a = await open(pointA.login);
    const seenByA = collect(a);
    const forbidden = [topicOf('pointAcks', { pointId: 'point-b' }), 'hotpot/v1/points/point-b/cmd/+', 'hotpot/v1/points/+/acks', 'hotpot/v1/points/#', 'hotpot/v1/#', '#', '$share/g/hotpot/v1/points/+/acks', '$share/g/#', '$SYS/#'];
    for (const filter of forbidden) await expect(a.subscribeAsync(filter, { qos: 1 }), filter).rejects.toMatchObject({ packet: { granted: [128] } });
    const own = agentFilters('point-a');
    expect(own).toContain(NOTICES_TOPIC);
    const granted = await a.subscribeAsync(own, { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual(own.map(() => 1));

    const c = await open({ clientId: 'central-send', ...centralUserLogin(brokerOf(central)) });
    await c.publishAsync(topicOf('pointAcks', { pointId: 'point-b' }), JSON.stringify({ ids: ['for-b'] }), { qos: 1 });
    await c.publishAsync(topicOf('pointCommand', { pointId: 'point-b', command: 'resync' }), JSON.stringify({ for: 'b' }), { qos: 1 });
    await c.publishAsync(topicOf('pointAcks', { pointId: 'point-a' }), JSON.stringify({ ids: ['for-a'] }), { qos: 1 });
    await c.publishAsync(NOTICES_TOPIC, '[]', { qos: 1 });
    await waitFor(() => seenByA.some((m) => m.topic === NOTICES_TOPIC), 'the notices at point A');
    expect(seenByA.map((m) => m.topic)).toContain(topicOf('pointAcks', { pointId: 'point-a' }));
    expect(seenByA.filter((m) => m.topic.includes('point-b') || m.payload.includes('for-b'))).toEqual([]);
  });

  it('lets a box in once its login reaches the file, though the broker refused it before', async () => {
    const { log, lines } = capturedLogger();
    const password = generatePassword();
    const config = loadAgentConfig(undefined, {}, { pointId: 'late-1', dataDir: tempDir('late-1'), menuFile: sampleMenuFile(), http: { port: 0 }, mqtt: { url: central.brokerUrl, password } });
    const agent = new Agent(config, { log });
    await agent.start();
    try {
      await waitFor(() => lines.some((line) => String(line.err).includes('Bad username or password')), 'the broker to refuse the unknown login');
      writeLogins(passwordFile, [{ username: 'late-1', password }]);
      await waitFor(() => agent.link.connected, 'the box to get in by itself', 20_000);
    } finally {
      await agent.stop();
    }
  });

  it('drops a client whose password changed in the file, and only that one', async () => {
    const point = await provision('point-c', { brokerUrl: central.brokerUrl, passwordFile });
    const c = await open(point.login);
    const b = await open(pointB.login);
    const bCloses = closes(b);
    const cGone = closed(c);
    const rotated = await provision('point-c', { brokerUrl: central.brokerUrl, passwordFile, rotate: true, outDir: join(point.agentJson, '..') });
    await withTimeout(cGone, 10_000, 'point-c dropped after its password changed');
    await expect(connect(central.brokerUrl, point.login)).rejects.toThrow(REFUSED_LOGIN);
    await open(rotated.login);
    // B's line did not change: still connected, never dropped.
    await b.publishAsync(topicOf('pointHealth', { pointId: 'point-b' }), '{}', { qos: 1 });
    expect(b.connected).toBe(true);
    expect(bCloses.count).toBe(0);
    expect(readFileSync(passwordFile, 'utf8')).toContain('point-b:');
  });
});

describe('the embedded broker over TLS', () => {
  it("takes a point on its TLS listener with provision-ca's certificates, and refuses a client trusting another CA", async () => {
    const ca = join(tempDir('broker-tls'), 'ca');
    const files = (await provisionCa(ca)).files;
    const tlsPort = await freePort();
    const dir = tempDir('embedded-tls');
    const central = await startCentral(dir, { extra: { broker: { host: '127.0.0.1', port: 0, tls: { cert: files.serverCert, key: files.serverKey, ca: files.caCert, port: tlsPort } } } });
    try {
      const url = `mqtts://127.0.0.1:${tlsPort}`;
      const point = await provision('tls-1', { brokerUrl: url, passwordFile: brokerOf(central).passwordFile!, caDir: ca });
      // agent.json names the box's CA path; this machine keeps it in the test's CA dir.
      const agent = new Agent(boxConfig(point, { HOTPOT_MQTT_CA: files.caCert }), { log: silentLogger() });
      await agent.start();
      try {
        expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(1))).status).toBe(201);
        await waitFor(() => agent.store.unsyncedStats().count === 0, 'the order acked over TLS', 20_000);
        expect(central.store.orderStats().byPoint['tls-1']).toBe(1);
      } finally {
        await agent.stop();
      }
      const other = join(tempDir('other-ca'), 'ca');
      await provisionCa(other);
      await expect(connect(url, { ...point.login, ca: readFileSync(caFiles(other).caCert), rejectUnauthorized: true })).rejects.toThrow(/certificate/i);
      await expect(connect(url.replace('mqtts:', 'mqtt:'), { ...point.login, connectTimeout: 3000 })).rejects.toThrow();
    } finally {
      await central.stop();
    }
  });
});
