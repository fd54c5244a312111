import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OrderStore, MIGRATIONS } from '../../agent/store.js';
import { StoreCorruptError } from '../../lib/sqlite.js';
import { tempDir } from '../helpers/hotpot.js';

const line = { sku: 'tofu', name: 'Tofu', unitPrice: 600, qty: 2, lineTotal: 1200 };
const draft = (clientRef: string | null = null) => ({ items: [line], payment: 'cash' as const, note: null, clientRef, currency: 'GEL', mode: 'offline' as const });

describe('agent order store', () => {
  it('runs WAL with synchronous=FULL and migrates to the latest version', () => {
    const store = new OrderStore(join(tempDir('store'), 'agent.db'), 'tbilisi-01');
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    store.close();
  });

  it('numbers orders <pointId>-<seq> and totals them in minor units', () => {
    const store = new OrderStore(join(tempDir('store'), 'agent.db'), 'batumi-01');
    const first = store.addOrder(draft()).order;
    const second = store.addOrder(draft()).order;
    expect(first.number).toBe('batumi-01-000001');
    expect(second.number).toBe('batumi-01-000002');
    expect(second.total).toBe(1200);
    expect(store.unsyncedStats().count).toBe(2);
    store.close();
  });

  it('returns the earlier order for a repeated clientRef', () => {
    const store = new OrderStore(join(tempDir('store'), 'agent.db'), 'batumi-01');
    const a = store.addOrder(draft('tap-1'));
    const b = store.addOrder(draft('tap-1'));
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.order.id).toBe(a.order.id);
    expect(store.list('all')).toHaveLength(1);
    store.close();
  });

  it('marks only acked orders synced, once', () => {
    const store = new OrderStore(join(tempDir('store'), 'agent.db'), 'p');
    const ids = [1, 2, 3].map(() => store.addOrder(draft()).order.id);
    expect(store.markSynced([ids[0]!, ids[2]!])).toBe(2);
    expect(store.markSynced([ids[0]!])).toBe(0);
    expect(store.unsyncedAfter(0, 10).map((r) => r.id)).toEqual([ids[1]]);
    store.close();
  });

  it('refuses a corrupt database with a clear message and keeps the file', () => {
    const dir = tempDir('store');
    const file = join(dir, 'agent.db');
    const store = new OrderStore(file, 'p');
    for (let i = 0; i < 200; i++) store.addOrder(draft());
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    store.close();
    const bytes = readFileSync(file);
    // Scribble over the b-tree pages, leaving the header intact.
    for (let i = 4096 + 100; i < bytes.length; i += 7) bytes[i] = 0xa5;
    writeFileSync(file, bytes);
    expect(() => new OrderStore(file, 'p')).toThrow(StoreCorruptError);
    expect(() => new OrderStore(file, 'p')).toThrow(/copy the file aside/);
    expect(readFileSync(file).length).toBe(bytes.length);
  });

  it('refuses a file that is not a database at all', () => {
    const file = join(tempDir('store'), 'agent.db');
    writeFileSync(file, 'this is not sqlite, it is a shopping list'.repeat(200));
    expect(() => new OrderStore(file, 'p')).toThrow(StoreCorruptError);
  });
});
