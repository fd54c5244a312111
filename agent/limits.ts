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
