import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { PostgresCentralStore } from '../../central/store/postgres.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { adminQuery, PostgresCluster, throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { waitFor } from '../peers/net.js';
import { makeOrders } from '../upstream/orders.js';
import { centralStoreContract } from './store.contract.js';

describeWithPeers('central order store contract: PostgreSQL', [peers.postgres()], () => {
  let database: ThrowawayDatabase;
  beforeAll(async () => {
    database = await throwawayDatabase('hotpot_test_store');
  });
  afterAll(async () => {
    await database?.drop();
  });

  const open = () => new PostgresCentralStore({ url: database.url, log: silentLogger() });
  centralStoreContract(async () => {
    const store = open();
    await store.ready();
    // One database per file: each test starts from empty tables.
    await database.query('TRUNCATE orders, point_counts, voids RESTART IDENTITY');
    return { store, another: async () => open() };
  });
});

describeWithPeers('PostgreSQL order store across a PostgreSQL crash', [peers.postgresServer()], () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await new PostgresCluster().init();
    await cluster.start();
    await adminQuery('CREATE DATABASE hotpot_crash', cluster.url('postgres'));
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('commits fail (nothing to ack) while it is down, nothing crashes, and commits resume after recovery', async () => {
    const store = new PostgresCentralStore({ url: cluster.url('hotpot_crash'), log: silentLogger(), connectTimeoutMs: 2000 });
    try {
      await store.commitOrders(makeOrders('poti-01', 10), 1000);
      // Committers busy while the server dies: an error on a checked-out connection must not be unhandled.
      let stop = false;
      const outcomes = { ok: 0, failed: 0 };
      const committers = [1, 2, 3].map(async (n) => {
        for (let seq = 100 * n; !stop; seq += 5) {
          await store.commitOrders(makeOrders('poti-02', 5, seq), 2000).then(
            () => outcomes.ok++,
            () => outcomes.failed++,
          );
        }
      });
      await waitFor(() => outcomes.ok >= 10, 'commits to flow before the crash', 30_000);
      await cluster.crash();
      const failedBefore = outcomes.failed;
      await waitFor(() => outcomes.failed > failedBefore, 'a commit to fail while PostgreSQL is down', 30_000);
      await cluster.start();
      const okAfterRestart = outcomes.ok;
      await waitFor(() => outcomes.ok > okAfterRestart + 5, 'commits to succeed again after crash recovery', 60_000);
      stop = true;
      await Promise.all(committers);
      const retry = makeOrders('poti-03', 3);
      expect((await store.commitOrders(retry, 3000)).inserted).toBe(3);
      expect((await store.orderStats()).byPoint['poti-01']).toBe(10);
    } finally {
      await store.close();
    }
  });
});
