import { type Channel, type LadderConfig } from './config.js';

const MINUTE = 60_000;

/**
 * page: a ladder step; reminder: a long incident's repeat; resolved: the all-clear; failover: "a
 * channel is failing"; relapse: back after its all-clear; step: a runbook's notify step's own words.
 */
export type NoticeKind = 'page' | 'reminder' | 'resolved' | 'failover' | 'relapse' | 'step';
export const NOTICE_KINDS = ['page', 'reminder', 'resolved', 'failover', 'relapse', 'step'] as const satisfies readonly NoticeKind[];
export type NotificationStatus = 'pending' | 'sent' | 'failed' | 'skipped' | 'cancelled';

/**
 * What happened to an escalation, in time order; the ladder is a pure function of this. `silence`:
 * a maintenance silence covers it (no pages); `unsilence`: the silence ended with the incident
 * still open, and the ladder starts over from then; `raise`: its severity rose (`severityRaised` in incidents/types.ts):
 * an ack given before no longer holds, and the ladder starts over from then.
 */
export type EscalationEvent =
  | { type: 'ack'; at: number; by?: string }
  | { type: 'raise'; at: number }
  | { type: 'resolve'; at: number }
  | { type: 'reopen'; at: number }
  | { type: 'silence'; at: number }
  | { type: 'unsilence'; at: number };

export interface EscalationState {
  openedAt: number;
  events: readonly EscalationEvent[];
}

/** A notification already queued (whatever became of it). `contact` is '' for a channel's own target. */
export interface SendRecord {
  slot: string;
  kind: NoticeKind;
  channel: Channel;
  contact: string;
  status: NotificationStatus;
  sentAt: number | null;
}

export interface DueNotice {
  /** Stable name of the moment this notice belongs to; with channel and contact it makes the dedup key. */
  slot: string;
  kind: 'page' | 'reminder' | 'resolved' | 'relapse';
  channel: Channel;
  contact: string;
  /** A relapse: when the all-clear it follows was sent. */
  clearedAt?: number;
}

/** The slot of an incident's first report: the first step of the first loop of the first round. */
export const FIRST_REPORT_SLOT = 'r0.l0.s0';


export interface EscalationPhase {
  /** Ladder passes begun: the first at opening, another after each ack timeout. */
  round: number;
  roundStartedAt: number;
  ackedAt: number | null;
  /** Who gave the ack in force (when the event says). */
  ackedBy: string | null;
  resolvedAt: number | null;
  /** Since when a silence has covered it (null: not silenced). */
  silencedSince: number | null;
}

/**
 * Folds the history into where the ladder stands at `now`. An ack stops the round; if the incident is still
 * open `ackTimeoutMinutes` later a new round starts from the first step. A re-ack restarts the ack timeout.
 * A reopen (flapping, within the window) continues the same round. A raised severity starts a new round at once,
 * acked or not (silenced, it still pages nothing).
 */
export function escalationPhase(state: EscalationState, ladder: LadderConfig, now: number): EscalationPhase {
  const ackTimeout = ladder.ackTimeoutMinutes * MINUTE;
  const phase: EscalationPhase = { round: 0, roundStartedAt: state.openedAt, ackedAt: null, ackedBy: null, resolvedAt: null, silencedSince: null };
  const restartAt = (at: number): number | null =>
    phase.ackedAt !== null && ackTimeout > 0 && phase.ackedAt + ackTimeout <= at ? phase.ackedAt + ackTimeout : null;
  const restart = (startAt: number) => {
    phase.round++;
    phase.roundStartedAt = startAt;
    phase.ackedAt = null;
    phase.ackedBy = null;
  };
  for (const event of state.events) {
    if (event.at > now) break;
    if (phase.resolvedAt === null) {
      const at = restartAt(event.at);
      if (at !== null) restart(at);
    }
    if (event.type === 'ack') {
      if (phase.resolvedAt === null) {
        phase.ackedAt = event.at;
        phase.ackedBy = event.by ?? null;
      }
    } else if (event.type === 'raise') {
      if (phase.resolvedAt === null) restart(event.at);
    } else if (event.type === 'silence') {
      phase.silencedSince ??= event.at;
    } else if (event.type === 'unsilence') {
      if (phase.silencedSince !== null && phase.resolvedAt === null) restart(event.at);
      phase.silencedSince = null;
    } else if (event.type === 'resolve') {
      phase.resolvedAt ??= event.at;
    } else if (phase.resolvedAt !== null) {
      phase.resolvedAt = null;
      // An ack that timed out while the incident was resolved restarts the ladder now, not in the past.
      if (restartAt(event.at) !== null) restart(event.at);
    }
  }
  if (phase.resolvedAt === null) {
    const at = restartAt(now);
    if (at !== null) restart(at);
  }
  return phase;
}

