import type { Logger } from '../lib/log.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { storeDiskFull } from '../lib/disk-full.js';
import type { Conflict } from './digest.js';
import { MAX_ORDERS_PER_MESSAGE, type OrderRecord, type RejectReason, type VoidRecord } from './schemas.js';

/** What a commit tells ingest: how many were new, and which ids central already holds with other content. */
export interface IngestCommit {
  inserted: number;
  conflicts: readonly Conflict[];
}

/** What ingest needs from central's store: an idempotent commit (dedup by order id, and by void id). */
export interface IngestStore {
  /**
   * Commits all orders and voids in one transaction; those already present are left as they are. A
   * void whose order has not arrived is kept and takes effect when the order does. May be async (PostgreSQL).
   */
  commitOrders(orders: readonly OrderRecord[], receivedAt: number, voids?: readonly VoidRecord[]): IngestCommit | Promise<IngestCommit>;
}

/** One decoded `points/{pointId}/orders` message (`voids` absent from boxes that predate them). */
export interface IngestMessage {
  orders: readonly OrderRecord[];
  voids?: readonly VoidRecord[] | undefined;
}

export interface IngestOptions {
  store: IngestStore;
  /** Publishes `{ids, conflicts}` to the point's acks topic; called only after the commit. */
  publishAck: (pointId: string, ids: string[], conflicts: string[]) => Promise<void>;
  log: Logger;
  clock?: Clock;
  onReject?: (reason: RejectReason, pointId: string) => void;
  /** `received` counts every order in the group: inserted + duplicates + conflicts. */
  onCommitted?: (inserted: number, received: number, conflicts: readonly Conflict[]) => void;
}

/**
 * Central's order ingest: validate, cross-check topic vs payload, commit (group commit across
 * the messages that arrived together), then ack. A bad message is counted and logged, never acked.
 */
export class Ingest {
  private pending: { pointId: string; orders: readonly OrderRecord[]; voids: readonly VoidRecord[] }[] = [];
  private scheduled = false;
  private committing = false;
  private readonly clock: Clock;

  constructor(private readonly o: IngestOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /** One decoded `points/{pointId}/orders` message. */
  accept(pointId: string, message: IngestMessage): void {
    const voids = message.voids ?? [];
    const foreign = [...message.orders, ...voids].find((record) => record.pointId !== pointId);
    if (foreign) return this.reject('point_mismatch', pointId, `record ${foreign.id} belongs to ${foreign.pointId}, published on ${pointId}'s topic`);
    this.pending.push({ pointId, orders: message.orders, voids });
    this.schedule();
  }

  /** One commit at a time: what arrives while a (PostgreSQL) commit is in flight joins the next group. */
  private schedule(): void {
    if (this.scheduled || this.committing) return;
    this.scheduled = true;
    setImmediate(() => this.flush().catch((error: unknown) => this.o.log.error({ err: error }, 'order ingest flush failed')));
  }

  private reject(reason: RejectReason, pointId: string, detail: string): void {
    this.o.log.warn({ reason, pointId, detail }, 'rejected MQTT message');
    this.o.onReject?.(reason, pointId);
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const orders = batch.flatMap((message) => message.orders);
    const voids = batch.flatMap((message) => message.voids);
    let commit: IngestCommit;
    this.committing = true;
    try {
      commit = await this.o.store.commitOrders(orders, this.clock.now(), voids);
    } catch (error) {
      // Nothing is acked; the points send these again after their ack timeout.
      const full = storeDiskFull(error);
      if (full) {
        const where = full === 'SQLITE_FULL' ? "central's data disk" : "the PostgreSQL server's disk (its data directory or the orders' tablespace)";
        this.o.log.error({ orders: orders.length, voids: voids.length, code: full, detail: (error as Error).message }, `${where} is full: order commit rolled back, not acking; free space there and the points' resends are committed`);
      } else {
        this.o.log.error({ err: error, orders: orders.length, voids: voids.length }, 'order commit failed; not acking');
      }
      return;
    } finally {
      this.committing = false;
      if (this.pending.length > 0) this.schedule();
    }
    this.o.onCommitted?.(commit.inserted, orders.length, commit.conflicts);
    const conflicting = new Set(commit.conflicts.map((conflict) => conflict.id));
    const byPoint = new Map<string, { ids: Set<string>; conflicts: Set<string> }>();
    for (const message of batch) {
      const answer = byPoint.get(message.pointId) ?? { ids: new Set<string>(), conflicts: new Set<string>() };
      for (const order of message.orders) (conflicting.has(order.id) ? answer.conflicts : answer.ids).add(order.id);
      for (const voided of message.voids) answer.ids.add(voided.id);
      byPoint.set(message.pointId, answer);
    }
    const acks: Promise<void>[] = [];
    for (const [pointId, answer] of byPoint) {
      // An id committed with other content is answered as a conflict, never acked (even if a copy in
      // the same group matched what was committed).
      const ids = [...answer.ids].filter((id) => !answer.conflicts.has(id));
      const conflicts = [...answer.conflicts];
      for (let i = 0; i < Math.max(ids.length, conflicts.length); i += MAX_ORDERS_PER_MESSAGE) {
        acks.push(
          this.o.publishAck(pointId, ids.slice(i, i + MAX_ORDERS_PER_MESSAGE), conflicts.slice(i, i + MAX_ORDERS_PER_MESSAGE)).catch((error: unknown) => {
            this.o.log.warn({ err: (error as Error).message, pointId }, 'ack publish failed; the point will resend and be acked again');
          }),
        );
      }
    }
    await Promise.all(acks);
  }
}
