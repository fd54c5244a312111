import type Database from 'better-sqlite3';
import { openDatabase } from '../lib/sqlite.js';
import { uuidv7 } from '../lib/uuidv7.js';
import { orderNumber, type Mode, type OrderItem, type OrderRecord } from '../sync/schemas.js';

/**
 * Versioned schema: entry N moves user_version N → N+1. Append only; never edit a shipped entry.
 */
export const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE orders (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     number TEXT NOT NULL UNIQUE,
     client_ref TEXT UNIQUE,
     created_at INTEGER NOT NULL,
     total INTEGER NOT NULL,
     record TEXT NOT NULL,
     synced_at INTEGER
   );
   CREATE INDEX orders_unsynced ON orders(seq) WHERE synced_at IS NULL;
   CREATE INDEX orders_created ON orders(created_at);`,
];

export interface NewOrder {
  items: OrderItem[];
  payment: 'cash' | 'card';
  note: string | null;
  clientRef: string | null;
  currency: string;
  mode: Mode;
}

export interface StoredOrder {
  order: OrderRecord;
  syncedAt: number | null;
}

/** An unsynced order as the outbox reads it: the record stays a JSON string, sent as is. */
export interface OutboxRow {
  seq: number;
  id: string;
  record: string;
}

export type OrderFilter = 'unsynced' | 'synced' | 'all';

/** The agent's durable order store and outbox: the source of truth until central acks. */
export class OrderStore {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly insertTx;

  constructor(readonly file: string, private readonly pointId: string, migrations: readonly string[] = MIGRATIONS) {
    this.db = openDatabase(file, migrations);
    const db = this.db;
    this.stmts = {
      byClientRef: db.prepare<[string], { record: string; synced_at: number | null }>('SELECT record, synced_at FROM orders WHERE client_ref = ?'),
      byId: db.prepare<[string], { record: string; synced_at: number | null }>('SELECT record, synced_at FROM orders WHERE id = ?'),
      maxSeq: db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM orders'),
      insert: db.prepare('INSERT INTO orders (seq, id, number, client_ref, created_at, total, record) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      unsyncedAfter: db.prepare<[number, number], OutboxRow>('SELECT seq, id, record FROM orders WHERE synced_at IS NULL AND seq > ? ORDER BY seq LIMIT ?'),
      markSynced: db.prepare<[number, string]>('UPDATE orders SET synced_at = ? WHERE id = ? AND synced_at IS NULL'),
      unsyncedStats: db.prepare<[], { count: number; oldest: number | null }>('SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM orders WHERE synced_at IS NULL'),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
    this.insertTx = db.transaction((input: NewOrder, now: number): { order: OrderRecord; created: boolean } => {
      if (input.clientRef) {
        const prior = this.stmts.byClientRef.get(input.clientRef);
        if (prior) return { order: JSON.parse(prior.record) as OrderRecord, created: false };
      }
      const seq = (this.stmts.maxSeq.get()?.seq ?? 0) + 1;
      const order: OrderRecord = {
        id: uuidv7(now),
        pointId: this.pointId,
        seq,
        number: orderNumber(this.pointId, seq),
        createdAt: now,
        items: input.items,
        total: input.items.reduce((sum, item) => sum + item.lineTotal, 0),
        currency: input.currency,
        payment: input.payment,
        note: input.note,
        clientRef: input.clientRef,
        mode: input.mode,
      };
      this.stmts.insert.run(seq, order.id, order.number, order.clientRef, now, order.total, JSON.stringify(order));
      return { order, created: true };
    });
  }

  /** Commits one order (fsync'd before this returns). A known clientRef returns the earlier order. */
  addOrder(input: NewOrder, now = Date.now()): { order: OrderRecord; created: boolean } {
    return this.insertTx.immediate(input, now);
  }

  get(id: string): StoredOrder | null {
    const row = this.stmts.byId.get(id);
    return row ? { order: JSON.parse(row.record) as OrderRecord, syncedAt: row.synced_at } : null;
  }

  list(filter: OrderFilter, options: { limit?: number; since?: number } = {}): StoredOrder[] {
    const where = filter === 'unsynced' ? 'synced_at IS NULL' : filter === 'synced' ? 'synced_at IS NOT NULL' : '1';
    const rows = this.db
      .prepare<[number, number], { record: string; synced_at: number | null }>(
        `SELECT record, synced_at FROM orders WHERE ${where} AND created_at >= ? ORDER BY seq DESC LIMIT ?`,
      )
      .all(options.since ?? 0, options.limit ?? 500);
    return rows.map((row) => ({ order: JSON.parse(row.record) as OrderRecord, syncedAt: row.synced_at }));
  }

  /** The next unsynced orders after `afterSeq`, oldest first, each with its JSON record as stored. */
  unsyncedAfter(afterSeq: number, limit: number): OutboxRow[] {
    return this.stmts.unsyncedAfter.all(afterSeq, limit);
  }

  /** Marks acked orders synced in one transaction; returns how many changed. */
  markSynced(ids: readonly string[], now = Date.now()): number {
    return this.db.transaction(() => ids.reduce((changed, id) => changed + this.stmts.markSynced.run(now, id).changes, 0))();
  }

  unsyncedStats(): { count: number; oldestCreatedAt: number | null } {
    const row = this.stmts.unsyncedStats.get()!;
    return { count: row.count, oldestCreatedAt: row.oldest };
  }

  getMeta(key: string): string | null {
    return this.stmts.getMeta.get(key)?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  /** Bumps and returns a durable counter (e.g. the MQTT session number). */
  nextCounter(key: string): number {
    return this.db.transaction(() => {
      const next = Number(this.getMeta(key) ?? '0') + 1;
      this.setMeta(key, String(next));
      return next;
    }).immediate();
  }

  close(): void {
    this.db.close();
  }
}
