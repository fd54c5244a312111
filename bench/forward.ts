import { performance } from 'node:perf_hooks';
import type { Backlog } from '../central/upstream/index.js';
import { upstreamConfigSchema } from '../central/upstream/config.js';
import { SalesServer } from '../test/peers/sales-server.js';
import { waitFor } from '../test/peers/net.js';
import { throwawayDatabase } from '../test/peers/postgres.js';
import { tempDir } from '../test/helpers/hotpot.js';
import { ManualGate, startForwardingCentral } from '../test/upstream/central.js';
import { makeOrders, publishOrders } from '../test/upstream/orders.js';
import type { BenchResult } from './report.js';
import { brokerOf } from '../test/helpers/logins.js';

const DEFAULTS = upstreamConfigSchema.parse({});

/**
 * Forward throughput: orders are committed while the gate holds forwarding, then the gate opens
 * and the drain to a local main server (the sales peer, tagged RecordSale form, answering at
 * once) is timed. The peer runs in this process: a child process on a loaded 2-core machine
 * measures the scheduler more than the forwarder. With `databaseUrl` central keeps its orders and
 * the forward state in PostgreSQL, as replicas do.
 */
async function drain(points: number, perPoint: number, databaseUrl?: string): Promise<{ ordersPerSecond: number; seconds: number }> {
  const sales = await new SalesServer().start();
  const gate = new ManualGate(false);
  // The default config (the test helper's fast timings would add backlog checks every 100 ms).
  const central = await startForwardingCentral(tempDir('bench-forward'), { ...DEFAULTS, url: sales.url }, { gate }, databaseUrl ? { database: { url: databaseUrl } } : {});
  try {
    const total = points * perPoint;
    const orders = Array.from({ length: points }, (_, p) => makeOrders(`bench-${String(p).padStart(3, '0')}`, perPoint)).flat();
    await publishOrders(brokerOf(central), orders);
    const pending = async () => ((await central.orderStats()).backlog as Backlog | null)?.pending ?? 0;
    await waitFor(async () => (await pending()) === total, `all ${total} orders committed and queued`, 60_000);
    const started = performance.now();
    gate.set(true);
    await waitFor(async () => (await pending()) === 0, `all ${total} orders forwarded`, 120_000, 20);
    const seconds = (performance.now() - started) / 1000;
    const { recorded } = sales.stats();
    if (recorded !== total) throw new Error(`the sales server recorded ${recorded} of ${total} orders`);
    return { ordersPerSecond: total / seconds, seconds };
  } finally {
    await central.stop();
    await sales.close();
  }
}

export async function run(): Promise<BenchResult[]> {
  const fleet = await drain(40, 100);
  const single = await drain(1, 500);
  const database = await throwawayDatabase('hotpot_bench_forward');
  const shared = await drain(40, 100, database.url).finally(() => database.drop());
  return [
    {
      name: `forward throughput, 40 points × 100 orders, concurrency ${DEFAULTS.concurrency}`,
      value: fleet.ordersPerSecond,
      unit: 'orders/s',
      note: `drained 4000 orders in ${fleet.seconds.toFixed(2)} s to a local server`,
    },
    {
      name: 'forward throughput, 1 point (its orders go one at a time, in seq order)',
      value: single.ordersPerSecond,
      unit: 'orders/s',
      note: `drained 500 orders in ${single.seconds.toFixed(2)} s`,
    },
    {
      name: `forward throughput on PostgreSQL (forward state shared by replicas), 40 points × 100 orders`,
      value: shared.ordersPerSecond,
      unit: 'orders/s',
      note: `drained 4000 orders in ${shared.seconds.toFixed(2)} s; every answer group recorded in PostgreSQL`,
    },
  ];
}
