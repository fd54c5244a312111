import { openDatabase, type OpenedDatabase } from '../lib/sqlite.js';
import { uuidv7 } from '../lib/uuidv7.js';
import { defineError } from '../lib/errors.js';
import { orderNumber, orderTime, type Mode, type OrderItem, type OrderRecord, type VoidRecord } from '../sync/schemas.js';
import type { DayOrder } from '../sync/day-summary.js';

/** Another order (another clientRef) already has the number a tablet gave: two tablets sharing a tag, or a tablet's counter reset. */
export const NumberTaken = defineError('number_taken', 409, (number: string) => `another order already has the number ${number}: give this tablet a new device tag (clear the page's site data) and enter the order again`);

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
  // Voids (DESIGN.md "Voids"): one per order, in the outbox like orders; a void slip is a print job.
  `CREATE TABLE voids (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     order_id TEXT NOT NULL UNIQUE,
     voided_at INTEGER NOT NULL,
     record TEXT NOT NULL,
     synced_at INTEGER
   );
   CREATE INDEX voids_unsynced ON voids(seq) WHERE synced_at IS NULL;
   CREATE TABLE print_jobs_v5 (
     id INTEGER PRIMARY KEY,
     order_id TEXT NOT NULL,
     reason TEXT NOT NULL CHECK (reason IN ('order', 'reprint', 'void')),
     state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'printing', 'printed', 'uncertain')),
     created_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     started_at INTEGER,
     printed_at INTEGER,
     last_error TEXT,
     target TEXT NOT NULL DEFAULT 'receipt' CHECK (target IN ('receipt', 'kitchen'))
   );
   INSERT INTO print_jobs_v5 (id, order_id, reason, state, created_at, attempts, started_at, printed_at, last_error, target)
     SELECT id, order_id, reason, state, created_at, attempts, started_at, printed_at, last_error, target FROM print_jobs;
   DROP TABLE print_jobs;
   ALTER TABLE print_jobs_v5 RENAME TO print_jobs;
   CREATE INDEX print_jobs_queued ON print_jobs(target, id) WHERE state = 'queued';
   CREATE INDEX print_jobs_order ON print_jobs(order_id);`,
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
  /** When the order was really taken (a late entry), else null: it was taken now. */
  takenAt?: number | null;
  /** The number a tablet gave an order it kept while the box did not answer (`<pointId>-<deviceTag>-<seq>`); else the box numbers it. */
  number?: string | null;
}

export interface StoredOrder {
  order: OrderRecord;
  syncedAt: number | null;
  /** When central answered that it holds other content under this order's id (then never synced). */
  conflictAt: number | null;
  /** Its void, if it has one. */
  void: VoidRecord | null;
}

export interface NewVoid {
  orderId: string;
  reason: string;
  approvedBy: VoidRecord['approvedBy'];
}

/** How the staff page and the API word an order's sync state. */
export type SyncState = 'unsynced' | 'synced' | 'conflict';

export function syncState(stored: Pick<StoredOrder, 'syncedAt' | 'conflictAt'>): SyncState {
  return stored.conflictAt !== null ? 'conflict' : stored.syncedAt === null ? 'unsynced' : 'synced';
}

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

interface OrderRow {
  record: string;
  synced_at: number | null;
  conflict_at: number | null;
  void_record: string | null;
}

/** An order row with its void (LEFT JOIN voids). */
const ORDER_COLUMNS = 'o.record, o.synced_at, o.conflict_at, v.record AS void_record FROM orders o LEFT JOIN voids v ON v.order_id = o.id';

function toStored(row: OrderRow | undefined): StoredOrder | null {
  return row
    ? { order: JSON.parse(row.record) as OrderRecord, syncedAt: row.synced_at, conflictAt: row.conflict_at, void: row.void_record ? (JSON.parse(row.void_record) as VoidRecord) : null }
    : null;
}

/** The agent's durable order store and outbox: the source of truth until central acks. */
export class OrderStore implements SessionStore {
  readonly db: OpenedDatabase;
  private readonly stmts;
  private readonly insertTx;
  private readonly voidTx;

