import { z } from 'zod';
import type { OrderRecord, VoidRecord } from '../../sync/schemas.js';
import type { CommittedOrder, CommittedVoid, MaybePromise } from '../store/types.js';
import type { QueueHead, Transition } from './decisions.js';

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

/** Voids and the main server: `pending` counts those `waitingForSale` (their sale is not forwarded yet) too. */
export interface VoidBacklog {
  pending: number;
  waitingForSale: number;
  parked: number;
  forwarded: number;
}

export interface PointBacklog {
  pointId: string;
  pending: number;
  parked: number;
  /** Voids of this point the main server refused (parked like orders, re-driven with them). */
  parkedVoids: number;
  /** Of this point's pending and parked orders. */
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

/** Which forwarded orders go back to the queue: those forwarded at or after `since` (a restore), or these ids (the books check). */
export type ReforwardFilter = { since: number } | { ids: readonly string[] };

export interface QueuedOrder {
  orderId: string;
  pointId: string;
}

export interface QueuedVoid extends QueuedOrder {
  voidId: string;
}

/** What a re-drive moved back to the queue. */
export interface Redriven {
  orders: QueuedOrder[];
  voids: QueuedVoid[];
}

/** An order the main server answered "recorded" for: what the books check asks it about. */
export interface ForwardedOrder {
  orderId: string;
  pointId: string;
  number: string;
  forwardedAt: number;
}

export type ForwardStatus = 'pending' | 'forwarded' | 'parked';

/** One line of the forward audit: who sent what again, and how many. */
export interface ForwardAuditEntry {
  at: number;
  by: string;
  action: 'redrive' | 'reforward';
  count: number;
  detail: string;
}

/**
 * What one replica tells the others through the shared store: the queue changed (re-drive,
 * re-forward: the leader sends now), a follower committed orders (the leader queues them now), or
 * someone asked for a books check (the leader runs it).
 */
export const ForwardSignal = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('queue') }),
  z.strictObject({ kind: z.literal('committed') }),
  z.strictObject({ kind: z.literal('books'), pointId: z.string().max(64).nullable() }),
]);
export type ForwardSignal = z.infer<typeof ForwardSignal>;

/**
 * Durable per-order forward state: pending → forwarded | parked (→ pending again on re-drive or
 * re-forward), the watermark of committed orders already queued, a small key-value space (the
 * leader's live status, the last books check) and the audit. SQLite for a single central,
 * PostgreSQL (`database.url`) so every replica shares it: a new leader resumes where the old one
 * stopped. Both pass test/upstream/store.contract.ts. SQLite answers synchronously; callers await.
 */
export interface ForwardStore {
  /** The last committed order already queued (central's commit order), null before the first. */
  watermark(): MaybePromise<string | null>;
  /**
   * Queues a page of committed orders (those already queued are left as they are) and moves the
   * watermark past them, in one transaction. Returns how many it added.
   */
  enqueue(orders: readonly CommittedOrder[], now: number): MaybePromise<number>;
  /** Each point's lowest-seq pending order. */
  heads(): MaybePromise<QueueHead[]>;
  /** The committed order record behind a queued order. */
  order(orderId: string): MaybePromise<OrderRecord | null>;
  /** The last committed void already queued, null before the first. */
  voidWatermark(): MaybePromise<string | null>;
  /** Queues a page of committed voids (those already queued are left as they are) and moves the void watermark past them, in one transaction. */
  enqueueVoids(voids: readonly CommittedVoid[], now: number): MaybePromise<number>;
  /** Pending voids whose sale is forwarded (each with `voidId`), oldest first, at most `limit`. */
  voidHeads(limit: number): MaybePromise<QueueHead[]>;
  /** The committed void record behind a queued void. */
  voidRecord(voidId: string): MaybePromise<VoidRecord | null>;
  voidBacklog(): MaybePromise<VoidBacklog>;
  /** Records outcomes of orders and voids, many in one transaction (one commit for all the answers that came in together). */
  apply(transitions: readonly Transition[], now: number): MaybePromise<void>;
  /** Every pending order and void waiting on a backoff becomes due now (the upstream is back). */
  retryNow(now: number): MaybePromise<number>;
  /**
   * Parked orders and voids back to pending (all, or those matching the filter: a point, or ids of
   * orders or voids, an order's id taking its parked voids too); returns them and signals the queue.
   */
  redrive(filter: RedriveFilter, now: number): MaybePromise<Redriven>;
  /**
   * Forwarded orders back to pending, due now; returns how many and signals the queue. Their
   * forwarded voids go again too (after them): a main server that lost a sale lost its voids.
   */
  reforward(filter: ReforwardFilter, now: number): MaybePromise<number>;
  backlog(now: number): MaybePromise<Backlog>;
  forwardedCount(): MaybePromise<number>;
  byPoint(): MaybePromise<PointBacklog[]>;
  /** The most recently parked orders (of one point, or of all). */
  parked(limit: number, pointId: string | null): MaybePromise<ParkedOrder[]>;
  /** Forwarded orders central received in [from, to), by point then seq. */
  forwardedBetween(from: number, to: number, pointId: string | null): MaybePromise<ForwardedOrder[]>;
  /** The state of each of these orders that is queued at all. */
  statuses(ids: readonly string[]): MaybePromise<Map<string, ForwardStatus>>;
  meta(key: string): MaybePromise<string | null>;
  setMeta(key: string, value: string): MaybePromise<void>;
  audit(entry: ForwardAuditEntry): MaybePromise<void>;
  /** The newest audit entries first. */
  auditLog(limit: number): MaybePromise<ForwardAuditEntry[]>;
  /** Tells every replica's listeners (this one's too). */
  signal(signal: ForwardSignal): MaybePromise<void>;
  /** Calls `listener` on every signal; returns the unsubscribe. */
  onSignal(listener: (signal: ForwardSignal) => void): () => void;
  close(): MaybePromise<void>;
}

