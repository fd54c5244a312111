import type { Logger } from '../lib/log.js';
import type { Clock } from '../lib/clock.js';
import type { MqttLink } from '../sync/mqtt.js';
import { MAX_DAYS_PER_MESSAGE, type DaySummary } from '../sync/schemas.js';
import { dayWindow, datesBetween, localDate, shiftDate, summarizeDay } from '../sync/day-summary.js';
import type { OrderStore } from './store.js';

/** The box's own end-of-day summary of `date` (local to `timeZone`), from its store. */
export function boxDaySummary(store: OrderStore, pointId: string, date: string, timeZone: string): DaySummary {
  const { from, to } = dayWindow(date, timeZone);
  return summarizeDay({ pointId, date, timeZone }, store.ordersCreatedBetween(from, to));
}

/** Meta key: the oldest day that still had unsynced orders when summaries were last published. */
const PENDING_FROM_KEY = 'reconciliation.pendingFrom';

export interface DayReporterOptions {
  store: OrderStore;
  link: MqttLink;
  pointId: string;
  timeZone: string;
  clock: Clock;
  log: Logger;
  /** Acks arrive in bursts (a drain after an outage): publish at most once per this many ms. */
  debounceMs?: number;
  /** Also publish this often (day rollover; harmless when nothing changed). */
  everyMs?: number;
}

/**
 * Publishes the box's day summaries, retained, on `points/{id}/day`: yesterday, today, and every
 * day that had unsynced orders — until the publish after they synced, which is the one central
 * can check (the box counts a day as final only once central has acked all of it).
 */
export class DayReporter {
  private debounce: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private lastPublished = '';
  private stopped = true;

  constructor(private readonly o: DayReporterOptions) {}

  start(): void {
    this.stopped = false;
    this.o.link.on('connect', () => {
      this.lastPublished = '';
      this.kick();
    });
    this.ticker = setInterval(() => this.kick(), this.o.everyMs ?? 60_000);
    this.ticker.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.ticker);
    clearTimeout(this.debounce);
  }

  kick(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.publish().catch((error: unknown) => this.o.log.warn({ err: (error as Error).message }, 'day summary publish failed; will retry'));
    }, this.o.debounceMs ?? 2000);
    this.debounce.unref();
  }

  /** The days worth reporting now, oldest first. */
  days(): { summaries: DaySummary[]; pendingFrom: string | null } {
    const { store, pointId, timeZone } = this.o;
    const today = localDate(this.o.clock.now(), timeZone);
    const oldestUnsynced = store.unsyncedStats().oldestCreatedAt;
    const pendingFrom = oldestUnsynced === null ? null : localDate(oldestUnsynced, timeZone);
    const earliest = [shiftDate(today, -1), pendingFrom, store.getMeta(PENDING_FROM_KEY) || null]
      .filter((date): date is string => date !== null)
      .reduce((a, b) => (a < b ? a : b));
    const from = earliest < shiftDate(today, 1 - MAX_DAYS_PER_MESSAGE) ? shiftDate(today, 1 - MAX_DAYS_PER_MESSAGE) : earliest;
    return { summaries: datesBetween(from, today).map((date) => boxDaySummary(store, pointId, date, timeZone)), pendingFrom };
  }

  private async publish(): Promise<void> {
    if (!this.o.link.connected) return;
    const { summaries, pendingFrom } = this.days();
    const body = JSON.stringify(summaries);
    if (body === this.lastPublished) return;
    await this.o.link.publish('pointDay', { pointId: this.o.pointId }, { ts: this.o.clock.now(), pointId: this.o.pointId, days: summaries });
    this.lastPublished = body;
    if (this.stopped) return;
    this.o.store.setMeta(PENDING_FROM_KEY, pendingFrom ?? '');
  }
}
