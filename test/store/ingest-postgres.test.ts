import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { PostgresCentralStore } from '../../central/store/postgres.js';
import { Ingest } from '../../sync/ingest.js';
import type { OrderRecord } from '../../sync/schemas.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { waitFor } from '../peers/net.js';
import { throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { makeOrders } from '../upstream/orders.js';

describeWithPeers('ingest on an asynchronous store (PostgreSQL)', [peers.postgres()], () => {
  let database: ThrowawayDatabase;
  let store: PostgresCentralStore;
  beforeAll(async () => {
    database = await throwawayDatabase('hotpot_test_ingest');
    store = new PostgresCentralStore({ url: database.url, log: silentLogger() });
    await store.ready();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('acks only what PostgreSQL has committed, and groups what arrives during a commit into the next one', async () => {
    const commits: number[] = [];
    // The first commit is held until the other messages have arrived: a slow commit, made certain.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const notYetCommitted: string[] = [];
    const acked: string[] = [];
    const ingest = new Ingest({
      store: {
        commitOrders: async (orders: readonly OrderRecord[], receivedAt: number) => {
          commits.push(orders.length);
          if (commits.length === 1) await held;
          return store.commitOrders(orders, receivedAt);
        },
      },
      publishAck: async (_pointId, ids) => {
        // The ack must find every id already in the database.
        const committed = new Set((await store.listOrders({ limit: 100_000 })).map((order) => order.id));
        notYetCommitted.push(...ids.filter((id) => !committed.has(id)));
        acked.push(...ids);
      },
      log: silentLogger(),
    });
    const orders = makeOrders('zugdidi-01', 400);
    const message = (from: number) => ({ ts: Date.now(), orders: orders.slice(from, from + 10) });
    ingest.accept('zugdidi-01', message(0));
    await waitFor(() => commits.length === 1, 'the first commit to start');
    // 39 more messages and a resend of the first, all while that commit is in flight.
    for (let i = 10; i < orders.length; i += 10) ingest.accept('zugdidi-01', message(i));
    ingest.accept('zugdidi-01', message(0));
    await new Promise((resolve) => setImmediate(resolve));
    expect(acked).toEqual([]);
    release();
    await waitFor(() => acked.length === 410, 'every message to be acked', 30_000);
    expect(notYetCommitted).toEqual([]);
    // The 40 messages behind the held commit went to PostgreSQL as one group.
    expect(commits).toEqual([10, 400]);
    expect((await store.orderStats()).total).toBe(400);
  });
});
