import type { OrderRecord } from '../../sync/schemas.js';
import type { IngestStore } from '../../sync/ingest.js';

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
}

/** Central's store. SQLite by default; other implementations must pass the same contract tests. */
export interface CentralStore extends IngestStore {
  commitOrders(orders: readonly OrderRecord[], receivedAt: number): CommitResult;
  listOrders(query: OrderQuery): CommittedOrder[];
  orderStats(): OrderStats;
  close(): void;
}
