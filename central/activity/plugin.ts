import { Gauge } from 'prom-client';
import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import { PointId } from '../../sync/schemas.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { countsByPoint, floorHour, historyWindow, HOUR_MS, silentKey, silentPoints, usualOrders, type CountsByPoint, type SilentPoint } from './rules.js';

const HISTORY_TTL_MS = 5 * 60_000;

const Query = z.object({
  /** Hours back from now (the current hour included). */
  hours: z.coerce.number().int().min(1).max(24 * 35).default(24),
  pointId: PointId.optional(),
});

/**
 * User activity: orders per point per hour from the order store (`GET /api/activity`, /metrics),
 * and `activity:<point>:silent` while a point that is online and usually busy at this hour of the
 * week has had no order for `silentAfter` (rules.ts); its next order clears it.
 */
export class ActivityPlugin implements CentralPlugin<'activity'> {
  readonly name = 'activity';
  private ctx: PluginContext<'activity'> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  /** Central's time of each point's last committed order since start. */
  private readonly lastOrderAt = new Map<string, number>();
  /** The weeks behind the current hour, read again when the hour changes or it is older than HISTORY_TTL_MS (late syncs). */
  private history: { hour: number; at: number; counts: CountsByPoint } | undefined;
  private silent = new Map<string, SilentPoint>();
  /** Orders per point in the current hour, as of the last evaluation (for /metrics). */
  private thisHour = new Map<string, number>();
  private running: Promise<void> = Promise.resolve();

  start(ctx: PluginContext<'activity'>): void {
    this.ctx = ctx;
    this.startedAt = ctx.clock.now();
    for (const incident of ctx.incidents.active()) {
      const pointId = /^activity:(.+):silent$/.exec(incident.key)?.[1];
      if (pointId) this.silent.set(pointId, { pointId, usual: 0, quietForMs: 0 });
    }
    ctx.bus.onOrdersCommitted(this, ({ orders }) => {
      const now = ctx.clock.now();
      for (const pointId of new Set(orders.map((order) => order.pointId))) {
        this.lastOrderAt.set(pointId, now);
        if (this.silent.delete(pointId)) ctx.incidents.clear(silentKey(pointId), 'orders again');
      }
    });
    this.metrics(ctx);
    ctx.routes.get('/activity', 'viewer', async (req) => {
      const query = parseWith(Query, Object.fromEntries(req.query), 'query');
      const now = ctx.clock.now();
      const from = floorHour(now) - (query.hours - 1) * HOUR_MS;
      const counts = (await ctx.orders.hourlyCounts(from, floorHour(now) + HOUR_MS)).filter((row) => !query.pointId || row.pointId === query.pointId);
      const history = await this.historyAt(now);
      const points = ctx.fleet
        .list(now)
        .filter((view) => !query.pointId || view.pointId === query.pointId)
        .map((view) => ({
          pointId: view.pointId,
          thisHour: counts.find((row) => row.pointId === view.pointId && row.hour === floorHour(now))?.count ?? 0,
          usual: usualOrders(history.get(view.pointId), now, ctx.config.weeks).median,
          silent: this.silent.has(view.pointId),
          lastOrderAt: this.lastOrderAt.get(view.pointId) ?? null,
        }));
      return { status: 200, body: { from, to: floorHour(now) + HOUR_MS, counts, points } };
    });
    if (!ctx.config.enabled) return;
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.evaluate()).catch((error: unknown) => ctx.log.warn({ err: error }, 'activity check failed; trying again at the next tick'));
    }, ctx.config.every);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    this.ctx = undefined;
  }

  private async historyAt(now: number): Promise<CountsByPoint> {
    const ctx = this.ctx!;
    if (this.history?.hour !== floorHour(now) || now - this.history.at >= HISTORY_TTL_MS) {
      const window = historyWindow(now, ctx.config.weeks);
      this.history = { hour: floorHour(now), at: now, counts: countsByPoint(await ctx.orders.hourlyCounts(window.from, window.to)) };
    }
    return this.history.counts;
  }

  /** Raises and clears the silent incidents; the timer calls it. */
  private async evaluate(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const now = ctx.clock.now();
    const history = await this.historyAt(now);
    const current = await ctx.orders.hourlyCounts(floorHour(now), floorHour(now) + HOUR_MS);
    this.thisHour = new Map(current.map((row) => [row.pointId, row.count]));
    const points = ctx.fleet.list(now).map((view) => ({
      pointId: view.pointId,
      online: view.connected && view.mode === 'online',
      quietSince: this.lastOrderAt.get(view.pointId) ?? this.startedAt,
    }));
    const silent = new Map(silentPoints(points, history, now, { weeks: ctx.config.weeks, busyMedian: ctx.config.busyMedian, silentAfter: ctx.config.silentAfter }).map((s) => [s.pointId, s]));
    for (const [pointId, s] of silent) {
      const minutes = Math.round(s.quietForMs / 60_000);
      ctx.incidents.raise({
        key: silentKey(pointId),
        title: `${pointId}: no orders for ${minutes} min at a usually busy hour`,
        severity: ctx.config.severity,
        detail: `online, usually ${s.usual} orders in this hour of the week (median of ${ctx.config.weeks} weeks), none for ${minutes} min: is the staff page or the till in use?`,
        pointId,
      });
    }
    for (const pointId of this.silent.keys()) if (!silent.has(pointId)) ctx.incidents.clear(silentKey(pointId), 'offline, or no longer a busy hour');
    this.silent = silent;
  }

  private metrics(ctx: PluginContext<'activity'>): void {
    const plugin = this;
    const registers = [ctx.metrics.registry];
    new Gauge({
      name: 'hotpot_point_activity_silent',
      help: '1 while a usually busy point online has had no order for activity.silentAfter',
      labelNames: ['point'] as const,
      registers,
      collect() {
        this.reset();
        for (const view of ctx.fleet.list(ctx.clock.now())) this.set({ point: view.pointId }, plugin.silent.has(view.pointId) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'hotpot_point_orders_this_hour',
      help: 'Orders a point took in the current hour (by their own time), as of the last activity check',
      labelNames: ['point'] as const,
      registers,
      collect() {
        this.reset();
        for (const [point, count] of plugin.thisHour) this.set({ point }, count);
      },
    });
    new Gauge({
      name: 'hotpot_point_orders_usual',
      help: "A point's usual orders in the current hour of the week (median over activity.weeks)",
      labelNames: ['point'] as const,
      registers,
      collect() {
        this.reset();
        const now = ctx.clock.now();
        const history = plugin.history?.hour === floorHour(now) ? plugin.history.counts : undefined;
        if (!history) return;
        for (const view of ctx.fleet.list(now)) this.set({ point: view.pointId }, usualOrders(history.get(view.pointId), now, ctx.config.weeks).median);
      },
    });
  }
}
