import type { Logger } from '../lib/log.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { MAX_ORDERS_PER_MESSAGE, type OrderRecord, type RejectReason, type VoidRecord } from './schemas.js';

/** What ingest needs from central's store: an idempotent commit (dedup by order id, and by void id). */
export interface IngestStore {
  /**
   * Commits all orders and voids in one transaction; those already present are left as they are. A
   * void whose order has not arrived is kept and takes effect when the order does. May be async (PostgreSQL).
   */
  commitOrders(orders: readonly OrderRecord[], receivedAt: number, voids?: readonly VoidRecord[]): { inserted: number } | Promise<{ inserted: number }>;
}

/** One decoded `points/{pointId}/orders` message (`voids` absent from boxes that predate them). */
export interface IngestMessage {
  orders: readonly OrderRecord[];
  voids?: readonly VoidRecord[] | undefined;
}

export interface IngestOptions {
  store: IngestStore;
  /** Publishes `{ids}` to the point's acks topic; called only after the commit. */
  publishAck: (pointId: string, ids: string[]) => Promise<void>;
  log: Logger;
  clock?: Clock;
  onReject?: (reason: RejectReason, pointId: string) => void;
  onCommitted?: (inserted: number, received: number) => void;
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
    let inserted: number;
    this.committing = true;
    try {
      inserted = (await this.o.store.commitOrders(orders, this.clock.now(), voids)).inserted;
    } catch (error) {
      // Nothing is acked; the points send these again after their ack timeout.
      this.o.log.error({ err: error, orders: orders.length, voids: voids.length }, 'order commit failed; not acking');
      return;
    } finally {
      this.committing = false;
      if (this.pending.length > 0) this.schedule();
    }
    this.o.onCommitted?.(inserted, orders.length);
    const byPoint = new Map<string, string[]>();
    for (const message of batch) {
      const ids = byPoint.get(message.pointId) ?? [];
      for (const record of [...message.orders, ...message.voids]) ids.push(record.id);
      byPoint.set(message.pointId, ids);
    }
    const acks: Promise<void>[] = [];
    for (const [pointId, ids] of byPoint) {
      for (let i = 0; i < ids.length; i += MAX_ORDERS_PER_MESSAGE) {
        acks.push(
          this.o.publishAck(pointId, ids.slice(i, i + MAX_ORDERS_PER_MESSAGE)).catch((error: unknown) => {
            this.o.log.warn({ err: (error as Error).message, pointId }, 'ack publish failed; the point will resend and be acked again');
          }),
        );
      }
    }
    await Promise.all(acks);
  }
}
