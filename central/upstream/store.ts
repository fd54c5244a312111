import Database from 'better-sqlite3';
import type { OrderRecord } from '../../sync/schemas.js';
import type { CommittedOrder } from '../store/types.js';
import type { QueueHead, Transition } from './decisions.js';

/**
 * The forwarder's own tables in this central's SQLite (created if missing, so the core's migration
 * list stays the core's). Each queued order keeps its record, so forwarding works the same whether
 * central's orders live in this SQLite or in PostgreSQL. `forward_meta.watermark` is the last
 * committed order already queued: everything committed after it is queued on the next pull, even
 * after a crash between a commit and its queuing.
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
];

export interface Backlog {
  /** Orders not on the main server yet: pending + parked. */
  size: number;
  pending: number;
  parked: number;
  /** When central received the oldest order not yet forwarded (pending or parked). */
  oldestReceivedAt: number | null;
  oldestAgeMs: number | null;
  /** The same for pending orders only: what the backlog alert watches. */
  oldestPendingAt: number | null;
}

export interface PointBacklog {
  pointId: string;
  pending: number;
  parked: number;
  oldestReceivedAt: number | null;
}

export interface ParkedOrder {
  orderId: string;
  pointId: string;
  seq: number;
  number: string;
  attempts: number;
  lastError: string | null;
  parkedAt: number | null;
}

export interface RedriveFilter {
  ids?: readonly string[] | undefined;
  pointId?: string | undefined;
}

interface BacklogRow {
  status: 'pending' | 'parked';
  orders: number;
  oldest: number;
}

const BACKLOG_SQL = `SELECT status, COUNT(*) AS orders, MIN(received_at) AS oldest FROM forward_orders
  WHERE status IN ('pending', 'parked') GROUP BY status`;

function summarize(rows: readonly BacklogRow[], now: number): Backlog {
  const pending = rows.find((row) => row.status === 'pending');
  const parked = rows.find((row) => row.status === 'parked');
  const oldest = rows.length ? Math.min(...rows.map((row) => row.oldest)) : null;
  return {
    size: (pending?.orders ?? 0) + (parked?.orders ?? 0),
    pending: pending?.orders ?? 0,
    parked: parked?.orders ?? 0,
    oldestReceivedAt: oldest,
    oldestAgeMs: oldest === null ? null : Math.max(0, now - oldest),
    oldestPendingAt: pending?.oldest ?? null,
  };
}

/** The forwarding backlog, for `GET /api/orders/stats`: null while forwarding has never queued an order here. */
export function forwardBacklog(db: Database.Database, now: number): Backlog | null {
  if (!db.prepare('SELECT 1 FROM forward_orders LIMIT 1').get()) return null;
  return summarize(db.prepare<[], BacklogRow>(BACKLOG_SQL).all(), now);
}

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

/** Durable per-order forward state: pending → forwarded | parked (→ pending again on re-drive). */
export class ForwardStore {
  private readonly stmts;
  private readonly enqueueTx: (orders: readonly CommittedOrder[], now: number) => number;
  private readonly applyTx: (transitions: readonly Transition[], now: number) => void;

