/**
 * PIN attempt limiting as a pure state machine: a few wrong PINs in a window lock the client out,
 * and each lockout in a row lasts twice as long as the last (capped), so guessing a 4-digit PIN
 * takes weeks instead of minutes.
 */
export interface AttemptPolicy {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  maxLockoutMs: number;
}

export const DEFAULT_ATTEMPT_POLICY: AttemptPolicy = { maxFailures: 5, windowMs: 5 * 60_000, lockoutMs: 60_000, maxLockoutMs: 60 * 60_000 };

export interface AttemptState {
  /** Times of the recent wrong attempts (within the window). */
  failures: number[];
  lockedUntil: number;
  /** Lockouts in a row; reset by a right PIN. */
  lockouts: number;
}

export const NO_ATTEMPTS: AttemptState = { failures: [], lockedUntil: 0, lockouts: 0 };

/** Milliseconds until this client may try again; 0 when it may try now. */
export function retryAfterMs(state: AttemptState, now: number): number {
  return Math.max(0, state.lockedUntil - now);
}

/** A wrong PIN: the new state, and whether it just started a lockout (and for how long). */
export function afterFailure(state: AttemptState, now: number, policy: AttemptPolicy): { state: AttemptState; lockedForMs: number } {
  const failures = [...state.failures.filter((at) => now - at < policy.windowMs), now];
  if (failures.length < policy.maxFailures) return { state: { ...state, failures }, lockedForMs: 0 };
  const lockedForMs = Math.min(policy.maxLockoutMs, policy.lockoutMs * 2 ** state.lockouts);
  return { state: { failures: [], lockedUntil: now + lockedForMs, lockouts: state.lockouts + 1 }, lockedForMs };
}

/** Whether a state no longer matters and can be forgotten. */
export function isIdle(state: AttemptState, now: number, policy: AttemptPolicy): boolean {
  return state.lockedUntil + policy.maxLockoutMs < now && state.failures.every((at) => now - at >= policy.windowMs);
}
