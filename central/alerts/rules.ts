import type { CheckState } from '../../sync/schemas.js';
import type { PointView, Usage } from '../fleet.js';
import type { RaiseIncident, Severity } from '../incidents/types.js';
import type { AlertsConfig } from './config.js';

/**
 * The fleet alert rules as pure functions of fleet state and a clock reading. Incident keys:
 * `point:<pointId>:<rule>` for a point, `area:<group>` for an area outage. The alert engine owns
 * exactly these keys; other keys (e.g. the reconciliation's `point:<id>:reconciliation`, raised
 * through IncidentSink) belong to whoever raised them.
 */
/** `disk` is the data disk's use in percent; `disk-health` is the disk failing or wearing out (the box's `disk` check). */
export const RULES = ['disconnected', 'manual', 'printer', 'camera', 'temperature', 'disk-health', 'cpu', 'memory', 'disk', 'unsynced', 'clock'] as const;
export type RuleName = (typeof RULES)[number];

export function pointKey(pointId: string, rule: RuleName): string {
  return `point:${pointId}:${rule}`;
}

export function areaKey(group: string): string {
  return `area:${group}`;
}

/** The alert engine's own keys, parsed; null for any key it does not own. */
export function parseAlertKey(key: string): { pointId: string; rule: RuleName } | { group: string } | null {
  const parts = key.split(':');
  if (parts.length === 2 && parts[0] === 'area' && parts[1]) return { group: parts[1] };
  if (parts.length === 3 && parts[0] === 'point' && parts[1] && (RULES as readonly string[]).includes(parts[2]!)) {
    return { pointId: parts[1], rule: parts[2] as RuleName };
  }
  return null;
}

export interface Alert {
  key: string;
  rule: RuleName;
  title: string;
  severity: Severity;
  detail: string;
}

export interface PointAlerts {
  pointId: string;
  group: string;
  /** Set while the point is not connected, whether or not it has alerted yet. */
  disconnectedSince: number | null;
  /** Conditions that hold long enough, the disconnect (if any) first. */
  alerts: Alert[];
  /** When a condition that holds now will have held long enough (null: nothing pending). */
  recheckAt: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/** A condition that started at `since` alerts once it has held `afterMs`; until then it asks for a recheck. */
class Collector {
  readonly alerts: Alert[] = [];
  recheckAt: number | null = null;

  constructor(private readonly pointId: string, private readonly now: number) {}

