import type { Logger } from '../lib/log.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { MAX_PAYLOAD_BYTES } from './schemas.js';
import type { MqttLink } from './mqtt.js';

interface SourceRow {
  seq: number;
  id: string;
  record: string;
}

/** What the outbox needs from the agent's order store. */
export interface OutboxSource {
  unsyncedAfter(afterSeq: number, limit: number): SourceRow[];
  /** Voids, in their own sequence; they share the orders' messages, window, ack and resend. */
  unsyncedVoidsAfter(afterSeq: number, limit: number): SourceRow[];
  markSynced(ids: readonly string[], now?: number): number;
  markConflict(ids: readonly string[], now?: number): number;
  unsyncedStats(): { count: number; oldestCreatedAt: number | null };
}

export interface OutboxOptions {
  pointId: string;
  source: OutboxSource;
  link: MqttLink;
  log: Logger;
  batchSize: number;
  /** Orders sent and not yet acked, at most. */
  window: number;
  ackTimeoutMs: number;
  clock?: Clock;
  progressEveryMs?: number;
}

/**
 * Publishes unsynced orders from SQLite (never from an in-memory MQTT queue), QoS 1, batched,
 * with a bounded window of unacked orders. An order is synced only on central's ack; anything
 * unacked after the ack timeout, a reconnect or a restart is sent again (central dedups by id).
 * Voids travel the same road, in the same messages (`voids` beside `orders`), acked by their id.
 */
export class Outbox {
  /** The last seq sent of each lane: orders, and voids (in their own sequence). */
  private cursor = { orders: 0, voids: 0 };
  private readonly inFlight = new Set<string>();
  private centralOnline = false;
  private draining = false;
  private again = false;
  private lastProgressAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private progress = { at: 0, remaining: 0 };
  private readonly clock: Clock;
  private stopped = true;

  constructor(private readonly o: OutboxOptions) {
    this.clock = o.clock ?? systemClock;
  }

  start(): void {
    this.stopped = false;
    this.o.link.on('connect', () => this.rewind('connected'));
    this.o.link.on('disconnect', () => this.inFlight.clear());
    this.timer = setInterval(() => this.watchdog(), Math.max(50, Math.min(1000, this.o.ackTimeoutMs / 4)));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Central's retained status: drain only while central is there to ack. */
  setCentralOnline(online: boolean): void {
    const was = this.centralOnline;
    this.centralOnline = online;
    if (online && !was) this.rewind('central online');
  }

  /** New orders were committed: send them if the window allows. */
  kick(): void {
    void this.drain();
  }

  /** Central's answer: `ids` committed as sent (synced); `conflicts` held there with other content (never synced, not resent). */
  onAck(ids: readonly string[], conflicts: readonly string[] = []): void {
    let changed = this.o.source.markSynced(ids, this.clock.now());
    if (conflicts.length) {
      changed += this.o.source.markConflict(conflicts, this.clock.now());
      this.o.log.error({ ids: conflicts }, 'central holds other content under these order ids: marked "conflict", not synced; see the staff page');
    }
    for (const id of [...ids, ...conflicts]) this.inFlight.delete(id);
    this.lastProgressAt = this.clock.now();
    if (changed) this.logProgress();
    void this.drain();
  }

  /** Forget what is in flight and send every unacked order again, oldest first. */
  rewind(why: string): void {
    this.cursor = { orders: 0, voids: 0 };
    this.inFlight.clear();
    this.lastProgressAt = this.clock.now();
    this.o.log.debug({ why }, 'outbox rewind');
    void this.drain();
  }

  private watchdog(): void {
    if (this.inFlight.size > 0 && this.clock.now() - this.lastProgressAt > this.o.ackTimeoutMs) {
      // A PUBACK is not an ack: brokers drop QoS 1 messages under load.
      this.o.log.warn({ inFlight: this.inFlight.size, ackTimeoutMs: this.o.ackTimeoutMs }, 'no ack within the ack timeout; sending unacked orders again');
      this.rewind('ack timeout');
    } else if (this.inFlight.size === 0) {
      void this.drain();
    }
  }

  private async drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.again = false;
        await this.sendWhatFits();
      } while (this.again);
    } finally {
      this.draining = false;
    }
  }

  private async sendWhatFits(): Promise<void> {
    const { link, pointId } = this.o;
    const sends: Promise<void>[] = [];
    while (!this.stopped && link.connected && this.centralOnline && this.inFlight.size < this.o.window) {
      const room = Math.min(this.o.batchSize, this.o.window - this.inFlight.size);
      // Orders first: a void usually travels with or after its order (central waits for it anyway).
      const orders = this.o.source.unsyncedAfter(this.cursor.orders, room).map((row) => ({ ...row, lane: 'orders' as const }));
      const voids = orders.length < room ? this.o.source.unsyncedVoidsAfter(this.cursor.voids, room - orders.length).map((row) => ({ ...row, lane: 'voids' as const })) : [];
      const rows = [...orders, ...voids];
      if (rows.length === 0) break;
      if (this.inFlight.size === 0) this.lastProgressAt = this.clock.now();
      for (const batch of splitBySize(rows)) {
        for (const row of batch) {
          this.inFlight.add(row.id);
          this.cursor[row.lane] = row.seq;
        }
        const records = (lane: 'orders' | 'voids') => batch.filter((row) => row.lane === lane).map((row) => row.record);
        const voidRecords = records('voids');
        const payload = Buffer.from(`{"ts":${this.clock.now()},"orders":[${records('orders').join(',')}]${voidRecords.length ? `,"voids":[${voidRecords.join(',')}]` : ''}}`);
        sends.push(
          link.publishEncoded('pointOrders', { pointId }, payload).catch((error: unknown) => {
            // Left in SQLite; the next connect or the ack timeout sends it again.
            this.o.log.warn({ err: (error as Error).message, records: batch.length }, 'order publish failed; will resend');
          }),
        );
      }
      // Yield so acks and HTTP requests interleave with a long drain.
      if (sends.length >= 8) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
  }

  private logProgress(): void {
    const now = this.clock.now();
    const every = this.o.progressEveryMs ?? 5000;
    if (now - this.progress.at < every) return;
    const { count } = this.o.source.unsyncedStats();
    const rate = this.progress.at ? Math.max(0, ((this.progress.remaining - count) * 1000) / (now - this.progress.at)) : 0;
    if (count > 0 || this.progress.remaining > 0) {
      this.o.log.info(
        { remaining: count, ratePerSec: Math.round(rate), etaSec: rate > 0 ? Math.ceil(count / rate) : null },
        count > 0 ? 'syncing backlog' : 'backlog synced',
      );
    }
    this.progress = { at: now, remaining: count };
  }
}

/** Splits rows into messages under the payload limit (always at least one order per message). */
function splitBySize<T extends { record: string }>(rows: T[]): T[][] {
  const limit = MAX_PAYLOAD_BYTES - 1024;
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const row of rows) {
    const bytes = Buffer.byteLength(row.record) + 1;
    if (current.length && size + bytes > limit) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(row);
    size += bytes;
  }
  if (current.length) batches.push(current);
  return batches;
}
