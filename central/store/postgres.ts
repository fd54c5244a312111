import pg from 'pg';
import type { Logger } from '../../lib/log.js';
import { UUID_V7 } from '../../lib/uuidv7.js';
import { orderTime, type OrderRecord, type VoidRecord } from '../../sync/schemas.js';
import { classifyResends } from '../../sync/digest.js';
import type { DayOrder } from '../../sync/day-summary.js';
import type { CentralStore, CommitResult, CommittedVoid, HourCount, ListedOrder, OrderQuery, OrderStats } from './types.js';

/** Append only: entry N moves the schema from version N to N+1. */
export const POSTGRES_MIGRATIONS: string[] = [
  `CREATE TABLE orders (
     commit_seq bigserial PRIMARY KEY,
     id uuid NOT NULL UNIQUE,
     point_id text NOT NULL,
     seq integer NOT NULL,
     number text NOT NULL,
     created_at bigint NOT NULL,
     received_at bigint NOT NULL,
     total bigint NOT NULL,
     record jsonb NOT NULL
   );
   CREATE INDEX orders_point ON orders (point_id, commit_seq);
   CREATE TABLE point_counts (point_id text PRIMARY KEY, orders bigint NOT NULL);`,
  // End-of-day reconciliation counts one point's orders of one day.
  `CREATE INDEX orders_point_created ON orders (point_id, created_at);`,
  // Activity counts every point's orders per hour over a few weeks.
  `CREATE INDEX orders_created ON orders (created_at);`,
  // Voids (DESIGN.md "Voids"): idempotent by id, one per order; one before its order waits for it here.
  `CREATE TABLE voids (
     commit_seq bigserial PRIMARY KEY,
     id uuid NOT NULL UNIQUE,
     order_id uuid NOT NULL UNIQUE,
     point_id text NOT NULL,
     voided_at bigint NOT NULL,
     reason text NOT NULL,
     received_at bigint NOT NULL,
     record jsonb NOT NULL
   );`,
];

/**
 * Transaction-level advisory locks (one bigint key space per database). Commits take
 * COMMIT_LOCK so commit_seq order is also visibility order: a reader paging with `after` never
 * skips a row that a slower concurrent transaction commits later with a smaller commit_seq.
 */
const COMMIT_LOCK = 0x686f7401;
const MIGRATION_LOCK = 0x686f7402;

export interface PostgresStoreOptions {
  url: string;
  log: Logger;
  /** Pool size; each replica holds at most this many connections. */
  poolMax?: number;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
}

/**
 * Central's order store on PostgreSQL, shared by every replica: idempotent by order id
 * (`ON CONFLICT (id) DO NOTHING`), paged by commit order (`commit_seq`). The schema is created
 * on first use, so a replica starts (fleet view, HTTP) even while PostgreSQL is down; commits
 * fail until it is back, nothing is acked, and the points send again.
 */
export class PostgresCentralStore implements CentralStore {
  private readonly pool: pg.Pool;
  private schema: Promise<void> | undefined;

