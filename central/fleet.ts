import { z } from 'zod';
import type { Logger } from '../lib/log.js';
import type { Clock } from '../lib/clock.js';
import type { AnyCheckName, CheckState, HealthMessage, Mode, RejectReason, StatusMessage } from '../sync/schemas.js';

/** A group (city) of points: `tbilisi`, `batumi`. */
export const GroupName = z.string().regex(/^[a-z0-9-]{1,64}$/, 'a group is 1-64 of a-z, 0-9 and -');

/** One word per point for counts, filters and colours: the worst thing about it. */
export type PointCondition = 'offline' | 'manual' | 'down' | 'degraded' | 'ok';
export const POINT_CONDITIONS: readonly PointCondition[] = ['offline', 'manual', 'down', 'degraded', 'ok'];

/** Box resource usage in percent (0–100), read from `checks.system.data` when the agent sends it. */
export interface Usage {
  cpu: number | null;
  memory: number | null;
  disk: number | null;
}

export interface PointView {
  pointId: string;
  /** The group (city) this point belongs to, for correlation and filtering. */
  group: string;
  connected: boolean;
  /** Retained status says online but nothing was heard for longer than the stale period. */
  stale: boolean;
  condition: PointCondition;
  /** When the point stopped being connected (will, offline status, or its last message when stale). */
  disconnectedSince: number | null;
  mode: Mode | null;
  /** When central first saw the current mode. */
  modeSince: number | null;
  lastSeen: number | null;
  checks: Partial<Record<AnyCheckName, CheckState>>;
  usage: Usage;
  unsynced: number | null;
  oldestUnsyncedAt: number | null;
  /** Age of the oldest unsynced order now, corrected by the point's clock skew (ms). */
  oldestUnsyncedAgeMs: number | null;
  version: string | null;
  /** Receive time minus the point's own `ts`, from the last health message (ms). */
  clockSkewMs: number | null;
  session: number;
}

interface PointState {
  pointId: string;
  group: string;
  online: boolean;
  session: number;
  lastSeen: number | null;
  offlineSince: number | null;
  /** The stale flag last reported through 'change', so a sweep reports each flip once. */
  staleReported: boolean;
  health: HealthMessage | null;
  modeSince: number | null;
  usage: Usage;
  clockSkewMs: number | null;
  version: string | null;
}

/**
 * Which group a point belongs to: the first explicit list naming it (an exact id, or a prefix
 * ending in `*`), else the first dash-separated part of its id (`tbilisi-01` → `tbilisi`).
 */
export function groupResolver(groups: Record<string, readonly string[]>): (pointId: string) => string {
  const exact = new Map<string, string>();
  const prefixes: [string, string][] = [];
  for (const [group, members] of Object.entries(groups)) {
    for (const member of members) {
      if (member.endsWith('*')) prefixes.push([member.slice(0, -1), group]);
      else if (!exact.has(member)) exact.set(member, group);
    }
  }
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return (pointId) => exact.get(pointId) ?? prefixes.find(([prefix]) => pointId.startsWith(prefix))?.[1] ?? pointId.split('-')[0]!;
}

/**
 * Keys in `checks.system.data` read as percentages (the agent's system check sends these).
 * Anything that is not a number in 0–100 is ignored, so a missing or odd payload never alerts.
 */
export const USAGE_KEYS: Record<keyof Usage, string> = { cpu: 'cpuPercent', memory: 'memoryPercent', disk: 'diskPercent' };

export function readUsage(system: CheckState | undefined): Usage {
  const data = system?.data;
  const pick = (key: string): number | null => {
    const value = data?.[key];
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100 ? value : null;
  };
  return { cpu: pick(USAGE_KEYS.cpu), memory: pick(USAGE_KEYS.memory), disk: pick(USAGE_KEYS.disk) };
}

