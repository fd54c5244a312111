import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import type { OrderRecord, VoidRecord } from '../../sync/schemas.js';
import type { CommittedOrder, CommittedVoid } from '../store/types.js';
import type { QueueHead, Transition } from './decisions.js';
import {
  BY_POINT_SQL,
  foldByPoint,
  summarize,
  summarizeVoids,
  voidHeadsSql,
  VOID_BACKLOG_SQL,
  type Backlog,
  type BacklogRow,
  type ForwardAuditEntry,
  type ForwardedOrder,
  type ForwardSignal,
  type ForwardStatus,
  type ForwardStore,
  type ParkedOrder,
  type PointBacklog,
  type ByPointRow,
  type QueuedOrder,
  type QueuedVoid,
  type RedriveFilter,
  type Redriven,
  type ReforwardFilter,
  type VoidBacklog,
} from './store.js';

/**
 * The forwarder's own tables in this central's SQLite. Each queued order keeps its record, so
 * forwarding works the same whether central's orders live in this SQLite or in PostgreSQL.
 * `forward_meta.watermark` is the last committed order already queued: everything committed after
 * it is queued on the next pull, even after a crash between a commit and its queuing.
 */
/** Append only (central/migrations.ts): entry N moves these tables from version N to N+1. */
export const UPSTREAM_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS forward_orders (
    order_id TEXT PRIMARY KEY,
    point_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    record TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'forwarded', 'parked')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at INTEGER NOT NULL,
    forwarded_at INTEGER,
    parked_at INTEGER,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS forward_orders_queue ON forward_orders(status, point_id, seq);
  CREATE INDEX IF NOT EXISTS forward_orders_age ON forward_orders(status, received_at);
  CREATE TABLE IF NOT EXISTS forward_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // Who sent orders again (re-drive, re-forward after a restore or a books check), and how many.
  `CREATE TABLE forward_audit (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     by TEXT NOT NULL,
     action TEXT NOT NULL,
     count INTEGER NOT NULL,
     detail TEXT NOT NULL
   );`,
  // Voids for the main server (DESIGN.md "Voids"): each goes once its sale is forwarded.
  `CREATE TABLE forward_voids (
     void_id TEXT PRIMARY KEY,
     order_id TEXT NOT NULL,
     point_id TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     record TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'forwarded', 'parked')),
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     next_attempt_at INTEGER NOT NULL,
     forwarded_at INTEGER,
     parked_at INTEGER,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX forward_voids_status ON forward_voids(status, received_at);`,
];

/** The outcome statements of one queue table (`forward_orders` by order_id, `forward_voids` by void_id). */
function transitionStatements(db: Database.Database, table: 'forward_orders' | 'forward_voids', key: 'order_id' | 'void_id') {
  return {
    forwarded: db.prepare<{ id: string; now: number }>(
      `UPDATE ${table} SET status = 'forwarded', attempts = attempts + 1, last_error = NULL, forwarded_at = @now, updated_at = @now WHERE ${key} = @id AND status = 'pending'`,
    ),
    retry: db.prepare<{ id: string; error: string; at: number; now: number }>(
      `UPDATE ${table} SET attempts = attempts + 1, last_error = @error, next_attempt_at = @at, updated_at = @now WHERE ${key} = @id AND status = 'pending'`,
    ),
    park: db.prepare<{ id: string; error: string; now: number }>(
      `UPDATE ${table} SET status = 'parked', attempts = attempts + 1, last_error = @error, parked_at = @now, updated_at = @now WHERE ${key} = @id AND status = 'pending'`,
    ),
    retryNow: db.prepare<{ now: number }>(`UPDATE ${table} SET next_attempt_at = @now WHERE status = 'pending' AND next_attempt_at > @now`),
  };
}

const BACKLOG_SQL = `SELECT status, COUNT(*) AS orders, MIN(received_at) AS oldest FROM forward_orders
  WHERE status IN ('pending', 'parked') GROUP BY status`;

/**
 * A second connection to central's SQLite file for the forward state, with `synchronous = NORMAL`:
 * a commit survives a process crash (kill -9) but skips the fsync, so recording answers does not
 * cost a disk flush each. A power cut may roll back the last few transitions, and every one of
 * them is safe to redo: the order is sent again and the main server dedups it by sale id.
 * (Central's own connection keeps FULL for the orders themselves.)
 */
