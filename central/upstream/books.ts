import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import { ConnectionPool } from '../../lib/http-client.js';
import type { Logger } from '../../lib/log.js';
import { sleep, withTimeout } from '../../lib/timeout.js';
import type { Incidents } from '../incidents/index.js';
import type { LookupConfig, UpstreamConfig } from './config.js';
import { parseJsonAs } from './json.js';
import { SalesLookup, type BooksWindow } from './lookup.js';
import type { ForwardedOrder, ForwardStore } from './store.js';

const BooksPoint = z.object({
  pointId: z.string(),
  /** Forwarded orders of the window the main server was asked about. */
  checked: z.number().int(),
  /** Of those, the ones it did not hold. */
  missing: z.number().int(),
  /** Sent to it again. */
  resent: z.number().int(),
  /** Still not held once the re-sent orders were forwarded (or the wait ran out). */
  stillMissing: z.number().int(),
  /** Order numbers still missing (the first 20). */
  sample: z.array(z.string()),
  /** The lookup failed: this point was not judged. */
  error: z.string().nullable(),
});
export type BooksPoint = z.infer<typeof BooksPoint>;

/** The last books check, kept in the shared forward state (every replica shows it) under `books`. */
export const BooksReport = z.object({
  at: z.number(),
  finishedAt: z.number(),
  by: z.string(),
  window: z.object({ from: z.number(), to: z.number() }),
  points: z.number().int(),
  checked: z.number().int(),
  missing: z.number().int(),
  resent: z.number().int(),
  stillMissing: z.number().int(),
  errors: z.number().int(),
  /** Points whose books still differ, or that could not be checked. */
  differing: z.array(BooksPoint),
  /** Points whose missing sales were re-sent and are held now. */
  repaired: z.array(BooksPoint),
});
export type BooksReport = z.infer<typeof BooksReport>;

export const BOOKS_META_KEY = 'books';
const SAMPLE = 20;
const SETTLE_POLL_MS = 250;
const booksIncidentKey = (pointId: string) => `forward:books:${pointId}`;
const LOOKUP_INCIDENT = 'forward:books';

/** The next `HH:MM` in `timeZone` after `now`. */
export function nextDailyRun(at: string, timeZone: string, now: number): number {
  const [hours, minutes] = at.split(':').map(Number);
  return CronExpressionParser.parse(`${minutes} ${hours} * * *`, { currentDate: new Date(now), tz: timeZone }).next().getTime();
}

/** How one point's check ends, from its counts (a pure reading of them). */
export function booksVerdict(point: BooksPoint): 'unchecked' | 'equal' | 'repaired' | 'differs' {
  if (point.error !== null) return 'unchecked';
  if (point.stillMissing > 0) return 'differs';
  return point.resent > 0 ? 'repaired' : 'equal';
}

export function readBooksReport(text: string | null): BooksReport | null {
  return parseJsonAs(BooksReport, text);
}

export interface BooksCheckOptions {
  lookup: LookupConfig;
  upstream: UpstreamConfig;
  store: ForwardStore;
  clock: Clock;
  log: Logger;
  incidents: Pick<Incidents, 'raise' | 'clear'>;
  timeZone: string;
}

/**
 * Proves the main server's books, daily at `lookup.at` and when asked (leader only): for every point
 * with forwarded orders in the window it asks the main server which it holds, re-sends the ones it
 * does not, waits for them to be forwarded, asks again, and keeps `forward:books:<pointId>` open
 * while sales are still missing. The report is kept in the shared forward state.
 */
export class BooksCheck {
  private readonly lookup: SalesLookup;
  private readonly pool: ConnectionPool;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<BooksReport> | undefined;
  /** The point the running check covers (null: every point). */
  private runningFor: string | null = null;
  private stopped = false;

  constructor(private readonly o: BooksCheckOptions) {
    this.pool = new ConnectionPool(o.lookup.concurrency);
    this.lookup = new SalesLookup(o.lookup, o.upstream, this.pool);
  }

  start(): void {
    this.unsubscribe = this.o.store.onSignal((signal) => {
      if (signal.kind === 'books') this.runLogged(signal.pointId, 'asked by hand');
    });
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
    if (this.running) await withTimeout(this.running, 5000, 'the books check to finish').catch(() => undefined);
    this.pool.close();
  }

  /** Runs a check now (one point, or all); a check already running that covers it is joined, else this one runs after it. */
  run(pointId: string | null, by: string): Promise<BooksReport> {
    if (this.running) {
      if (this.runningFor === null || this.runningFor === pointId) return this.running;
      return this.running.then(() => this.run(pointId, by), () => this.run(pointId, by));
    }
    this.runningFor = pointId;
    this.running = this.check(pointId, by).finally(() => (this.running = undefined));
    return this.running;
  }

  private runLogged(pointId: string | null, by: string): void {
    this.run(pointId, by).catch((error: unknown) => this.o.log.error({ err: error }, 'the books check failed; it runs again at its next time'));
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const next = nextDailyRun(this.o.lookup.at, this.o.timeZone, now);
    this.timer = setTimeout(() => {
      this.runLogged(null, 'daily check');
      this.schedule();
    }, next - now);
    this.timer.unref();
  }