export function conditionOf(view: Pick<PointView, 'connected' | 'mode' | 'checks'>): PointCondition {
  if (!view.connected) return 'offline';
  if (view.mode === 'offline') return 'manual';
  const statuses = Object.values(view.checks).map((check) => check.status);
  if (statuses.includes('down')) return 'down';
  if (statuses.includes('degraded')) return 'degraded';
  return 'ok';
}

/** Counts by condition, overall and per group: the dashboard's header without the whole fleet. */
export function fleetSummary(points: readonly PointView[]): { points: number; byCondition: Record<PointCondition, number>; byGroup: Record<string, Record<PointCondition, number>> } {
  const zero = () => Object.fromEntries(POINT_CONDITIONS.map((c) => [c, 0])) as Record<PointCondition, number>;
  const byCondition = zero();
  const byGroup: Record<string, Record<PointCondition, number>> = {};
  for (const point of points) {
    byCondition[point.condition]++;
    (byGroup[point.group] ??= zero())[point.condition]++;
  }
  return { points: points.length, byCondition, byGroup };
}

export interface FleetOptions {
  log: Logger;
  clock: Clock;
  /** A point silent this long is stale even if its retained status says online. */
  staleAfterMs: number;
  /** Explicit groups: group → point ids or `prefix*` patterns. */
  groups?: Record<string, readonly string[]>;
  /** A point's state changed (every accepted message, and a point turning stale). */
  onChange: (pointId: string, cause: ChangeCause) => void;
  onReject: (reason: RejectReason, pointId: string) => void;
  /** A will from an older session arrived after the point reconnected, and was ignored. */
  onLateWill?: (pointId: string) => void;
}

const SWEEP_EVERY_MS = 1000;

/** Why a point's state changed: a status (or will), a health message, or silence (stale). */
export type ChangeCause = 'status' | 'health' | 'stale';

/**
 * Every point's live state, from its retained `status` (with its will) and `health`. Calls
 * `onChange(pointId, cause)` on every accepted message and when a point turns stale.
 */
export interface FleetQuery {
  condition?: PointCondition | undefined;
  group?: string | undefined;
  /** Part of the point id, any case. */
  q?: string | undefined;
  limit: number;
  /** The last point id of the previous page. */
  cursor?: string | undefined;
}

