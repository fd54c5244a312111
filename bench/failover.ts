import { performance } from 'node:perf_hooks';
import { silentLogger } from '../lib/log.js';
import { PostgresCentralStore } from '../central/store/postgres.js';
import { PostgresForwardStore } from '../central/upstream/store-postgres.js';
import { upstreamConfigSchema } from '../central/upstream/config.js';
import type { ForwardingView } from '../central/upstream/index.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../test/helpers/hotpot.js';
import { replicaEnv, replicaHealth } from '../test/helpers/replicas.js';
import { MosquittoPeer } from '../test/peers/mosquitto.js';
import { waitFor } from '../test/peers/net.js';
import { throwawayDatabase } from '../test/peers/postgres.js';
import { SalesServer } from '../test/peers/sales-server.js';
import { makeOrders, publishOrders } from '../test/upstream/orders.js';
import type { BenchResult } from './report.js';

const FORWARDED = 100_000;
const POINTS = 100;
const SEED_BATCH = 2000;
const { concurrency: WINDOW } = upstreamConfigSchema.parse({});

/**
 * 100,000 orders already forwarded (committed and marked forwarded through the stores' own code),
 * then two `hotpot central` replicas on that PostgreSQL with the default config. Each failover is a
 * kill -9 of the leader: at rest, then mid-stream (the main server slowed so requests are always in
 * flight). Measured: how soon after the takeover a new sale reaches the main server (the in-process
 * sales peer stamps when it recorded it) and how many orders were sent again.
 */
export async function run(): Promise<BenchResult[]> {
  const dir = tempDir('bench-failover');
  const database = await throwawayDatabase('hotpot_bench_failover');
  const broker = await new MosquittoPeer().start();
  const sales = await new SalesServer().start();
  const children: HotpotProcess[] = [];
  try {
    const seedStarted = performance.now();
    await seed(database.url);
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    const replica = async (name: string) => {
      const child = await startHotpot('central', { ...replicaEnv(name, dir, broker.url, database.url), HOTPOT_UPSTREAM_URL: sales.url }, 60_000);
      children.push(child);
      return child;
    };
    const view = async (replica: HotpotProcess) => (await httpJson<ForwardingView>(replica.httpPort, 'GET', '/api/forwarding')).body;
    const leads = async (replica: HotpotProcess) => (await replicaHealth(replica))?.leader === true;
    const killLeader = async (leader: HotpotProcess, next: HotpotProcess) => {
      process.kill(leader.pid, 'SIGKILL');
      await leader.exited;
      await waitFor(() => leads(next), 'the other replica to take over', 30_000, 10);
      return Date.now();
    };

    // At rest: the leader has forwarded everything; it dies; a sale is taken while nobody leads.
    const first = await replica('a');
    await waitFor(() => leads(first), 'the first replica to lead', 30_000, 50);
    const second = await replica('b');
    await waitFor(async () => (await view(first)).leader?.replica === 'hotpot-a', 'the leader to report its status', 30_000, 50);
    const postsAtRest = sales.stats().posts;
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    const fresh = makeOrders('bench-new', 1)[0]!;
    await publishOrders({ url: broker.url }, [fresh]);
    await waitFor(() => leads(second), 'the second replica to take over', 30_000, 10);
    const tookOver = Date.now();
    await waitFor(() => sales.sale(fresh.id) !== undefined, 'the new sale at the main server', 60_000, 5);
    const firstSaleMs = sales.sale(fresh.id)!.recordedAt - tookOver;
    const resentAtRest = sales.stats().posts - postsAtRest - 1;

    // Mid-stream: a backlog going out to a slow main server when the leader dies.
    const third = await replica('c');
    sales.control({ delayMs: 20 });
    const backlog = Array.from({ length: 20 }, (_, p) => makeOrders(`bench-stream-${p}`, 50)).flat();
    await publishOrders({ url: broker.url }, backlog);
    await waitFor(() => sales.stats().recorded >= 1 + backlog.length / 4, 'the stream to be under way', 60_000, 5);
    const duplicatesBefore = sales.stats().duplicates;
    await killLeader(second, third);
    await waitFor(() => sales.stats().recorded === 1 + backlog.length, 'the whole stream at the main server', 120_000, 20);
    const resentMidStream = sales.stats().duplicates - duplicatesBefore;

    return [
      {
        name: `failover at rest with ${FORWARDED.toLocaleString('en')} orders forwarded: takeover → first new sale at the main server`,
        value: firstSaleMs,
        unit: 'ms',
        target: '≤ 5000 ms',
        pass: firstSaleMs <= 5000,
        note: `seeded in ${seedSeconds.toFixed(1)} s; kill -9 of the leader, the sale taken while no replica led`,
      },
      { name: 'failover at rest: orders sent again', value: resentAtRest, unit: 'orders', target: `≤ ${WINDOW} (in-flight window)`, pass: resentAtRest <= WINDOW },
      {
        name: 'failover mid-stream (kill -9 while forwarding 1000 orders): orders sent again',
        value: resentMidStream,
        unit: 'orders',
        target: `≤ ${WINDOW} (in-flight window)`,
        pass: resentMidStream <= WINDOW,
        note: 'main server answering in 20 ms, concurrency at its default',
      },
    ];
  } finally {
    for (const child of children) await child.kill('SIGKILL').catch(() => undefined);
    await sales.close();
    await broker.stop();
    await database.drop();
  }
}

/** FORWARDED orders over POINTS points, committed and marked forwarded, as a leader that forwarded them would have left them. */
async function seed(url: string): Promise<void> {
  const log = silentLogger();
  const orders = new PostgresCentralStore({ url, log, poolMax: 2 });
  const forward = new PostgresForwardStore({ url, log });
  try {
    const perPoint = FORWARDED / POINTS;
    for (let from = 0; from < FORWARDED; from += SEED_BATCH) {
      const batch = Array.from({ length: SEED_BATCH / perPoint }, (_, i) => makeOrders(`bench-${String(from / perPoint + i).padStart(3, '0')}`, perPoint)).flat();
      const receivedAt = Date.now();
      await orders.commitOrders(batch, receivedAt);
      await forward.enqueue(batch.map((order) => ({ ...order, receivedAt })), receivedAt);
      await forward.apply(batch.map((order) => ({ orderId: order.id, to: 'forwarded' }) as const), receivedAt);
    }
  } finally {
    await orders.close();
    await forward.close();
  }
}