  private async check(pointId: string | null, by: string): Promise<BooksReport> {
    const { store, clock, log, lookup } = this.o;
    const at = clock.now();
    const window: BooksWindow = { from: at - lookup.windowMs, to: at };
    const byPoint = groupByPoint(await store.forwardedBetween(window.from, window.to, pointId));
    const points = new Map<string, BooksPoint>();
    const missingOf = new Map<string, ForwardedOrder[]>();
    for (const [point, orders] of byPoint) {
      if (this.stopped) break;
      const result: BooksPoint = { pointId: point, checked: orders.length, missing: 0, resent: 0, stillMissing: 0, sample: [], error: null };
      points.set(point, result);
      try {
        const held = await this.lookup.held(point, orders.map((order) => order.orderId), window);
        const missing = orders.filter((order) => !held.has(order.orderId));
        result.missing = missing.length;
        if (missing.length === 0) continue;
        missingOf.set(point, missing);
        result.resent = await store.reforward({ ids: missing.map((order) => order.orderId) }, clock.now());
        const detail = `${point}: the main server did not hold ${missing.length} of ${orders.length} sale(s) central forwarded (${numbers(missing)}); re-sent ${result.resent}`;
        await store.audit({ at: clock.now(), by: `books check (${by})`, action: 'reforward', count: result.resent, detail });
        log.warn({ pointId: point, missing: missing.length, resent: result.resent }, 'books check: the main server misses sales; re-sent them');
      } catch (error) {
        result.error = (error as Error).message;
        log.warn({ pointId: point, err: result.error }, 'books check: could not ask the main server');
      }
    }
    const resent = [...missingOf.values()].flat();
    if (resent.length) await this.settle(resent.map((order) => order.orderId));
    for (const [point, missing] of missingOf) {
      const result = points.get(point)!;
      try {
        const held = await this.lookup.held(point, missing.map((order) => order.orderId), window);
        const still = missing.filter((order) => !held.has(order.orderId));
        result.stillMissing = still.length;
        result.sample = still.slice(0, SAMPLE).map((order) => order.number);
      } catch (error) {
        result.error = (error as Error).message;
      }
    }
    const report = this.report([...points.values()], { at, by, window });
    this.tell([...points.values()], report, pointId);
    await store.setMeta(BOOKS_META_KEY, JSON.stringify(report));
    log.info({ points: report.points, checked: report.checked, missing: report.missing, resent: report.resent, stillMissing: report.stillMissing, errors: report.errors }, 'books check done');
    return report;
  }

  /** Waits until none of the re-sent orders is pending any more, or `settleMs`. */
  private async settle(ids: readonly string[]): Promise<void> {
    const deadline = this.o.clock.now() + this.o.lookup.settleMs;
    while (!this.stopped && this.o.clock.now() < deadline) {
      const statuses = await this.o.store.statuses(ids);
      if (![...statuses.values()].includes('pending')) return;
      await sleep(Math.min(SETTLE_POLL_MS, Math.max(0, deadline - this.o.clock.now())));
    }
  }

  private report(points: BooksPoint[], run: { at: number; by: string; window: BooksWindow }): BooksReport {
    const sum = (pick: (point: BooksPoint) => number) => points.reduce((total, point) => total + pick(point), 0);
    return {
      ...run,
      finishedAt: this.o.clock.now(),
      points: points.length,
      checked: sum((p) => p.checked),
      missing: sum((p) => p.missing),
      resent: sum((p) => p.resent),
      stillMissing: sum((p) => p.stillMissing),
      errors: points.filter((p) => p.error !== null).length,
      differing: points.filter((p) => ['differs', 'unchecked'].includes(booksVerdict(p))),
      repaired: points.filter((p) => booksVerdict(p) === 'repaired'),
    };
  }

  /** Incidents say what the check found: open while sales are missing, a resolved note when a re-send fixed it. */
  private tell(points: readonly BooksPoint[], report: BooksReport, onlyPoint: string | null): void {
    const { incidents } = this.o;
    const windowText = `received ${new Date(report.window.from).toISOString()} – ${new Date(report.window.to).toISOString()}`;
    for (const point of points) {
      const key = booksIncidentKey(point.pointId);
      const verdict = booksVerdict(point);
      if (verdict === 'equal') {
        incidents.clear(key, 'the books check found every forwarded sale of this point on the main server');
      } else if (verdict === 'differs') {
        incidents.raise({
          key,
          pointId: point.pointId,
          severity: 'major',
          title: `The main server's books miss sales from ${point.pointId}`,
          detail:
            `${point.stillMissing} sale(s) central committed and forwarded (${windowText}) are not on the main server even after sending them again` +
            ` (e.g. ${point.sample.join(', ')}). Check the main server's database and its sale endpoint; the next check (or POST /api/forwarding/books) re-sends them again.`,
        });
      } else if (verdict === 'repaired') {
        const detail = `the main server did not hold ${point.missing} sale(s) central had forwarded (${windowText}); central re-sent them and the main server holds them now`;
        incidents.raise({ key, pointId: point.pointId, severity: 'info', title: `The main server was missing sales from ${point.pointId}; re-sent`, detail });
        incidents.clear(key, detail);
      }
    }
    if (report.errors > 0) {
      const failed = report.differing.filter((point) => point.error !== null);
      incidents.raise({
        key: LOOKUP_INCIDENT,
        severity: 'minor',
        title: 'The books check could not ask the main server',
        detail: `${failed.length} point(s) were not checked: ${failed.slice(0, 5).map((point) => `${point.pointId}: ${point.error}`).join('; ')}`,
      });
    } else if (onlyPoint === null) {
      incidents.clear(LOOKUP_INCIDENT, 'the books check asked the main server about every point');
    }
  }
}

function groupByPoint(orders: readonly ForwardedOrder[]): Map<string, ForwardedOrder[]> {
  const byPoint = new Map<string, ForwardedOrder[]>();
  for (const order of orders) {
    const ofPoint = byPoint.get(order.pointId);
    if (ofPoint) ofPoint.push(order);
    else byPoint.set(order.pointId, [order]);
  }
  return byPoint;
}

function numbers(orders: readonly ForwardedOrder[]): string {
  const shown = orders.slice(0, SAMPLE).map((order) => order.number).join(', ');
  return orders.length > SAMPLE ? `${shown}, …` : shown;
}
