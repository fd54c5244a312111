import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../../lib/log.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { Agent } from '../../agent/agent.js';
import { loadAgentConfig } from '../../agent/config.js';
import { deviceDeps } from '../../agent/checks/index.js';
import { OrderStore } from '../../agent/store.js';
import type { PrintQueue } from '../../agent/receipts.js';
import { topicOf } from '../../sync/protocol.js';
import { HealthMessage, type HealthBody } from '../../sync/schemas.js';
import { MosquittoPeer } from '../peers/mosquitto.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';
import { TcpTarget } from '../peers/tcp-target.js';
import { waitFor } from '../peers/net.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { sampleOrder } from '../helpers/inproc.js';

interface Started {
  agent: Agent;
  port: number;
  queue: PrintQueue;
}

/** A real Agent wired as `hotpot agent` wires it: real checks, real print queue. */
async function startDeviceAgent(dataDir: string, brokerUrl: string, printer: string, target: string): Promise<Started> {
  const config = loadAgentConfig(undefined, {}, {
    pointId: 'batumi-07',
    dataDir,
    menuFile: sampleMenuFile(),
    http: { port: 0 },
    mqtt: { url: brokerUrl, keepalive: 2 },
    checks: { internet: { targets: [target] }, printer: { interface: printer, intervalMs: 500, retryMs: 200 } },
  });
  let agent: Agent | undefined;
  const deps = await deviceDeps(config, silentLogger(), () => agent?.link.connected ?? false);
  agent = new Agent(config, { log: silentLogger(), health: deps.health, receipts: deps.receipts });
  await agent.start();
  return { agent, port: agent.httpPort!, queue: agent.receipts as PrintQueue };
}

async function health(port: number): Promise<HealthBody> {
  return (await httpJson<HealthBody>(port, 'GET', '/api/health')).body;
}

