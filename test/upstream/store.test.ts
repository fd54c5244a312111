import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../central/migrations.js';
import { adoptLocalForwardState } from '../../central/upstream/adopt.js';
import { PostgresForwardStore } from '../../central/upstream/store-postgres.js';
import { SqliteForwardStore, UPSTREAM_MIGRATIONS, openForwardDatabase } from '../../central/upstream/store-sqlite.js';
import { forwardBacklog, type ForwardSignal, type ForwardStore } from '../../central/upstream/store.js';
import { silentLogger } from '../../lib/log.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { tempDir } from '../helpers/hotpot.js';
import { adminQuery, throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { waitFor } from '../peers/net.js';
import { makeOrders } from './orders.js';
import { forwardStoreContract } from './store.contract.js';

describe('forward store contract: SQLite (one central)', () => {
  const files = new Map<ForwardStore, Database.Database>();
  afterEach(() => {
    for (const db of files.values()) db.close();
    files.clear();
  });
  const open = (file: string) => {
    const db = openForwardDatabase(file);
    migrate(db, 'upstream', UPSTREAM_MIGRATIONS, 0);
    const store = new SqliteForwardStore(db);
    files.set(store, db);
    return store;
  };
  forwardStoreContract({
    fresh: async () => open(join(tempDir('forward-store'), 'central.db')),
    reopen: async (store) => {
      const db = files.get(store)!;
      const file = db.name;
      db.close();
      files.delete(store);
      return open(file);
    },
  });

  it('reports no backlog until something was queued', async () => {
    const store = open(join(tempDir('forward-backlog'), 'central.db'));
    expect(await forwardBacklog(store, 0)).toBeNull();
    await store.enqueue(makeOrders('a', 1).map((order) => ({ ...order, receivedAt: 10 })), 10);
    expect(await forwardBacklog(store, 30)).toMatchObject({ pending: 1, oldestAgeMs: 20 });
  });
});

describeWithPeers('forward store contract: PostgreSQL (shared by replicas)', [peers.postgres()], () => {
  let database: ThrowawayDatabase;
  const stores: ForwardStore[] = [];
  beforeAll(async () => {
    database = await throwawayDatabase('hotpot_forward_store');
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  afterAll(async () => {
    await database?.drop();
  });
  const open = () => {
    const store = new PostgresForwardStore({ url: database.url, log: silentLogger() });
    stores.push(store);
    return store;
  };
  forwardStoreContract({
    fresh: async () => {
      // Each test starts from empty tables (the first store migrates them).
      await adminQuery('DROP TABLE IF EXISTS forward_orders, forward_voids, forward_meta, forward_audit, hotpot_schema_versions', database.url);
      return open();
    },
    reopen: async () => open(),
  });

  it("a re-drive on one replica reaches the other replica's listener", async () => {
    await adminQuery('DROP TABLE IF EXISTS forward_orders, forward_voids, forward_meta, forward_audit, hotpot_schema_versions', database.url);
    const [leader, follower] = [open(), open()];
    const orders = makeOrders('kutaisi-01', 2);
    await leader.enqueue(orders.map((order) => ({ ...order, receivedAt: 1 })), 1);
    await leader.apply(orders.map((order) => ({ orderId: order.id, to: 'parked', error: 'HTTP 400' }) as const), 2);
    const heard: ForwardSignal[] = [];
    leader.onSignal((signal) => heard.push(signal));
    await waitFor(() => heard.length > 0, 'the leader to listen'); // it signals itself once its LISTEN is up
    heard.length = 0;
    expect((await follower.redrive({ pointId: 'kutaisi-01' }, 3)).orders).toHaveLength(2);
    await waitFor(() => heard.some((signal) => signal.kind === 'queue'), "the follower's re-drive to reach the leader");
    expect((await leader.heads()).map((head) => head.seq)).toEqual([1]);
  });

  it("starts the shared state from a replica's own SQLite once, so the first leader on PostgreSQL sends no history again", async () => {
    await adminQuery('DROP TABLE IF EXISTS forward_orders, forward_voids, forward_meta, forward_audit, hotpot_schema_versions', database.url);
    const db = openForwardDatabase(join(tempDir('forward-adopt'), 'central.db'));
    migrate(db, 'upstream', UPSTREAM_MIGRATIONS, 0);
    const local = new SqliteForwardStore(db);
    const orders = makeOrders('poti-01', 4);
    local.enqueue(orders.map((order) => ({ ...order, receivedAt: 100 })), 100);
    local.apply([{ orderId: orders[0]!.id, to: 'forwarded' }, { orderId: orders[1]!.id, to: 'forwarded' }], 200);
    local.apply([{ orderId: orders[2]!.id, to: 'parked', error: 'HTTP 400' }], 300);
    const shared = open();
    expect(await adoptLocalForwardState(db, shared, silentLogger())).toBe(4);
    expect(await shared.watermark()).toBe(orders[3]!.id);
    expect(await shared.statuses(orders.map((order) => order.id))).toEqual(local.statuses(orders.map((order) => order.id)));
    expect(await shared.forwardedBetween(0, 1000, null)).toEqual(local.forwardedBetween(0, 1000, null));
    expect(await shared.parked(10, null)).toEqual(local.parked(10, null));
    expect(await shared.order(orders[3]!.id)).toEqual(local.order(orders[3]!.id));
    // Once the shared state has a watermark it is the truth: nothing is copied again.
    local.apply([{ orderId: orders[3]!.id, to: 'forwarded' }], 400);
    expect(await adoptLocalForwardState(db, shared, silentLogger())).toBe(0);
    expect((await shared.statuses([orders[3]!.id])).get(orders[3]!.id)).toBe('pending');
    db.close();
  });
});
