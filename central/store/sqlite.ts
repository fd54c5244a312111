import type Database from 'better-sqlite3';
import { openDatabase } from '../../lib/sqlite.js';
import { orderTime, type OrderRecord, type VoidRecord } from '../../sync/schemas.js';
import { classifyResends } from '../../sync/digest.js';
import type { DayOrder } from '../../sync/day-summary.js';
import type { CentralStore, CommitResult, CommittedVoid, HourCount, ListedOrder, OrderQuery, OrderStats } from './types.js';

/** Append only: entry N moves user_version N → N+1. */
export const CENTRAL_MIGRATIONS: string[] = [
  `CREATE TABLE orders (
     rowid INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     point_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     number TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     received_at INTEGER NOT NULL,
     total INTEGER NOT NULL,
     record TEXT NOT NULL
   );
   CREATE INDEX orders_point ON orders(point_id, rowid);
   CREATE TABLE point_counts (point_id TEXT PRIMARY KEY, orders INTEGER NOT NULL);`,
  // End-of-day reconciliation counts one point's orders of one day.
  `CREATE INDEX orders_point_created ON orders(point_id, created_at);`,
  // Activity counts every point's orders per hour over a few weeks.
  `CREATE INDEX orders_created ON orders(created_at);`,
  // Voids (DESIGN.md "Voids"): idempotent by id, one per order; one before its order waits for it here.
  `CREATE TABLE voids (
     rowid INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     order_id TEXT NOT NULL UNIQUE,
     point_id TEXT NOT NULL,
     voided_at INTEGER NOT NULL,
     reason TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     record TEXT NOT NULL
   );`,
];

export class SqliteCentralStore implements CentralStore {
  readonly db: Database.Database;
  private readonly commitTx: (orders: readonly OrderRecord[], receivedAt: number, voids: readonly VoidRecord[]) => CommitResult;
  private readonly stmts;

  constructor(file: string) {
    this.db = openDatabase(file, CENTRAL_MIGRATIONS);
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO orders (id, point_id, seq, number, created_at, received_at, total, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING',
      ),
      count: db.prepare('INSERT INTO point_counts (point_id, orders) VALUES (?, ?) ON CONFLICT(point_id) DO UPDATE SET orders = orders + excluded.orders'),
      stats: db.prepare<[], { point_id: string; orders: number }>('SELECT point_id, orders FROM point_counts ORDER BY point_id'),
      stored: db.prepare<[string], { record: string }>('SELECT record FROM orders WHERE id = ?'),
      voidCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM voids v JOIN orders o ON o.id = v.order_id AND o.point_id = v.point_id'),
      insertVoid: db.prepare(
        'INSERT INTO voids (id, order_id, point_id, voided_at, reason, received_at, record) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      voidOf: db.prepare<[string], { record: string; received_at: number }>('SELECT record, received_at FROM voids WHERE order_id = ?'),
      voidsAfter: db.prepare<{ after: string | null; limit: number }, { record: string; received_at: number }>(
        'SELECT record, received_at FROM voids WHERE rowid > COALESCE((SELECT rowid FROM voids WHERE id = @after), 0) ORDER BY rowid LIMIT @limit',
      ),
      dayOrders: db.prepare<[string, number, number], Omit<DayOrder, 'synced' | 'voided'> & { voided: number }>(
        `SELECT o.seq, o.number, o.total, json_extract(o.record, '$.payment') AS payment, v.id IS NOT NULL AS voided
           FROM orders o LEFT JOIN voids v ON v.order_id = o.id AND v.point_id = o.point_id WHERE o.point_id = ? AND o.created_at >= ? AND o.created_at < ?`,
      ),
      hourlyCounts: db.prepare<[number, number], { pointId: string; hour: number; count: number }>(
        'SELECT point_id AS pointId, (created_at / 3600000) * 3600000 AS hour, COUNT(*) AS count FROM orders WHERE created_at >= ? AND created_at < ? GROUP BY point_id, hour ORDER BY point_id, hour',
      ),
    };
    this.commitTx = db.transaction((orders: readonly OrderRecord[], receivedAt: number, voids: readonly VoidRecord[]) => {
      const insertedByPoint = new Map<string, number>();
      const fresh: OrderRecord[] = [];
      const resent: OrderRecord[] = [];
      for (const order of orders) {
        const changes = this.stmts.insert.run(order.id, order.pointId, order.seq, order.number, orderTime(order), receivedAt, order.total, JSON.stringify(order)).changes;
        if (changes) {
          insertedByPoint.set(order.pointId, (insertedByPoint.get(order.pointId) ?? 0) + 1);
          fresh.push(order);
        } else {
          resent.push(order);
        }
      }
      for (const [pointId, count] of insertedByPoint) this.stmts.count.run(pointId, count);
      const freshVoids = voids.filter(
        (record) => this.stmts.insertVoid.run(record.id, record.orderId, record.pointId, record.voidedAt, record.reason, receivedAt, JSON.stringify(record)).changes > 0,
      );
      const committed = new Map<string, unknown>();
      for (const order of resent) {
        const row = this.stmts.stored.get(order.id);
        if (row) committed.set(order.id, JSON.parse(row.record));
      }
      return { inserted: fresh.length, fresh, freshVoids, conflicts: classifyResends(resent, committed).conflicts };
    });
  }

  commitOrders(orders: readonly OrderRecord[], receivedAt: number, voids: readonly VoidRecord[] = []): CommitResult {
    return this.commitTx(orders, receivedAt, voids);
  }

  listOrders(query: OrderQuery): ListedOrder[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.pointId) {
      where.push('o.point_id = ?');
      args.push(query.pointId);
    }
    if (query.after) {
      where.push('o.rowid > COALESCE((SELECT rowid FROM orders WHERE id = ?), 0)');
      args.push(query.after);
    }
    const sql = `SELECT o.record, o.received_at, v.voided_at, v.reason FROM orders o LEFT JOIN voids v ON v.order_id = o.id AND v.point_id = o.point_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY o.rowid LIMIT ?`;
    return this.db
      .prepare<(string | number)[], { record: string; received_at: number; voided_at: number | null; reason: string | null }>(sql)
      .all(...args, query.limit)
      .map((row) => ({ ...(JSON.parse(row.record) as OrderRecord), receivedAt: row.received_at, voidedAt: row.voided_at, voidReason: row.reason }));
  }

  voidsOf(orderIds: readonly string[]): CommittedVoid[] {
    return orderIds.flatMap((orderId) => {
      const row = this.stmts.voidOf.get(orderId);
      return row ? [{ ...(JSON.parse(row.record) as VoidRecord), receivedAt: row.received_at }] : [];
    });
  }

  listVoids(after: string | undefined, limit: number): CommittedVoid[] {
    return this.stmts.voidsAfter.all({ after: after ?? null, limit }).map((row) => ({ ...(JSON.parse(row.record) as VoidRecord), receivedAt: row.received_at }));
  }

  orderStats(): OrderStats {
    const byPoint: Record<string, number> = {};
    let total = 0;
    for (const row of this.stmts.stats.all()) {
      byPoint[row.point_id] = row.orders;
      total += row.orders;
    }
    return { total, byPoint, voids: this.stmts.voidCount.get()!.n };
  }

  dayOrders(pointId: string, from: number, to: number): DayOrder[] {
    return this.stmts.dayOrders.all(pointId, from, to).map((row) => ({ ...row, synced: true, voided: row.voided === 1 }));
  }

  hourlyCounts(from: number, to: number): HourCount[] {
    return this.stmts.hourlyCounts.all(from, to);
  }

  close(): void {
    this.db.close();
  }
}
