import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { PostgresAccessStore, SqliteAccessStore, type AccessStore } from '../../central/access/store.js';
import { SqliteCentralStore } from '../../central/store/sqlite.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { tempDir } from '../helpers/hotpot.js';
import { adminQuery, throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { accessStoreContract } from './store.contract.js';

describe('access store contract: SQLite', () => {
  const open: { close(): void }[] = [];
  afterEach(() => open.splice(0).forEach((db) => db.close()));
  accessStoreContract(async () => {
    const central = new SqliteCentralStore(join(tempDir('access-store'), 'central.db'));
    open.push(central);
    return new SqliteAccessStore(central.db, 0);
  });
});

describeWithPeers('access store contract: PostgreSQL (shared by replicas)', [peers.postgres()], () => {
  let database: ThrowawayDatabase;
  const stores: AccessStore[] = [];
  beforeAll(async () => {
    database = await throwawayDatabase('hotpot_access');
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  afterAll(async () => {
    await database?.drop();
  });
  accessStoreContract(async () => {
    // Each test starts from empty tables (the first store migrates them).
    await adminQuery('DROP TABLE IF EXISTS access_users, access_tokens, access_sessions, hotpot_schema_versions', database.url);
    const store = new PostgresAccessStore(database.url);
    stores.push(store);
    return store;
  });
});
