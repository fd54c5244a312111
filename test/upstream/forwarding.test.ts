import { afterEach, describe, expect, it } from 'vitest';
import type { Central } from '../../central/central.js';
import type { ForwardingView } from '../../central/upstream/index.js';
import type { Incident } from '../../central/incidents/index.js';
import { redriveCommand } from '../../central/upstream/cli.js';
import { waitFor } from '../peers/net.js';
import { SalesServer, type SalesStats } from '../peers/sales-server.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { sampleOrder, startAgent } from '../helpers/inproc.js';
import { ManualGate, startForwardingCentral } from './central.js';
import { makeOrders, makeVoid, publishOrders } from './orders.js';
import { brokerOf } from '../helpers/logins.js';

interface OrderStatsBody {
  total: number;
  byPoint: Record<string, number>;
  backlog: { size: number; pending: number; parked: number; oldestAgeMs: number | null } | null;
}

/** Each point's sales arrive in seq order: the forwarder sends a point's orders one at a time. */
function expectSeqOrderPerPoint(stats: SalesStats): void {
  const byPoint = new Map<string, number[]>();
  for (const sale of stats.sales) byPoint.set(sale.pointId, [...(byPoint.get(sale.pointId) ?? []), sale.seq]);
  for (const [pointId, seqs] of byPoint) expect(seqs, pointId).toEqual([...seqs].sort((a, b) => a - b));
}

