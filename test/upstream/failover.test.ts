import { afterEach, expect, it } from 'vitest';
import type { ForwardingView, RedriveReply } from '../../central/upstream/index.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { replicaEnv, replicaHealth } from '../helpers/replicas.js';
import { MosquittoPeer } from '../peers/mosquitto.js';
import { waitFor } from '../peers/net.js';
import { throwawayDatabase } from '../peers/postgres.js';
import { SalesServer } from '../peers/sales-server.js';
import { makeOrders, publishOrders } from './orders.js';

/** Requests in flight at most: the window a failover may send again. */
const CONCURRENCY = 4;

describeWithPeers('forwarding across a failover: two central replicas, one Mosquitto, shared forward state', [peers.mosquitto(), peers.postgres()], () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  /** `checkEveryMs` long: whatever a replica does reaches the leader by signal, not by its periodic check. */
  async function setUp(prefix: string, checkEveryMs = 60_000) {
    const dir = tempDir(prefix);
    const broker = await new MosquittoPeer().start();
    cleanup.push(() => broker.stop());
    const database = await throwawayDatabase('hotpot_test_failover');
    cleanup.push(() => database.drop());
    const sales = await new SalesServer().start();
    cleanup.push(() => sales.close());
    const replica = async (name: string) => {
      const started = await startHotpot('central', {
        ...replicaEnv(name, dir, broker.url, database.url),
        HOTPOT_DATABASE_LEADER_POLL_MS: '200',
        HOTPOT_UPSTREAM_URL: sales.url,
        HOTPOT_UPSTREAM_CONCURRENCY: String(CONCURRENCY),
        HOTPOT_UPSTREAM_CHECK_EVERY_MS: String(checkEveryMs),
        HOTPOT_UPSTREAM_BACKOFF_BASE_MS: '50',
        HOTPOT_UPSTREAM_BACKOFF_MAX_MS: '500',
      });
      cleanup.push(() => started.kill());
      return started;
    };
    const replicas = [await replica('a'), await replica('b')];
    const nameOf = (replica: HotpotProcess) => `hotpot-${replicas.indexOf(replica) === 0 ? 'a' : 'b'}`;
    await waitFor(async () => (await Promise.all(replicas.map(replicaHealth))).filter((health) => health?.leader).length === 1, 'one leader among the replicas', 20_000, 100);
    const health = await Promise.all(replicas.map(replicaHealth));
    const leader = replicas[health.findIndex((h) => h?.leader)]!;
    const follower = replicas.find((r) => r !== leader)!;
    const view = async (replica: HotpotProcess) => (await httpJson<ForwardingView>(replica.httpPort, 'GET', '/api/forwarding')).body;
    const kill = async (replica: HotpotProcess) => {
      process.kill(replica.pid, 'SIGKILL');
      await replica.exited;
    };
    return { broker, sales, leader, follower, view, kill, nameOf };
  }

  it('killed -9 mid-stream: the new leader carries on from the shared state and sends again at most what was in flight', async () => {
    const { broker, sales, leader, follower, view, kill } = await setUp('failover-stream', 500);
    sales.control({ delayMs: 40 }); // a slow main server: a stream long enough to kill into, requests always in flight
    const orders = ['tbilisi-07', 'batumi-07', 'kutaisi-07', 'gori-07', 'poti-07'].flatMap((pointId) => makeOrders(pointId, 60));
    await publishOrders({ url: broker.url }, orders);
    await waitFor(() => sales.stats().recorded >= 100, 'the leader to be forwarding', 60_000, 20);
    await kill(leader);
    const atKill = sales.stats();
    expect(atKill.recorded).toBeLessThan(orders.length);

    await waitFor(async () => (await replicaHealth(follower))?.leader === true, 'the follower to take the lead', 20_000, 100);
    await waitFor(() => sales.stats().recorded === orders.length, 'every order recorded after the failover', 90_000, 50);
    const stats = sales.stats();
    expect(new Set(stats.sales.map((sale) => sale.saleId))).toEqual(new Set(orders.map((order) => order.id)));
    // Sent again: only orders that were in flight (sent, answer not yet recorded) when the leader died.
    const resent = Object.values(stats.postsById).filter((posts) => posts > 1).length;
    process.stderr.write(`failover mid-stream: ${atKill.recorded}/${orders.length} recorded at the kill, ${stats.duplicates} duplicate POST(s), ${resent} order(s) sent twice (window ${CONCURRENCY})\n`);
    expect(stats.duplicates).toBeLessThanOrEqual(CONCURRENCY);
    expect(stats.posts).toBeLessThanOrEqual(orders.length + CONCURRENCY);
    await waitFor(async () => (await view(follower)).forwarded === orders.length, 'the new leader to record every order forwarded');
  });

  it('at rest: a follower answers the forwarding API and redrive; after a takeover nothing is sent again and a new sale goes at once', async () => {
    const { broker, sales, leader, follower, view, kill, nameOf } = await setUp('failover-rest');
    const refused = makeOrders('rustavi-07', 1)[0]!;
    sales.control({ rules: [{ behaviour: 'reject400', ids: [refused.id] }] });
    const orders = [...makeOrders('tbilisi-08', 30), ...makeOrders('batumi-08', 30)];
    await publishOrders({ url: broker.url }, [...orders, refused]);
    await waitFor(() => sales.stats().recorded === orders.length, 'every order but the refused one recorded', 30_000, 50);

    // The follower reads the shared state: the same counts, the parked order, and who forwards.
    await waitFor(async () => (await view(follower)).parked.length === 1, 'the follower to see the parked order', 10_000, 50);
    const seen = await view(follower);
    expect(seen).toMatchObject({ forwarded: orders.length, backlog: { pending: 0, parked: 1 }, replica: nameOf(follower), leader: { replica: nameOf(leader) } });
    expect(seen.parked[0]).toMatchObject({ orderId: refused.id, lastError: expect.stringContaining('HTTP 400') });

    // A re-drive through the follower reaches the leader's loop by signal (its periodic check is a minute away).
    sales.control({ rules: [] });
    const redriven = await httpJson<RedriveReply>(follower.httpPort, 'POST', '/api/forwarding/redrive', { pointId: 'rustavi-07' });
    expect(redriven.body).toMatchObject({ redriven: 1, orders: [{ orderId: refused.id, pointId: 'rustavi-07' }] });
    const redriveAt = Date.now();
    await waitFor(() => sales.sale(refused.id) !== undefined, 'the re-driven order recorded', 10_000, 20);
    process.stderr.write(`re-drive through the follower recorded after ${Date.now() - redriveAt} ms\n`);
    expect((await view(follower)).audit[0]).toMatchObject({ action: 'redrive', count: 1, by: expect.stringMatching(/^suite-/) });
    const all = [...orders, refused];
    await waitFor(async () => (await view(follower)).forwarded === all.length, 'every order forwarded');

    const postsBefore = sales.stats().posts;
    await kill(leader);
    await waitFor(async () => (await replicaHealth(follower))?.leader === true, 'the follower to take the lead', 20_000, 100);
    const tookOverAt = Date.now();
    const fresh = makeOrders('tbilisi-08', 1, 31)[0]!;
    await publishOrders({ url: broker.url }, [fresh]);
    await waitFor(() => sales.sale(fresh.id) !== undefined, 'the first sale after the takeover recorded', 10_000, 20);
    process.stderr.write(`first sale after the takeover recorded ${Date.now() - tookOverAt} ms after it\n`);
    const stats = sales.stats();
    expect(stats.posts - postsBefore).toBe(1); // the new sale, and nothing sent again
    expect(stats.duplicates).toBe(0);
    await waitFor(async () => (await view(follower)).leader?.replica === nameOf(follower), 'the new leader to report its status');
    expect(await view(follower)).toMatchObject({ forwarded: all.length + 1, replica: nameOf(follower), state: 'idle', paused: null });
  });
});
