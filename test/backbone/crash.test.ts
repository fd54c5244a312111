import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { sampleMenuFile } from '../../lib/paths.js';
import { OrderStore } from '../../agent/store.js';
import { sessionTokenHash } from '../../agent/page/access.js';
import { freePort, waitFor } from '../peers/net.js';
import { MosquittoPeer } from '../peers/mosquitto.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { startAgent, startCentral, sampleOrder } from '../helpers/inproc.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { embeddedBrokerAt, type BrokerTarget } from '../helpers/logins.js';

const TOTAL = 2000;

/** A cleanup step that may also run early in the test, and then does nothing the second time. */
function once(step: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= step());
}

/** Env for a child agent; small batches and a short ack timeout stretch the drain so a kill lands mid-way. */
function agentEnv(pointId: string, dir: string, mqttUrl: string, httpPort = 0): Record<string, string> {
  return {
    HOTPOT_POINT_ID: pointId,
    HOTPOT_DATA_DIR: join(dir, pointId),
    HOTPOT_MQTT_URL: mqttUrl,
    HOTPOT_MQTT_KEEPALIVE: '2',
    HOTPOT_MQTT_BATCH_SIZE: '5',
    HOTPOT_MQTT_WINDOW: '20',
    HOTPOT_MQTT_ACK_TIMEOUT_MS: '2000',
    HOTPOT_HTTP_PORT: String(httpPort),
    HOTPOT_MENU_FILE: sampleMenuFile(),
  };
}

function centralEnv(dir: string, extra: Record<string, string>): Record<string, string> {
  return { HOTPOT_DATA_DIR: join(dir, 'central'), HOTPOT_HTTP_PORT: '0', HOTPOT_BROKER_HOST: '127.0.0.1', ...extra };
}

async function enterOrders(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await httpJson(port, 'POST', '/api/orders', sampleOrder(i));
    if (res.status !== 201) throw new Error(`order ${i} not saved: ${res.status}`);
  }
}

async function stats(port: number): Promise<{ total: number; byPoint: Record<string, number> }> {
  return (await httpJson<{ total: number; byPoint: Record<string, number> }>(port, 'GET', '/api/orders/stats')).body;
}

/** Every order on the box is at central exactly once, and the box has nothing left to sync. */
async function expectExactlyOnce(pointId: string, dir: string, centralIds: string[]): Promise<void> {
  const store = new OrderStore(join(dir, pointId, 'agent.db'), pointId);
  try {
    const boxIds = store.list('all', { limit: TOTAL * 2 }).map((s) => s.order.id).sort();
    expect(boxIds).toHaveLength(TOTAL);
    expect(store.unsyncedStats().count).toBe(0);
    expect([...centralIds].sort()).toEqual(boxIds);
  } finally {
    store.close();
  }
}