describe('forwarding committed orders to the main server', () => {
  const running: { stop(): Promise<void> }[] = [];
  const servers: SalesServer[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
    for (const server of servers.splice(0)) await server.close();
  });

  async function salesServer(options: ConstructorParameters<typeof SalesServer>[0] = {}): Promise<SalesServer> {
    const server = await new SalesServer(options).start();
    servers.push(server);
    return server;
  }
  async function central(dir: string, upstream: Record<string, unknown>, deps: Parameters<typeof startForwardingCentral>[2] = {}): Promise<Central> {
    const started = await startForwardingCentral(dir, upstream, deps);
    running.push(started);
    return started;
  }
  const view = async (c: Central) => (await httpJson<ForwardingView>(c.httpPort!, 'GET', '/api/forwarding')).body;

  it('records every order that real points post, once, in seq order per point, with auth and the idempotency key', async () => {
    const dir = tempDir('fwd-normal');
    const sales = await salesServer({ token: 'main-server-secret' });
    const c = await central(dir, { url: sales.url, token: 'main-server-secret' });
    const agents = await Promise.all(['tbilisi-01', 'batumi-01'].map((pointId) => startAgent(dir, pointId, brokerOf(c))));
    running.push(...agents);
    await Promise.all(
      agents.map(async (agent) => {
        for (let i = 0; i < 25; i++) expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(i))).status).toBe(201);
      }),
    );

    await waitFor(() => sales.stats().recorded === 50, 'all 50 orders recorded by the main server', 60_000);
    const stats = sales.stats();
    const posted = agents.flatMap((agent) => agent.store.list('all', { limit: 100 }).map((stored) => stored.order));
    expect(new Set(stats.sales.map((sale) => sale.saleId))).toEqual(new Set(posted.map((order) => order.id)));
    expect(stats.badIdempotencyKey).toBe(0);
    expectSeqOrderPerPoint(stats);
    const one = posted[0]!;
    expect(sales.sale(one.id)?.body).toMatchObject({ RecordSale: { sale_id: one.id, pos_id: one.pointId, price_subunits: one.total } });

    await waitFor(async () => (await view(c)).forwarded === 50, 'the forwarder to mark all 50 forwarded');
    const orderStats = await httpJson<OrderStatsBody>(c.httpPort!, 'GET', '/api/orders/stats');
    expect(orderStats.body).toEqual({ total: 50, byPoint: { 'tbilisi-01': 25, 'batumi-01': 25 }, voids: 0, backlog: expect.objectContaining({ size: 0, pending: 0, parked: 0, oldestAgeMs: null }) });
    const forwarding = await view(c);
    expect(forwarding).toMatchObject({ state: 'idle', paused: null, upstream: sales.url, body: 'recordSale', concurrency: 8, parked: [] });
    const metrics = await httpJson<string>(c.httpPort!, 'GET', '/metrics');
    expect(metrics.body).toContain('hotpot_forward_attempts_total{result="forwarded"} 50');
    expect(metrics.body).toContain('hotpot_forward_backlog_orders{state="pending"} 0');
    expect(metrics.body).toContain('hotpot_forward_oldest_age_seconds 0');
  });

  it('retries 500s, timeouts and success:false without limit, and a sale recorded but unanswered is not doubled', async () => {
    const dir = tempDir('fwd-transient');
    const sales = await salesServer();
    const orders = makeOrders('gori-01', 12);
    sales.control({
      rules: [
        { behaviour: 'error500', ids: [orders[0]!.id], times: 4 },
        { behaviour: 'serverFailure', ids: [orders[1]!.id], times: 2 },
        { behaviour: 'recordThenError500', ids: [orders[2]!.id, orders[3]!.id], times: 2 },
        { behaviour: 'hang', ids: [orders[4]!.id], times: 1 },
      ],
    });
    // The default test timeout (3 s), not 500 ms: exact post counts below must not move because a
    // loaded machine answered an ordinary POST late and the forwarder retried it.
    const c = await central(dir, { url: sales.url, pauseAfterFailures: 100 });
    await publishOrders(brokerOf(c), orders);

    await waitFor(() => sales.stats().recorded === 12, 'all 12 orders recorded despite the failures', 60_000);
    const stats = sales.stats();
    expect(stats.postsById[orders[0]!.id]).toBe(5);
    expect(stats.postsById[orders[1]!.id]).toBe(3);
    expect(stats.postsById[orders[4]!.id]).toBe(2);
    expect(stats.duplicates).toBe(2); // the two recorded-then-500 sales came again and were recognised
    expectSeqOrderPerPoint(stats);
    await waitFor(async () => (await view(c)).forwarded === 12, 'every order marked forwarded');
    expect((await view(c)).backlog.parked).toBe(0);
    expect(c.incidents.active().filter((incident) => incident.key.startsWith('forward:'))).toEqual([]);
  });

  it('parks an order the main server refuses, opens an incident, keeps the point flowing, and re-drives it after the fix', async () => {
    const dir = tempDir('fwd-park');
    const sales = await salesServer();
    const orders = makeOrders('kutaisi-01', 10);
    const refused = [orders[3]!, orders[7]!];
    sales.control({
      rules: [
        { behaviour: 'reject400', ids: [refused[0]!.id] },
        { behaviour: 'validationFailure', ids: [refused[1]!.id] },
      ],
    });
    const c = await central(dir, { url: sales.url });
    await publishOrders(brokerOf(c), orders);

    await waitFor(() => sales.stats().recorded === 8, 'the 8 accepted orders recorded', 30_000);
    const parkedIncident = () => c.incidents.openFor('forward:parked:kutaisi-01');
    await waitFor(() => parkedIncident()?.detail.startsWith('2 order(s)') ?? false, 'the parked incident to count both orders');
    const listed = await httpJson<Incident[]>(c.httpPort!, 'GET', '/api/incidents');
    const incident = listed.body.find((i) => i.key === 'forward:parked:kutaisi-01')!;
    expect(incident).toMatchObject({ status: 'open', pointId: 'kutaisi-01', severity: 'major' });
    expect(incident.detail).toContain('hotpot redrive --point kutaisi-01');
    const parked = (await view(c)).parked;
    expect(parked.map((p) => p.orderId).sort()).toEqual(refused.map((o) => o.id).sort());
    expect(parked.find((p) => p.orderId === refused[0]!.id)?.lastError).toContain('HTTP 400');
    expect(parked.find((p) => p.orderId === refused[1]!.id)?.lastError).toContain('validation');
    const stats = await httpJson<OrderStatsBody>(c.httpPort!, 'GET', '/api/orders/stats');
    expect(stats.body.backlog).toMatchObject({ size: 2, pending: 0, parked: 2 });

    const bad = await httpJson<{ issues: { path: string }[] }>(c.httpPort!, 'POST', '/api/forwarding/redrive', { ids: ['not-an-id'] });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0]!.path).toBe('ids.0');
    expect((await view(c)).backlog.parked).toBe(2);

    sales.control({ rules: [] }); // the fix
    process.env.HOTPOT_TOKEN = await c.access.createToken('redrive', 'operator');
    const exit = await redriveCommand.run({ central: `http://127.0.0.1:${c.httpPort}`, point: 'kutaisi-01' }, []);
    delete process.env.HOTPOT_TOKEN;
    expect(exit).toBe(0);
    await waitFor(() => sales.stats().recorded === 10, 'the re-driven orders recorded');
    await waitFor(() => parkedIncident() === null, 'the parked incident to clear');
    expect((await view(c)).backlog).toMatchObject({ size: 0, parked: 0 });
  });

  it('parks a void the main server refuses in the same incident as orders, counts it in /metrics, and re-drives it by id after the fix', async () => {
    const dir = tempDir('fwd-park-void');
    const sales = await salesServer();
    const orders = makeOrders('poti-01', 4);
    const [refused, accepted] = [makeVoid(orders[0]!, 'wrong table'), makeVoid(orders[2]!, 'customer left')];
    sales.control({ rules: [{ behaviour: 'reject400', ids: [refused.id] }] });
    const c = await central(dir, { url: sales.url });
    await publishOrders(brokerOf(c), orders, [refused, accepted]);

    await waitFor(() => sales.stats().recorded === 4 && sales.stats().voids.length === 1, 'the 4 sales and the accepted void recorded', 30_000);
    expect(sales.stats().voids[0]!.voidId).toBe(accepted.id);
    const parkedIncident = () => c.incidents.openFor('forward:parked:poti-01');
    await waitFor(() => parkedIncident()?.detail.startsWith('1 void(s) from poti-01 are parked') ?? false, 'the parked incident to name the void');
    expect(parkedIncident()!.detail).toContain('hotpot redrive --point poti-01');
    await waitFor(async () => (await view(c)).voids.forwarded === 1, 'the accepted void marked forwarded');
    expect((await view(c)).voids).toEqual({ pending: 0, waitingForSale: 0, parked: 1, forwarded: 1 });
    expect((await view(c)).points).toEqual([{ pointId: 'poti-01', pending: 0, parked: 0, parkedVoids: 1, oldestReceivedAt: null }]);
    const metrics = (await httpJson<string>(c.httpPort!, 'GET', '/metrics')).body;
    expect(metrics).toContain('hotpot_forward_voids{state="parked"} 1');
    expect(metrics).toContain('hotpot_forward_voids{state="forwarded"} 1');
    expect(metrics).toContain('hotpot_forward_voids{state="pending"} 0');
    expect(metrics).toContain('hotpot_forward_void_attempts_total{result="permanent"} 1');
    expect(metrics).toContain('hotpot_forward_void_attempts_total{result="forwarded"} 1');
    expect(metrics).toContain('hotpot_forward_attempts_total{result="forwarded"} 4'); // sales only

    sales.control({ rules: [] }); // the fix
    process.env.HOTPOT_TOKEN = await c.access.createToken('redrive-void', 'operator');
    const exit = await redriveCommand.run({ central: `http://127.0.0.1:${c.httpPort}`, id: [refused.id, orders[1]!.id] }, []);
    delete process.env.HOTPOT_TOKEN;
    expect(exit).toBe(0);
    await waitFor(() => sales.stats().voids.length === 2, 'the re-driven void recorded', 30_000);
    await waitFor(() => parkedIncident() === null, 'the parked incident to clear');
    await waitFor(async () => (await view(c)).voids.forwarded === 2, 'both voids marked forwarded');
    const after = await view(c);
    expect(after.voids).toEqual({ pending: 0, waitingForSale: 0, parked: 0, forwarded: 2 });
    expect(after.audit[0]).toMatchObject({ action: 'redrive', count: 1, detail: 're-drove 0 parked order(s) and 1 parked void(s) of 2 requested id(s)' });
    expect(sales.stats()).toMatchObject({ recorded: 4, duplicates: 0, badIdempotencyKey: 0 });
    const later = (await httpJson<string>(c.httpPort!, 'GET', '/metrics')).body;
    expect(later).toContain('hotpot_forward_voids{state="parked"} 0');
    expect(later).toContain('hotpot_forward_void_attempts_total{result="forwarded"} 2');
    const direct = await httpJson<{ redriven: number; voids: unknown[]; notParked: string[] }>(c.httpPort!, 'POST', '/api/forwarding/redrive', { ids: [refused.id] });
    expect(direct.body).toEqual({ redriven: 0, orders: [], voids: [], notParked: [refused.id] });
  });

  it("pauses while the runbook's gate says the main server is down, alerts on the backlog, and drains by itself when it is up", async () => {
    const dir = tempDir('fwd-gate');
    const sales = await salesServer();
    const gate = new ManualGate(false);
    const c = await central(dir, { url: sales.url, alertAfterMs: 300 }, { gate });
    const backlogIncident = () => c.incidents.openFor('forward:backlog');
    await publishOrders(brokerOf(c), [...makeOrders('rustavi-01', 5), ...makeOrders('zugdidi-01', 5)]);

    await waitFor(() => backlogIncident() !== null, 'the backlog alert', 20_000);
    expect(sales.stats().posts).toBe(0);
    expect(backlogIncident()!.detail).toContain('10 order(s)');
    const paused = await view(c);
    expect(paused).toMatchObject({ state: 'paused', paused: { reasons: ['gate'] }, alert: { open: true }, backlog: { pending: 10 } });
    const metrics = await httpJson<string>(c.httpPort!, 'GET', '/metrics');
    expect(metrics.body).toContain('hotpot_forward_paused 1');
    expect(metrics.body).toContain('hotpot_forward_backlog_orders{state="pending"} 10');

    gate.set(true);
    await waitFor(() => sales.stats().recorded === 10, 'the backlog drained after the gate opened', 30_000);
    await waitFor(() => backlogIncident() === null, 'the backlog alert to clear');
    expect(sales.stats().posts).toBe(10);
  });
});
