import type { OrderRecord, VoidRecord } from '../../sync/schemas.js';
import type { Conflict } from '../../sync/digest.js';
import type { IngestStore } from '../../sync/ingest.js';
import type { DayOrder } from '../../sync/day-summary.js';

export interface CommittedOrder extends OrderRecord {
  receivedAt: number;
}

/** An order as `GET /api/orders` lists it: with its void's time on the box and reason (null when none). */
export interface ListedOrder extends CommittedOrder {
  voidedAt: number | null;
  voidReason: string | null;
}

export interface OrderQuery {
  pointId?: string | undefined;
  /** An order id: return the orders committed after it (central's commit order). */
  after?: string | undefined;
  limit: number;
}

export interface OrderStats {
  /** Every order, voided or not. */
  total: number;
  byPoint: Record<string, number>;
  /** Voids in effect (their order is here too). */
  voids: number;
}

/** Orders one point took in one hour (by the order's own time, `createdAt`). */
export interface HourCount {
  pointId: string;
  /** The hour's start, ms since the epoch (a whole UTC hour). */
  hour: number;
  count: number;
}

export interface CommitResult {
  inserted: number;
  /** The orders this commit added (duplicates of earlier commits left out). */
  fresh: OrderRecord[];
  /** The voids this commit added (by void id; a second void of one order is left out too). */
  freshVoids: VoidRecord[];
  /** Ids already committed with other content (sync/digest.ts): not acked as synced. */
  conflicts: Conflict[];
}

/** A void central holds, with when it arrived. */
export interface CommittedVoid extends VoidRecord {
  receivedAt: number;
}

/** SQLite answers synchronously (and stays fast); PostgreSQL answers with a Promise. Callers await. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Central's order store: SQLite by default, PostgreSQL with `database.url`. Both pass the one
 * contract suite in test/store/contract.ts.
 */
export interface CentralStore extends IngestStore {
  /**
   * Idempotent by order id and by void id, in one transaction. A void whose order is not here yet
   * is kept, and takes effect (listings, stats, day summaries) once the order arrives. An order id
   * already committed with other content is reported as a conflict, never overwritten.
   */
  commitOrders(orders: readonly OrderRecord[], receivedAt: number, voids?: readonly VoidRecord[]): MaybePromise<CommitResult>;
  /** In commit order. */
  listOrders(query: OrderQuery): MaybePromise<ListedOrder[]>;
  /** The voids of these orders that are here. */
  voidsOf(orderIds: readonly string[]): MaybePromise<CommittedVoid[]>;
  /** Voids in commit order, those committed after the void `after` (a void id) when given. */
  listVoids(after: string | undefined, limit: number): MaybePromise<CommittedVoid[]>;
  orderStats(): MaybePromise<OrderStats>;
  /** One point's orders created in [from, to): what end-of-day reconciliation counts. */
  dayOrders(pointId: string, from: number, to: number): MaybePromise<DayOrder[]>;
  /** Orders per point per hour created in [from, to), hours with none left out; by point, then hour. */
  hourlyCounts(from: number, to: number): MaybePromise<HourCount[]>;
  close(): MaybePromise<void>;
}