describeWithPeers('agent with a printer, an internet target and a real broker', [peers.mosquitto()], () => {
  const broker = new MosquittoPeer();
  const emulator = new PrinterEmulator();
  const target = new TcpTarget();
  const dataDir = tempDir('devices');
  let started: Started;
  const published: HealthMessage[] = [];
  let watcher: mqtt.MqttClient;

  beforeAll(async () => {
    await broker.start();
    await target.open();
    await emulator.listenTcp();
    watcher = await mqtt.connectAsync(broker.url, { clientId: 'health-watcher', reconnectPeriod: 200 });
    watcher.on('message', (_topic, payload) => {
      const parsed = HealthMessage.safeParse(JSON.parse(payload.toString('utf8')));
      if (parsed.success) published.push(parsed.data);
    });
    await watcher.subscribeAsync(topicOf('pointHealth', { pointId: 'batumi-07' }), { qos: 1 });
    started = await startDeviceAgent(dataDir, broker.url, emulator.tcpAddress, target.url);
    await waitFor(async () => (await health(started.port)).checks.printer.status === 'up', 'the printer check to see the emulator');
  });
  afterAll(async () => {
    await started?.agent.stop();
    await watcher?.endAsync();
    await Promise.all([broker.stop(), emulator.close(), target.close()]);
  });

  it('takes 20 orders with the printer out of paper (0 receipts), then prints each exactly once when paper is back', async () => {
    emulator.set({ paperEnd: true });
    await waitFor(async () => (await health(started.port)).checks.printer.detail.startsWith('paper end'), 'the printer check to report paper end');
    const orders: { id: string; number: string; printed: boolean }[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await httpJson<{ id: string; number: string; printed: boolean }>(started.port, 'POST', '/api/orders', sampleOrder(i));
      expect(res.status).toBe(201);
      orders.push(res.body);
    }
    expect(orders.every((o) => !o.printed)).toBe(true);
    // The queue keeps asking while it waits; it never sends a receipt into a stopped printer.
    const queries = emulator.statusQueries;
    await waitFor(() => emulator.statusQueries >= queries + 5, 'the queue and the check to ask the printer again');
    expect(emulator.receipts).toHaveLength(0);
    expect(emulator.refusedBytes).toBe(0);
    expect(started.queue.counts()).toMatchObject({ queued: 20, printed: 0 });
    expect(started.agent.store.list('all')).toHaveLength(20);

    emulator.set({});
    await waitFor(() => emulator.receipts.length >= 20, '20 receipts after paper is back', 20_000);
    // Let the queue and the check run a few more rounds: nothing may print twice.
    const settled = emulator.statusQueries;
    await waitFor(() => emulator.statusQueries >= settled + 3, 'more printer status rounds');
    expect(emulator.receipts).toHaveLength(20);
    const printedNumbers = emulator.receipts.map((r) => r.lines.find((l) => l.startsWith('Order '))!.slice('Order '.length));
    expect(printedNumbers).toEqual(orders.map((o) => o.number));
    expect(emulator.receipts.map((r) => r.qr[0])).toEqual(orders.map((o) => o.id));
    const listed = (await httpJson<{ id: string; printed: boolean }[]>(started.port, 'GET', '/api/orders')).body;
    expect(listed.filter((o) => o.printed)).toHaveLength(20);
    expect(started.queue.counts()).toMatchObject({ queued: 0, printed: 20, uncertain: 0 });
  });

  it('prints point, number, items and totals in GEL, the offline line for an offline order, and a QR of the id', async () => {
    // Only messages published after the force count: an early one (before the first checks) may say offline too.
    const seenBefore = published.length;
    const forced = await httpJson<{ mode: string }>(started.port, 'POST', '/api/mode', { force: 'offline' });
    expect(forced).toMatchObject({ status: 200, body: { mode: 'offline' } });
    await waitFor(() => published.slice(seenBefore).some((h) => h.mode === 'offline'), 'a health message with mode offline on the health topic');
    const before = emulator.receipts.length;
    const res = await httpJson<{ id: string; number: string; total: number }>(started.port, 'POST', '/api/orders', {
      items: [{ sku: 'khinkali-meat', qty: 2 }, { name: 'Extra bread', unitPrice: 250, qty: 1 }],
      payment: 'card',
    });
    expect(res.status).toBe(201);
    await waitFor(() => emulator.receipts.length === before + 1, 'the receipt of the offline order');
    const receipt = emulator.receipts.at(-1)!;
    expect(receipt.lines).toContain('Point batumi-07');
    expect(receipt.lines).toContain(`Order ${res.body.number}`);
    expect(receipt.text).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    expect(receipt.text).toMatch(/2 x .+\s+3\.00 GEL/);
    expect(receipt.text).toMatch(/1 x Extra bread\s+2\.50 GEL/);
    expect(receipt.text).toMatch(/TOTAL\s+5\.50 GEL/);
    expect(res.body.total).toBe(550);
    expect(receipt.text).toContain('Payment: card');
    expect(receipt.text).toContain('OFFLINE ORDER — will sync');
    expect(receipt.qr).toEqual([res.body.id]);

    expect((await httpJson(started.port, 'POST', '/api/mode', { force: null })).body).toMatchObject({ mode: 'online' });
    const online = await httpJson<{ id: string }>(started.port, 'POST', '/api/orders', sampleOrder(1));
    await waitFor(() => emulator.receipts.at(-1)?.qr[0] === online.body.id, 'the receipt of the online order');
    expect(emulator.receipts.at(-1)!.text).not.toContain('OFFLINE ORDER');
  });

  it('refuses a bad mode body with 400 naming the field, changing nothing', async () => {
    const res = await httpJson<{ issues: { path: string }[] }>(started.port, 'POST', '/api/mode', { force: 'online' });
    expect(res.status).toBe(400);
    expect(res.body.issues[0]!.path).toBe('force');
    expect((await health(started.port)).mode).toBe('online');
  });

  it('reprints a receipt once per request, marked REPRINT', async () => {
    const [order] = started.agent.store.list('all', { limit: 1 });
    const before = emulator.receipts.length;
    const res = await httpJson(started.port, 'POST', `/api/orders/${order!.order.id}/reprint`);
    expect(res.status).toBe(202);
    await waitFor(() => emulator.receipts.length === before + 1, 'the reprint');
    expect(emulator.receipts.at(-1)!.lines).toContain('REPRINT');
    expect(emulator.receipts.at(-1)!.qr).toEqual([order!.order.id]);
    expect((await httpJson(started.port, 'POST', '/api/orders/0190f0aa-0000-7000-8000-00000000dead/reprint')).status).toBe(404);
  });

  it('switches to manual-order mode when the link is cut (targets and broker gone), and back when it returns', async () => {
    await target.close();
    await broker.stop();
    await waitFor(async () => (await health(started.port)).mode === 'offline', 'manual-order mode after the cut', 15_000);
    const cut = await health(started.port);
    expect(cut.checks.internet).toMatchObject({ status: 'down', detail: expect.stringMatching(/^internet unreachable/) });
    // Orders go on while offline, tagged offline.
    const res = await httpJson<{ id: string }>(started.port, 'POST', '/api/orders', sampleOrder(3));
    expect(res.status).toBe(201);
    expect(started.agent.store.get(res.body.id)?.order.mode).toBe('offline');

    // The last message from before the cut already says online: only what arrives after the restore counts.
    const seenBefore = published.length;
    await target.open();
    await broker.start();
    await waitFor(async () => (await health(started.port)).mode === 'online', 'online mode once the link is back', 20_000);
    await waitFor(
      () => published.length > seenBefore && published.at(-1)?.mode === 'online' && published.at(-1)?.checks.internet.status === 'up',
      'the health topic to show the point online again',
      20_000,
    );
  });
});

