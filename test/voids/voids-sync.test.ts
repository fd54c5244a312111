import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { sampleMenuFile } from '../../lib/paths.js';
import type { Central } from '../../central/central.js';
import type { DaySummary, VoidRecord } from '../../sync/schemas.js';
import { waitFor } from '../peers/net.js';
import { MosquittoPeer } from '../peers/mosquitto.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { startCentral, sampleOrder } from '../helpers/inproc.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { SalesServer } from '../peers/sales-server.js';
import { FAST_UPSTREAM } from '../upstream/central.js';
import type { ForwardingView } from '../../central/upstream/index.js';

const POINT = 'void-sync-01';

function agentEnv(dir: string, mqttUrl: string): Record<string, string> {
  return {
    HOTPOT_POINT_ID: POINT,
    HOTPOT_DATA_DIR: join(dir, POINT),
    HOTPOT_MQTT_URL: mqttUrl,
    HOTPOT_MQTT_KEEPALIVE: '2',
    HOTPOT_MQTT_ACK_TIMEOUT_MS: '2000',
    HOTPOT_HTTP_PORT: '0',
    HOTPOT_MENU_FILE: sampleMenuFile(),
  };
}

interface CentralDay {
  status: string;
  central: DaySummary;
  box: DaySummary | null;
}