  constructor(db: Database.Database) {
    this.stmts = {
      insert: db.prepare<{ id: string; pointId: string; seq: number; receivedAt: number; record: string; now: number }>(
        `INSERT OR IGNORE INTO forward_orders (order_id, point_id, seq, received_at, record, status, next_attempt_at, updated_at)
         VALUES (@id, @pointId, @seq, @receivedAt, @record, 'pending', @receivedAt, @now)`,
      ),
      watermark: db.prepare<[], { value: string }>("SELECT value FROM forward_meta WHERE key = 'watermark'"),
      setWatermark: db.prepare<[string]>("INSERT INTO forward_meta (key, value) VALUES ('watermark', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
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
      forwarded: db.prepare<{ id: string; now: number }>(
        "UPDATE forward_orders SET status = 'forwarded', attempts = attempts + 1, last_error = NULL, forwarded_at = @now, updated_at = @now WHERE order_id = @id AND status = 'pending'",
      ),
      retry: db.prepare<{ id: string; error: string; at: number; now: number }>(
        "UPDATE forward_orders SET attempts = attempts + 1, last_error = @error, next_attempt_at = @at, updated_at = @now WHERE order_id = @id AND status = 'pending'",
      ),
      park: db.prepare<{ id: string; error: string; now: number }>(
        "UPDATE forward_orders SET status = 'parked', attempts = attempts + 1, last_error = @error, parked_at = @now, updated_at = @now WHERE order_id = @id AND status = 'pending'",
      ),
      retryNow: db.prepare<{ now: number }>("UPDATE forward_orders SET next_attempt_at = @now WHERE status = 'pending' AND next_attempt_at > @now"),
      redrive: db.prepare<{ now: number; pointId: string | null; ids: string | null }, { orderId: string; pointId: string }>(
        `UPDATE forward_orders SET status = 'pending', attempts = 0, next_attempt_at = @now, parked_at = NULL, updated_at = @now
         WHERE status = 'parked' AND (@pointId IS NULL OR point_id = @pointId)
           AND (@ids IS NULL OR order_id IN (SELECT value FROM json_each(@ids)))
         RETURNING order_id AS orderId, point_id AS pointId`,
      ),
      backlog: db.prepare<[], BacklogRow>(BACKLOG_SQL),
      forwardedCount: db.prepare<[], { orders: number }>("SELECT COUNT(*) AS orders FROM forward_orders WHERE status = 'forwarded'"),
      byPoint: db.prepare<[], { pointId: string; status: 'pending' | 'parked'; orders: number; oldest: number }>(
        `SELECT point_id AS pointId, status, COUNT(*) AS orders, MIN(received_at) AS oldest FROM forward_orders
         WHERE status IN ('pending', 'parked') GROUP BY point_id, status ORDER BY point_id`,
      ),
      parked: db.prepare<{ limit: number; pointId: string | null }, ParkedOrder>(
        `SELECT order_id AS orderId, point_id AS pointId, seq, json_extract(record, '$.number') AS number, attempts, last_error AS lastError, parked_at AS parkedAt
         FROM forward_orders WHERE status = 'parked' AND (@pointId IS NULL OR point_id = @pointId) ORDER BY parked_at DESC, rowid DESC LIMIT @limit`,
      ),
    };
    this.applyTx = db.transaction((transitions: readonly Transition[], now: number) => {
      for (const t of transitions) {
        if (t.to === 'forwarded') this.stmts.forwarded.run({ id: t.orderId, now });
        else if (t.to === 'retry') this.stmts.retry.run({ id: t.orderId, error: t.error, at: t.nextAttemptAt, now });
        else this.stmts.park.run({ id: t.orderId, error: t.error, now });
      }
    });
    this.enqueueTx = db.transaction((orders: readonly CommittedOrder[], now: number) => {
      let added = 0;
      for (const { receivedAt, ...record } of orders) {
        added += this.stmts.insert.run({ id: record.id, pointId: record.pointId, seq: record.seq, receivedAt, record: JSON.stringify(record), now }).changes;
      }
      const last = orders[orders.length - 1];
      if (last) this.stmts.setWatermark.run(last.id);
      return added;
    });
  }

  /** The last committed order already queued (central's commit order), null before the first. */
  watermark(): string | null {
    return this.stmts.watermark.get()?.value ?? null;
  }

  /**
   * Queues a page of committed orders (those already queued are left as they are) and moves the
   * watermark past them, in one transaction. Returns how many it added.
   */
  enqueue(orders: readonly CommittedOrder[], now: number): number {
    return this.enqueueTx(orders, now);
  }

  heads(): QueueHead[] {
    return this.stmts.heads.all();
  }

  /** The committed order record behind a queued order. */
  order(orderId: string): OrderRecord | null {
    const row = this.stmts.record.get(orderId);
    return row ? (JSON.parse(row.record) as OrderRecord) : null;
  }

  /** Records outcomes, many in one transaction (one fsync for all the answers that came in together). */
  apply(transitions: readonly Transition[], now: number): void {
    this.applyTx(transitions, now);
  }

  /** Every pending order waiting on a backoff becomes due now (the upstream is back). */
  retryNow(now: number): number {
    return this.stmts.retryNow.run({ now }).changes;
  }

  /** Parked orders back to pending (all, or those matching the filter); returns them. */
  redrive(filter: RedriveFilter, now: number): { orderId: string; pointId: string }[] {
    return this.stmts.redrive.all({ now, pointId: filter.pointId ?? null, ids: filter.ids ? JSON.stringify(filter.ids) : null });
  }

  backlog(now: number): Backlog {
    return summarize(this.stmts.backlog.all(), now);
  }

  forwardedCount(): number {
    return this.stmts.forwardedCount.get()?.orders ?? 0;
  }

  byPoint(): PointBacklog[] {
    const points = new Map<string, PointBacklog>();
    for (const row of this.stmts.byPoint.all()) {
      const point = points.get(row.pointId) ?? { pointId: row.pointId, pending: 0, parked: 0, oldestReceivedAt: null };
      point[row.status] = row.orders;
      point.oldestReceivedAt = Math.min(point.oldestReceivedAt ?? row.oldest, row.oldest);
      points.set(row.pointId, point);
    }
    return [...points.values()];
  }

  /** The most recently parked orders (of one point, or of all). */
  parked(limit: number, pointId: string | null): ParkedOrder[] {
    return this.stmts.parked.all({ limit, pointId });
  }
}
