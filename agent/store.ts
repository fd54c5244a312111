import type Database from 'better-sqlite3';
import { openDatabase } from '../lib/sqlite.js';
import { uuidv7 } from '../lib/uuidv7.js';
import { orderNumber, type Mode, type OrderItem, type OrderRecord } from '../sync/schemas.js';
import type { DayOrder } from '../sync/day-summary.js';

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
  // Receipt print jobs (agent/receipts.ts): one row per receipt to print, kept after printing.
  `CREATE TABLE print_jobs (
     id INTEGER PRIMARY KEY,
     order_id TEXT NOT NULL,
     reason TEXT NOT NULL CHECK (reason IN ('order', 'reprint')),
     state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'printing', 'printed', 'uncertain')),
     created_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     started_at INTEGER,
     printed_at INTEGER,
     last_error TEXT
   );
   CREATE INDEX print_jobs_queued ON print_jobs(id) WHERE state = 'queued';
   CREATE INDEX print_jobs_order ON print_jobs(order_id);`,
  // Staff sessions (agent/page/access.ts), by a keyed hash of the cookie's token.
  `CREATE TABLE staff_sessions (token_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;`,
  // Kitchen tickets (kitchenPrinter) share the print queue's table: a job is for one printer.
  `ALTER TABLE print_jobs ADD COLUMN target TEXT NOT NULL DEFAULT 'receipt' CHECK (target IN ('receipt', 'kitchen'));
   DROP INDEX print_jobs_queued;
   CREATE INDEX print_jobs_queued ON print_jobs(target, id) WHERE state = 'queued';`,
  // Central holds another version of the order under the same id: never synced, not sent again.
  `ALTER TABLE orders ADD COLUMN conflict_at INTEGER;
   CREATE INDEX orders_conflict ON orders(conflict_at) WHERE conflict_at IS NOT NULL;`,
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
  /** When central answered that it holds other content under this order's id (then never synced). */
  conflictAt: number | null;
}

/** How the staff page and the API word an order's sync state. */
export type SyncState = 'unsynced' | 'synced' | 'conflict';

export function syncState(stored: Pick<StoredOrder, 'syncedAt' | 'conflictAt'>): SyncState {
  return stored.conflictAt !== null ? 'conflict' : stored.syncedAt === null ? 'unsynced' : 'synced';
}

type OrderRow = { record: string; synced_at: number | null; conflict_at: number | null };

/** An unsynced order as the outbox reads it: the record stays a JSON string, sent as is. */
export interface OutboxRow {
  seq: number;
  id: string;
  record: string;
}

export type OrderFilter = 'unsynced' | 'synced' | 'all';

/** Staff sessions that outlive a restart (agent/page/access.ts), by a keyed hash of the token. */
export interface SessionStore {
  sessionExpiry(tokenHash: string): number | null;
  saveSession(tokenHash: string, expiresAt: number): void;
  dropSession(tokenHash: string): void;
  dropSessionsExpiredBy(now: number): void;
}

function toStored(row: OrderRow | undefined): StoredOrder | null {
  return row ? { order: JSON.parse(row.record) as OrderRecord, syncedAt: row.synced_at, conflictAt: row.conflict_at } : null;
}

/** The agent's durable order store and outbox: the source of truth until central acks. */
export class OrderStore implements SessionStore {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly insertTx;

