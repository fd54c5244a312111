import { join } from 'node:path';
import { describe } from 'vitest';
import { SqliteCentralStore } from '../../central/store/sqlite.js';
import { tempDir } from '../helpers/hotpot.js';
import { centralStoreContract } from './store.contract.js';

describe('central order store contract: SQLite', () => {
  centralStoreContract(async () => {
    const file = join(tempDir('central-store'), 'central.db');
    return { store: new SqliteCentralStore(file), another: async () => new SqliteCentralStore(file) };
  });
});
