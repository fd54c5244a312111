import type { CheckState, Mode } from '../../sync/schemas.js';

export type CheckStatus = CheckState['status'];
export type CheckData = NonNullable<CheckState['data']>;

/** One run of a check, before hysteresis. */
export interface CheckResult {
  status: CheckStatus;
  detail: string;
  data?: CheckData;
}

/** A status changes only after this many consecutive results agree (worse: failAfter, better: recoverAfter). */
export interface Hysteresis {
  failAfter: number;
  recoverAfter: number;
}

/** A check's reported state and the streak of results that disagree with it. */
export interface CheckTrack {
  /** null until the first result. */
  state: CheckState | null;
  streak: { status: CheckStatus; count: number } | null;
}

export const EMPTY_TRACK: CheckTrack = { state: null, streak: null };

// Not knowing is no better than degraded (a reading that stops working needs failAfter to show).
const RANK: Record<CheckStatus, number> = { up: 0, unknown: 1, degraded: 1, down: 2 };

/** Folds one result into a track. Pure: the same history always gives the same state. */
export function applyResult(track: CheckTrack, result: CheckResult, now: number, policy: Hysteresis): CheckTrack {
  const adopt = (): CheckTrack => ({ state: { status: result.status, detail: result.detail, since: now, ...(result.data ? { data: result.data } : {}) }, streak: null });
  const current = track.state;
  // The first result is taken as is: there is no earlier state to protect from flapping.
  if (!current) return adopt();
  if (result.status === current.status) {
    return { state: { status: current.status, detail: result.detail, since: current.since, ...(result.data ? { data: result.data } : {}) }, streak: null };
  }
  const count = track.streak?.status === result.status ? track.streak.count + 1 : 1;
  const needed = RANK[result.status] > RANK[current.status] ? policy.failAfter : policy.recoverAfter;
  if (count >= needed) return adopt();
  return { state: current, streak: { status: result.status, count } };
}

/** Folds a whole history (oldest first), e.g. for tests and replays. */
export function foldResults(results: readonly { result: CheckResult; at: number }[], policy: Hysteresis): CheckTrack {
  return results.reduce((track, { result, at }) => applyResult(track, result, at, policy), EMPTY_TRACK);
}

export type OverrideSource = 'staff' | 'central';
/** Who forces manual-order mode; null = not forcing. */
export type Overrides = Record<OverrideSource, 'offline' | null>;
export const NO_OVERRIDES: Overrides = { staff: null, central: null };

export interface ModeDecision {
  mode: Mode;
  reason: string;
}

/**
 * The mode machine: offline (manual-order mode) while staff or central force it or while the
 * internet check is down (after its hysteresis); online otherwise. Pure.
 */
export function decideMode(internet: CheckState | null, overrides: Overrides): ModeDecision {
  if (overrides.staff === 'offline') return { mode: 'offline', reason: 'forced offline by staff' };
  if (overrides.central === 'offline') return { mode: 'offline', reason: 'forced offline by central' };
  if (internet?.status === 'down') return { mode: 'offline', reason: `internet down: ${internet.detail}` };
  return { mode: 'online', reason: internet ? `internet ${internet.status}: ${internet.detail}` : 'internet not checked yet' };
}
