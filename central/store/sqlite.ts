import type Database from 'better-sqlite3';
import { openDatabase } from '../../lib/sqlite.js';
import type { OrderRecord } from '../../sync/schemas.js';
import { classifyResends } from '../../sync/digest.js';
import type { DayOrder } from '../../sync/day-summary.js';
import type { CentralStore, CommitResult, CommittedOrder, OrderQuery, OrderStats } from './types.js';

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
];

export class SqliteCentralStore implements CentralStore {
  readonly db: Database.Database;
  private readonly commitTx: (orders: readonly OrderRecord[], receivedAt: number) => CommitResult;
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
      dayOrders: db.prepare<[string, number, number], Omit<DayOrder, 'synced'>>(
        "SELECT seq, total, json_extract(record, '$.payment') AS payment FROM orders WHERE point_id = ? AND created_at >= ? AND created_at < ?",
      ),
    };
    this.commitTx = db.transaction((orders: readonly OrderRecord[], receivedAt: number) => {
      const insertedByPoint = new Map<string, number>();
      const fresh: OrderRecord[] = [];
      const resent: OrderRecord[] = [];
      for (const order of orders) {
        const changes = this.stmts.insert.run(order.id, order.pointId, order.seq, order.number, order.createdAt, receivedAt, order.total, JSON.stringify(order)).changes;
        if (changes) {
          insertedByPoint.set(order.pointId, (insertedByPoint.get(order.pointId) ?? 0) + 1);
          fresh.push(order);
        } else {
          resent.push(order);
        }
      }
      for (const [pointId, count] of insertedByPoint) this.stmts.count.run(pointId, count);
      const committed = new Map<string, unknown>();
      for (const order of resent) {
        const row = this.stmts.stored.get(order.id);
        if (row) committed.set(order.id, JSON.parse(row.record));
      }
      return { inserted: fresh.length, fresh, conflicts: classifyResends(resent, committed).conflicts };
    });
  }

  commitOrders(orders: readonly OrderRecord[], receivedAt: number): CommitResult {
    return this.commitTx(orders, receivedAt);
  }

  listOrders(query: OrderQuery): CommittedOrder[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.pointId) {
      where.push('point_id = ?');
      args.push(query.pointId);
    }
    if (query.after) {
      where.push('rowid > COALESCE((SELECT rowid FROM orders WHERE id = ?), 0)');
      args.push(query.after);
    }
    const sql = `SELECT record, received_at FROM orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid LIMIT ?`;
    return this.db
      .prepare<(string | number)[], { record: string; received_at: number }>(sql)
      .all(...args, query.limit)
      .map((row) => ({ ...(JSON.parse(row.record) as OrderRecord), receivedAt: row.received_at }));
  }

  orderStats(): OrderStats {
    const byPoint: Record<string, number> = {};
    let total = 0;
    for (const row of this.stmts.stats.all()) {
      byPoint[row.point_id] = row.orders;
      total += row.orders;
    }
    return { total, byPoint };
  }

  dayOrders(pointId: string, from: number, to: number): DayOrder[] {
    return this.stmts.dayOrders.all(pointId, from, to).map((row) => ({ ...row, synced: true }));
  }

  close(): void {
    this.db.close();
  }
}