  hold(rule: RuleName, since: number, afterMs: number, make: () => Omit<Alert, 'key' | 'rule'>): void {
    // A start read from the point's clock can land after now (skew includes transit): it started by now.
    const due = Math.min(since, this.now) + afterMs;
    if (this.now >= due) this.alerts.push({ key: pointKey(this.pointId, rule), rule, ...make() });
    else this.recheckAt = Math.min(this.recheckAt ?? due, due);
  }
}

const CHECK_RULE_WORDS = {
  printer: { down: 'printer down', degraded: 'printer degraded' },
  camera: { down: 'camera down', degraded: 'camera degraded' },
  temperature: { down: 'temperature critical', degraded: 'temperature high' },
  'disk-health': { down: 'disk failing', degraded: 'disk wearing out' },
} as const satisfies Partial<Record<RuleName, { down: string; degraded: string }>>;

/** A check that is down or degraded for `afterMs`; `unknown` (the box cannot tell) never alerts. */
function checkAlert(
  into: Collector,
  rule: keyof typeof CHECK_RULE_WORDS,
  check: CheckState | undefined,
  skewMs: number,
  cfg: AlertsConfig['printer'],
  pointId: string,
): void {
  if (!cfg.enabled || !check || check.status === 'up' || check.status === 'unknown') return;
  const down = check.status === 'down';
  into.hold(rule, check.since + skewMs, cfg.afterMs, () => ({
    title: `${pointId}: ${CHECK_RULE_WORDS[rule][down ? 'down' : 'degraded']}`,
    severity: down ? cfg.severity : cfg.degradedSeverity,
    detail: check.detail || `${rule} ${check.status}`,
  }));
}

/** Every rule for one point, uncorrelated. */
export function pointAlerts(view: PointView, now: number, cfg: AlertsConfig): PointAlerts {
  const { pointId } = view;
  const into = new Collector(pointId, now);
  const disconnectedSince = view.connected ? null : (view.disconnectedSince ?? now);
  if (disconnectedSince !== null && cfg.disconnected.enabled) {
    into.hold('disconnected', disconnectedSince, cfg.disconnected.afterMs, () => ({
      title: `${pointId} disconnected`,
      severity: cfg.disconnected.severity,
      detail: view.stale
        ? `nothing heard since ${iso(disconnectedSince)} although its last status said online`
        : `offline since ${iso(disconnectedSince)}`,
    }));
  }
  if (cfg.manualMode.enabled && view.mode === 'offline') {
    into.hold('manual', view.modeSince ?? now, cfg.manualMode.afterMs, () => ({
      title: `${pointId} in manual-order mode`,
      severity: cfg.manualMode.severity,
      detail: `taking orders by hand since ${iso(view.modeSince ?? now)}`,
    }));
  }
  const skew = view.clockSkewMs ?? 0;
  checkAlert(into, 'printer', view.checks.printer, skew, cfg.printer, pointId);
  checkAlert(into, 'camera', view.checks.camera, skew, cfg.camera, pointId);
  checkAlert(into, 'temperature', view.checks.temperature, skew, cfg.temperature, pointId);
  checkAlert(into, 'disk-health', view.checks.disk, skew, cfg.diskHealth, pointId);
  if (cfg.resources.enabled) {
    for (const resource of ['cpu', 'memory', 'disk'] as const satisfies readonly (keyof Usage & RuleName)[]) {
      const system = view.checks.system;
      if (resource === 'disk' && system?.data?.diskFull === true) {
        // The box's store could not write: orders are refused now, no waiting for afterMs.
        into.hold('disk', system.since + skew, 0, () => ({
          title: `${pointId}: disk full, orders refused`,
          severity: cfg.resources.diskFullSeverity,
          detail: system.detail,
        }));
        continue;
      }
      const used = view.usage[resource];
      if (used === null || used < cfg.resources.percent) continue;
      // Usage has no "since" of its own: the system check's is the closest.
      into.hold(resource, (view.checks.system?.since ?? now) + skew, cfg.resources.afterMs, () => ({
        title: `${pointId}: ${resource} above ${cfg.resources.percent} %`,
        severity: cfg.resources.severity,
        detail: `${resource} at or above ${cfg.resources.percent} % of the box`,
      }));
    }
  }
  if (cfg.unsynced.enabled && view.oldestUnsyncedAt !== null && view.oldestUnsyncedAgeMs !== null) {
    const createdAt = view.oldestUnsyncedAt;
    into.hold('unsynced', now - view.oldestUnsyncedAgeMs, cfg.unsynced.afterMs, () => ({
      title: `${pointId}: orders unsynced for over ${minutes(cfg.unsynced.afterMs)}`,
      severity: cfg.unsynced.severity,
      detail: `orders not synced to central since ${iso(createdAt)} (point's clock)`,
    }));
  }
  if (cfg.clockSkew.enabled && view.clockSkewMs !== null && Math.abs(view.clockSkewMs) > cfg.clockSkew.maxMs) {
    const behind = view.clockSkewMs > 0;
    into.hold('clock', now, cfg.clockSkew.afterMs, () => ({
      title: `${pointId}: clock off by over ${minutes(cfg.clockSkew.maxMs)}`,
      severity: cfg.clockSkew.severity,
      detail: `the box's clock is ${behind ? 'behind' : 'ahead of'} central's by more than ${minutes(cfg.clockSkew.maxMs)}`,
    }));
  }
  return { pointId, group: view.group, disconnectedSince, alerts: into.alerts, recheckAt: into.recheckAt };
}

/**
 * Whether a group has an area outage: it opens when ≥ minPoints of its points went out within
 * windowMs of each other and one of them has been out long enough to alert on its own; it stays
 * open while ≥ minPoints are out.
 */
function areaOutage(group: string, outSince: readonly number[], wasOpen: boolean, now: number, cfg: AlertsConfig): Alert | null {
  const area = cfg.areaOutage;
  if (!area.enabled || outSince.length < area.minPoints) return null;
  const sorted = [...outSince].sort((a, b) => a - b);
  if (!wasOpen) {
    if (!cfg.disconnected.enabled) return null;
    let clustered = false;
    for (let i = 0; i + area.minPoints - 1 < sorted.length && !clustered; i++) {
      const first = sorted[i]!;
      clustered = sorted[i + area.minPoints - 1]! - first <= area.windowMs && now >= first + cfg.disconnected.afterMs;
    }
    if (!clustered) return null;
  }
  return {
    key: areaKey(group),
    rule: 'disconnected',
    title: `area outage: ${group}`,
    severity: area.severity,
    detail: `points of ${group} disconnected together (first at ${iso(sorted[0]!)})`,
  };
}

/** What to raise for one point, and which of its open alert keys to leave alone. */
interface PointPlan {
  raise: RaiseIncident[];
  /** Keys neither raised nor cleared: its other alerts while its disconnect is still pending. */
  keep: string[];
}

/**
 * Correlation for one point: under an open area outage its disconnect hangs below the area;
 * while disconnected, its other alerts hang below its disconnect, and none opens before the
 * disconnect itself has.
 */
function correlate(point: PointAlerts, areaOpen: boolean, openKeys: ReadonlySet<string>): PointPlan {
  const disconnect = point.alerts.find((alert) => alert.rule === 'disconnected');
  const toRaise = (alert: Alert, parentKey?: string): RaiseIncident => ({
    key: alert.key,
    title: alert.title,
    severity: alert.severity,
    detail: alert.detail,
    pointId: point.pointId,
    ...(parentKey ? { parentKey } : {}),
  });
  const others = point.alerts.filter((alert) => alert !== disconnect);
  if (point.disconnectedSince === null) return { raise: others.map((alert) => toRaise(alert)), keep: [] };
  if (!disconnect) {
    // Out, but not long enough to say so yet: the last health is old news; open nothing new from it.
    return { raise: [], keep: others.map((alert) => alert.key).filter((key) => openKeys.has(key)) };
  }
  return {
    raise: [toRaise(disconnect, areaOpen ? areaKey(point.group) : undefined), ...others.map((alert) => toRaise(alert, disconnect.key))],
    keep: [],
  };
}

export interface FleetPlan {
  /** Area outages first, then each point's disconnect before its other alerts (parents before children). */
  raise: RaiseIncident[];
  keep: string[];
  /** Per point: when a condition that holds now will have held long enough. */
  recheckAt: Map<string, number>;
}

/**
 * The fleet (or part of it: a point with every point out in its group) at once: what incidents
 * should be open. `openKeys` are the incidents open now (for areas already open and for alerts
 * kept while a disconnect is pending).
 */
export function evaluateFleet(views: readonly PointView[], now: number, cfg: AlertsConfig, openKeys: ReadonlySet<string>): FleetPlan {
  const points = views.map((view) => pointAlerts(view, now, cfg));
  const outByGroup = new Map<string, number[]>();
  for (const point of points) {
    if (point.disconnectedSince !== null) outByGroup.set(point.group, [...(outByGroup.get(point.group) ?? []), point.disconnectedSince]);
  }
  const raise: RaiseIncident[] = [];
  const openAreas = new Set<string>();
  for (const [group, since] of outByGroup) {
    const area = areaOutage(group, since, openKeys.has(areaKey(group)), now, cfg);
    if (!area) continue;
    openAreas.add(group);
    raise.push({ key: area.key, title: area.title, severity: area.severity, detail: area.detail });
  }
  const keep: string[] = [];
  const recheckAt = new Map<string, number>();
  for (const point of points) {
    const plan = correlate(point, openAreas.has(point.group), openKeys);
    raise.push(...plan.raise);
    keep.push(...plan.keep);
    if (point.recheckAt !== null) recheckAt.set(point.pointId, point.recheckAt);
  }
  return { raise, keep, recheckAt };
}
