import pg from 'pg';
import type { Logger } from '../../lib/log.js';
import { UUID_V7 } from '../../lib/uuidv7.js';
import type { OrderRecord } from '../../sync/schemas.js';
import { classifyResends } from '../../sync/digest.js';
import type { DayOrder } from '../../sync/day-summary.js';
import type { CentralStore, CommitResult, CommittedOrder, OrderQuery, OrderStats } from './types.js';

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

  async commitOrders(orders: readonly OrderRecord[], receivedAt: number): Promise<CommitResult> {
    if (orders.length === 0) return { inserted: 0, fresh: [], conflicts: [] };
    await this.ready();
    const { inserted, committed } = await this.transaction(async (client) => {
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
          orders.map((order) => order.createdAt),
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
      return { inserted: insertedIds, committed: new Map(stored.rows.map((row) => [row.id, row.record])) };
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
    return { inserted: fresh.length, fresh, conflicts: classifyResends(resent, against).conflicts };
  }

  async listOrders(query: OrderQuery): Promise<CommittedOrder[]> {
    await this.ready();
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.pointId) {
      args.push(query.pointId);
      where.push(`point_id = $${args.length}`);
    }
    if (query.after) {
      // Only a UUIDv7 can name a committed order; anything else is unknown, as in SQLite: from the start.
      args.push(UUID_V7.test(query.after) ? query.after : null);
      where.push(`commit_seq > COALESCE((SELECT commit_seq FROM orders WHERE id = $${args.length}::uuid), 0)`);
    }
    args.push(query.limit);
    const result = await this.pool.query<{ record: OrderRecord; received_at: string }>(
      `SELECT record, received_at FROM orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY commit_seq LIMIT $${args.length}`,
      args,
    );
    return result.rows.map((row) => ({ ...row.record, receivedAt: Number(row.received_at) }));
  }

  async orderStats(): Promise<OrderStats> {
    await this.ready();
    const result = await this.pool.query<{ point_id: string; orders: string }>('SELECT point_id, orders FROM point_counts ORDER BY point_id');
    const byPoint: Record<string, number> = {};
    let total = 0;
    for (const row of result.rows) {
      byPoint[row.point_id] = Number(row.orders);
      total += Number(row.orders);
    }
    return { total, byPoint };
  }

  async dayOrders(pointId: string, from: number, to: number): Promise<DayOrder[]> {
    await this.ready();
    const result = await this.pool.query<{ seq: number; total: string; payment: DayOrder['payment'] }>(
      `SELECT seq, total, record->>'payment' AS payment FROM orders WHERE point_id = $1 AND created_at >= $2 AND created_at < $3`,
      [pointId, from, to],
    );
    return result.rows.map((row) => ({ seq: row.seq, total: Number(row.total), payment: row.payment, synced: true }));
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
