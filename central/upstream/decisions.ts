/**
 * The forwarder's decisions, as plain functions over data (no I/O, no timers): how an answer
 * counts, how long to wait before the next try, what to send next.
 */
import { UpstreamAnswer } from './body.js';
import type { BodyShape } from './config.js';
import { parseJsonAs } from './json.js';

/** What one POST came back with: an HTTP answer, or no answer at all (network error, timeout). */
export type Exchange = { status: number; text: string } | { error: string };

export type Outcome = { kind: 'forwarded' } | { kind: 'transient'; error: string } | { kind: 'permanent'; error: string };

/** Statuses in 4xx that say "try again later" rather than "this request is wrong". */
const RETRYABLE_4XX = new Set([408, 425, 429]);
const SNIPPET = 300;

/**
 * Transient (retry without limit): no answer, 5xx, 408/425/429, `success: false` whose error is not
 * a validation error, or a 200 without the envelope the tagged form promises. Permanent (park):
 * other 4xx, and `success: false` whose error matches `permanentError`.
 */
export function classifyExchange(exchange: Exchange, shape: BodyShape, permanentError: RegExp): Outcome {
  if ('error' in exchange) return { kind: 'transient', error: exchange.error };
  const { status, text } = exchange;
  const said = `HTTP ${status}${text ? `: ${text.slice(0, SNIPPET)}` : ''}`;
  if (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) return { kind: 'permanent', error: said };
  if (status < 200 || status >= 300) return { kind: 'transient', error: said };
  const answer = parseAnswer(text);
  if (!answer) {
    return shape === 'plain' ? { kind: 'forwarded' } : { kind: 'transient', error: `${said} (not the {success, data, error} envelope)` };
  }
  if (answer.success) return { kind: 'forwarded' };
  const error = `success: false: ${describeError(answer.error).slice(0, SNIPPET)}`;
  return permanentError.test(error) ? { kind: 'permanent', error } : { kind: 'transient', error };
}

/** The main server's `{success, data, error}` envelope, or null when the answer is not one. */
export function parseAnswer(text: string): UpstreamAnswer | null {
  return parseJsonAs(UpstreamAnswer, text);
}

function describeError(error: unknown): string {
  if (error === undefined || error === null) return '(no error given)';
  return typeof error === 'string' ? error : JSON.stringify(error);
}

/**
 * Exponential backoff with "equal jitter": attempt 1 waits base/2..base, attempt n up to
 * base·2ⁿ⁻¹, capped at `maxMs`. Half the wait is random so a recovering server is not hit in step.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** What an outcome does to the order's (or, with `voidId`, its void's) durable state. */
export type Transition = { orderId: string; voidId?: string } & (
  | { to: 'forwarded' }
  | { to: 'retry'; error: string; nextAttemptAt: number }
  | { to: 'parked'; error: string }
);

export function transitionFor(head: QueueHead, outcome: Outcome, now: number, backoff: { baseMs: number; maxMs: number }, random: () => number): Transition {
  const ids = head.voidId ? { orderId: head.orderId, voidId: head.voidId } : { orderId: head.orderId };
  switch (outcome.kind) {
    case 'forwarded':
      return { ...ids, to: 'forwarded' };
    case 'permanent':
      return { ...ids, to: 'parked', error: outcome.error };
    case 'transient':
      return { ...ids, to: 'retry', error: outcome.error, nextAttemptAt: now + backoffMs(head.attempts + 1, backoff.baseMs, backoff.maxMs, random) };
  }
}

/**
 * The lowest-seq pending order of one point: the only one of that point that may be sent. With
 * `voidId`, a pending void of the forwarded order `orderId` (voids wait for their sale, not for each other).
 */
export interface QueueHead {
  orderId: string;
  voidId?: string;
  pointId: string;
  seq: number;
  attempts: number;
  nextAttemptAt: number;
  receivedAt: number;
}

export interface DispatchPlan {
  send: QueueHead[];
  /** When the next head not yet due becomes due (null: nothing is waiting on a backoff). */
  wakeAt: number | null;
}

/** What may have one request in flight at a time: a point's sales, or one void. */
export function laneOf(head: QueueHead): string {
  return head.voidId ? `void:${head.voidId}` : head.pointId;
}

/**
 * One point at a time, in seq order; different points in parallel up to `slots`. Among the due
 * heads the oldest (by when central received them) go first, so no point starves.
 */
export function planDispatch(heads: readonly QueueHead[], busyPoints: ReadonlySet<string>, slots: number, now: number): DispatchPlan {
  const idle = heads.filter((head) => !busyPoints.has(laneOf(head)));
  const due = idle.filter((head) => head.nextAttemptAt <= now).sort((a, b) => a.receivedAt - b.receivedAt || a.seq - b.seq);
  const wakeAt = idle.reduce<number | null>((soonest, head) => (head.nextAttemptAt > now && (soonest === null || head.nextAttemptAt < soonest) ? head.nextAttemptAt : soonest), null);
  return { send: due.slice(0, Math.max(0, slots)), wakeAt };
}

/** Whether the backlog alert should be open: the oldest pending order has waited `alertAfterMs`. */
export function backlogOverdue(oldestPendingAt: number | null, now: number, alertAfterMs: number): boolean {
  return oldestPendingAt !== null && now - oldestPendingAt >= alertAfterMs;
}

/**
 * Parked-order incidents (one per point) to raise or clear, given the parked counts last reported
 * (0: an incident is open, count unknown) and now. A changed count is raised again so the
 * incident's detail stays true.
 */
export function parkedIncidentChanges(
  reported: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): { raise: { pointId: string; parked: number }[]; clear: string[] } {
  const raise = [...current].filter(([pointId, parked]) => parked > 0 && reported.get(pointId) !== parked).map(([pointId, parked]) => ({ pointId, parked }));
  const clear = [...reported.keys()].filter((pointId) => !current.get(pointId));
  return { raise, clear };
}