  constructor(readonly file: string, private readonly pointId: string, migrations: readonly string[] = MIGRATIONS) {
    // A full disk that still holds the schema: opened held alone, so the box serves its page and answers 507.
    this.db = openDatabase(file, migrations, { exclusiveWhenFull: true });
    const db = this.db;
    this.stmts = {
      byClientRef: db.prepare<[string], OrderRow>(`SELECT ${ORDER_COLUMNS} WHERE o.client_ref = ?`),
      byNumber: db.prepare<[string], { seq: number }>('SELECT seq FROM orders WHERE number = ?'),
      byId: db.prepare<[string], OrderRow>(`SELECT ${ORDER_COLUMNS} WHERE o.id = ?`),
      voidOf: db.prepare<[string], { record: string }>('SELECT record FROM voids WHERE order_id = ?'),
      insertVoid: db.prepare<[string, string, number, string]>('INSERT INTO voids (id, order_id, voided_at, record) VALUES (?, ?, ?, ?)'),
      unsyncedVoidsAfter: db.prepare<[number, number], OutboxRow>('SELECT seq, id, record FROM voids WHERE synced_at IS NULL AND seq > ? ORDER BY seq LIMIT ?'),
      markVoidSynced: db.prepare<[number, string]>('UPDATE voids SET synced_at = ? WHERE id = ? AND synced_at IS NULL'),
      unsyncedVoidStats: db.prepare<[], { count: number; oldest: number | null }>('SELECT COUNT(*) AS count, MIN(o.created_at) AS oldest FROM voids v JOIN orders o ON o.id = v.order_id WHERE v.synced_at IS NULL'),
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
      if (input.number && this.stmts.byNumber.get(input.number)) throw NumberTaken(input.number);
      // The box's own seq orders the outbox and the day's gaps, a tablet's number or not.
      const seq = (this.stmts.maxSeq.get()?.seq ?? 0) + 1;
      const order: OrderRecord = {
        id: uuidv7(now),
        pointId: this.pointId,
        seq,
        number: input.number ?? orderNumber(this.pointId, seq),
        createdAt: now,
        items: input.items,
        total: input.items.reduce((sum, item) => sum + item.lineTotal, 0),
        currency: input.currency,
        payment: input.payment,
        note: input.note,
        clientRef: input.clientRef,
        mode: input.mode,
        ...(input.takenAt != null ? { takenAt: input.takenAt } : {}),
      };
      // created_at is the time the order counts at (its day, GET /api/orders?date=): takenAt when entered late.
      this.stmts.insert.run(seq, order.id, order.number, order.clientRef, orderTime(order), order.total, JSON.stringify(order));
      alsoInTransaction?.(order);
      return { order, created: true };
    });
    this.voidTx = db.transaction((input: NewVoid, now: number, alsoInTransaction?: (voided: VoidRecord, order: OrderRecord) => void) => {
      const prior = this.stmts.voidOf.get(input.orderId);
      if (prior) return { void: JSON.parse(prior.record) as VoidRecord, created: false };
      const stored = this.stmts.byId.get(input.orderId);
      if (!stored) return null;
      const order = JSON.parse(stored.record) as OrderRecord;
      const record: VoidRecord = {
        id: uuidv7(now),
        orderId: order.id,
        pointId: this.pointId,
        orderNumber: order.number,
        total: order.total,
        reason: input.reason,
        voidedAt: now,
        approvedBy: input.approvedBy,
      };
      this.stmts.insertVoid.run(record.id, record.orderId, now, JSON.stringify(record));
      alsoInTransaction?.(record, order);
      return { void: record, created: true };
    });
  }

  /**
   * Commits the void of an order (fsync'd before this returns); an order already voided returns its
   * void (`created: false`), an unknown order null.
   */
  addVoid(input: NewVoid, now = Date.now(), alsoInTransaction?: (voided: VoidRecord, order: OrderRecord) => void): { void: VoidRecord; created: boolean } | null {
    return this.voidTx.immediate(input, now, alsoInTransaction);
  }

  /** The next unsynced voids after `afterSeq` (the voids' own sequence), oldest first. */
  unsyncedVoidsAfter(afterSeq: number, limit: number): OutboxRow[] {
    return this.stmts.unsyncedVoidsAfter.all(afterSeq, limit);
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
    const where = filter === 'unsynced' ? 'synced_at IS NULL' : filter === 'synced' ? 'synced_at IS NOT NULL' : 'seq > 0';
    const rows = this.db
      .prepare<[number, number, number], OrderRow>(`SELECT ${ORDER_COLUMNS} WHERE o.${where} AND o.created_at >= ? AND o.created_at < ? ORDER BY o.seq DESC LIMIT ?`)
      .all(options.since ?? 0, options.until ?? Number.MAX_SAFE_INTEGER, options.limit ?? 500);
    return rows.map((row) => toStored(row)!);
  }

  /** The next unsynced orders after `afterSeq`, oldest first, each with its JSON record as stored. */
  unsyncedAfter(afterSeq: number, limit: number): OutboxRow[] {
    return this.stmts.unsyncedAfter.all(afterSeq, limit);
  }

  /** Marks acked orders and voids (central acks both by id) synced in one transaction; returns how many changed. */
  markSynced(ids: readonly string[], now = Date.now()): number {
    return this.db.transaction(() =>
      ids.reduce((changed, id) => {
        const orders = this.stmts.markSynced.run(now, id).changes;
        return changed + (orders || this.stmts.markVoidSynced.run(now, id).changes);
      }, 0),
    )();
  }

  /** Marks orders central holds other content for: never synced, not sent again; returns how many changed. */
  markConflict(ids: readonly string[], now = Date.now()): number {
    return this.db.transaction(() => ids.reduce((changed, id) => changed + this.stmts.markConflict.run(now, id).changes, 0))();
  }

  /** Orders in conflict with central's version (waiting for a person). */
  conflictCount(): number {
    return this.stmts.conflicts.get()!.count;
  }

  /** Orders and voids not yet acked (conflicts are not waiting: they are counted apart); the oldest by order time (a void belongs to its order's day). */
  unsyncedStats(): { count: number; oldestCreatedAt: number | null } {
    const orders = this.stmts.unsyncedStats.get()!;
    const voids = this.stmts.unsyncedVoidStats.get()!;
    const oldest = [orders.oldest, voids.oldest].filter((at): at is number => at !== null);
    return { count: orders.count + voids.count, oldestCreatedAt: oldest.length ? Math.min(...oldest) : null };
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

  /** Orders created in [from, to), as a day summary needs them (a void counts in its order's day). */
  ordersCreatedBetween(from: number, to: number): DayOrder[] {
    return this.db
      .prepare<[number, number], { seq: number; number: string; total: number; payment: 'cash' | 'card'; synced: number; voided: number }>(
        `SELECT o.seq, o.number, o.total, json_extract(o.record, '$.payment') AS payment, v.id IS NOT NULL AS voided,
                (o.synced_at IS NOT NULL AND (v.id IS NULL OR v.synced_at IS NOT NULL)) AS synced
           FROM orders o LEFT JOIN voids v ON v.order_id = o.id WHERE o.created_at >= ? AND o.created_at < ?`,
      )
      .all(from, to)
      .map((row) => ({ ...row, synced: row.synced === 1, voided: row.voided === 1 }));
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
