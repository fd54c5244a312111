import type { HourCount } from '../store/types.js';

export const HOUR_MS = 3_600_000;
export const WEEK_MS = 7 * 24 * HOUR_MS;

export const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

export function silentKey(pointId: string): string {
  return `activity:${pointId}:silent`;
}

/** Orders per hour start, per point. */
export type CountsByPoint = Map<string, Map<number, number>>;

export function countsByPoint(rows: readonly HourCount[]): CountsByPoint {
  const byPoint: CountsByPoint = new Map();
  for (const row of rows) {
    let hours = byPoint.get(row.pointId);
    if (!hours) byPoint.set(row.pointId, (hours = new Map()));
    hours.set(row.hour, row.count);
  }
  return byPoint;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Pure: a point's usual orders at `now`'s hour of the week — the median over the same hour 1…weeks
 * weeks back (a week without orders counts as 0) — and the samples behind it.
 */
export function usualOrders(hours: ReadonlyMap<number, number> | undefined, now: number, weeks: number): { median: number; samples: number[] } {
  const samples = Array.from({ length: weeks }, (_, i) => hours?.get(floorHour(now - (i + 1) * WEEK_MS)) ?? 0);
  return { median: median(samples), samples };
}

/** The window of hourly counts `usualOrders` reads. */
export function historyWindow(now: number, weeks: number): { from: number; to: number } {
  return { from: floorHour(now - weeks * WEEK_MS), to: floorHour(now - WEEK_MS) + HOUR_MS };
}

export interface PointActivity {
  pointId: string;
  /** Connected and in online mode: orders are expected to reach central. */
  online: boolean;
  /** Central's time of the point's last committed order, or when central began watching. */
  quietSince: number;
}

export interface SilentPoint {
  pointId: string;
  usual: number;
  quietForMs: number;
}

export interface ActivityRule {
  weeks: number;
  busyMedian: number;
  silentAfter: number;
}

/**
 * Pure: the points that are online and usually busy at this hour of the week (median ≥
 * `busyMedian`) but have had no order for `silentAfter`.
 */
export function silentPoints(points: readonly PointActivity[], history: CountsByPoint, now: number, rule: ActivityRule): SilentPoint[] {
  const silent: SilentPoint[] = [];
  for (const point of points) {
    if (!point.online) continue;
    const usual = usualOrders(history.get(point.pointId), now, rule.weeks).median;
    const quietForMs = now - point.quietSince;
    if (usual >= rule.busyMedian && quietForMs >= rule.silentAfter) silent.push({ pointId: point.pointId, usual, quietForMs });
  }
  return silent;
}
