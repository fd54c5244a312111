import type { OrderRecord } from '../../sync/schemas.js';
import type { Conflict } from '../../sync/digest.js';
import type { IngestStore } from '../../sync/ingest.js';
import type { DayOrder } from '../../sync/day-summary.js';

export interface CommittedOrder extends OrderRecord {
  receivedAt: number;
}

export interface OrderQuery {
  pointId?: string | undefined;
  /** An order id: return the orders committed after it (central's commit order). */
  after?: string | undefined;
  limit: number;
}

export interface OrderStats {
  total: number;
  byPoint: Record<string, number>;
}

export interface CommitResult {
  inserted: number;
  /** The orders this commit added (duplicates of earlier commits left out). */
  fresh: OrderRecord[];
  /** Ids already committed with other content (sync/digest.ts): not acked as synced. */
  conflicts: Conflict[];
}

/** SQLite answers synchronously (and stays fast); PostgreSQL answers with a Promise. Callers await. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Central's order store: SQLite by default, PostgreSQL with `database.url`. Both pass the one
 * contract suite in test/store/contract.ts.
 */
export interface CentralStore extends IngestStore {
  /** Idempotent by order id, in one transaction; an id already committed with other content is reported, never overwritten. */
  commitOrders(orders: readonly OrderRecord[], receivedAt: number): MaybePromise<CommitResult>;
  /** In commit order. */
  listOrders(query: OrderQuery): MaybePromise<CommittedOrder[]>;
  orderStats(): MaybePromise<OrderStats>;
  /** One point's orders created in [from, to): what end-of-day reconciliation counts. */
  dayOrders(pointId: string, from: number, to: number): MaybePromise<DayOrder[]>;
  close(): MaybePromise<void>;
}