  constructor(readonly file: string, private readonly pointId: string, migrations: readonly string[] = MIGRATIONS) {
    this.db = openDatabase(file, migrations);
    const db = this.db;
    this.stmts = {
      byClientRef: db.prepare<[string], OrderRow>('SELECT record, synced_at, conflict_at FROM orders WHERE client_ref = ?'),
      byId: db.prepare<[string], OrderRow>('SELECT record, synced_at, conflict_at FROM orders WHERE id = ?'),
      maxSeq: db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM orders'),
      insert: db.prepare('INSERT INTO orders (seq, id, number, client_ref, created_at, total, record) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      unsyncedAfter: db.prepare<[number, number], OutboxRow>('SELECT seq, id, record FROM orders WHERE synced_at IS NULL AND conflict_at IS NULL AND seq > ? ORDER BY seq LIMIT ?'),
      markSynced: db.prepare<[number, string]>('UPDATE orders SET synced_at = ? WHERE id = ? AND synced_at IS NULL AND conflict_at IS NULL'),
      markConflict: db.prepare<[number, string]>('UPDATE orders SET conflict_at = ? WHERE id = ? AND synced_at IS NULL AND conflict_at IS NULL'),
      unsyncedStats: db.prepare<[], { count: number; oldest: number | null }>('SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM orders WHERE synced_at IS NULL AND conflict_at IS NULL'),
      conflicts: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM orders WHERE conflict_at IS NOT NULL'),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      sessionExpiry: db.prepare<[string], { expires_at: number }>('SELECT expires_at FROM staff_sessions WHERE token_hash = ?'),
      saveSession: db.prepare<[string, number]>('INSERT INTO staff_sessions (token_hash, expires_at) VALUES (?, ?)'),
      dropSession: db.prepare<[string]>('DELETE FROM staff_sessions WHERE token_hash = ?'),
      dropExpiredSessions: db.prepare<[number]>('DELETE FROM staff_sessions WHERE expires_at <= ?'),
    };
    this.insertTx = db.transaction((input: NewOrder, now: number, alsoInTransaction?: (order: OrderRecord) => void): { order: OrderRecord; created: boolean } => {
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
      alsoInTransaction?.(order);
      return { order, created: true };
    });
  }

  /** Commits one order (fsync'd before this returns). A known clientRef returns the earlier order. */
  addOrder(input: NewOrder, now = Date.now(), alsoInTransaction?: (order: OrderRecord) => void): { order: OrderRecord; created: boolean } {
    return this.insertTx.immediate(input, now, alsoInTransaction);
  }

  get(id: string): StoredOrder | null {
    return toStored(this.stmts.byId.get(id));
  }

  /** Newest first; `since`/`until` bound created_at to [since, until). */
  list(filter: OrderFilter, options: { limit?: number; since?: number; until?: number } = {}): StoredOrder[] {
    const where = filter === 'unsynced' ? 'synced_at IS NULL' : filter === 'synced' ? 'synced_at IS NOT NULL' : '1';
    const rows = this.db
      .prepare<[number, number, number], OrderRow>(
        `SELECT record, synced_at, conflict_at FROM orders WHERE ${where} AND created_at >= ? AND created_at < ? ORDER BY seq DESC LIMIT ?`,
      )
      .all(options.since ?? 0, options.until ?? Number.MAX_SAFE_INTEGER, options.limit ?? 500);
    return rows.map((row) => toStored(row)!);
  }

  /** The next unsynced orders after `afterSeq`, oldest first, each with its JSON record as stored. */
  unsyncedAfter(afterSeq: number, limit: number): OutboxRow[] {
    return this.stmts.unsyncedAfter.all(afterSeq, limit);
  }

  /** Marks acked orders synced in one transaction; returns how many changed. */
  markSynced(ids: readonly string[], now = Date.now()): number {
    return this.db.transaction(() => ids.reduce((changed, id) => changed + this.stmts.markSynced.run(now, id).changes, 0))();
  }

  /** Marks orders central holds other content for: never synced, not sent again; returns how many changed. */
  markConflict(ids: readonly string[], now = Date.now()): number {
    return this.db.transaction(() => ids.reduce((changed, id) => changed + this.stmts.markConflict.run(now, id).changes, 0))();
  }

  /** Orders in conflict with central's version (waiting for a person). */
  conflictCount(): number {
    return this.stmts.conflicts.get()!.count;
  }

  /** Orders waiting to sync (conflicts are not waiting: they are counted apart). */
  unsyncedStats(): { count: number; oldestCreatedAt: number | null } {
    const row = this.stmts.unsyncedStats.get()!;
    return { count: row.count, oldestCreatedAt: row.oldest };
  }

  getByClientRef(clientRef: string): StoredOrder | null {
    return toStored(this.stmts.byClientRef.get(clientRef));
  }

  /** Sum of the totals of orders taken offline and not yet synced (the offline sales limit). */
  unsyncedOfflineTotal(): number {
    return this.db
      .prepare<[], { total: number }>(`SELECT COALESCE(SUM(total), 0) AS total FROM orders WHERE synced_at IS NULL AND json_extract(record, '$.mode') = 'offline'`)
      .get()!.total;
  }

  /** Orders created in [from, to), as a day summary needs them. */
  ordersCreatedBetween(from: number, to: number): DayOrder[] {
    return this.db
      .prepare<[number, number], { seq: number; total: number; payment: 'cash' | 'card'; synced: number }>(
        `SELECT seq, total, json_extract(record, '$.payment') AS payment, synced_at IS NOT NULL AS synced FROM orders WHERE created_at >= ? AND created_at < ?`,
      )
      .all(from, to)
      .map((row) => ({ ...row, synced: row.synced === 1 }));
  }

  sessionExpiry(tokenHash: string): number | null {
    return this.stmts.sessionExpiry.get(tokenHash)?.expires_at ?? null;
  }

  saveSession(tokenHash: string, expiresAt: number): void {
    this.stmts.saveSession.run(tokenHash, expiresAt);
  }

  dropSession(tokenHash: string): void {
    this.stmts.dropSession.run(tokenHash);
  }

  dropSessionsExpiredBy(now: number): void {
    this.stmts.dropExpiredSessions.run(now);
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

  /**
   * WAL checkpoints leave the commit path: SQLite's own (every 1,000 pages, inside whichever commit
   * crosses it, with an fsync of the database file) only past `backstopPages`; the owner calls
   * checkpoint() when the box is idle.
   */
  deferCheckpoints(backstopPages: number): void {
    this.db.pragma(`wal_autocheckpoint = ${backstopPages}`);
  }

  /** Copies committed WAL pages into the database file, without waiting for readers or writers. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  close(): void {
    this.db.close();
  }
}
