import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { startEmbeddedBroker } from '../../central/broker/index.js';
import type { Central } from '../../central/central.js';
import type { ForwardingView } from '../../central/upstream/index.js';
import { freePort, waitFor } from '../peers/net.js';
import { throwawayDatabase } from '../peers/postgres.js';
import { SalesServer } from '../peers/sales-server.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { startForwardingCentral } from './central.js';
import { makeOrders, publishOrders } from './orders.js';
import { centralUserLogin, embeddedBrokerAt } from '../helpers/logins.js';

describeWithPeers('forwarding with central replicas on PostgreSQL', [peers.postgres()], () => {
  const cleanup: (() => Promise<void>)[] = [];
  const running = new Set<Central>();
  afterEach(async () => {
    for (const central of running) await central.stop();
    running.clear();
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it("only the leader forwards, every replica's orders; after a failover the new leader forwards the rest, none recorded twice", async () => {
    const dir = tempDir('fwd-replicas');
    const database = await throwawayDatabase('hotpot_test_forward');
    cleanup.push(() => database.drop());
    const brokerPort = await freePort();
    const broker = await startEmbeddedBroker({ dataDir: join(dir, 'broker'), broker: { host: '127.0.0.1', port: brokerPort } }, silentLogger());
    cleanup.push(() => broker.close());
    const target = embeddedBrokerAt(join(dir, 'broker'), brokerPort);
    const sales = await new SalesServer().start();
    cleanup.push(() => sales.close());
    const replica = async (name: string) => {
      const central = await startForwardingCentral(join(dir, name), { url: sales.url }, {}, {
        mqtt: { url: broker.url, clientId: `hotpot-${name}`, keepalive: 5, ...centralUserLogin(target) },
        database: { url: database.url, leaderPollMs: 200 },
      });
      running.add(central);
      return central;
    };
    const replicas = [await replica('a'), await replica('b')];
    await waitFor(() => replicas.filter((r) => r.leader.isLeader()).length === 1, 'one leader among the replicas', 20_000);
    const leader = replicas.find((r) => r.leader.isLeader())!;
    const follower = replicas.find((r) => r !== leader)!;
    const viaMqtt = [...makeOrders('tbilisi-03', 15), ...makeOrders('batumi-03', 15)];
    await publishOrders(target, viaMqtt);
    // Committed by the follower alone: the leader hears no event and finds them by its periodic pull.
    const onFollower = makeOrders('gori-03', 10);
    await follower.orders.commitOrders(onFollower, Date.now());
    const first = [...viaMqtt, ...onFollower];
    await waitFor(() => sales.stats().recorded === first.length, 'the first orders recorded', 30_000);
    // Any replica answers from the shared forward state; the live part is the leader's.
    await waitFor(async () => (await httpJson<ForwardingView>(follower.httpPort!, 'GET', '/api/forwarding')).body.forwarded === first.length, 'the follower to see every order forwarded');
    const seen = (await httpJson<ForwardingView>(follower.httpPort!, 'GET', '/api/forwarding')).body;
    expect(seen).toMatchObject({ replica: follower.config.mqtt.clientId, leader: { replica: leader.config.mqtt.clientId }, state: 'idle' });

    running.delete(leader);
    await leader.stop();
    await waitFor(() => follower.leader.isLeader(), 'the follower to take the lead', 20_000);
    const second = [...makeOrders('tbilisi-03', 15, 16), ...makeOrders('batumi-03', 15, 16)];
    await publishOrders(target, second);
    const all = [...first, ...second];
    await waitFor(() => sales.stats().recorded === all.length, 'every order recorded after the failover', 30_000);
    const stats = sales.stats();
    expect(new Set(stats.sales.map((sale) => sale.saleId))).toEqual(new Set(all.map((order) => order.id)));
    await waitFor(async () => (await httpJson<{ forwarded: number }>(follower.httpPort!, 'GET', '/api/forwarding')).body.forwarded === all.length, 'the new leader to mark every order forwarded');
  });
});
