import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { withDiskFull } from '../../agent/disk.js';
import { sessionTokenHash } from '../../agent/page/access.js';
import { pointAlerts } from '../../central/alerts/rules.js';
import { alertsConfigSchema } from '../../central/alerts/config.js';
import type { PointView } from '../../central/fleet.js';
import { filterOf } from '../../sync/protocol.js';
import { OrdersMessage } from '../../sync/schemas.js';
import { freePort, waitFor } from '../peers/net.js';
import { SmallDisk } from '../peers/tmpfs.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { startAgent, startCentral, sampleOrder } from '../helpers/inproc.js';
import { HOTPOT_BIN, httpJson, startHotpot, tempDir } from '../helpers/hotpot.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { DISK_FULL_EXIT } from '../../agent/cli.js';
import { PG_DISK_FULL, storeDiskFull } from '../../lib/disk-full.js';
import { adminQuery, throwawayDatabase } from '../peers/postgres.js';
import { capturedLogger } from '../page/harness.js';
import { brokerOf, centralUserLogin } from '../helpers/logins.js';
import type { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';

type Health = { checks: { system: { status: string; detail: string; data?: Record<string, unknown> } }; unsynced: number };

function rowsIn(file: string): { orders: number; check: unknown } {
  const db = new Database(file, { readonly: true });
  try {
    return { orders: (db.prepare('SELECT COUNT(*) AS n FROM orders').get() as { n: number }).n, check: db.pragma('quick_check', { simple: true }) };
  } finally {
    db.close();
  }
}

describe('disk full in health and alerts (pure)', () => {
  const system = { status: 'up' as const, detail: 'cpu, memory and disk within limits', since: 1, data: { diskPercent: 97 } };

  it('the system check says disk full (down) only while a write failed for space', () => {
    expect(withDiskFull(system, null, '/var/lib/hotpot')).toBe(system);
    expect(withDiskFull(system, 5, '/var/lib/hotpot')).toMatchObject({ status: 'down', since: 5, detail: expect.stringContaining('disk full'), data: { diskFull: true, diskPercent: 100 } });
  });

  it('a full disk opens point:<id>:disk at once, with its own severity', () => {
    const cfg = alertsConfigSchema.parse({});
    const view = {
      pointId: 'p-01', group: 'g', connected: true, disconnectedSince: null, stale: false, mode: 'online', modeSince: 0, clockSkewMs: 0,
      checks: { system: withDiskFull(system, 1000, '/d') }, usage: { cpu: 1, memory: 1, disk: 100 }, oldestUnsyncedAt: null, oldestUnsyncedAgeMs: null,
    } as unknown as PointView;
    const alerts = pointAlerts(view, 1000, cfg).alerts;
    expect(alerts).toEqual([expect.objectContaining({ key: 'point:p-01:disk', severity: 'critical', title: 'p-01: disk full, orders refused' })]);
  });
});

describeWithPeers('a full data disk', [peers.tmpfs(), peers.postgres()], () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  /** The disk is unmounted last, after whatever writes on it has stopped. */
  function smallDisk(dir: string): SmallDisk {
    const disk = new SmallDisk(dir);
    running.unshift({ stop: () => disk.unmount() });
    return disk;
  }

  it('on the box: 507 disk_full with nothing written, health and central say why; with space back the same order saves and all syncs', async () => {
    const dir = tempDir('disk-full-box');
    const disk = smallDisk(join(dir, 'full-01'));
    await disk.mount();
    const central: Central = await startCentral(dir);
    running.push(central);
    const agent: Agent = await startAgent(dir, 'full-01', brokerOf(central));
    running.push(agent);

    const first = await httpJson<{ id: string }>(agent.httpPort!, 'POST', '/api/orders', { ...sampleOrder(0), clientRef: 'before' });
    expect(first.status).toBe(201);
    expect(disk.fill()).toBeGreaterThan(0);

    // The WAL may still have room for a few orders; the first that needs new space is refused.
    let saved = 1;
    let refused: { status: number; body: { code?: string; error?: string } } | undefined;
    for (let i = 1; i <= 300 && !refused; i++) {
      const answer = await httpJson<{ code?: string; error?: string }>(agent.httpPort!, 'POST', '/api/orders', { ...sampleOrder(i), clientRef: `order-${i}` });
      if (answer.status === 201) saved++;
      else refused = { ...answer, body: answer.body };
    }
    expect(refused?.status).toBe(507);
    expect(refused?.body.code).toBe('disk_full');
    expect(refused?.body.error).toMatch(/data disk is full.*free space/);
    const refusedRef = `order-${saved}`;
    // A void needs room too: refused the same way, the order stays as it was.
    const voided = await httpJson<{ code?: string }>(agent.httpPort!, 'POST', `/api/orders/${first.body.id}/void`, { reason: 'wrong dish' });
    expect(voided).toMatchObject({ status: 507, body: { code: 'disk_full' } });
    expect(agent.store.get(first.body.id)!.void).toBeFalsy();
    expect(agent.store.getByClientRef(refusedRef)).toBeNull();
    expect(agent.store.list('all', { limit: 5000 })).toHaveLength(saved);

    const health = await httpJson<Health>(agent.httpPort!, 'GET', '/api/health');
    expect(health.body.checks.system).toMatchObject({ status: 'down', detail: expect.stringContaining('disk full'), data: { diskFull: true } });
    await waitFor(() => central.incidents.openFor('point:full-01:disk') !== null, 'central opens point:full-01:disk');
    expect(central.incidents.openFor('point:full-01:disk')?.severity).toBe('critical');
    // Still full: the same order is refused again, the same way.
    expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', { ...sampleOrder(saved), clientRef: refusedRef })).status).toBe(507);

    disk.free();
    // The box notices by itself (the next write that commits: an ack, or its space probe), before any order is tried.
    await waitFor(async () => (await httpJson<Health>(agent.httpPort!, 'GET', '/api/health')).body.checks.system.status !== 'down', 'health clears once space is back', 15_000);
    const again = await httpJson<{ id: string }>(agent.httpPort!, 'POST', '/api/orders', { ...sampleOrder(saved), clientRef: refusedRef });
    expect(again.status).toBe(201);
    await waitFor(() => agent.store.unsyncedStats().count === 0, 'every order synced', 20_000);
    const atCentral = central.store.listOrders({ pointId: 'full-01', limit: 5000 });
    expect(atCentral).toHaveLength(saved + 1);
    expect(new Set(atCentral.map((order) => order.id)).size).toBe(saved + 1);
    await waitFor(() => central.incidents.openFor('point:full-01:disk') === null, 'point:full-01:disk resolved');
    await agent.stop();
    running.splice(running.indexOf(agent), 1);
    expect(rowsIn(join(dir, 'full-01', 'agent.db'))).toEqual({ orders: saved + 1, check: 'ok' });
  });

  it('staff can still log in to the page (pins.staff) while the disk is full: the session is kept in memory', async () => {
    const dir = tempDir('disk-full-login');
    const disk = smallDisk(join(dir, 'login-01'));
    await disk.mount();
    const agent: Agent = await startAgent(dir, 'login-01', `mqtt://127.0.0.1:${await freePort()}`, { http: { host: '0.0.0.0', port: 0 }, pins: { staff: '2468' } });
    running.push(agent);
    const login = async () => {
      const answer = await httpJson(agent.httpPort!, 'POST', '/api/login', { pin: '2468' });
      expect(answer.status).toBe(204);
      return String(answer.headers['set-cookie']).split(';')[0]!;
    };
    const first = await login();
    disk.fill();
    let refused = false;
    for (let i = 0; i < 300 && !refused; i++) refused = (await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(i), { cookie: first })).status === 507;
    expect(refused).toBe(true);

    const second = await login();
    expect(agent.store.sessionExpiry(sessionTokenHash('2468', second.split('=')[1]!))).toBeNull();
    expect((await httpJson(agent.httpPort!, 'GET', '/api/page', undefined, { cookie: second })).status).toBe(200);
    expect((await httpJson<Health>(agent.httpPort!, 'GET', '/api/health')).body.checks.system.data).toMatchObject({ diskFull: true });
    expect((await httpJson(agent.httpPort!, 'POST', '/api/logout', undefined, { cookie: second })).status).toBe(204);
    expect((await httpJson(agent.httpPort!, 'GET', '/api/page', undefined, { cookie: second })).status).toBe(401);
    disk.free();
  });

  /** `hotpot agent` as systemd runs it, offline (nothing listens on its broker's port), its data dir on `disk`. */
  async function agentEnv(disk: SmallDisk, pointId: string): Promise<Record<string, string>> {
    return { HOTPOT_POINT_ID: pointId, HOTPOT_DATA_DIR: join(disk.dir, pointId), HOTPOT_MQTT_URL: `mqtt://127.0.0.1:${await freePort()}`, HOTPOT_HTTP_PORT: '0', HOTPOT_MENU_FILE: sampleMenuFile() };
  }

  it('a box that starts on a full disk serves its page, says disk full and answers 507; with space back it takes the order', async () => {
    const disk = smallDisk(join(tempDir('disk-full-start'), 'disk'));
    await disk.mount();
    const env = await agentEnv(disk, 'start-01');
    const first = await startHotpot('agent', env);
    running.push({ stop: () => first.kill('SIGKILL') });
    expect((await httpJson(first.httpPort, 'POST', '/api/orders', { ...sampleOrder(0), clientRef: 'before' })).status).toBe(201);
    await first.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    disk.fill();
    const agent = await startHotpot('agent', env);
    running.push({ stop: () => agent.kill('SIGKILL') });
    expect(agent.logs.some((line) => String(line.msg).startsWith('the data disk was full at start'))).toBe(true);
    const page = await fetch(`http://127.0.0.1:${agent.httpPort}/`, { signal: AbortSignal.timeout(10_000) });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const health = await httpJson<Health>(agent.httpPort, 'GET', '/api/health');
    expect(health.body.checks.system).toMatchObject({ status: 'down', detail: expect.stringContaining('disk full'), data: { diskFull: true } });
    expect(health.body.unsynced).toBe(1);
    const refused = await httpJson<{ code?: string }>(agent.httpPort, 'POST', '/api/orders', { ...sampleOrder(1), clientRef: 'during' });
    expect(refused).toMatchObject({ status: 507, body: { code: 'disk_full' } });

    disk.free();
    await waitFor(async () => (await httpJson<Health>(agent.httpPort, 'GET', '/api/health')).body.checks.system.status !== 'down', 'health clears once space is back', 15_000);
    expect((await httpJson(agent.httpPort, 'POST', '/api/orders', { ...sampleOrder(1), clientRef: 'during' })).status).toBe(201);
    const orders = await httpJson<{ clientRef: string }[]>(agent.httpPort, 'GET', '/api/orders');
    expect(orders.body.map((order) => order.clientRef).sort()).toEqual(['before', 'during']);
    await agent.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(rowsIn(join(disk.dir, 'start-01', 'agent.db'))).toEqual({ orders: 2, check: 'ok' });
  });

  it('a new box on a disk too full for its store exits with one line saying so (exit 75), and changes nothing', async () => {
    const disk = smallDisk(join(tempDir('disk-full-new'), 'disk'));
    await disk.mount();
    disk.fill();
    const env = await agentEnv(disk, 'new-01');
    const run = promisify(execFile)(process.execPath, [HOTPOT_BIN, 'agent'], { env: { ...process.env, ...env }, timeout: 30_000 });
    const failed = (await run.then(() => null, (error: unknown) => error)) as { code: number; stdout: string; stderr: string } | null;
    expect(failed?.code).toBe(DISK_FULL_EXIT);
    expect(failed?.stdout).toBe('');
    expect(failed?.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^hotpot agent: the data disk holding .*agent\.db is full .* Free space on that disk/)]);
  });

  it("at central on PostgreSQL: a full tablespace (53100 disk_full) is not acked and logged as such; with space back the resends are committed once", async () => {
    const dir = tempDir('disk-full-pg');
    chmodSync(dir, 0o711); // the postgres user must reach the tablespace below it
    const disk = smallDisk(join(dir, 'pgdisk'));
    await disk.mount();
    // PostgreSQL keeps the orders in a tablespace on the small disk: its own directory there, owned by the postgres user.
    const location = join(disk.dir, 'tablespace');
    await promisify(execFile)('/usr/bin/install', ['-d', '-o', 'postgres', '-g', 'postgres', '-m', '0700', location], { timeout: 10_000 });
    const tablespace = `hotpot_full_${Date.now()}`;
    const database = await throwawayDatabase('hotpot_test_disk_full');
    running.unshift({
      stop: async () => {
        await database.drop();
        await adminQuery(`DROP TABLESPACE IF EXISTS ${tablespace}`);
      },
    });
    await adminQuery(`CREATE TABLESPACE ${tablespace} LOCATION '${location}'`);

    const { log, lines } = capturedLogger();
    const central: Central = await startCentral(dir, { extra: { database: { url: database.url } }, log });
    running.push(central);
    await database.query(`ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE ${tablespace}; ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE ${tablespace}`);
    const target = brokerOf(central);
    const agent: Agent = await startAgent(dir, 'pgfull-01', target);
    running.push(agent);
    expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(0))).status).toBe(201);
    await waitFor(() => agent.store.unsyncedStats().count === 0, 'the first order synced');

    disk.fill();
    // What PostgreSQL answers a write that needs a new page on the full disk.
    const refused = (await database.query(`CREATE TABLE probe (x text) TABLESPACE ${tablespace}; INSERT INTO probe SELECT repeat('x', 1000) FROM generate_series(1, 200)`).then(() => null, (error: unknown) => error)) as { code?: string; message: string } | null;
    expect(refused).toMatchObject({ code: PG_DISK_FULL, message: expect.stringMatching(/could not extend file/) });
    expect(storeDiskFull(refused)).toBe(PG_DISK_FULL);

    // Orders until one needs a new page: its group is rolled back and not acked, so it stays unsynced on the box.
    let posted = 1;
    await waitFor(
      async () => {
        expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(posted++))).status).toBe(201);
        return lines.some((line) => line.code === PG_DISK_FULL);
      },
      'central logs a commit refused for a full disk',
      20_000,
      250,
    );
    const logged = lines.find((line) => line.code === PG_DISK_FULL)!;
    expect(logged).toMatchObject({ level: 50, msg: expect.stringMatching(/^the PostgreSQL server's disk .* is full: order commit rolled back, not acking/), detail: expect.stringMatching(/could not extend file/) });
    const waiting = agent.store.unsyncedStats().count;
    expect(waiting).toBeGreaterThan(0);

    disk.free();
    await waitFor(() => agent.store.unsyncedStats().count === 0, 'every order synced once space is back', 30_000);
    const atCentral = (await database.query("SELECT id FROM orders WHERE point_id = 'pgfull-01'")).rows as { id: string }[];
    expect(atCentral).toHaveLength(posted);
    expect(new Set(atCentral.map((row) => row.id)).size).toBe(posted);
  });

  it("at central: a commit that finds the disk full is not acked; with space back the boxes' resends are committed once", async () => {
    const dir = tempDir('disk-full-central');
    const disk = smallDisk(join(dir, 'central'));
    await disk.mount();
    const central: Central = await startCentral(dir);
    running.push(central);
    const target = brokerOf(central);
    const agent: Agent = await startAgent(dir, 'full-02', target);
    running.push(agent);
    expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(0))).status).toBe(201);
    await waitFor(() => agent.store.unsyncedStats().count === 0, 'the first order synced');

    // Watches what the box sends: a resend of the same order means central did not ack it.
    const watcher = await mqtt.connectAsync(target.url, { clientId: `disk-watch-${Date.now()}`, protocolVersion: 4, ...centralUserLogin(target) });
    running.push({ stop: () => watcher.endAsync() });
    const sent = new Map<string, number>();
    watcher.on('message', (_topic, payload) => {
      for (const order of OrdersMessage.parse(JSON.parse(payload.toString('utf8'))).orders) sent.set(order.id, (sent.get(order.id) ?? 0) + 1);
    });
    await watcher.subscribeAsync(filterOf('pointOrders'), { qos: 1 });

    disk.fill();
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await httpJson<{ id: string }>(agent.httpPort!, 'POST', '/api/orders', sampleOrder(i))).body.id);
    await waitFor(() => ids.every((id) => (sent.get(id) ?? 0) >= 2), 'the box sends its orders again (no ack)', 20_000);
    expect(agent.store.unsyncedStats().count).toBe(5);
    expect(central.store.listOrders({ pointId: 'full-02', limit: 100 })).toHaveLength(1);

    disk.free();
    await waitFor(() => agent.store.unsyncedStats().count === 0, 'every order synced once space is back', 20_000);
    const atCentral = central.store.listOrders({ pointId: 'full-02', limit: 100 });
    expect(atCentral.map((order) => order.id)).toEqual(expect.arrayContaining(ids));
    expect(atCentral).toHaveLength(6);
    expect(central.store.db.pragma('quick_check', { simple: true })).toBe('ok');
  });
});
