import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { agentConfigSchema, type AgentConfig } from '../../agent/config.js';
import { centralConfigSchema } from '../../central/config.js';
import { caFiles, provisionCa, provisionPoint } from '../../tools/provision/index.js';
import { agentFilters, filterOf, sharedFilter, topicOf } from '../../sync/protocol.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { MqttLink } from '../../sync/mqtt.js';
import { silentLogger } from '../../lib/log.js';
import { MosquittoPeer } from '../peers/mosquitto.js';
import { freePort, waitFor } from '../peers/net.js';
import { connect, installer, makeFixtureApp, makeRoot, tempDir, removeTempDirs } from './fixtures.js';

afterAll(removeTempDirs);

/**
 * The broker config install/central.sh generates, as Mosquitto would read it: only the TLS
 * port (8883 → a free one on loopback) and the root prefix of its paths differ.
 */
function generatedBrokerConfig(root: string, port: number): string[] {
  return readFileSync(join(root, 'etc/mosquitto/conf.d/hotpot.conf'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.replace(/^listener 8883$/, `listener ${port} 127.0.0.1`).replaceAll('/etc/mosquitto/hotpot/', `${root}/etc/mosquitto/hotpot/`));
}

/** Collects every message a client receives, by topic. */
function collect(client: MqttClient): { topic: string; payload: string }[] {
  const seen: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  return seen;
}

describeWithPeers('the generated Mosquitto config: TLS, per-point passwords, ACL', [peers.mosquitto()], () => {
  let root: string;
  let ca: string;
  let broker: MosquittoPeer;
  let url: string;
  let pointA: AgentConfig;
  let pointB: AgentConfig;
  let central: { username: string; password: string };
  let pointACert: { cert: Buffer; key: Buffer };
  let pointAFiles: { cert: string; key: string };
  const clients: MqttClient[] = [];

  const tls = (options: Record<string, unknown> = {}) => ({ ca: readFileSync(caFiles(ca).caCert), rejectUnauthorized: true, ...options });
  const open = async (options: Record<string, unknown>) => {
    const client = await connect(url, tls(options));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    root = makeRoot();
    ca = join(tempDir('broker-ca'), 'ca');
    await provisionCa(ca);
    const app = makeFixtureApp(tempDir('app'), 'broker');
    const install = await installer('central.sh', ['--root', root, '--source', app, '--ca-dir', ca]);
    if (install.code !== 0) throw new Error(`central.sh failed:\n${install.stdout}\n${install.stderr}`);

    const port = await freePort();
    url = `mqtts://127.0.0.1:${port}`;
    const passwordFile = join(root, 'etc/mosquitto/hotpot/passwd');
    const provision = async (pointId: string) => {
      const point = await provisionPoint({ pointId, outDir: join(tempDir('points'), pointId), brokerUrl: url, caDir: ca, passwordFile, clientCert: true });
      const config = agentConfigSchema.parse(JSON.parse(readFileSync(point.files.agentConfig, 'utf8')));
      return { config, files: { cert: point.files.clientCert!, key: point.files.clientKey! } };
    };
    const a = await provision('point-a');
    pointA = a.config;
    expect(pointA.mqtt).toMatchObject({ cert: '/etc/hotpot/client.crt', key: '/etc/hotpot/client.key' });
    pointAFiles = a.files;
    pointACert = { cert: readFileSync(a.files.cert), key: readFileSync(a.files.key) };
    pointB = (await provision('point-b')).config;
    const centralConfig = centralConfigSchema.parse(JSON.parse(readFileSync(join(root, 'etc/hotpot/central.json'), 'utf8')));
    central = { username: centralConfig.mqtt.username!, password: centralConfig.mqtt.password! };

    // Started as root, Mosquitto drops to its own user, which must read the installed files
    // through the group central.sh gave them, as on a real host. Only the temp dirs on the way
    // there need opening up.
    broker = new MosquittoPeer({ port, listenerConfig: (p) => generatedBrokerConfig(root, p) });
    chmodSync(root, 0o755);
    chmodSync(broker.dir, 0o777);
    await broker.start();
  });

  /** A Mosquitto (not started) on the generated config hardened as OPERATIONS says: require_certificate true. */
  const strictBroker = async () => {
    const port = await freePort();
    const strict = new MosquittoPeer({
      port,
      listenerConfig: (p) => generatedBrokerConfig(root, p).map((line) => (line === 'require_certificate false' ? 'require_certificate true' : line)),
    });
    chmodSync(strict.dir, 0o777);
    return { strict, strictUrl: `mqtts://127.0.0.1:${port}` };
  };

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await broker?.stop();
  });

  it('lets a point in with its provisioned password over TLS, verified by the generated CA', async () => {
    const a = await open({ username: pointA.mqtt.username, password: pointA.mqtt.password });
    expect(a.connected).toBe(true);
  });

  it('lets central in with the password central.sh generated (hashed by mosquitto_passwd)', async () => {
    expect(central.username).toBe('hotpot-central');
    const c = await open({ username: central.username, password: central.password });
    expect(c.connected).toBe(true);
  });

  it('refuses anonymous clients, wrong passwords and another point\'s password', async () => {
    await expect(connect(url, tls())).rejects.toThrow(/Not authorized|Bad username or password/i);
    await expect(connect(url, tls({ username: 'point-a', password: 'guess' }))).rejects.toThrow(/Not authorized|Bad username or password/i);
    await expect(connect(url, tls({ username: 'point-a', password: pointB.mqtt.password }))).rejects.toThrow(/Not authorized|Bad username or password/i);
  });

  it('refuses a client that trusts a different CA, and plain MQTT on the TLS port', async () => {
    const other = join(tempDir('other-ca'), 'ca');
    await provisionCa(other);
    const wrongCa = { ca: readFileSync(caFiles(other).caCert), rejectUnauthorized: true, username: pointA.mqtt.username, password: pointA.mqtt.password };
    await expect(connect(url, wrongCa)).rejects.toThrow(/certificate/i);
    const plain = url.replace('mqtts:', 'mqtt:');
    await expect(connect(plain, { username: pointA.mqtt.username, password: pointA.mqtt.password, connectTimeout: 3000 })).rejects.toThrow();
  });

  it("stops a point publishing on another point's topics (central receives only the point's own)", async () => {
    const c = await open({ username: central.username, password: central.password, clientId: 'central-watch' });
    const seenByCentral = collect(c);
    const granted = await c.subscribeAsync(['hotpot/v1/#'], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    const a = await open({ username: pointA.mqtt.username, password: pointA.mqtt.password, clientId: 'point-a' });

    for (const topic of [topicOf('pointOrders', { pointId: 'point-b' }), topicOf('pointHealth', { pointId: 'point-b' }), topicOf('pointStatus', { pointId: 'point-b' }), topicOf('pointCommandResult', { pointId: 'point-b', command: 'resync' }), topicOf('menu', {}), topicOf('centralStatus', {})]) {
      await a.publishAsync(topic, JSON.stringify({ forgedBy: 'point-a' }), { qos: 1 });
    }
    // Mosquitto drops refused publishes silently; a control message published after them proves
    // the forged ones had their chance to arrive (same connection, delivered in order).
    await a.publishAsync(topicOf('pointOrders', { pointId: 'point-a' }), 'control', { qos: 1 });
    await waitFor(() => seenByCentral.some((m) => m.payload === 'control'), 'the control order at central', 15_000);
    expect(seenByCentral.filter((m) => m.payload.includes('forgedBy'))).toEqual([]);
    expect(seenByCentral.map((m) => m.topic)).toEqual([topicOf('pointOrders', { pointId: 'point-a' })]);
  });

  it("stops a point subscribing to another point's acks and commands, or to everything", async () => {
    const a = await open({ username: pointA.mqtt.username, password: pointA.mqtt.password, clientId: 'point-a-snoop' });
    const seenByA = collect(a);
    const forbidden = [topicOf('pointAcks', { pointId: 'point-b' }), 'hotpot/v1/points/point-b/cmd/+', 'hotpot/v1/points/+/acks', 'hotpot/v1/points/#', 'hotpot/v1/#', '#'];
    // Mosquitto 2.0 may grant the SUBACK and enforce the ACL on every delivery instead (newer
    // versions refuse with 128): either way, what counts is that nothing of B's arrives.
    await a.subscribeAsync(forbidden, { qos: 1 });
    const own = await a.subscribeAsync(agentFilters('point-a'), { qos: 1 });
    expect(own.map((g) => g.qos)).toEqual(agentFilters('point-a').map(() => 1));

    const c = await open({ username: central.username, password: central.password, clientId: 'central-send' });
    await c.publishAsync(topicOf('pointAcks', { pointId: 'point-b' }), JSON.stringify({ ids: ['for-b'] }), { qos: 1 });
    await c.publishAsync(topicOf('pointCommand', { pointId: 'point-b', command: 'resync' }), JSON.stringify({ for: 'b' }), { qos: 1 });
    await c.publishAsync(topicOf('pointAcks', { pointId: 'point-a' }), JSON.stringify({ ids: ['for-a'] }), { qos: 1 });
    await c.publishAsync(topicOf('menu', {}), JSON.stringify({ menu: 'for-all' }), { qos: 1 });
    await waitFor(() => seenByA.some((m) => m.topic === topicOf('menu', {})), 'the menu at point A', 15_000);
    expect(seenByA.map((m) => m.topic).sort()).toEqual([topicOf('menu', {}), topicOf('pointAcks', { pointId: 'point-a' })].sort());
  });

  it('lets central replicas split ingest through a shared subscription', async () => {
    const replica = await open({ username: central.username, password: central.password, clientId: 'central-replica', protocolVersion: 5 });
    const seen = collect(replica);
    const granted = await replica.subscribeAsync(sharedFilter('central', filterOf('pointOrders')), { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    const b = await open({ username: pointB.mqtt.username, password: pointB.mqtt.password, clientId: 'point-b' });
    await b.publishAsync(topicOf('pointOrders', { pointId: 'point-b' }), 'order from b', { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload === 'order from b'), 'the order at the shared subscriber', 15_000);
  });

  it('with require_certificate true (the documented hardening), wants the client certificate too', async () => {
    const { strict, strictUrl } = await strictBroker();
    await strict.start();
    try {
      const credentials = { username: pointA.mqtt.username, password: pointA.mqtt.password };
      const withCert = await connect(strictUrl, tls({ ...credentials, ...pointACert }));
      expect(withCert.connected).toBe(true);
      await withCert.endAsync(true);
      await expect(connect(strictUrl, tls(credentials))).rejects.toThrow();

      // The agent's own link, configured as provision-point wrote it (paths moved to this test's copies).
      const link = new MqttLink({
        url: strictUrl,
        clientId: 'point-a-link',
        username: pointA.mqtt.username,
        password: pointA.mqtt.password,
        ca: caFiles(ca).caCert,
        cert: pointAFiles.cert,
        key: pointAFiles.key,
        keepaliveSeconds: 10,
        clean: true,
        log: silentLogger(),
      });
      link.start();
      try {
        await link.waitConnected(15_000);
        expect(link.connected).toBe(true);
      } finally {
        await link.stop();
      }
    } finally {
      await strict.stop();
    }
  });

  it('after a rotation (--rotate, then --rotate --cert) the point still gets in under require_certificate true', async () => {
    const { strict, strictUrl } = await strictBroker();
    const passwordFile = join(root, 'etc/mosquitto/hotpot/passwd');
    const pointDir = join(tempDir('points'), 'point-r');
    const rotateOnce = async (extra: { clientCert?: boolean; rotate?: boolean }) => {
      const point = await provisionPoint({ pointId: 'point-r', outDir: pointDir, brokerUrl: strictUrl, caDir: ca, passwordFile, ...extra });
      return { config: agentConfigSchema.parse(JSON.parse(readFileSync(point.files.agentConfig, 'utf8'))), point };
    };
    /** The agent's own link as the rotated agent.json configures it (paths moved to this test's copies). */
    const linkFor = async (config: AgentConfig) => {
      expect(config.mqtt).toMatchObject({ cert: '/etc/hotpot/client.crt', key: '/etc/hotpot/client.key' });
      const link = new MqttLink({ url: strictUrl, clientId: 'hotpot-agent-point-r', username: config.mqtt.username, password: config.mqtt.password, ca: caFiles(ca).caCert, cert: join(pointDir, 'client.crt'), key: join(pointDir, 'client.key'), keepaliveSeconds: 10, clean: true, log: silentLogger() });
      link.start();
      try {
        await link.waitConnected(15_000);
        return link.connected;
      } finally {
        await link.stop();
      }
    };
    const first = await rotateOnce({ clientCert: true });
    await strict.start();
    try {
      expect(await linkFor(first.config)).toBe(true);
      const rotated = await rotateOnce({ rotate: true });
      expect(rotated.config.mqtt.password).not.toBe(first.config.mqtt.password);
      await strict.restart(); // what `systemctl reload mosquitto` does for the password file
      expect(await linkFor(rotated.config)).toBe(true);
      await expect(connect(strictUrl, tls({ username: 'point-r', password: first.config.mqtt.password, cert: readFileSync(join(pointDir, 'client.crt')), key: readFileSync(join(pointDir, 'client.key')) }))).rejects.toThrow(/Not authorized|Bad username or password/i);
      const oldCert = readFileSync(join(pointDir, 'client.crt'), 'utf8');
      const renewed = await rotateOnce({ rotate: true, clientCert: true });
      expect(readFileSync(join(pointDir, 'client.crt'), 'utf8')).not.toBe(oldCert);
      await strict.restart();
      expect(await linkFor(renewed.config)).toBe(true);
    } finally {
      await strict.stop();
    }
  });
});
