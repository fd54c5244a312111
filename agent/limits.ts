import type { Mode } from '../sync/schemas.js';

/** The offline limits of `limits.*` in the agent config (minor units; absent = no limit). */
export interface OfflineLimits {
  maxOrderTotal?: number | undefined;
  maxOfflineTotal?: number | undefined;
}

export interface LimitBreach {
  limit: 'maxOrderTotal' | 'maxOfflineTotal';
  max: number;
  /** The amount held against the limit: the order's total, or the offline sales with it. */
  amount: number;
}

/**
 * Which offline limit an order would break, as POS offline modes have them: a maximum per order
 * and a maximum of offline sales not yet synced (this order included). Online orders have none:
 * central sees them at once.
 */
export function offlineLimitBreach(limits: OfflineLimits, mode: Mode, orderTotal: number, unsyncedOfflineTotal: number): LimitBreach | null {
  if (mode !== 'offline') return null;
  if (limits.maxOrderTotal !== undefined && orderTotal > limits.maxOrderTotal) {
    return { limit: 'maxOrderTotal', max: limits.maxOrderTotal, amount: orderTotal };
  }
  const offlineTotal = unsyncedOfflineTotal + orderTotal;
  if (limits.maxOfflineTotal !== undefined && offlineTotal > limits.maxOfflineTotal) {
    return { limit: 'maxOfflineTotal', max: limits.maxOfflineTotal, amount: offlineTotal };
  }
  return null;
}

/** How far ahead of the box's clock a `takenAt` is still taken as now (a tablet's clock a little fast). */
export const TAKEN_AT_AHEAD_MS = 2 * 60_000;

export interface LateEntryLimits {
  lateEntryMinutes: number;
  lateEntryMaxHours: number;
}

/**
 * What a `takenAt` on `POST /api/orders` means (the contract's Continuity rules): up to 2 min ahead
 * is now, later is refused; older than `lateEntryMinutes` needs the manager PIN, older than
 * `lateEntryMaxHours` is refused. `takenAt` null: the order was taken now (no late entry).
 */
export type LateEntry =
  | { ok: true; takenAt: number | null; needsManager: boolean; ageMs: number }
  | { ok: false; reason: 'future' | 'too_old'; ageMs: number };

export function lateEntry(limits: LateEntryLimits, takenAt: number | undefined, now: number): LateEntry {
  if (takenAt === undefined) return { ok: true, takenAt: null, needsManager: false, ageMs: 0 };
  const ageMs = now - takenAt;
  if (ageMs < -TAKEN_AT_AHEAD_MS) return { ok: false, reason: 'future', ageMs };
  if (ageMs > limits.lateEntryMaxHours * 3_600_000) return { ok: false, reason: 'too_old', ageMs };
  if (ageMs <= 0) return { ok: true, takenAt: now, needsManager: false, ageMs: 0 };
  return { ok: true, takenAt, needsManager: ageMs > limits.lateEntryMinutes * 60_000, ageMs };
}