export function openForwardDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Forward state in this central's SQLite: one central, so signals stay in this process. */
export class SqliteForwardStore implements ForwardStore {
  private readonly stmts;
  private readonly enqueueTx: (orders: readonly CommittedOrder[], now: number) => number;
  private readonly enqueueVoidsTx: (voids: readonly CommittedVoid[], now: number) => number;
  private readonly applyTx: (transitions: readonly Transition[], now: number) => void;
  private readonly reforwardIdsTx: (ids: readonly string[], now: number) => number;
  private readonly redriveTx: (filter: RedriveFilter, now: number) => Redriven;
  private readonly signals = new EventEmitter();

  /** `db` is the caller's: opened (openForwardDatabase) and closed by it. */
  constructor(db: Database.Database) {
    this.stmts = {
      insert: db.prepare<{ id: string; pointId: string; seq: number; receivedAt: number; record: string; now: number }>(
        `INSERT OR IGNORE INTO forward_orders (order_id, point_id, seq, received_at, record, status, next_attempt_at, updated_at)
         VALUES (@id, @pointId, @seq, @receivedAt, @record, 'pending', @receivedAt, @now)`,
      ),
      meta: db.prepare<[string], { value: string }>('SELECT value FROM forward_meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>('INSERT INTO forward_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      // A skip-scan over the points with pending orders, then each point's lowest seq: O(points · log n).
      heads: db.prepare<[], QueueHead>(
        `WITH RECURSIVE points(point_id) AS (
           SELECT (SELECT MIN(point_id) FROM forward_orders WHERE status = 'pending')
           UNION ALL
           SELECT (SELECT MIN(point_id) FROM forward_orders WHERE status = 'pending' AND point_id > points.point_id)
           FROM points WHERE points.point_id IS NOT NULL
         )
         SELECT f.order_id AS orderId, f.point_id AS pointId, f.seq, f.attempts, f.next_attempt_at AS nextAttemptAt, f.received_at AS receivedAt
         FROM points JOIN forward_orders f ON f.order_id = (
           SELECT order_id FROM forward_orders WHERE status = 'pending' AND point_id = points.point_id ORDER BY seq, rowid LIMIT 1
         )`,
      ),
      record: db.prepare<[string], { record: string }>('SELECT record FROM forward_orders WHERE order_id = ?'),
      sales: transitionStatements(db, 'forward_orders', 'order_id'),
      voids: transitionStatements(db, 'forward_voids', 'void_id'),
      insertVoid: db.prepare<{ id: string; orderId: string; pointId: string; receivedAt: number; record: string; now: number }>(
        `INSERT OR IGNORE INTO forward_voids (void_id, order_id, point_id, received_at, record, status, next_attempt_at, updated_at)
         VALUES (@id, @orderId, @pointId, @receivedAt, @record, 'pending', @receivedAt, @now)`,
      ),
      voidHeads: db.prepare<[number], QueueHead>(voidHeadsSql('?')),
      voidRecord: db.prepare<[string], { record: string }>('SELECT record FROM forward_voids WHERE void_id = ?'),
      voidBacklog: db.prepare<[], { state: string; voids: number }>(VOID_BACKLOG_SQL),
      redrive: db.prepare<{ now: number; pointId: string | null; ids: string | null }, QueuedOrder>(
        `UPDATE forward_orders SET status = 'pending', attempts = 0, next_attempt_at = @now, parked_at = NULL, updated_at = @now
         WHERE status = 'parked' AND (@pointId IS NULL OR point_id = @pointId)
           AND (@ids IS NULL OR order_id IN (SELECT value FROM json_each(@ids)))
         RETURNING order_id AS orderId, point_id AS pointId`,
      ),
      redriveVoids: db.prepare<{ now: number; pointId: string | null; ids: string | null }, QueuedVoid>(
        `UPDATE forward_voids SET status = 'pending', attempts = 0, next_attempt_at = @now, parked_at = NULL, updated_at = @now
         WHERE status = 'parked' AND (@pointId IS NULL OR point_id = @pointId)
           AND (@ids IS NULL OR void_id IN (SELECT value FROM json_each(@ids)) OR order_id IN (SELECT value FROM json_each(@ids)))
         RETURNING void_id AS voidId, order_id AS orderId, point_id AS pointId`,
      ),
      reforwardSince: db.prepare<{ now: number; since: number }>(
        `UPDATE forward_orders SET status = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
         WHERE status = 'forwarded' AND forwarded_at >= @since`,
      ),
      reforwardVoidsSince: db.prepare<{ now: number; since: number }>(
        `UPDATE forward_voids SET status = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
         WHERE status = 'forwarded' AND forwarded_at >= @since`,
      ),
      reforwardId: db.prepare<{ now: number; id: string }>(
        `UPDATE forward_orders SET status = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
         WHERE status = 'forwarded' AND order_id = @id`,
      ),
      reforwardVoidsOf: db.prepare<{ now: number; id: string }>(
        `UPDATE forward_voids SET status = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
         WHERE status = 'forwarded' AND order_id = @id`,
      ),
      backlog: db.prepare<[], BacklogRow>(BACKLOG_SQL),
      forwardedCount: db.prepare<[], { orders: number }>("SELECT COUNT(*) AS orders FROM forward_orders WHERE status = 'forwarded'"),
      byPoint: db.prepare<[], ByPointRow>(BY_POINT_SQL),
      parked: db.prepare<{ limit: number; pointId: string | null }, ParkedOrder>(
        `SELECT order_id AS orderId, point_id AS pointId, seq, json_extract(record, '$.number') AS number, attempts, last_error AS lastError, parked_at AS parkedAt
         FROM forward_orders WHERE status = 'parked' AND (@pointId IS NULL OR point_id = @pointId) ORDER BY parked_at DESC, rowid DESC LIMIT @limit`,
      ),
      forwardedBetween: db.prepare<{ from: number; to: number; pointId: string | null }, ForwardedOrder>(
        `SELECT order_id AS orderId, point_id AS pointId, json_extract(record, '$.number') AS number, forwarded_at AS forwardedAt
         FROM forward_orders WHERE status = 'forwarded' AND received_at >= @from AND received_at < @to AND (@pointId IS NULL OR point_id = @pointId)
         ORDER BY point_id, seq`,
      ),
      statuses: db.prepare<[string], { orderId: string; status: ForwardStatus }>(
        'SELECT order_id AS orderId, status FROM forward_orders WHERE order_id IN (SELECT value FROM json_each(?))',
      ),
      audit: db.prepare<[number, string, string, number, string]>('INSERT INTO forward_audit (at, by, action, count, detail) VALUES (?, ?, ?, ?, ?)'),
      auditLog: db.prepare<[number], ForwardAuditEntry>('SELECT at, by, action, count, detail FROM forward_audit ORDER BY seq DESC LIMIT ?'),
    };
    this.applyTx = db.transaction((transitions: readonly Transition[], now: number) => {
      for (const t of transitions) {
        const [stmts, id] = t.voidId ? [this.stmts.voids, t.voidId] : [this.stmts.sales, t.orderId];
        if (t.to === 'forwarded') stmts.forwarded.run({ id, now });
        else if (t.to === 'retry') stmts.retry.run({ id, error: t.error, at: t.nextAttemptAt, now });
        else stmts.park.run({ id, error: t.error, now });
      }
    });
    this.enqueueTx = db.transaction((orders: readonly CommittedOrder[], now: number) => {
      let added = 0;
      for (const { receivedAt, ...record } of orders) {
        added += this.stmts.insert.run({ id: record.id, pointId: record.pointId, seq: record.seq, receivedAt, record: JSON.stringify(record), now }).changes;
      }
      const last = orders[orders.length - 1];
      if (last) this.stmts.setMeta.run('watermark', last.id);
      return added;
    });
    this.enqueueVoidsTx = db.transaction((voids: readonly CommittedVoid[], now: number) => {
      let added = 0;
      for (const { receivedAt, ...record } of voids) {
        added += this.stmts.insertVoid.run({ id: record.id, orderId: record.orderId, pointId: record.pointId, receivedAt, record: JSON.stringify(record), now }).changes;
      }
      const last = voids[voids.length - 1];
      if (last) this.stmts.setMeta.run('void_watermark', last.id);
      return added;
    });
    this.reforwardIdsTx = db.transaction((ids: readonly string[], now: number) =>
      ids.reduce((moved, id) => {
        const changes = this.stmts.reforwardId.run({ now, id }).changes;
        if (changes) this.stmts.reforwardVoidsOf.run({ now, id });
        return moved + changes;
      }, 0),
    );
    this.redriveTx = db.transaction((filter: RedriveFilter, now: number) => {
      const args = { now, pointId: filter.pointId ?? null, ids: filter.ids ? JSON.stringify(filter.ids) : null };
      return { orders: this.stmts.redrive.all(args), voids: this.stmts.redriveVoids.all(args) };
    });
  }

  watermark(): string | null {
    return this.meta('watermark');
  }

  enqueue(orders: readonly CommittedOrder[], now: number): number {
    return this.enqueueTx(orders, now);
  }

  heads(): QueueHead[] {
    return this.stmts.heads.all();
  }

  order(orderId: string): OrderRecord | null {
    const row = this.stmts.record.get(orderId);
    return row ? (JSON.parse(row.record) as OrderRecord) : null;
  }

  voidWatermark(): string | null {
    return this.meta('void_watermark');
  }

  enqueueVoids(voids: readonly CommittedVoid[], now: number): number {
    return this.enqueueVoidsTx(voids, now);
  }

  voidHeads(limit: number): QueueHead[] {
    return this.stmts.voidHeads.all(limit);
  }

  voidRecord(voidId: string): VoidRecord | null {
    const row = this.stmts.voidRecord.get(voidId);
    return row ? (JSON.parse(row.record) as VoidRecord) : null;
  }

  voidBacklog(): VoidBacklog {
    return summarizeVoids(this.stmts.voidBacklog.all());
  }

  apply(transitions: readonly Transition[], now: number): void {
    this.applyTx(transitions, now);
  }

  retryNow(now: number): number {
    return this.stmts.sales.retryNow.run({ now }).changes + this.stmts.voids.retryNow.run({ now }).changes;
  }

  redrive(filter: RedriveFilter, now: number): Redriven {
    const redriven = this.redriveTx(filter, now);
    if (redriven.orders.length + redriven.voids.length) this.signal({ kind: 'queue' });
    return redriven;
  }

  reforward(filter: ReforwardFilter, now: number): number {
    // Voids forwarded since go again too, each after its sale.
    if ('since' in filter) this.stmts.reforwardVoidsSince.run({ now, since: filter.since });
    const moved = 'since' in filter ? this.stmts.reforwardSince.run({ now, since: filter.since }).changes : this.reforwardIdsTx(filter.ids, now);
    if (moved) this.signal({ kind: 'queue' });
    return moved;
  }

  backlog(now: number): Backlog {
    return summarize(this.stmts.backlog.all(), now);
  }

  forwardedCount(): number {
    return this.stmts.forwardedCount.get()?.orders ?? 0;
  }

  byPoint(): PointBacklog[] {
    return foldByPoint(this.stmts.byPoint.all());
  }

  parked(limit: number, pointId: string | null): ParkedOrder[] {
    return this.stmts.parked.all({ limit, pointId });
  }

  forwardedBetween(from: number, to: number, pointId: string | null): ForwardedOrder[] {
    return this.stmts.forwardedBetween.all({ from, to, pointId });
  }

  statuses(ids: readonly string[]): Map<string, ForwardStatus> {
    return new Map(this.stmts.statuses.all(JSON.stringify(ids)).map((row) => [row.orderId, row.status]));
  }

  meta(key: string): string | null {
    return this.stmts.meta.get(key)?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  audit(entry: ForwardAuditEntry): void {
    this.stmts.audit.run(entry.at, entry.by, entry.action, entry.count, entry.detail);
  }

  auditLog(limit: number): ForwardAuditEntry[] {
    return this.stmts.auditLog.all(limit);
  }

  signal(signal: ForwardSignal): void {
    this.signals.emit('signal', signal);
  }

  onSignal(listener: (signal: ForwardSignal) => void): () => void {
    this.signals.on('signal', listener);
    return () => this.signals.off('signal', listener);
  }

  close(): void {
    this.signals.removeAllListeners();
  }
}