describeWithPeers('print queue across a crash', [peers.mosquitto()], () => {
  const broker = new MosquittoPeer();
  const emulator = new PrinterEmulator();
  const target = new TcpTarget();
  const dataDir = tempDir('print-crash');

  beforeAll(async () => {
    await Promise.all([broker.start(), target.open(), emulator.listenTcp()]);
  });
  afterAll(async () => {
    await Promise.all([broker.stop(), emulator.close(), target.close()]);
  });

  it('does not resend a receipt cut off between write and mark, and prints one for an order committed just before a crash', async () => {
    const first = await startDeviceAgent(dataDir, broker.url, emulator.tcpAddress, target.url);
    const res = await httpJson<{ id: string }>(first.port, 'POST', '/api/orders', sampleOrder(1));
    await waitFor(() => first.queue.printed(res.body.id), 'the first receipt');
    await first.agent.stop(false);
    expect(emulator.receipts).toHaveLength(1);

    // What a power cut leaves behind: a job marked printing (its bytes may have printed), and an
    // order committed a moment before its job could be queued.
    const store = new OrderStore(join(dataDir, 'agent.db'), 'batumi-07');
    store.db.prepare("UPDATE print_jobs SET state = 'printing' WHERE order_id = ?").run(res.body.id);
    const orphan = store.addOrder({ items: [{ sku: null, name: 'Tea', unitPrice: 300, qty: 1, lineTotal: 300 }], payment: 'cash', note: null, clientRef: null, currency: 'GEL', mode: 'offline' });
    store.close();

    const second = await startDeviceAgent(dataDir, broker.url, emulator.tcpAddress, target.url);
    try {
      await waitFor(() => second.queue.printed(orphan.order.id), 'the receipt of the orphaned order');
      expect(emulator.receipts.map((r) => r.qr[0])).toEqual([res.body.id, orphan.order.id]);
      expect(second.queue.counts()).toMatchObject({ uncertain: 1, printed: 1, queued: 0 });
      expect(second.queue.printed(res.body.id)).toBe(false);
    } finally {
      await second.agent.stop();
    }
  });
});