describeWithPeers('crash safety (kill -9, restarts)', [peers.mosquitto()], () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  it('an order that got its 201 survives a kill -9 right after the response', async () => {
    const dir = tempDir('kill-201');
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const saved: string[] = [];
    for (let round = 0; round < 5; round++) {
      const agent = await startHotpot('agent', agentEnv('survivor-01', dir, url));
      const res = await httpJson<{ id: string }>(agent.httpPort, 'POST', '/api/orders', sampleOrder(round));
      process.kill(agent.pid, 'SIGKILL');
      await agent.exited;
      expect(res.status).toBe(201);
      saved.push(res.body.id);
    }
    const store = new OrderStore(join(dir, 'survivor-01', 'agent.db'), 'survivor-01');
    expect(saved.map((id) => store.get(id)?.order.id)).toEqual(saved);
    expect(store.list('all').map((s) => s.order.number).sort()).toEqual([1, 2, 3, 4, 5].map((n) => `survivor-01-00000${n}`));
    store.close();
  });

  it('a staff session survives a kill -9 of the agent; logging out ends it for good', async () => {
    const dir = tempDir('kill-session');
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    // Exposed beyond the box, the page wants the staff PIN; the test still talks to 127.0.0.1.
    const env = { ...agentEnv('session-01', dir, url), HOTPOT_HTTP_HOST: '0.0.0.0', HOTPOT_PINS_STAFF: '2468' };
    let agent = await startHotpot('agent', env);
    cleanup.push(once(() => agent.kill()));
    const login = await httpJson(agent.httpPort, 'POST', '/api/login', { pin: '2468' });
    expect(login.status).toBe(204);
    const session = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await httpJson(agent.httpPort, 'GET', '/api/orders', undefined, { cookie: session })).status).toBe(200);

    process.kill(agent.pid, 'SIGKILL');
    await agent.exited;
    agent = await startHotpot('agent', env);
    const order = await httpJson(agent.httpPort, 'POST', '/api/orders', sampleOrder(1), { cookie: session });
    expect(order.status).toBe(201);
    expect((await httpJson(agent.httpPort, 'GET', '/api/orders', undefined, { cookie: 'hotpot_staff=forged' })).status).toBe(401);
    // Only a hash of the token is on disk.
    const db = new Database(join(dir, 'session-01', 'agent.db'), { readonly: true });
    try {
      const rows = db.prepare<[], { token_hash: string }>('SELECT token_hash FROM staff_sessions').all();
      expect(rows).toEqual([{ token_hash: sessionTokenHash('2468', session.slice(session.indexOf('=') + 1)) }]);
    } finally {
      db.close();
    }

    expect((await httpJson(agent.httpPort, 'POST', '/api/logout', undefined, { cookie: session })).status).toBe(204);
    await agent.kill('SIGTERM');
    agent = await startHotpot('agent', env);
    expect((await httpJson(agent.httpPort, 'GET', '/api/orders', undefined, { cookie: session })).status).toBe(401);

    // A new staff PIN ends every session (a departed employee's tablet too).
    const again = await httpJson(agent.httpPort, 'POST', '/api/login', { pin: '2468' });
    const second = String(again.headers['set-cookie']).split(';')[0]!;
    expect((await httpJson(agent.httpPort, 'GET', '/api/orders', undefined, { cookie: second })).status).toBe(200);
    await agent.kill('SIGTERM');
    agent = await startHotpot('agent', { ...env, HOTPOT_PINS_STAFF: '8642' });
    expect((await httpJson(agent.httpPort, 'GET', '/api/orders', undefined, { cookie: second })).status).toBe(401);
  });

  it('agent killed -9 mid-drain and restarted: no loss, no duplicate', async () => {
    const dir = tempDir('kill-agent');
    const broker = await new MosquittoPeer().start();
    cleanup.push(() => broker.stop());
    let agent: HotpotProcess = await startHotpot('agent', agentEnv('kill-agent-01', dir, broker.url));
    cleanup.push(() => agent.kill());
    await enterOrders(agent.httpPort, TOTAL);

    const central = await startCentral(dir, { mqttUrl: broker.url });
    cleanup.push(() => central.stop());
    let atKill = -1;
    // Kill the box from inside central's commit: deterministic "mid-drain", no timing guess.
    central.bus.onOrdersCommitted(central, () => {
      if (atKill < 0 && central.store.orderStats().total >= 200) {
        atKill = central.store.orderStats().total;
        process.kill(agent.pid, 'SIGKILL');
      }
    });
    await agent.exited;
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(TOTAL);

    agent = await startHotpot('agent', agentEnv('kill-agent-01', dir, broker.url));
    await waitFor(async () => (await httpJson<{ unsynced: number }>(agent.httpPort, 'GET', '/api/health')).body.unsynced === 0, 'the restarted box to sync everything', 60_000);
    await agent.kill('SIGTERM');
    await expectExactlyOnce('kill-agent-01', dir, central.store.listOrders({ limit: TOTAL * 2 }).map((o) => o.id));
  });

  for (const mode of ['embedded aedes', 'external mosquitto'] as const) {
    it(`central (${mode}) killed -9 mid-drain and restarted: no loss, no duplicate`, async () => {
      const dir = tempDir('kill-central');
      let target: BrokerTarget;
      let env: Record<string, string>;
      if (mode === 'external mosquitto') {
        const broker = await new MosquittoPeer().start();
        cleanup.push(() => broker.stop());
        target = { url: broker.url };
        env = centralEnv(dir, { HOTPOT_MQTT_URL: broker.url });
      } else {
        const port = await freePort();
        env = centralEnv(dir, { HOTPOT_BROKER_PORT: String(port) });
        target = embeddedBrokerAt(env.HOTPOT_DATA_DIR!, port);
      }
      const agent = await startAgent(dir, 'kill-central-01', target, { mqtt: { keepalive: 2, ackTimeoutMs: 2000, batchSize: 5, window: 20 } });
      const stopAgent = once(() => agent.stop());
      cleanup.push(stopAgent);
      await enterOrders(agent.httpPort!, TOTAL);

      let central = await startHotpot('central', env);
      cleanup.push(() => central.kill());
      await waitFor(async () => (await stats(central.httpPort)).total >= 100, 'central to commit the first orders', 30_000, 2);
      process.kill(central.pid, 'SIGKILL');
      await central.exited;
      const syncedAtKill = TOTAL - agent.store.unsyncedStats().count;
      expect(syncedAtKill).toBeLessThan(TOTAL);

      central = await startHotpot('central', env);
      await waitFor(() => agent.store.unsyncedStats().count === 0, 'the box to sync everything after central restarted', 60_000);
      const res = await httpJson<{ id: string }[]>(central.httpPort, 'GET', `/api/orders?limit=${TOTAL * 2}`);
      expect((await stats(central.httpPort)).total).toBe(TOTAL);
      await stopAgent();
      await expectExactlyOnce('kill-central-01', dir, res.body.map((o) => o.id));
    });
  }

  it('broker killed -9 and restarted mid-drain: no loss, no duplicate', async () => {
    const dir = tempDir('kill-broker');
    const broker = await new MosquittoPeer().start();
    cleanup.push(() => broker.stop());
    const agent = await startAgent(dir, 'kill-broker-01', broker.url, { mqtt: { url: broker.url, keepalive: 2, ackTimeoutMs: 2000, batchSize: 5, window: 20 } });
    const stopAgent = once(() => agent.stop());
    cleanup.push(stopAgent);
    await enterOrders(agent.httpPort!, TOTAL);
    const central = await startCentral(dir, { mqttUrl: broker.url });
    cleanup.push(() => central.stop());
    await waitFor(() => central.store.orderStats().total >= 100, 'central to commit the first orders', 30_000, 2);
    await broker.kill();
    expect(central.store.orderStats().total).toBeLessThan(TOTAL);
    await broker.start();
    await waitFor(() => agent.store.unsyncedStats().count === 0, 'the box to sync everything after the broker came back', 60_000);
    expect(central.store.orderStats().total).toBe(TOTAL);
    const ids = central.store.listOrders({ limit: TOTAL * 2 }).map((o) => o.id);
    await stopAgent();
    await expectExactlyOnce('kill-broker-01', dir, ids);
  });
});
