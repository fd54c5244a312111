import type { CentralContext, CentralModule } from '../module.js';
import type { AlertsConfig } from './config.js';
import { areaKey, areaOutage, correlate, parseAlertKey, pointAlerts, type PointAlerts, type RuleName } from './rules.js';

const CLEARED: Record<RuleName, string> = {
  disconnected: 'connected again',
  manual: 'back to online mode',
  printer: 'printer up again',
  camera: 'camera up again',
  cpu: 'cpu back under the limit',
  memory: 'memory back under the limit',
  disk: 'disk back under the limit',
  unsynced: 'no old unsynced orders left',
  clock: 'clock back in line',
};

/**
 * Runs the alert rules (rules.ts) against the fleet and keeps incidents in step: each point is
 * looked at again when it changes or when a pending condition comes due, never the whole fleet
 * per message. Raises and clears only the keys the rules own.
 */
export class FleetAlerts implements CentralModule {
  readonly name = 'fleet-alerts';
  private ctx: CentralContext | undefined;
  private cfg: AlertsConfig | undefined;
  /** Open incident keys this engine raised, per point. */
  private readonly raised = new Map<string, Set<string>>();
  /** Points out right now, per group, with when they went out. */
  private readonly outByGroup = new Map<string, Map<string, number>>();
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

  start(ctx: CentralContext): void {
    this.ctx = ctx;
    this.cfg = ctx.config.alerts;
    for (const incident of ctx.incidents.active()) {
      const owned = parseAlertKey(incident.key);
      if (owned && 'pointId' in owned) this.keysOf(owned.pointId).add(incident.key);
    }
    ctx.fleet.on('change', this.onChange);
    for (const view of ctx.fleet.list(ctx.clock.now())) this.dirty.add(view.pointId);
    this.timer = setInterval(() => this.tick(), this.cfg.tickMs);
    this.run();
  }

  stop(): void {
    this.ctx?.fleet.off('change', this.onChange);
    clearInterval(this.timer);
  }

  private keysOf(pointId: string): Set<string> {
    let keys = this.raised.get(pointId);
    if (!keys) {
      keys = new Set();
      this.raised.set(pointId, keys);
    }
    return keys;
  }

  private tick(): void {
    const now = this.ctx!.clock.now();
    for (const [pointId, at] of this.recheckAt) if (at <= now) this.dirty.add(pointId);
    this.run();
  }

  private run(): void {
    this.scheduled = false;
    const ctx = this.ctx;
    const cfg = this.cfg;
    if (!ctx || !cfg || this.dirty.size === 0) return;
    const now = ctx.clock.now();
    const evaluated = new Map<string, PointAlerts>();
    const groups = new Set<string>();
    const evaluate = (pointId: string) => {
      const view = ctx.fleet.view(pointId, now);
      if (!view) return;
      const result = pointAlerts(view, now, cfg);
      evaluated.set(pointId, result);
      if (result.recheckAt === null) this.recheckAt.delete(pointId);
      else this.recheckAt.set(pointId, result.recheckAt);
      let out = this.outByGroup.get(result.group);
      if (result.disconnectedSince !== null) {
        if (!out) this.outByGroup.set(result.group, (out = new Map()));
        out.set(pointId, result.disconnectedSince);
        groups.add(result.group);
      } else if (out?.delete(pointId)) {
        groups.add(result.group);
      }
    };
    for (const pointId of this.dirty) evaluate(pointId);
    this.dirty.clear();

    // Areas first: a point's disconnect needs its area open before it can hang under it.
    const closing = new Set<string>();
    const flipped: string[] = [];
    for (const group of groups) {
      const key = areaKey(group);
      const wasOpen = ctx.incidents.openFor(key) !== null;
      const area = areaOutage(group, [...(this.outByGroup.get(group)?.values() ?? [])], wasOpen, now, cfg);
      if (area) ctx.incidents.raise({ key, title: area.title, severity: area.severity, detail: area.detail });
      else if (wasOpen) closing.add(group);
      if (Boolean(area) !== wasOpen) flipped.push(group);
    }
    // A point whose area opened or closed is correlated again even if nothing about it changed.
    for (const group of flipped) for (const pointId of this.outByGroup.get(group)?.keys() ?? []) if (!evaluated.has(pointId)) evaluate(pointId);

    for (const result of evaluated.values()) {
      const areaOpen = !closing.has(result.group) && ctx.incidents.openFor(areaKey(result.group)) !== null;
      this.apply(result, areaOpen);
    }
    for (const group of closing) ctx.incidents.clear(areaKey(group), `fewer than ${cfg.areaOutage.minPoints} points of ${group} are out`);
  }

  private apply(result: PointAlerts, areaOpen: boolean): void {
    const incidents = this.ctx!.incidents;
    const before = this.keysOf(result.pointId);
    const plan = correlate(result, areaOpen, before);
    const after = new Set<string>(plan.keep);
    for (const raise of plan.raise) {
      incidents.raise(raise);
      after.add(raise.key);
    }
    for (const key of before) {
      if (after.has(key)) continue;
      const owned = parseAlertKey(key);
      incidents.clear(key, owned && 'rule' in owned ? CLEARED[owned.rule] : 'condition cleared');
    }
    if (after.size) this.raised.set(result.pointId, after);
    else this.raised.delete(result.pointId);
  }
}