  constructor(private readonly o: PostgresStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: o.url,
      max: o.poolMax ?? 5,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
      query_timeout: o.queryTimeoutMs ?? 15_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
    });
    // An idle client losing its server (PostgreSQL restart) must not crash central.
    this.pool.on('error', (error) => o.log.warn({ err: error.message }, 'idle PostgreSQL connection failed; the pool replaces it'));
  }

  /** Creates or upgrades the schema once; a failure is retried by the next call. */
  ready(): Promise<void> {
    this.schema ??= this.migrate().catch((error: unknown) => {
      this.schema = undefined;
      throw error;
    });
    return this.schema;
  }

  async commitOrders(orders: readonly OrderRecord[], receivedAt: number, voids: readonly VoidRecord[] = []): Promise<CommitResult> {
    if (orders.length === 0 && voids.length === 0) return { inserted: 0, fresh: [], freshVoids: [], conflicts: [] };
    await this.ready();
    const { inserted, committed, insertedVoids } = await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [COMMIT_LOCK]);
      const result = await client.query<{ id: string }>(
        `WITH ins AS (
           INSERT INTO orders (id, point_id, seq, number, created_at, received_at, total, record)
           SELECT o.id, o.point_id, o.seq, o.number, o.created_at, $6, o.total, o.record
             FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::bigint[], $7::bigint[], $8::jsonb[])
                  WITH ORDINALITY AS o(id, point_id, seq, number, created_at, total, record, ord)
            ORDER BY o.ord
           ON CONFLICT (id) DO NOTHING
           RETURNING id, point_id
         ), counted AS (
           INSERT INTO point_counts (point_id, orders)
           SELECT point_id, count(*) FROM ins GROUP BY point_id
           ON CONFLICT (point_id) DO UPDATE SET orders = point_counts.orders + excluded.orders
         )
         SELECT id FROM ins`,
        [
          orders.map((order) => order.id),
          orders.map((order) => order.pointId),
          orders.map((order) => order.seq),
          orders.map((order) => order.number),
          orders.map(orderTime),
          receivedAt,
          orders.map((order) => order.total),
          orders.map((order) => JSON.stringify(order)),
        ],
      );
      const insertedIds = new Set(result.rows.map((row) => row.id));
      // What central already holds for the ids that were not inserted now, read in the same transaction.
      const resentIds = [...new Set(orders.map((order) => order.id).filter((id) => !insertedIds.has(id)))];
      const stored = resentIds.length
        ? await client.query<{ id: string; record: unknown }>('SELECT id, record FROM orders WHERE id = ANY($1::uuid[])', [resentIds])
        : { rows: [] };
      const voided = voids.length
        ? await client.query<{ id: string }>(
            `INSERT INTO voids (id, order_id, point_id, voided_at, reason, received_at, record)
             SELECT v.id, v.order_id, v.point_id, v.voided_at, v.reason, $6, v.record
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $7::jsonb[])
                    WITH ORDINALITY AS v(id, order_id, point_id, voided_at, reason, record, ord)
              ORDER BY v.ord
             ON CONFLICT DO NOTHING
             RETURNING id`,
            [
              voids.map((record) => record.id),
              voids.map((record) => record.orderId),
              voids.map((record) => record.pointId),
              voids.map((record) => record.voidedAt),
              voids.map((record) => record.reason),
              receivedAt,
              voids.map((record) => JSON.stringify(record)),
            ],
          )
        : { rows: [] };
      return {
        inserted: insertedIds,
        committed: new Map(stored.rows.map((row) => [row.id, row.record])),
        insertedVoids: new Set(voided.rows.map((row) => row.id)),
      };
    });
    // The same id twice in one batch (a resend that joined the original's group) counts once;
    // the second copy is then compared with the first, which is what was committed.
    const fresh: OrderRecord[] = [];
    const resent: OrderRecord[] = [];
    for (const order of orders) {
      if (inserted.delete(order.id)) fresh.push(order);
      else resent.push(order);
    }
    const firstCopies = new Map(fresh.map((order) => [order.id, order as unknown]));
    const against = new Map([...committed, ...firstCopies]);
    const freshVoids = voids.filter((record) => insertedVoids.delete(record.id));
    return { inserted: fresh.length, fresh, freshVoids, conflicts: classifyResends(resent, against).conflicts };
  }

  async listOrders(query: OrderQuery): Promise<ListedOrder[]> {
    await this.ready();
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.pointId) {
      args.push(query.pointId);
      where.push(`o.point_id = $${args.length}`);
    }
    if (query.after) {
      // Only a UUIDv7 can name a committed order; anything else is unknown, as in SQLite: from the start.
      args.push(UUID_V7.test(query.after) ? query.after : null);
      where.push(`o.commit_seq > COALESCE((SELECT commit_seq FROM orders WHERE id = $${args.length}::uuid), 0)`);
    }
    args.push(query.limit);
    const result = await this.pool.query<{ record: OrderRecord; received_at: string; voided_at: string | null; reason: string | null }>(
      `SELECT o.record, o.received_at, v.voided_at, v.reason FROM orders o LEFT JOIN voids v ON v.order_id = o.id AND v.point_id = o.point_id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY o.commit_seq LIMIT $${args.length}`,
      args,
    );
    return result.rows.map((row) => ({
      ...row.record,
      receivedAt: Number(row.received_at),
      voidedAt: row.voided_at === null ? null : Number(row.voided_at),
      voidReason: row.reason,
    }));
  }

  async voidsOf(orderIds: readonly string[]): Promise<CommittedVoid[]> {
    const ids = orderIds.filter((id) => UUID_V7.test(id));
    if (ids.length === 0) return [];
    await this.ready();
    const result = await this.pool.query<{ record: VoidRecord; received_at: string }>('SELECT record, received_at FROM voids WHERE order_id = ANY($1::uuid[])', [ids]);
    return result.rows.map((row) => ({ ...row.record, receivedAt: Number(row.received_at) }));
  }

  async listVoids(after: string | undefined, limit: number): Promise<CommittedVoid[]> {
    await this.ready();
    const result = await this.pool.query<{ record: VoidRecord; received_at: string }>(
      'SELECT record, received_at FROM voids WHERE commit_seq > COALESCE((SELECT commit_seq FROM voids WHERE id = $1::uuid), 0) ORDER BY commit_seq LIMIT $2',
      [after && UUID_V7.test(after) ? after : null, limit],
    );
    return result.rows.map((row) => ({ ...row.record, receivedAt: Number(row.received_at) }));
  }

  async orderStats(): Promise<OrderStats> {
    await this.ready();
    const result = await this.pool.query<{ point_id: string; orders: string }>('SELECT point_id, orders FROM point_counts ORDER BY point_id');
    const voids = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM voids v JOIN orders o ON o.id = v.order_id AND o.point_id = v.point_id');
    const byPoint: Record<string, number> = {};
    let total = 0;
    for (const row of result.rows) {
      byPoint[row.point_id] = Number(row.orders);
      total += Number(row.orders);
    }
    return { total, byPoint, voids: Number(voids.rows[0]?.n ?? 0) };
  }

  async dayOrders(pointId: string, from: number, to: number): Promise<DayOrder[]> {
    await this.ready();
    const result = await this.pool.query<{ seq: number; number: string; total: string; payment: DayOrder['payment']; voided: boolean }>(
      `SELECT o.seq, o.number, o.total, o.record->>'payment' AS payment, v.id IS NOT NULL AS voided
         FROM orders o LEFT JOIN voids v ON v.order_id = o.id AND v.point_id = o.point_id WHERE o.point_id = $1 AND o.created_at >= $2 AND o.created_at < $3`,
      [pointId, from, to],
    );
    return result.rows.map((row) => ({ seq: row.seq, number: row.number, total: Number(row.total), payment: row.payment, synced: true, voided: row.voided }));
  }

  async hourlyCounts(from: number, to: number): Promise<HourCount[]> {
    await this.ready();
    const result = await this.pool.query<{ point_id: string; hour: string; count: string }>(
      'SELECT point_id, (created_at / 3600000) * 3600000 AS hour, COUNT(*) AS count FROM orders WHERE created_at >= $1 AND created_at < $2 GROUP BY point_id, hour ORDER BY point_id, hour',
      [from, to],
    );
    return result.rows.map((row) => ({ pointId: row.point_id, hour: Number(row.hour), count: Number(row.count) }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      // Replicas starting together: one migrates, the others wait and find it done.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS hotpot_schema (version integer NOT NULL)');
      const current = await client.query<{ version: number }>('SELECT version FROM hotpot_schema');
      const version = current.rows[0]?.version ?? 0;
      if (version > POSTGRES_MIGRATIONS.length) {
        throw new Error(`the PostgreSQL schema is at version ${version}, newer than this build knows (${POSTGRES_MIGRATIONS.length}); install the newer hotpot`);
      }
      for (let v = version; v < POSTGRES_MIGRATIONS.length; v++) await client.query(POSTGRES_MIGRATIONS[v]!);
      if (current.rows.length === 0) await client.query('INSERT INTO hotpot_schema (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length]);
      else await client.query('UPDATE hotpot_schema SET version = $1', [POSTGRES_MIGRATIONS.length]);
    });
    this.o.log.info({ version: POSTGRES_MIGRATIONS.length }, 'PostgreSQL order store ready');
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // The server going away mid-transaction (a PostgreSQL restart) is emitted on the client too:
    // unheard, it would crash central. The failing query rejects as well, so we only record it.
    const onLost = (error: Error) => (broken ??= error);
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onLost);
      // A client whose transaction failed may have lost its server: the pool drops it.
      client.release(broken);
    }
  }
}