export function loopLength(ladder: LadderConfig): number {
  return (ladder.loopMinutes ?? Math.max(...ladder.steps.map((s) => s.afterMinutes)) + 15) * MINUTE;
}

const sendKey = (slot: string, channel: Channel, contact: string) => `${slot}|${channel}|${contact}`;
const targets = (to: readonly string[]) => (to.length ? to : ['']);

/**
 * The notifications due at `now` that are not in `sends` yet. Only the current loop of the current round is
 * considered: a step missed while central was down is superseded by a later loop, not sent late in a burst.
 */
export function dueNotices(state: EscalationState, ladder: LadderConfig, sends: readonly SendRecord[], now: number): DueNotice[] {
  const phase = escalationPhase(state, ladder, now);
  const done = new Set(sends.map((s) => sendKey(s.slot, s.channel, s.contact)));
  const due: DueNotice[] = [];
  const add = (notice: DueNotice) => {
    if (!done.has(sendKey(notice.slot, notice.channel, notice.contact))) due.push(notice);
  };

  if (phase.resolvedAt !== null) {
    for (const notice of resolvedNotices(sends)) add(notice);
    return due;
  }

  // Silenced for maintenance: nothing pages, nothing reminds (the incident still shows).
  if (phase.silencedSince !== null) return due;

  for (const notice of relapseNotices(state, sends, now)) add(notice);

  const loopMs = loopLength(ladder);
  const lastStep = Math.max(...ladder.steps.map((s) => s.afterMinutes)) * MINUTE;
  const elapsed = now - phase.roundStartedAt;
  const loop = Math.min(Math.floor(elapsed / loopMs), ladder.maxLoops - 1);
  if (phase.ackedAt === null) {
    ladder.steps.forEach((step, index) => {
      if (phase.roundStartedAt + loop * loopMs + step.afterMinutes * MINUTE > now) return;
      for (const contact of targets(step.to)) add({ slot: `r${phase.round}.l${loop}.s${index}`, kind: 'page', channel: step.channel, contact });
    });
  }

  const idle = phase.ackedAt !== null || elapsed >= (ladder.maxLoops - 1) * loopMs + lastStep;
  const repeatMs = ladder.repeatMinutes * MINUTE;
  const repeat = repeatMs > 0 ? Math.floor((now - state.openedAt) / repeatMs) : 0;
  if (idle && repeat >= 1) {
    const first = ladder.steps[0]!;
    for (const contact of targets(first.to)) add({ slot: `repeat${repeat}`, kind: 'reminder', channel: first.channel, contact });
  }
  return due;
}

/**
 * Back after an all-clear: everyone who got that all-clear hears it, on the channel they got it on,
 * once per re-opening.
 */
function relapseNotices(state: EscalationState, sends: readonly SendRecord[], now: number): DueNotice[] {
  const reopen = [...state.events].reverse().find((event) => event.type === 'reopen' && event.at <= now);
  if (!reopen) return [];
  const cleared = new Map<string, SendRecord>();
  for (const send of sends) {
    if (send.kind !== 'resolved' || send.status !== 'sent' || send.sentAt === null || send.sentAt > reopen.at) continue;
    const key = `${send.channel}|${send.contact}`;
    if (!cleared.has(key) || send.sentAt >= cleared.get(key)!.sentAt!) cleared.set(key, send);
  }
  return [...cleared.values()].map((send) => ({ slot: `relapse@${reopen.at}`, kind: 'relapse', channel: send.channel, contact: send.contact, clearedAt: send.sentAt! }));
}

/**
 * One all-clear per (channel, contact) reached since it last had one: its slot names the latest message the
 * contact got, so a flapping incident re-resolved with nothing new sent does not say "resolved" twice.
 * Never by phone: someone reached only by a call hears no all-clear in the night.
 */
function resolvedNotices(sends: readonly SendRecord[]): DueNotice[] {
  const latest = new Map<string, SendRecord>();
  for (const send of sends) {
    if (send.kind === 'resolved' || send.channel === 'call' || send.status !== 'sent' || send.sentAt === null) continue;
    const key = `${send.channel}|${send.contact}`;
    const prior = latest.get(key);
    if (!prior || send.sentAt >= prior.sentAt!) latest.set(key, send);
  }
  return [...latest.values()].map((send) => ({ slot: `resolved@${send.slot}`, kind: 'resolved', channel: send.channel, contact: send.contact }));
}