describeWithPeers('voids on the same road as orders (real Mosquitto, kill -9, central down)', [peers.mosquitto()], () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  it('20 orders, 5 voided (one twice, one while central is down, one right before a kill -9): central holds each void once, the days agree, and the main server gets each void once, after its sale', async () => {
    const dir = tempDir('void-sync');
    const broker = await new MosquittoPeer().start();
    cleanup.push(() => broker.stop());
    const sales = await new SalesServer().start();
    cleanup.push(() => sales.close());
    const centralOptions = { mqttUrl: broker.url, extra: { upstream: { ...FAST_UPSTREAM, url: sales.url } } };
    let agent: HotpotProcess = await startHotpot('agent', agentEnv(dir, broker.url));
    cleanup.push(() => agent.kill());
    let central: Central = await startCentral(dir, centralOptions);
    cleanup.push(() => central.stop());

    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await httpJson<{ id: string }>(agent.httpPort, 'POST', '/api/orders', sampleOrder(i));
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const voidIt = async (index: number, reason: string, expected = 201) => {
      const res = await httpJson<VoidRecord>(agent.httpPort, 'POST', `/api/orders/${ids[index]}/void`, { reason });
      expect(res.status).toBe(expected);
      return res.body;
    };
    const unsynced = async () => (await httpJson<{ unsynced: number }>(agent.httpPort, 'GET', '/api/health')).body.unsynced;

    const voids = new Map<string, string>();
    for (const [index, reason] of [[1, 'wrong dish'], [4, 'rang twice'], [7, 'customer left']] as const) voids.set(ids[index]!, (await voidIt(index, reason)).id);
    // Voided twice: the retry is the same void.
    expect((await voidIt(4, 'rang twice', 200)).id).toBe(voids.get(ids[4]!));
    await waitFor(async () => (await unsynced()) === 0, 'the orders and the first voids to sync', 30_000);

    // Central down: the void waits in the box's outbox.
    await central.stop();
    voids.set(ids[10]!, (await voidIt(10, 'kitchen out of broth')).id);
    expect(await unsynced()).toBe(1);
    central = await startCentral(dir, centralOptions);
    cleanup.push(() => central.stop());
    await waitFor(async () => (await unsynced()) === 0, 'the void made while central was down to sync', 30_000);

    // A void answered 201, then the box dies at once.
    voids.set(ids[15]!, (await voidIt(15, 'test order')).id);
    process.kill(agent.pid, 'SIGKILL');
    await agent.exited;
    agent = await startHotpot('agent', agentEnv(dir, broker.url));
    await waitFor(async () => (await unsynced()) === 0, 'the restarted box to sync its last void', 30_000);

    const listed = await central.orders.listOrders({ pointId: POINT, limit: 100 });
    expect(listed).toHaveLength(20);
    const voidedAtCentral = listed.filter((order) => order.voidedAt !== null).map((order) => order.id).sort();
    expect(voidedAtCentral).toEqual([...voids.keys()].sort());
    const held = await central.orders.voidsOf(ids);
    expect(held.map((record) => record.id).sort()).toEqual([...voids.values()].sort());
    const stats = await httpJson<{ total: number; voids: number }>(central.httpPort!, 'GET', '/api/orders/stats');
    expect(stats.body).toMatchObject({ total: 20, voids: 5 });
    const centralList = await httpJson<{ id: string; voidReason: string | null }[]>(central.httpPort!, 'GET', `/api/orders?pointId=${POINT}`);
    expect(centralList.body.find((order) => order.id === ids[10])!.voidReason).toBe('kitchen out of broth');

    // The box's day and central's agree on gross, voids and net.
    const box = (await httpJson<DaySummary>(agent.httpPort, 'GET', '/api/reconciliation')).body;
    expect(box.voids).toMatchObject({ count: 5 });
    expect(box.net).toBe(box.gross! - box.voids!.sum);
    await waitFor(async () => (await httpJson<CentralDay>(central.httpPort!, 'GET', `/api/reconciliation?pointId=${POINT}`)).body.status === 'match', 'central to match the box day', 30_000);
    const day = (await httpJson<CentralDay>(central.httpPort!, 'GET', `/api/reconciliation?pointId=${POINT}`)).body;
    expect({ gross: day.central.gross, voids: day.central.voids, net: day.central.net }).toEqual({ gross: box.gross, voids: box.voids, net: box.net });

    // The main server: every sale, and exactly these five voids, once each, none sent before its sale.
    await waitFor(() => sales.stats().voids.length === 5, 'the main server to record the five voids', 30_000);
    const forwarded = sales.stats();
    expect(forwarded.recorded).toBe(20);
    expect(new Map(forwarded.voids.map((record) => [record.saleId, record.voidId]))).toEqual(voids);
    expect(forwarded.voidsBeforeSale).toBe(0);
    expect(forwarded.badIdempotencyKey).toBe(0);
    const tenth = forwarded.voids.find((record) => record.saleId === ids[10]);
    expect(tenth!.body).toEqual({ VoidSale: { sale_id: ids[10], void_id: voids.get(ids[10]!), reason: 'kitchen out of broth', voided_at: expect.any(Number) } });
    await waitFor(async () => (await httpJson<ForwardingView>(central.httpPort!, 'GET', '/api/forwarding')).body.voids.forwarded === 5, 'the forwarder to mark the five voids forwarded');

    // The main server down: a new order and its void wait; once it is back, the sale goes first, then the void.
    sales.control({ down: true });
    const late = (await httpJson<{ id: string }>(agent.httpPort, 'POST', '/api/orders', sampleOrder(20))).body.id;
    const lateVoid = (await httpJson<VoidRecord>(agent.httpPort, 'POST', `/api/orders/${late}/void`, { reason: 'paid twice' })).body;
    await waitFor(async () => (await central.orders.voidsOf([late])).length === 1, 'central to hold the late void');
    const waiting = (await httpJson<ForwardingView>(central.httpPort!, 'GET', '/api/forwarding')).body.voids;
    expect(waiting).toEqual({ pending: 1, waitingForSale: 1, parked: 0, forwarded: 5 });
    sales.control({ down: false });
    await waitFor(() => sales.stats().voids.some((record) => record.voidId === lateVoid.id), 'the late void to reach the main server', 30_000);
    expect(sales.sale(late)).toBeDefined();
    expect(sales.stats()).toMatchObject({ recorded: 21, voidsBeforeSale: 0 });
    expect(sales.stats().voids).toHaveLength(6);
  });
});
