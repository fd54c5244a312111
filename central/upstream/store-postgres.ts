import pg from 'pg';
import type { Logger } from '../../lib/log.js';
import { withTimeout } from '../../lib/timeout.js';
import type { OrderRecord, VoidRecord } from '../../sync/schemas.js';
import { migratePostgres } from '../migrations-postgres.js';
import type { CommittedOrder, CommittedVoid } from '../store/types.js';
import type { QueueHead, Transition } from './decisions.js';
import { parseJsonAs } from './json.js';
import {
  BY_POINT_SQL,
  ForwardSignal,
  foldByPoint,
  summarize,
  summarizeVoids,
  voidHeadsSql,
  VOID_BACKLOG_SQL,
  type Backlog,
  type ForwardAuditEntry,
  type ForwardedOrder,
  type ForwardStatus,
  type ForwardStore,
  type ParkedOrder,
  type PointBacklog,
  type ByPointRow,
  type QueuedOrder,
  type RedriveFilter,
  type Redriven,
  type ReforwardFilter,
  type VoidBacklog,
} from './store.js';

/** Append only: the forward state every replica shares (`hotpot_schema_versions` owner `upstream`). */
export const UPSTREAM_POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE forward_orders (
     order_id uuid PRIMARY KEY,
     point_id text NOT NULL,
     seq integer NOT NULL,
     received_at bigint NOT NULL,
     record jsonb NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'forwarded', 'parked')),
     attempts integer NOT NULL DEFAULT 0,
     last_error text,
     next_attempt_at bigint NOT NULL,
     forwarded_at bigint,
     parked_at bigint,
     updated_at bigint NOT NULL
   );
   CREATE INDEX forward_orders_pending ON forward_orders (point_id, seq, order_id) WHERE status = 'pending';
   CREATE INDEX forward_orders_age ON forward_orders (status, received_at);
   CREATE TABLE forward_meta (key text PRIMARY KEY, value text NOT NULL);
   CREATE TABLE forward_audit (
     seq bigserial PRIMARY KEY,
     at bigint NOT NULL,
     by text NOT NULL,
     action text NOT NULL,
     count integer NOT NULL,
     detail text NOT NULL
   );`,
  // Voids for the main server (DESIGN.md "Voids"): each goes once its sale is forwarded.
  `CREATE TABLE forward_voids (
     void_id uuid PRIMARY KEY,
     order_id uuid NOT NULL,
     point_id text NOT NULL,
     received_at bigint NOT NULL,
     record jsonb NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'forwarded', 'parked')),
     attempts integer NOT NULL DEFAULT 0,
     last_error text,
     next_attempt_at bigint NOT NULL,
     forwarded_at bigint,
     parked_at bigint,
     updated_at bigint NOT NULL
   );
   CREATE INDEX forward_voids_pending ON forward_voids (received_at, void_id) WHERE status = 'pending';`,
];

/** Records a group of outcomes of one queue table; its four arrays are the parameters from `$first` on, the time is $9. */
function applySql(table: 'forward_orders' | 'forward_voids', key: 'order_id' | 'void_id', first: number): string {
  const [ids, kinds, errors, nextAts] = [0, 1, 2, 3].map((i) => `$${first + i}`);
  return `UPDATE ${table} f SET
      status = CASE t.kind WHEN 'forwarded' THEN 'forwarded' WHEN 'parked' THEN 'parked' ELSE 'pending' END,
      attempts = f.attempts + 1,
      last_error = t.error,
      next_attempt_at = COALESCE(t.next_at, f.next_attempt_at),
      forwarded_at = CASE WHEN t.kind = 'forwarded' THEN $9 ELSE f.forwarded_at END,
      parked_at = CASE WHEN t.kind = 'parked' THEN $9 ELSE f.parked_at END,
      updated_at = $9
    FROM unnest(${ids}::uuid[], ${kinds}::text[], ${errors}::text[], ${nextAts}::bigint[]) AS t(id, kind, error, next_at)
    WHERE f.${key} = t.id AND f.status = 'pending'
    RETURNING 1`;
}

function applyParams(transitions: readonly Transition[]): unknown[] {
  return [
    transitions.map((t) => t.voidId ?? t.orderId),
    transitions.map((t) => t.to),
    transitions.map((t) => (t.to === 'forwarded' ? null : t.error)),
    transitions.map((t) => (t.to === 'retry' ? t.nextAttemptAt : null)),
  ];
}

/** The NOTIFY channel replicas signal each other on. */
const CHANNEL = 'hotpot_forward';
const LISTEN_RETRY_MS = 1000;

// PostgreSQL returns bigint as a string.
const num = (value: string | number | null): number | null => (value === null ? null : Number(value));

interface HeadRow {
  orderId: string;
  pointId: string;
  seq: number;
  attempts: number;
  nextAttemptAt: string;
  receivedAt: string;
}

/** One order's forward state as SQLite keeps it (what adoptLocalForwardState copies). */
export interface ForwardRow {
  order_id: string;
  point_id: string;
  seq: number;
  received_at: number;
  record: string;
  status: ForwardStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: number;
  forwarded_at: number | null;
  parked_at: number | null;
  updated_at: number;
}

export interface PostgresForwardStoreOptions {
  url: string;
  log: Logger;
  poolMax?: number;
  queryTimeoutMs?: number;
}

/**
 * Forward state in PostgreSQL, shared by every replica: the leader records each answer there (one
 * statement per group of answers), so a new leader sends again at most what was in flight. Signals
 * travel by LISTEN/NOTIFY, so a re-drive on a follower reaches the leader's loop at once.
 */
export class PostgresForwardStore implements ForwardStore {
  private readonly pool: pg.Pool;
  private readying: Promise<void> | undefined;
  private readonly listeners = new Set<(signal: ForwardSignal) => void>();
  private listenClient: pg.Client | undefined;
  private listenRetry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: PostgresForwardStoreOptions) {
    this.pool = new pg.Pool({ connectionString: o.url, max: o.poolMax ?? 3, connectionTimeoutMillis: 5000, query_timeout: o.queryTimeoutMs ?? 15_000, idleTimeoutMillis: 30_000, keepAlive: true });
    // An idle client losing its server must not crash central; the next query reconnects.
    this.pool.on('error', (error) => o.log.warn({ err: error.message }, 'idle PostgreSQL connection of the forward state failed; the pool replaces it'));
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.readying ??= migratePostgres(this.pool, 'upstream', UPSTREAM_POSTGRES_MIGRATIONS).catch((error: unknown) => {
      this.readying = undefined;
      throw error;
    });
    await this.readying;
    return this.pool.query<R>(sql, params);
  }

  async watermark(): Promise<string | null> {
    return this.meta('watermark');
  }

  async enqueue(orders: readonly CommittedOrder[], now: number): Promise<number> {
    return this.enqueueRows('forward_orders', 'watermark', now, {
      order_id: ['uuid', orders.map((order) => order.id)],
      point_id: ['text', orders.map((order) => order.pointId)],
      seq: ['int', orders.map((order) => order.seq)],
      received_at: ['bigint', orders.map((order) => order.receivedAt)],
      record: ['jsonb', orders.map(({ receivedAt: _received, ...record }) => JSON.stringify(record))],
    });
  }

  /**
   * Queues rows (the first column is the key: rows already queued are left as they are) and moves
   * the watermark `watermarkKey` to the last row's key, in one statement. Returns how many it added.
   */
  private async enqueueRows(table: 'forward_orders' | 'forward_voids', watermarkKey: string, now: number, columns: Record<string, [type: string, values: unknown[]]>): Promise<number> {
    const names = Object.keys(columns);
    const keys = columns[names[0]!]![1];
    if (keys.length === 0) return 0;
    const arrays = names.map((name, i) => `$${i + 1}::${columns[name]![0]}[]`);
    const result = await this.query<{ added: string }>(
      `WITH added AS (
         INSERT INTO ${table} (${names.join(', ')}, status, next_attempt_at, updated_at)
         SELECT ${names.map((name) => `r.${name}`).join(', ')}, 'pending', r.received_at, $${names.length + 1}
           FROM unnest(${arrays.join(', ')}) AS r(${names.join(', ')})
         ON CONFLICT (${names[0]}) DO NOTHING
         RETURNING 1
       ), moved AS (
         INSERT INTO forward_meta (key, value) VALUES ($${names.length + 2}, $${names.length + 3}) ON CONFLICT (key) DO UPDATE SET value = excluded.value
       )
       SELECT count(*) AS added FROM added`,
      [...names.map((name) => columns[name]![1]), now, watermarkKey, keys[keys.length - 1]],
    );
    return Number(result.rows[0]!.added);
  }

  async heads(): Promise<QueueHead[]> {
    // A loose index scan over the points with pending orders, then each point's lowest seq.
    const result = await this.query<HeadRow>(
      `WITH RECURSIVE points(point_id) AS (
         (SELECT point_id FROM forward_orders WHERE status = 'pending' ORDER BY point_id LIMIT 1)
         UNION ALL
         SELECT (SELECT f.point_id FROM forward_orders f WHERE f.status = 'pending' AND f.point_id > p.point_id ORDER BY f.point_id LIMIT 1)
         FROM points p WHERE p.point_id IS NOT NULL
       )
       SELECT h.order_id AS "orderId", h.point_id AS "pointId", h.seq, h.attempts, h.next_attempt_at AS "nextAttemptAt", h.received_at AS "receivedAt"
       FROM points p CROSS JOIN LATERAL (
         SELECT order_id, point_id, seq, attempts, next_attempt_at, received_at FROM forward_orders f
         WHERE f.status = 'pending' AND f.point_id = p.point_id ORDER BY f.seq, f.order_id LIMIT 1
       ) h
       WHERE p.point_id IS NOT NULL`,
    );
    return result.rows.map((row) => ({ ...row, nextAttemptAt: Number(row.nextAttemptAt), receivedAt: Number(row.receivedAt) }));
  }

  async order(orderId: string): Promise<OrderRecord | null> {
    const result = await this.query<{ record: OrderRecord }>('SELECT record FROM forward_orders WHERE order_id = $1', [orderId]);
    return result.rows[0]?.record ?? null;
  }

  async voidWatermark(): Promise<string | null> {
    return this.meta('void_watermark');
  }

  async enqueueVoids(voids: readonly CommittedVoid[], now: number): Promise<number> {
    return this.enqueueRows('forward_voids', 'void_watermark', now, {
      void_id: ['uuid', voids.map((record) => record.id)],
      order_id: ['uuid', voids.map((record) => record.orderId)],
      point_id: ['text', voids.map((record) => record.pointId)],
      received_at: ['bigint', voids.map((record) => record.receivedAt)],
      record: ['jsonb', voids.map(({ receivedAt: _received, ...record }) => JSON.stringify(record))],
    });
  }

  async voidHeads(limit: number): Promise<QueueHead[]> {
    const result = await this.query<HeadRow & { voidId: string }>(voidHeadsSql('$1'), [limit]);
    return result.rows.map((row) => ({ ...row, nextAttemptAt: Number(row.nextAttemptAt), receivedAt: Number(row.receivedAt) }));
  }

  async voidRecord(voidId: string): Promise<VoidRecord | null> {
    const result = await this.query<{ record: VoidRecord }>('SELECT record FROM forward_voids WHERE void_id = $1', [voidId]);
    return result.rows[0]?.record ?? null;
  }

  async voidBacklog(): Promise<VoidBacklog> {
    const result = await this.query<{ state: string; voids: string }>(VOID_BACKLOG_SQL);
    return summarizeVoids(result.rows.map((row) => ({ state: row.state, voids: Number(row.voids) })));
  }

  async apply(transitions: readonly Transition[], now: number): Promise<void> {
    if (transitions.length === 0) return;
    const sales = transitions.filter((t) => !t.voidId);
    const voids = transitions.filter((t) => t.voidId);
    // One statement, so the outcomes of orders and voids that came in together commit together.
    await this.query(
      `WITH sales AS (${applySql('forward_orders', 'order_id', 1)}), voids AS (${applySql('forward_voids', 'void_id', 5)}) SELECT 1`,
      [...applyParams(sales), ...applyParams(voids), now],
    );
  }

  async retryNow(now: number): Promise<number> {
    const [sales, voids] = await Promise.all(
      ['forward_orders', 'forward_voids'].map((table) => this.query(`UPDATE ${table} SET next_attempt_at = $1 WHERE status = 'pending' AND next_attempt_at > $1`, [now])),
    );
    return (sales!.rowCount ?? 0) + (voids!.rowCount ?? 0);
  }

  async redrive(filter: RedriveFilter, now: number): Promise<Redriven> {
    // One statement: the orders and voids a re-drive moves commit together.
    const result = await this.query<QueuedOrder & { voidId: string | null }>(
      `WITH orders AS (
         UPDATE forward_orders SET status = 'pending', attempts = 0, next_attempt_at = $1, parked_at = NULL, updated_at = $1
         WHERE status = 'parked' AND ($2::text IS NULL OR point_id = $2) AND ($3::uuid[] IS NULL OR order_id = ANY($3))
         RETURNING order_id, point_id, NULL::uuid AS void_id),
       voids AS (
         UPDATE forward_voids SET status = 'pending', attempts = 0, next_attempt_at = $1, parked_at = NULL, updated_at = $1
         WHERE status = 'parked' AND ($2::text IS NULL OR point_id = $2) AND ($3::uuid[] IS NULL OR void_id = ANY($3) OR order_id = ANY($3))
         RETURNING order_id, point_id, void_id)
       SELECT order_id AS "orderId", point_id AS "pointId", void_id AS "voidId" FROM orders UNION ALL SELECT order_id, point_id, void_id FROM voids`,
      [now, filter.pointId ?? null, filter.ids ?? null],
    );
    const orders = result.rows.filter((row) => row.voidId === null).map(({ orderId, pointId }) => ({ orderId, pointId }));
    const voids = result.rows.flatMap(({ orderId, pointId, voidId }) => (voidId === null ? [] : [{ orderId, pointId, voidId }]));
    if (result.rows.length) await this.signal({ kind: 'queue' });
    return { orders, voids };
  }

  async reforward(filter: ReforwardFilter, now: number): Promise<number> {
    const [where, arg] = 'since' in filter ? ['forwarded_at >= $2', filter.since] : ['order_id = ANY($2::uuid[])', filter.ids];
    const moved = (await this.query(`UPDATE forward_orders SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1 WHERE status = 'forwarded' AND ${where}`, [now, arg])).rowCount ?? 0;
    // Voids forwarded since go again too, each after its sale; so do the voids of sales the main server lost.
    const voidsWhere = 'since' in filter ? 'forwarded_at >= $2' : 'order_id = ANY($2::uuid[])';
    await this.query(`UPDATE forward_voids SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1 WHERE status = 'forwarded' AND ${voidsWhere}`, [now, arg]);
    if (moved) await this.signal({ kind: 'queue' });
    return moved;
  }

  async backlog(now: number): Promise<Backlog> {
    const result = await this.query<{ status: 'pending' | 'parked'; orders: string; oldest: string }>(
      `SELECT status, count(*) AS orders, min(received_at) AS oldest FROM forward_orders WHERE status IN ('pending', 'parked') GROUP BY status`,
    );
    return summarize(result.rows.map((row) => ({ status: row.status, orders: Number(row.orders), oldest: Number(row.oldest) })), now);
  }

  async forwardedCount(): Promise<number> {
    return Number((await this.query<{ orders: string }>("SELECT count(*) AS orders FROM forward_orders WHERE status = 'forwarded'")).rows[0]!.orders);
  }

  async byPoint(): Promise<PointBacklog[]> {
    const result = await this.query<{ pointId: string; status: ByPointRow['status']; orders: string; oldest: string }>(BY_POINT_SQL);
    return foldByPoint(result.rows.map((row) => ({ ...row, orders: Number(row.orders), oldest: Number(row.oldest) })));
  }

  async parked(limit: number, pointId: string | null): Promise<ParkedOrder[]> {
    const result = await this.query<Omit<ParkedOrder, 'parkedAt'> & { parkedAt: string | null }>(
      `SELECT order_id AS "orderId", point_id AS "pointId", seq, record->>'number' AS number, attempts, last_error AS "lastError", parked_at AS "parkedAt"
       FROM forward_orders WHERE status = 'parked' AND ($2::text IS NULL OR point_id = $2) ORDER BY parked_at DESC, order_id DESC LIMIT $1`,
      [limit, pointId],
    );
    return result.rows.map((row) => ({ ...row, parkedAt: num(row.parkedAt) }));
  }

  async forwardedBetween(from: number, to: number, pointId: string | null): Promise<ForwardedOrder[]> {
    const result = await this.query<Omit<ForwardedOrder, 'forwardedAt'> & { forwardedAt: string }>(
      `SELECT order_id AS "orderId", point_id AS "pointId", record->>'number' AS number, forwarded_at AS "forwardedAt"
       FROM forward_orders WHERE status = 'forwarded' AND received_at >= $1 AND received_at < $2 AND ($3::text IS NULL OR point_id = $3)
       ORDER BY point_id, seq`,
      [from, to, pointId],
    );
    return result.rows.map((row) => ({ ...row, forwardedAt: Number(row.forwardedAt) }));
  }

  async statuses(ids: readonly string[]): Promise<Map<string, ForwardStatus>> {
    const result = await this.query<{ orderId: string; status: ForwardStatus }>('SELECT order_id AS "orderId", status FROM forward_orders WHERE order_id = ANY($1::uuid[])', [ids]);
    return new Map(result.rows.map((row) => [row.orderId, row.status]));
  }

  async meta(key: string): Promise<string | null> {
    return (await this.query<{ value: string }>('SELECT value FROM forward_meta WHERE key = $1', [key])).rows[0]?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.query('INSERT INTO forward_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async audit(entry: ForwardAuditEntry): Promise<void> {
    await this.query('INSERT INTO forward_audit (at, by, action, count, detail) VALUES ($1, $2, $3, $4, $5)', [entry.at, entry.by, entry.action, entry.count, entry.detail]);
  }

  async auditLog(limit: number): Promise<ForwardAuditEntry[]> {
    const result = await this.query<Omit<ForwardAuditEntry, 'at'> & { at: string }>('SELECT at, by, action, count, detail FROM forward_audit ORDER BY seq DESC LIMIT $1', [limit]);
    return result.rows.map((row) => ({ ...row, at: Number(row.at) }));
  }

  /** Copies rows with their state (rows already here stay as they are); returns how many it added. */
  async adopt(rows: readonly ForwardRow[]): Promise<number> {
    const column = <K extends keyof ForwardRow>(key: K) => rows.map((row) => row[key]);
    const result = await this.query(
      `INSERT INTO forward_orders (order_id, point_id, seq, received_at, record, status, attempts, last_error, next_attempt_at, forwarded_at, parked_at, updated_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[], $5::jsonb[], $6::text[], $7::int[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
       ON CONFLICT (order_id) DO NOTHING`,
      [
        column('order_id'),
        column('point_id'),
        column('seq'),
        column('received_at'),
        column('record'),
        column('status'),
        column('attempts'),
        column('last_error'),
        column('next_attempt_at'),
        column('forwarded_at'),
        column('parked_at'),
        column('updated_at'),
      ],
    );
    return result.rowCount ?? 0;
  }

  /** Sets the watermark unless one is set already; true when it did. */
  async adoptWatermark(watermark: string): Promise<boolean> {
    return (await this.query("INSERT INTO forward_meta (key, value) VALUES ('watermark', $1) ON CONFLICT (key) DO NOTHING", [watermark])).rowCount === 1;
  }

  async signal(signal: ForwardSignal): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(signal)]);
  }

  onSignal(listener: (signal: ForwardSignal) => void): () => void {
    this.listeners.add(listener);
    this.listen();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.unlisten();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.unlisten();
    await this.pool.end();
  }

  /** One connection LISTENs while anyone listens here; a lost one is replaced, and a reconnect counts as a signal (one may have been missed). */
  private listen(): void {
    if (this.listenClient || this.listenRetry || this.closed || this.listeners.size === 0) return;
    const client = new pg.Client({ connectionString: this.o.url, connectionTimeoutMillis: 5000, keepAlive: true });
    this.listenClient = client;
    const lost = (error: Error) => {
      if (this.listenClient !== client) return;
      this.listenClient = undefined;
      void client.end().catch(() => undefined);
      if (this.closed || this.listeners.size === 0) return;
      this.o.log.warn({ err: error.message }, 'lost the forward-state LISTEN connection; reconnecting');
      this.listenRetry = setTimeout(() => {
        this.listenRetry = undefined;
        this.listen();
      }, LISTEN_RETRY_MS);
      this.listenRetry.unref();
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the connection ended')));
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL) return;
      const signal = parseJsonAs(ForwardSignal, message.payload);
      if (!signal) {
        this.o.log.warn({ payload: message.payload?.slice(0, 200) }, 'ignored a forward signal that is not one');
        return;
      }
      this.emit(signal);
    });
    withTimeout(
      (async () => {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
      })(),
      10_000,
      'LISTEN on the forward state',
    ).then(
      () => this.emit({ kind: 'queue' }),
      (error: unknown) => lost(error as Error),
    );
  }

  private unlisten(): void {
    clearTimeout(this.listenRetry);
    this.listenRetry = undefined;
    const client = this.listenClient;
    this.listenClient = undefined;
    void client?.end().catch(() => undefined);
  }

  private emit(signal: ForwardSignal): void {
    for (const listener of this.listeners) {
      try {
        listener(signal);
      } catch (error) {
        this.o.log.error({ err: error }, 'a forward signal listener failed');
      }
    }
  }
}