export interface BacklogRow {
  status: 'pending' | 'parked';
  orders: number;
  oldest: number;
}

/** Folds `(state, count)` rows (state: ready, waiting, parked, forwarded) into the void backlog. */
export function summarizeVoids(rows: readonly { state: string; voids: number }[]): VoidBacklog {
  const count = (state: string) => rows.find((row) => row.state === state)?.voids ?? 0;
  return { pending: count('ready') + count('waiting'), waitingForSale: count('waiting'), parked: count('parked'), forwarded: count('forwarded') };
}

/** The void backlog by state: a pending void is `waiting` until its sale is forwarded (the same SQL in SQLite and PostgreSQL). */
export const VOID_BACKLOG_SQL = `SELECT CASE WHEN v.status = 'pending' AND COALESCE(o.status, '') <> 'forwarded' THEN 'waiting'
    WHEN v.status = 'pending' THEN 'ready' ELSE v.status END AS state, COUNT(*) AS voids
  FROM forward_voids v LEFT JOIN forward_orders o ON o.order_id = v.order_id AND o.point_id = v.point_id GROUP BY 1`;

/** Pending voids whose sale is forwarded, oldest first; `limit` is the placeholder for the row limit. */
export function voidHeadsSql(limit: string): string {
  return `SELECT v.order_id AS "orderId", v.void_id AS "voidId", v.point_id AS "pointId", o.seq, v.attempts, v.next_attempt_at AS "nextAttemptAt", v.received_at AS "receivedAt"
    FROM forward_voids v JOIN forward_orders o ON o.order_id = v.order_id AND o.point_id = v.point_id AND o.status = 'forwarded'
    WHERE v.status = 'pending' ORDER BY v.received_at, v.void_id LIMIT ${limit}`;
}

export function summarize(rows: readonly BacklogRow[], now: number): Backlog {
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

/** Per point and state: pending and parked orders, and parked voids (`parkedVoids`); the same SQL in SQLite and PostgreSQL. */
export const BY_POINT_SQL = `SELECT point_id AS "pointId", status, COUNT(*) AS orders, MIN(received_at) AS oldest FROM forward_orders
    WHERE status IN ('pending', 'parked') GROUP BY point_id, status
  UNION ALL
  SELECT point_id, 'parkedVoids', COUNT(*), MIN(received_at) FROM forward_voids WHERE status = 'parked' GROUP BY point_id
  ORDER BY 1`;

export type ByPointRow = { pointId: string; status: 'pending' | 'parked' | 'parkedVoids'; orders: number; oldest: number };

/** Folds `(point, status, count, oldest)` rows into one line per point. */
export function foldByPoint(rows: readonly ByPointRow[]): PointBacklog[] {
  const points = new Map<string, PointBacklog>();
  for (const row of rows) {
    const point = points.get(row.pointId) ?? { pointId: row.pointId, pending: 0, parked: 0, parkedVoids: 0, oldestReceivedAt: null };
    point[row.status] = row.orders;
    if (row.status !== 'parkedVoids') point.oldestReceivedAt = Math.min(point.oldestReceivedAt ?? row.oldest, row.oldest);
    points.set(row.pointId, point);
  }
  return [...points.values()];
}

/** The forward backlog for `GET /api/orders/stats`: null while forwarding has never queued an order. */
export async function forwardBacklog(store: ForwardStore, now: number): Promise<Backlog | null> {
  if ((await store.watermark()) === null) return null;
  return store.backlog(now);
}
