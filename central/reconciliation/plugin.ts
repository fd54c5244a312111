import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import { DateString, PointId, type DaySummary, type DaySummaryMessage } from '../../sync/schemas.js';
import { DEFAULT_TIME_ZONE, dayDifferences, dayWindow, localDate, summarizeDay } from '../../sync/day-summary.js';
import { CentralErrors } from '../errors.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { RECONCILIATION_MIGRATIONS, ReconciliationStore, type DayCheck, type DayStatus } from './store.js';

/**
 * Box vs central for one day. While the box still has unsynced orders of the day the difference is
 * expected (pending); once it reports every order acked — central acks only after committing —
 * any difference is real: lost, doubled or re-numbered orders.
 */
export function judgeDay(box: DaySummary, central: DaySummary): { status: DayStatus; differences: string[] } {
  if (box.unsynced > 0) return { status: 'pending', differences: [] };
  const differences = dayDifferences(box, central);
  return { status: differences.length ? 'mismatch' : 'match', differences };
}

const Query = z.object({ pointId: PointId, date: DateString.optional() });

export function reconciliationIncidentKey(pointId: string): string {
  return `point:${pointId}:reconciliation`;
}

/**
 * End-of-day reconciliation: each box publishes its day summaries (`points/{id}/day`); central
 * computes the same from the orders it committed (`ctx.orders`, SQLite or PostgreSQL) and raises
 * `point:<id>:reconciliation` while any reported day differs. `GET /api/reconciliation?pointId=&date=`
 * shows both sides.
 */
export class ReconciliationPlugin implements CentralPlugin<'reconciliation'> {
  readonly name = 'reconciliation';
  readonly migrations = RECONCILIATION_MIGRATIONS;
  private ctx: PluginContext<'reconciliation'> | undefined;
  private store: ReconciliationStore | undefined;
  private running = false;
  /** Checks run one at a time, so a verdict and the incident it raises never interleave. */
  private queue: Promise<void> = Promise.resolve();
  private readonly onCommitted = (orders: { pointId: string }[]) => {
    const mismatching = new Set(this.store?.pointsWithMismatch());
    for (const pointId of new Set(orders.map((order) => order.pointId))) {
      if (mismatching.has(pointId)) this.enqueue(`recheck of ${pointId}`, () => this.recheck(pointId));
    }
  };

  start(ctx: PluginContext<'reconciliation'>): void {
    this.ctx = ctx;
    const store = new ReconciliationStore(ctx.db);
    this.store = store;
    this.running = true;
    ctx.bus.onDaySummariesReceived(this, ({ pointId, message }) => {
      if (this.running) this.enqueue(`day summary of ${pointId}`, () => this.accept(pointId, message));
    });
    ctx.bus.onOrdersCommitted(this, ({ orders, voids }) => this.onCommitted([...orders, ...voids]));
    ctx.routes.get('/reconciliation', 'viewer', async (req) => {
      const query = parseWith(Query, Object.fromEntries(req.query), 'query');
      const timeZone = store.latest(query.pointId)?.box.timeZone ?? DEFAULT_TIME_ZONE;
      const date = query.date ?? localDate(ctx.clock.now(), timeZone);
      const reported = store.get(query.pointId, date);
      const central = await this.centralSummary(query.pointId, date, reported?.box.timeZone ?? timeZone);
      if (!reported && central.count === 0) throw CentralErrors.noDay(query.pointId, date);
      const verdict = reported ? judgeDay(reported.box, central) : { status: 'unreported' as const, differences: [] };
      return { status: 200, body: { pointId: query.pointId, date, ...verdict, central, box: reported?.box ?? null, boxReportedAt: reported?.checkedAt ?? null } };
    });
  }

  private enqueue(what: string, work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((error: unknown) => this.ctx?.log.warn({ err: (error as Error).message, what }, 'reconciliation check failed; the next day summary retries'));
  }

  /** Central's own summary of a point's day, from the orders it committed. */
  private async centralSummary(pointId: string, date: string, timeZone: string): Promise<DaySummary> {
    const { from, to } = dayWindow(date, timeZone);
    return summarizeDay({ pointId, date, timeZone }, await this.ctx!.orders.dayOrders(pointId, from, to));
  }

  private async accept(pointId: string, message: DaySummaryMessage): Promise<void> {
    const ctx = this.ctx!;
    if (message.pointId !== pointId || message.days.some((day) => day.pointId !== pointId)) {
      ctx.log.warn({ pointId, claimed: message.pointId }, "rejected a day summary published on another point's topic");
      ctx.metrics.rejected('point_mismatch');
      return;
    }
    for (const box of message.days) await this.check(box);
    this.raiseOrClear(pointId);
  }

  private async check(box: DaySummary): Promise<DayCheck> {
    // A day still syncing is pending whatever central holds: no query while a box drains its backlog.
    const verdict = box.unsynced > 0 ? { status: 'pending' as const, differences: [] } : judgeDay(box, await this.centralSummary(box.pointId, box.date, box.timeZone));
    const check: DayCheck = { pointId: box.pointId, date: box.date, box, checkedAt: this.ctx!.clock.now(), ...verdict };
    this.store!.save(check);
    return check;
  }

  /** Orders or voids arrived for a point with a mismatching day: they may be the ones that were missing. */
  private async recheck(pointId: string): Promise<void> {
    for (const mismatch of this.store!.mismatches(pointId)) await this.check(mismatch.box);
    this.raiseOrClear(pointId);
  }

  private raiseOrClear(pointId: string): void {
    const ctx = this.ctx!;
    const key = reconciliationIncidentKey(pointId);
    const mismatches = this.store!.mismatches(pointId);
    if (mismatches.length === 0) {
      ctx.incidents.clear(key, 'the box and central agree on every reported day');
      return;
    }
    const detail = mismatches.map((day) => `${day.date}: ${day.differences.join('; ')}`).join(' | ');
    ctx.log.warn({ pointId, days: mismatches.map((day) => day.date), detail }, 'day totals differ between the box and central');
    ctx.incidents.raise({
      key,
      title: `${pointId}: the box's day totals differ from what central received`,
      severity: 'major',
      detail: detail.slice(0, 4000),
      pointId,
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.queue;
  }
}