export class Fleet {
  private readonly points = new Map<string, PointState>();
  /** Point ids in order, kept as points appear: listing never sorts the whole fleet. */
  private readonly order: string[] = [];
  /** The group (city) a point belongs to, whether or not it has reported. */
  readonly groupOf: (pointId: string) => string;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly o: FleetOptions) {
    this.groupOf = groupResolver(o.groups ?? {});
  }

  /** Starts the sweep that reports points turning stale (nothing else reports a silence). */
  start(): void {
    this.sweeper ??= setInterval(() => this.sweep(this.o.clock.now()), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  get size(): number {
    return this.points.size;
  }

  private state(pointId: string): PointState {
    let state = this.points.get(pointId);
    if (!state) {
      state = {
        pointId,
        group: this.groupOf(pointId),
        online: false,
        session: -1,
        lastSeen: null,
        offlineSince: null,
        staleReported: false,
        health: null,
        modeSince: null,
        usage: { cpu: null, memory: null, disk: null },
        clockSkewMs: null,
        version: null,
      };
      this.points.set(pointId, state);
      this.order.splice(firstAfter(this.order, pointId), 0, pointId);
    }
    return state;
  }

  acceptStatus(pointId: string, status: StatusMessage, now: number): void {
    const known = this.points.get(pointId);
    if (known && !status.online && status.session < known.session) {
      // A will from an older connection arrived after the point reconnected (Sparkplug bdSeq).
      this.o.log.info({ pointId, staleSession: status.session, current: known.session }, 'ignored a late will from an old session');
      this.o.onLateWill?.(pointId);
      return;
    }
    const state = this.state(pointId);
    const changed = state.online !== status.online;
    if (!status.online && (changed || state.offlineSince === null)) state.offlineSince = now;
    state.online = status.online;
    state.session = Math.max(state.session, status.session);
    state.version = status.version;
    if (status.online) {
      state.lastSeen = now;
      state.offlineSince = null;
    }
    if (changed) this.o.log.info({ pointId, online: status.online, session: status.session }, status.online ? 'point connected' : 'point disconnected');
    this.report(state, now, 'status');
  }

  acceptHealth(pointId: string, health: HealthMessage, now: number): void {
    if (health.pointId !== pointId) {
      this.o.log.warn({ pointId, claimed: health.pointId }, 'rejected health published on another point\'s topic');
      this.o.onReject('point_mismatch', pointId);
      return;
    }
    const state = this.state(pointId);
    if (health.mode !== state.health?.mode) state.modeSince = now;
    state.health = health;
    state.usage = readUsage(health.checks.system);
    state.lastSeen = Math.max(state.lastSeen ?? 0, now);
    state.clockSkewMs = now - health.ts;
    if (health.version) state.version = health.version;
    this.report(state, now, 'health');
  }

  /** Reports points whose silence just made them stale. */
  sweep(now: number): void {
    for (const state of this.points.values()) {
      if (this.isStale(state, now) !== state.staleReported) this.report(state, now, 'stale');
    }
  }

  private report(state: PointState, now: number, cause: ChangeCause): void {
    state.staleReported = this.isStale(state, now);
    this.o.onChange(state.pointId, cause);
  }

  private isStale(state: PointState, now: number): boolean {
    return state.online && (state.lastSeen === null || now - state.lastSeen > this.o.staleAfterMs);
  }

  view(pointId: string, now: number): PointView | null {
    const state = this.points.get(pointId);
    return state ? this.toView(state, now) : null;
  }

  list(now: number): PointView[] {
    return this.order.map((pointId) => this.toView(this.points.get(pointId)!, now));
  }

  /**
   * One page of the fleet in id order, filtered: views are built only for the points walked, so a
   * page of 100 of 10,000 points costs the walk to fill it, not the whole fleet.
   */
  query(query: FleetQuery, now: number): { points: PointView[]; nextCursor: string | null } {
    const q = query.q?.toLowerCase();
    const points: PointView[] = [];
    let i = query.cursor === undefined ? 0 : firstAfter(this.order, query.cursor);
    for (; i < this.order.length && points.length < query.limit; i++) {
      const state = this.points.get(this.order[i]!)!;
      if ((query.group !== undefined && state.group !== query.group) || (q !== undefined && !state.pointId.includes(q))) continue;
      const view = this.toView(state, now);
      if (query.condition === undefined || view.condition === query.condition) points.push(view);
    }
    const more = points.length === query.limit && i < this.order.length;
    return { points, nextCursor: more ? points[points.length - 1]!.pointId : null };
  }

  private toView(state: PointState, now: number): PointView {
    const stale = this.isStale(state, now);
    const connected = state.online && !stale;
    const health = state.health;
    const oldest = health?.oldestUnsyncedAt ?? null;
    const checks = health?.checks ?? {};
    const mode = health?.mode ?? null;
    return {
      pointId: state.pointId,
      group: state.group,
      connected,
      stale,
      condition: conditionOf({ connected, mode, checks }),
      disconnectedSince: connected ? null : stale ? state.lastSeen : state.offlineSince,
      mode,
      modeSince: state.modeSince,
      lastSeen: state.lastSeen,
      checks,
      usage: state.usage,
      unsynced: health?.unsynced ?? null,
      oldestUnsyncedAt: oldest,
      oldestUnsyncedAgeMs: oldest === null ? null : Math.max(0, now - (state.clockSkewMs ?? 0) - oldest),
      version: state.version,
      clockSkewMs: state.clockSkewMs,
      session: state.session,
    };
  }
}

/** Where `id` would go in sorted `ids`: the index of the first id after it (ids are [a-z0-9-]: code-unit order is alphabetical). */
function firstAfter(ids: readonly string[], id: string): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (ids[mid]! <= id) low = mid + 1;
    else high = mid;
  }
  return low;
}
