import type { PointView } from '../fleet.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { areaKey, evaluateFleet, parseAlertKey, type RuleName } from './rules.js';

const CLEARED: Record<RuleName, string> = {
  disconnected: 'connected again',
  manual: 'back to online mode',
  printer: 'printer up again',
  camera: 'camera up again',
  temperature: 'temperature back within limits',
  'disk-health': 'disk health back to normal',
  cpu: 'cpu back under the limit',
  memory: 'memory back under the limit',
  disk: 'disk back under the limit',
  unsynced: 'no old unsynced orders left',
  clock: 'clock back in line',
};

/**
 * Runs the alert rules (rules.ts, `evaluateFleet`) and keeps incidents in step with them. Only
 * what may have changed is evaluated: the points that changed or came due, with every point out
 * in their groups (for area outages); never the whole fleet per message. Raises and clears only
 * the keys the rules own.
 */
export class AlertsPlugin implements CentralPlugin<'alerts'> {
  readonly name = 'alerts';
  private ctx: PluginContext<'alerts'> | undefined;
  /** Open incident keys this engine raised, per point. */
  private readonly raised = new Map<string, Set<string>>();
  /** Points not connected right now, per group. */
  private readonly outByGroup = new Map<string, Set<string>>();
  private readonly recheckAt = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onChange = (pointId: string) => {
    this.dirty.add(pointId);
    if (this.scheduled) return;
    this.scheduled = true;
    // Coalesce a burst of messages into one pass.
    setImmediate(() => this.run());
  };

  start(ctx: PluginContext<'alerts'>): void {
    this.ctx = ctx;
    for (const incident of ctx.incidents.active()) {
      const owned = parseAlertKey(incident.key);
      if (owned && 'pointId' in owned) this.raised.set(owned.pointId, (this.raised.get(owned.pointId) ?? new Set()).add(incident.key));
    }
    ctx.bus.onPointChanged(this, ({ pointId }) => this.onChange(pointId));
    for (const view of ctx.fleet.list(ctx.clock.now())) this.dirty.add(view.pointId);
    this.timer = setInterval(() => this.tick(), ctx.config.tickMs);
    this.run();
  }

  stop(): void {
    this.ctx = undefined;
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = this.ctx!.clock.now();
    for (const [pointId, at] of this.recheckAt) if (at <= now) this.dirty.add(pointId);
    this.run();
  }

  /** Called from timers: a failed pass is logged and the points stay dirty for the next one, never a crash. */
  private run(): void {
    this.scheduled = false;
    const pending = [...this.dirty];
    try {
      this.evaluate();
    } catch (error) {
      for (const pointId of pending) this.dirty.add(pointId);
      this.ctx?.log.error({ err: error, points: pending.length }, 'alert rules pass failed; trying again on the next tick');
    }
  }

  private evaluate(): void {
    const ctx = this.ctx;
    if (!ctx || this.dirty.size === 0) return;
    const cfg = ctx.config;
    const { fleet, incidents } = ctx;
    const now = ctx.clock.now();
    const views = new Map<string, PointView>();
    const groups = new Set<string>();
    for (const pointId of this.dirty) {
      const view = fleet.view(pointId, now);
      if (!view) continue;
      views.set(pointId, view);
      let out = this.outByGroup.get(view.group);
      if (!out) this.outByGroup.set(view.group, (out = new Set()));
      const wasOut = out.has(pointId);
      if (view.connected) out.delete(pointId);
      else out.add(pointId);
      if (wasOut || !view.connected) groups.add(view.group);
    }
    this.dirty.clear();
    for (const group of groups) {
      for (const pointId of this.outByGroup.get(group)!) if (!views.has(pointId)) views.set(pointId, fleet.view(pointId, now)!);
    }

    const openKeys = new Set<string>();
    for (const pointId of views.keys()) this.raised.get(pointId)?.forEach((key) => openKeys.add(key));
    for (const group of groups) if (incidents.openFor(areaKey(group))) openKeys.add(areaKey(group));
    const plan = evaluateFleet([...views.values()], now, cfg, openKeys);

    for (const raise of plan.raise) incidents.raise(raise);
    const wanted = new Map<string, Set<string>>();
    const want = (pointId: string, key: string) => wanted.set(pointId, (wanted.get(pointId) ?? new Set()).add(key));
    for (const raise of plan.raise) if (raise.pointId) want(raise.pointId, raise.key);
    for (const key of plan.keep) {
      const owned = parseAlertKey(key);
      if (owned && 'pointId' in owned) want(owned.pointId, key);
    }
    for (const pointId of views.keys()) {
      const after = wanted.get(pointId);
      for (const key of this.raised.get(pointId) ?? []) {
        if (after?.has(key)) continue;
        const owned = parseAlertKey(key);
        incidents.clear(key, owned && 'rule' in owned ? CLEARED[owned.rule] : 'condition cleared');
      }
      if (after) this.raised.set(pointId, after);
      else this.raised.delete(pointId);
      const due = plan.recheckAt.get(pointId);
      if (due === undefined) this.recheckAt.delete(pointId);
      else this.recheckAt.set(pointId, due);
    }
    for (const group of groups) {
      const key = areaKey(group);
      if (openKeys.has(key) && !plan.raise.some((raise) => raise.key === key)) {
        incidents.clear(key, `fewer than ${cfg.areaOutage.minPoints} points of ${group} are out`);
      }
    }
  }
}
