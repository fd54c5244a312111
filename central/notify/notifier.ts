import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../../lib/clock.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { sleep } from '../../lib/timeout.js';
import { DEFAULT_TIME_ZONE } from '../../sync/day-summary.js';
import type { Incident, IncidentEvent, IncidentFeed, IncidentSink, Severity } from '../incidents/types.js';
import { ackUrl, callbackUrl, shortAckUrl, verifyAckToken } from './ack-link.js';
import { ChannelSenders, ownTargetName, resolveRecipient } from './channels.js';
import { channelConfigured, CHANNELS, SEVERITIES, type Channel, type LadderConfig, type NotifyConfig } from './config.js';
import { dueNotices, escalationPhase, FIRST_REPORT_SLOT, type EscalationPhase, type NoticeKind } from './ladder.js';
import { severityRaised } from '../incidents/types.js';
import { channelName, formatAge, formatDelay, localDateTime, renderMessage, type IncidentSnapshot, type RenderOptions } from './messages.js';
import { quietHoursDecision } from './quiet-hours.js';
import { NotifyStore, type Escalation, type Notification } from './store.js';
import { ruleOf, silenceFor, SilenceStore } from './silences.js';

const MINUTE = 60_000;
/** Notifications attempted per tick at most; the rest wait for the next tick. */
const BATCH = 100;
/** What an ack or a resolution cancels if still queued (a runbook step's message and all-clears still go). */
const PAGING_KINDS: NoticeKind[] = ['page', 'reminder', 'failover', 'relapse'];
/** How often `announce` looks whether its message was accepted. */
const ANNOUNCE_POLL_MS = 250;
/** Where links point when nothing better is known (central's default HTTP address). */
const FALLBACK_PUBLIC_URL = 'http://127.0.0.1:8080';

export interface NotifierOptions {
  config: NotifyConfig;
  /** Central's SQLite database; the notifier keeps its queue in its own `notify_*` tables. */
  db: Database.Database;
  feed: IncidentFeed;
  sink: IncidentSink;
  registry: Registry;
  clock?: Clock;
  log?: Logger;
  /** How often the built-in scheduler calls `tick()`; 0 leaves ticking to the caller. */
  tickEveryMs?: number;
  /** The group (city) of a point, for silences by group; none: group silences match only area incidents. */
  groupOf?: (pointId: string) => string | null;
  /** IANA zone of the times in messages and timelines (central's `timeZone`). */
  timeZone?: string;
  /** Central's public URL when `notify.publicUrl` is not set: what it actually serves, once it listens. */
  servedUrl?: () => string | undefined;
}

/** What became of a runbook's notify step: accepted by a channel (and which), or why not. */
export type AnnounceOutcome =
  | { delivered: true; channel: Channel; accepted: string[]; failed: string[] }
  | { delivered: false; reason: string };

export interface AnnounceRequest {
  incidentId: string;
  severity: Severity;
  text: string;
  /** Names this announcement (a run's step): announcing the same key twice sends once. */
  key: string;
}

export type AckLinkStatus =
  | { state: 'not-leader' }
  | { state: 'invalid' }
  | { state: 'unknown' }
  | { state: 'open' | 'acked' | 'already-acked' | 'resolved'; title: string };

/** An SMS reply's ack: which incident it acked (and how many more paged to that phone are open), or why none. */
export type SmsReplyAck = { state: 'not-leader' | 'unknown-phone' | 'nothing-open' } | { state: 'acked'; title: string; stillOpen: number; contact: string };

const METRIC_NAMES = {
  pending: 'hotpot_notify_pending',
  attempts: 'hotpot_notify_attempts_total',
  notifications: 'hotpot_notify_notifications_total',
  sendSeconds: 'hotpot_notify_send_seconds',
} as const;

function createMetrics(registry: Registry, store: NotifyStore) {
  const pending: Gauge<'channel'> = new Gauge({
    name: METRIC_NAMES.pending,
    help: 'Notifications queued and not yet sent, by channel',
    labelNames: ['channel'],
    registers: [registry],
    collect: () => {
      pending.reset();
      for (const channel of CHANNELS) pending.set({ channel }, 0);
      for (const row of store.pendingByChannel()) pending.set({ channel: row.channel }, row.n);
    },
  });
  return {
    pending,
    attempts: new Counter({
      name: METRIC_NAMES.attempts,
      help: 'Notification send attempts, by channel and outcome',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    notifications: new Counter({
      name: METRIC_NAMES.notifications,
      help: 'Notifications finished, by channel, kind and final status (sent, failed, skipped, cancelled)',
      labelNames: ['channel', 'kind', 'status'] as const,
      registers: [registry],
    }),
    sendSeconds: new Histogram({
      name: METRIC_NAMES.sendSeconds,
      help: 'Time one notification send took, by channel',
      labelNames: ['channel'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
  };
}
type NotifyMetrics = ReturnType<typeof createMetrics>;

/**
 * The escalation engine: follows incidents, queues what the ladder says is due, delivers it with retries,
 * quiet hours and rate limits, and writes every send on the incident's timeline.
 */
export class Notifier {
  private readonly store: NotifyStore;
  private readonly silences: SilenceStore;
  private readonly senders: ChannelSenders;
  private readonly clock: Clock;
  private readonly log: Logger;
  private secret: string | undefined;
  private metrics: NotifyMetrics | undefined;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();
  private ticking = false;
  private kicked = false;
  private urlChecked = false;
  /** Notifications whose send is under way: their message is what goes out, whatever happens meanwhile. */
  private readonly sending = new Set<string>();

  constructor(private readonly options: NotifierOptions) {
    this.store = new NotifyStore(options.db);
    this.silences = new SilenceStore(options.db);
    this.senders = new ChannelSenders(options.config.channels);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger();
  }

  private get config(): NotifyConfig {
    return this.options.config;
  }

  private get timeZone(): string {
    return this.options.timeZone ?? DEFAULT_TIME_ZONE;
  }

  /** The base of every link in messages: `notify.publicUrl`, else what central serves. */
  publicUrl(): string {
    return this.config.publicUrl ?? this.options.servedUrl?.() ?? FALLBACK_PUBLIC_URL;
  }

  async start(): Promise<void> {
    this.secret = this.config.signingSecret ?? this.store.meta('signingSecret', () => randomBytes(32).toString('base64url'));
    this.senders.open();
    this.metrics = createMetrics(this.options.registry, this.store);
    this.unsubscribe = this.options.feed.subscribe((event) => this.onEvent(event));
    this.reconcile();
    const tickEveryMs = this.options.tickEveryMs ?? 1000;
    if (tickEveryMs > 0) {
      this.timer = setInterval(() => {
        // A slow send (an SMTP timeout) must not pile ticks up behind it.
        if (this.ticking) return;
        this.tick().catch((error: unknown) => this.log.error({ err: error }, 'notifier tick failed'));
      }, tickEveryMs);
      this.timer.unref();
    }
    const configured = CHANNELS.filter((c) => channelConfigured(this.config.channels, c));
    const unused = new Set(SEVERITIES.flatMap((s) => this.config.ladders[s].steps.map((step) => step.channel)).filter((c) => !configured.includes(c)));
    if (unused.size) this.log.warn({ channels: [...unused] }, 'ladder steps on channels that are not configured are skipped');
    this.log.info({ channels: configured }, 'notifier started');
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.secret = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.urlChecked = false;
    await this.tail;
    this.senders.close();
    if (this.metrics) {
      for (const name of Object.values(METRIC_NAMES)) this.options.registry.removeSingleMetric(name);
      this.metrics = undefined;
    }
  }

  /** Queues what is due and sends what is queued; ticks run one after another. */
  tick(): Promise<void> {
    const run = this.tail.then(() => this.runTick());
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Who was told what about an incident (its escalation's notifications), oldest first; null when it has none. */
  notificationsFor(incidentId: string): Notification[] | null {
    const escalation = this.store.forIncident(incidentId);
    return escalation ? this.store.notifications(escalation.id) : null;
  }

  /** What a signed ack link would do, without doing it (the confirmation page). */
  ackLinkStatus(incidentId: string, by: string, token: string): AckLinkStatus {
    const found = this.checkLink(incidentId, by, token);
    return 'state' in found ? found : this.linkState(found);
  }

  /** Acks through the incident feed; the ladder stops even if the feed does not report the ack back. */
  acknowledgeByLink(incidentId: string, by: string, token: string, via = 'ack link'): AckLinkStatus {
    const found = this.checkLink(incidentId, by, token);
    return 'state' in found ? found : this.ackThrough(found, `${by} (${via})`);
  }

  /** What a short ack link (`/api/a/<code>`, in SMS) would do. */
  ackCodeStatus(code: string): AckLinkStatus {
    const found = this.checkCode(code);
    return 'state' in found ? found : this.linkState(found);
  }

  acknowledgeByCode(code: string): AckLinkStatus {
    const found = this.checkCode(code);
    return 'state' in found ? found : this.ackThrough(found, `${this.store.ackCodeTarget(code)!.recipient} (SMS link)`);
  }

  /**
   * A reply to an SMS from `phone`: acks the newest open, unacked incident paged by SMS to the
   * contact with that number (another reply acks the next one).
   */
  acknowledgeBySmsReply(phone: string): SmsReplyAck {
    if (!this.secret) return { state: 'not-leader' };
    const contacts = this.config.contacts.filter((contact) => contact.phone === phone);
    if (!contacts.length) return { state: 'unknown-phone' };
    const now = this.clock.now();
    const open = contacts.flatMap((contact) =>
      this.store
        .escalationsToldTo('sms', contact.name)
        .filter((escalation) => {
          const phase = escalationPhase(escalation, this.ladderFor(escalation), now);
          return phase.resolvedAt === null && phase.ackedAt === null;
        })
        .map((escalation) => ({ escalation, contact: contact.name })),
    );
    const [newest] = open;
    if (!newest) return { state: 'nothing-open' };
    this.ackThrough(newest.escalation, `${newest.contact} (SMS reply)`);
    return { state: 'acked', title: newest.escalation.incident.title, stillOpen: open.length - 1, contact: newest.contact };
  }

  /** Sends a runbook step's own words on the first channel of `severity`'s ladder, now, and waits (up to `timeoutMs`) until a channel accepts or fails for good. */
  async announce(request: AnnounceRequest, timeoutMs: number): Promise<AnnounceOutcome> {
    if (this.secret === undefined) return { delivered: false, reason: 'notifications run on the leading replica, and this one does not lead now' };
    let escalation = this.store.forIncident(request.incidentId);
    if (!escalation) {
      const incident = this.options.feed.get(request.incidentId);
      if (incident) this.onEvent({ type: 'opened', incident });
      escalation = this.store.forIncident(request.incidentId);
    }
    if (!escalation) return { delivered: false, reason: `incident ${request.incidentId} has no escalation (it is unknown, or hangs under another incident)` };
    const now = this.clock.now();
    const phase = escalationPhase(escalation, this.ladderFor(escalation), now);
    if (phase.silencedSince !== null) return { delivered: false, reason: 'a maintenance silence covers this incident: no messages while it lasts' };
    const first = this.config.ladders[request.severity].steps[0]!;
    if (!channelConfigured(this.config.channels, first.channel)) {
      return { delivered: false, reason: `the first channel of the ${request.severity} ladder (${channelName(first.channel)}) is not configured` };
    }
    const slot = `step:${request.key}`;
    // What the ladder has due goes first (the incident's own first report), then the step's words.
    this.plan(escalation, now);
    for (const contact of first.to.length ? first.to : ['']) this.queue(escalation, slot, 'step', first.channel, contact, now, { stepText: request.text });
    const ids = this.store.notifications(escalation.id).filter((n) => n.slot === slot).map((n) => n.id);
    await this.tick();
    // A real wait on I/O (retries on the scheduler's ticks), not a span of the notifier's clock.
    const deadline = performance.now() + timeoutMs;
    let rows = ids.map((id) => this.store.notification(id)!);
    while (rows.some((n) => n.status === 'pending') && performance.now() < deadline && this.secret !== undefined) {
      await sleep(ANNOUNCE_POLL_MS);
      rows = ids.map((id) => this.store.notification(id)!);
    }
    const label = (n: Notification) => this.recipientLabel(n);
    const accepted = rows.filter((n) => n.status === 'sent').map(label);
    const failed = rows.filter((n) => n.status !== 'sent').map((n) => `${label(n)}: ${n.status === 'pending' ? 'not accepted yet, still retrying' : n.status}${n.lastError ? ` (${n.lastError})` : ''}`);
    if (accepted.length) return { delivered: true, channel: first.channel, accepted, failed };
    return { delivered: false, reason: `${channelName(first.channel)}: ${failed.join('; ')}` };
  }

  private linkState(escalation: Escalation): AckLinkStatus {
    const phase = escalationPhase(escalation, this.ladderFor(escalation), this.clock.now());
    const state = phase.resolvedAt !== null ? 'resolved' : phase.ackedAt !== null ? 'already-acked' : 'open';
    return { state, title: escalation.incident.title };
  }

  private ackThrough(escalation: Escalation, who: string): AckLinkStatus {
    const status = this.linkState(escalation);
    if (status.state !== 'open') return status;
    const incident = this.options.feed.ack(escalation.incident.id, who);
    const now = this.clock.now();
    const after = this.store.escalation(escalation.id)!;
    if (escalationPhase(after, this.ladderFor(after), now).ackedAt === null) this.acknowledge(after, who, now, incident?.ackedAt ?? after.storeAckedAt);
    return { state: 'acked', title: status.title };
  }

  private checkLink(incidentId: string, by: string, token: string): Escalation | { state: 'not-leader' | 'invalid' | 'unknown' } {
    // Stopped: another replica leads and holds the ladders (and the secret that signed the link).
    if (!this.secret) return { state: 'not-leader' };
    if (!verifyAckToken(this.secret, incidentId, by, token)) return { state: 'invalid' };
    return this.store.forIncident(incidentId) ?? { state: 'unknown' };
  }

  private checkCode(code: string): Escalation | { state: 'not-leader' | 'invalid' | 'unknown' } {
    if (!this.secret) return { state: 'not-leader' };
    const target = this.store.ackCodeTarget(code);
    if (!target) return { state: 'invalid' };
    return this.store.forIncident(target.incidentId) ?? { state: 'unknown' };
  }

  private recipientLabel(n: Notification): string {
    const lookup = resolveRecipient(this.config.channels, this.config.contacts, n.channel, n.contact);
    return lookup.ok ? lookup.recipient.label : n.contact || ownTargetName(n.channel);
  }

  // ---- incident events --------------------------------------------------------------------

  private onEvent(event: IncidentEvent): void {
    try {
      if (event.type === 'opened') this.open(event.incident);
      else this.follow(event.incident);
    } catch (error) {
      // The incident store calls us inline: our failure must never become its failure.
      this.log.error({ err: error, incidentId: event.incident.id, event: event.type }, 'notifier could not handle an incident event');
    }
  }

  /** Catches up with what the incident store did while the notifier was not running. */
  private reconcile(): void {
    for (const escalation of this.store.openEscalations()) {
      const incident = this.options.feed.get(escalation.incident.id);
      if (incident) this.onEvent({ type: 'updated', incident });
    }
    // Incidents that opened while this notifier was not running (a replica taking the lead over
    // from another, which kept its own record) page from the start of their ladder.
    for (const incident of this.options.feed.active()) {
      if (incident.status === 'open' && incident.parentId === null && !this.store.forIncident(incident.id)) this.onEvent({ type: 'opened', incident });
    }
  }

  private open(incident: Incident): void {
    if (incident.parentId !== null) {
      this.note(incident.id, `no notifications of its own: it hangs under incident ${incident.parentId}`);
      return;
    }
    if (this.store.forIncident(incident.id)) return this.follow(incident);
    const now = this.clock.now();
    const latest = this.store.latestForKey(incident.key);
    if (latest) {
      const phase = escalationPhase(latest, this.ladderFor(latest), now);
      if (phase.resolvedAt === null || now - phase.resolvedAt <= this.config.reopenWindowMinutes * MINUTE) {
        this.continueEscalation(latest, incident, phase.resolvedAt, now);
        return;
      }
    }
    const escalation = this.store.createEscalation({ ...snapshot(incident), openedAt: now });
    const ladder = this.config.ladders[incident.severity];
    const steps = ladder.steps
      .filter((step) => channelConfigured(this.config.channels, step.channel))
      .map((step) => `${step.afterMinutes} min ${channelName(step.channel)} to ${step.to.length ? step.to.join(', ') : ownTargetName(step.channel)}`);
    const grace = this.graceFor(escalation);
    const after = grace > 0 ? ` after a grace of ${formatAge(grace)} (notify.grace.${ruleOf(incident.key)}): cleared sooner, it is not reported` : '';
    this.note(incident.id, steps.length ? `escalation ladder (${incident.severity}): ${steps.join('; ')}${after}` : 'no notification channel is configured for this severity');
  }

  /** One dedup key, one escalation: a flapping condition continues its ladder instead of paging from the start. */
  private continueEscalation(escalation: Escalation, incident: Incident, resolvedAt: number | null, now: number): void {
    const previous = escalation.incident;
    this.store.mapIncident(incident.id, escalation.id);
    this.store.updateIncident(escalation.id, snapshot(incident), null);
    escalation.incident = { ...previous, ...snapshot(incident) };
    if (resolvedAt !== null) this.store.addEvent(escalation, { type: 'reopen', at: now });
    const when = resolvedAt !== null ? `re-opened ${formatAge(now - resolvedAt)} after it resolved` : 'still open';
    this.note(incident.id, `notifications continue the ladder of incident ${previous.id} (same key ${incident.key}, ${when}); steps already sent are not repeated`);
    if (severityRaised(previous.severity, incident.severity)) this.raiseSeverity(escalation, previous.severity, now);
  }

  private follow(incident: Incident): void {
    const escalation = this.store.forIncident(incident.id);
    if (!escalation) {
      if (incident.status === 'open' && incident.parentId === null) this.open(incident);
      return;
    }
    // Events about an earlier incident of a continued escalation change nothing.
    if (escalation.incident.id !== incident.id) return;
    const before = escalation.incident.severity;
    this.store.updateIncident(escalation.id, snapshot(incident), incident.parentId);
    escalation.incident = { ...escalation.incident, ...snapshot(incident) };
    if (incident.parentId !== escalation.parentId) {
      const cancelled = incident.parentId ? this.cancel(escalation, `now under incident ${incident.parentId}`) : '';
      this.note(incident.id, incident.parentId ? `ladder paused: now under incident ${incident.parentId}${cancelled}` : 'ladder resumed: it stands on its own again');
    }
    const now = this.clock.now();
    const phase = escalationPhase(escalation, this.ladderFor(escalation), now);
    if (incident.status === 'resolved') {
      if (phase.resolvedAt === null) this.resolve(escalation, now);
      return;
    }
    if (phase.resolvedAt !== null) this.store.addEvent(escalation, { type: 'reopen', at: now });
    if (severityRaised(before, incident.severity)) this.raiseSeverity(escalation, before, now);
    if (incident.ackedAt !== null && incident.ackedAt !== escalation.storeAckedAt) {
      this.acknowledge(escalation, incident.ackedBy ?? 'someone', now, incident.ackedAt);
    }
  }

  private acknowledge(escalation: Escalation, by: string, now: number, storeAckedAt: number | null): void {
    this.store.addEvent(escalation, { type: 'ack', at: now, by }, storeAckedAt);
    const cancelled = this.cancel(escalation, `acknowledged by ${by}`);
    const timeout = this.ladderFor(escalation).ackTimeoutMinutes;
    this.note(
      escalation.incident.id,
      `ladder stopped: acknowledged by ${by}${cancelled}${timeout > 0 ? `; it restarts in ${timeout} min unless resolved by then` : ''}`,
    );
  }

  /**
   * The severity rose: an ack given before no longer holds, and the new severity's ladder starts now from its
   * first step (the next tick queues it). A silence still holds everything back.
   */
  private raiseSeverity(escalation: Escalation, from: Severity, now: number): void {
    const before = escalationPhase(escalation, this.ladderFor(escalation), now);
    this.store.addEvent(escalation, { type: 'raise', at: now });
    const to = escalation.incident.severity;
    const paging =
      before.silencedSince !== null
        ? 'still silenced, no pages while the silence lasts'
        : escalation.parentId !== null
          ? `no pages of its own: it hangs under incident ${escalation.parentId}`
          : `paging again from the first step of the ${to} ladder`;
    const ack = before.ackedAt !== null ? `; the acknowledgement by ${before.ackedBy ?? 'someone'} ${formatAge(now - before.ackedAt)} ago no longer holds` : '';
    this.note(escalation.incident.id, `severity raised ${from} → ${to}: ${paging}${ack}`);
  }

  private resolve(escalation: Escalation, now: number): void {
    const before = escalationPhase(escalation, this.ladderFor(escalation), now);
    this.store.addEvent(escalation, { type: 'resolve', at: now });
    const reported = this.reportFirst(escalation, before, now);
    const cancelled = this.cancel(escalation, 'resolved');
    this.note(escalation.incident.id, `ladder stopped: resolved${cancelled}; ${reported ?? 'everyone already reached gets one all-clear'}`);
    this.kick();
  }

  /**
   * Every incident is reported at least on its ladder's first channel, unless its rule's grace says
   * otherwise: one that resolves before its first report went out gets one message saying it was
   * down and is over (never by phone). Returns what it did, for the timeline.
   */
  private reportFirst(escalation: Escalation, before: EscalationPhase, now: number): string | null {
    if (escalation.parentId !== null || before.silencedSince !== null || before.resolvedAt !== null) return null;
    const grace = this.graceFor(escalation);
    if (grace > 0 && now - escalation.openedAt < grace) return `resolved within its grace of ${formatAge(grace)}: not reported`;
    const notifications = this.store.notifications(escalation.id);
    const unsent = notifications.filter((n) => n.slot === FIRST_REPORT_SLOT && n.kind === 'page' && n.status === 'pending' && !this.sending.has(n.id));
    const neverByPhone = 'not reported: its first step is a call, and an incident already over is never phoned in';
    // An unsent call is cancelled with the other pages below.
    const rewritable = unsent.filter((n) => n.channel !== 'call');
    for (const n of rewritable) this.store.rewrite(n.id, 'resolved', this.render(escalation, 'resolved', n.channel, n.contact, now, { unannounced: true }).message);
    if (rewritable.length) return `its first report, not sent yet, now says it was down and is over`;
    if (unsent.length && !notifications.some((n) => n.status === 'sent')) return neverByPhone;
    if (notifications.length) return null;
    const first = this.ladderFor(escalation).steps[0]!;
    if (!channelConfigured(this.config.channels, first.channel)) return null;
    if (first.channel === 'call') return neverByPhone;
    for (const contact of first.to.length ? first.to : ['']) this.queue(escalation, FIRST_REPORT_SLOT, 'resolved', first.channel, contact, now, { unannounced: true });
    return `reported once on ${channelName(first.channel)}: it was down and is over`;
  }

  /** How long an incident of this rule waits before anyone is told (`notify.grace`). */
  private graceFor(escalation: Escalation): number {
    return this.config.grace[ruleOf(escalation.incident.key)] ?? 0;
  }

  /**
   * Runs a tick soon, so an all-clear (or the one message of an incident that healed within a tick)
   * does not wait for the next one. Openings wait for the tick: a crash that heals before it gets
   * one message saying both, not a page and an all-clear.
   */
  private kick(): void {
    if (!this.timer || this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      if (this.ticking || !this.timer) return;
      this.tick().catch((error: unknown) => this.log.error({ err: error }, 'notifier tick failed'));
    });
  }

  private cancel(escalation: Escalation, reason: string): string {
    const cancelled = this.store.cancelPending(escalation.id, PAGING_KINDS, reason);
    for (const n of cancelled) this.metrics?.notifications.inc({ channel: n.channel, kind: n.kind, status: 'cancelled' });
    return cancelled.length ? `; ${cancelled.length} queued notification(s) cancelled` : '';
  }

  // ---- the tick ---------------------------------------------------------------------------

  private async runTick(): Promise<void> {
    if (this.secret === undefined) throw new Error('Notifier.tick() called before start()');
    this.ticking = true;
    try {
      if (!this.urlChecked) this.checkPublicUrl();
      const now = this.clock.now();
      for (const escalation of this.store.openEscalations()) this.plan(escalation, now);
      await this.deliver(now);
    } finally {
      this.ticking = false;
    }
  }

  /** The escalation's ladder: its severity's, every step later by its rule's grace. */
  private ladderFor(escalation: Escalation): LadderConfig {
    const ladder = this.config.ladders[escalation.incident.severity];
    const grace = this.graceFor(escalation) / MINUTE;
    if (grace <= 0) return ladder;
    return {
      ...ladder,
      steps: ladder.steps.map((step) => ({ ...step, afterMinutes: step.afterMinutes + grace })),
      ...(ladder.loopMinutes !== undefined ? { loopMinutes: ladder.loopMinutes + grace } : {}),
    };
  }

  /** Links in messages must open on a phone: a loopback public URL reaches nobody. */
  private checkPublicUrl(): void {
    this.urlChecked = true;
    const url = this.publicUrl();
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
    if (loopback && this.config.contacts.length > 0) {
      this.log.warn(
        { publicUrl: url, configured: this.config.publicUrl !== undefined },
        'notify.publicUrl is a loopback address: ack links and Twilio callbacks in messages will not open from a phone; set notify.publicUrl to the address people reach central at',
      );
    }
  }

  /** Marks the escalation silenced while a silence covers it, and starts its ladder over when one ends with it still open. */
  private followSilence(escalation: Escalation, ladder: LadderConfig, now: number): void {
    const phase = escalationPhase(escalation, ladder, now);
    if (phase.resolvedAt !== null) return;
    const { pointId } = escalation.incident;
    const silence = silenceFor(escalation.incident, pointId ? (this.options.groupOf?.(pointId) ?? null) : null, this.silences.current(now), now);
    if (silence && phase.silencedSince === null) {
      this.store.addEvent(escalation, { type: 'silence', at: now });
      this.note(escalation.incident.id, `silenced by ${silence.createdBy} for ${formatAge(silence.until - now)} (${silence.reason}): no pages while it lasts`);
    } else if (!silence && phase.silencedSince !== null) {
      this.store.addEvent(escalation, { type: 'unsilence', at: now });
      this.note(escalation.incident.id, 'the silence is over and the incident is still open: the ladder starts now');
    }
  }

  private plan(escalation: Escalation, now: number): void {
    const ladder = this.ladderFor(escalation);
    this.followSilence(escalation, ladder, now);
    for (const due of dueNotices(escalation, ladder, this.store.sends(escalation.id), now)) {
      // An incident correlated under another pages through its parent; it still gets its all-clear.
      const paused = escalation.parentId !== null && due.kind !== 'resolved';
      if (!paused && channelConfigured(this.config.channels, due.channel)) {
        this.queue(escalation, due.slot, due.kind, due.channel, due.contact, now, due.clearedAt !== undefined ? { clearedAt: due.clearedAt } : {});
      }
    }
    const { resolvedAt } = escalationPhase(escalation, ladder, now);
    const settled = resolvedAt !== null && now - resolvedAt > this.config.reopenWindowMinutes * MINUTE;
    if (settled && this.store.pendingCount(escalation.id) === 0) this.store.close(escalation.id);
  }

  /** A message for one recipient: in their language, with the links their channel carries. */
  private render(escalation: Escalation, kind: NoticeKind, channel: Channel, contact: string, now: number, extra: Partial<RenderOptions>) {
    const lookup = resolveRecipient(this.config.channels, this.config.contacts, channel, contact);
    const by = contact || ownTargetName(channel);
    const base = this.publicUrl();
    const incidentId = escalation.incident.id;
    const twilio = this.config.channels.twilio;
    const message = renderMessage(kind, escalation.incident, {
      language: (lookup.ok ? lookup.recipient.contact?.language : undefined) ?? this.config.language,
      timeZone: this.timeZone,
      now,
      ackUrl: kind === 'resolved' ? null : ackUrl(base, this.secret!, incidentId, by),
      ...(channel === 'sms' && kind !== 'resolved' ? { shortAckUrl: shortAckUrl(base, this.store.ackCode(incidentId, by, now)) } : {}),
      ...(channel === 'call' && twilio?.ackByKeypress ? { callbackUrl: callbackUrl(base, this.secret!, incidentId, by) } : {}),
      ...extra,
    });
    return { lookup, message };
  }

  /** Queues a notification (once per slot, channel and contact); returns it, or null when it was queued before. */
  private queue(escalation: Escalation, slot: string, kind: NoticeKind, channel: Channel, contact: string, now: number, extra: Partial<RenderOptions> = {}): Notification | null {
    const { lookup, message } = this.render(escalation, kind, channel, contact, now, extra);
    const queued = this.store.enqueue(
      {
        escalationId: escalation.id,
        incidentId: escalation.incident.id,
        slot,
        kind,
        channel,
        contact,
        status: lookup.ok ? 'pending' : 'skipped',
        ...(lookup.ok ? {} : { lastError: lookup.reason }),
        message,
      },
      now,
    );
    if (queued && !lookup.ok) {
      this.metrics?.notifications.inc({ channel, kind, status: 'skipped' });
      this.note(escalation.incident.id, `${channelName(channel)} ${kind} to ${contact || ownTargetName(channel)}: skipped (${lookup.reason})`);
    }
    return queued;
  }

  /**
   * Sends what is due: recipients in parallel, each recipient's messages one after another in the
   * order they were queued, so a chat reads the incident, then the runbook's step, then the all-clear.
   */
  private async deliver(now: number): Promise<void> {
    const byRecipient = new Map<string, (() => Promise<void>)[]>();
    for (const notification of this.store.dueNotifications(now, BATCH)) {
      const send = this.prepare(notification, now);
      if (!send) continue;
      const key = `${notification.channel}|${notification.contact}`;
      byRecipient.set(key, [...(byRecipient.get(key) ?? []), send]);
    }
    await Promise.all(
      [...byRecipient.values()].map(async (sends) => {
        for (const send of sends) await send();
      }),
    );
  }

  /** Decides synchronously whether a queued notification goes now; returns the send, or null if it waits or is dropped. */
  private prepare(n: Notification, now: number): (() => Promise<void>) | null {
    const escalation = this.store.escalation(n.escalationId)!;
    const lookup = resolveRecipient(this.config.channels, this.config.contacts, n.channel, n.contact);
    if (!lookup.ok) {
      this.finish(n, escalation, 'skipped', n.attempts, lookup.reason);
      return null;
    }
    const { recipient } = lookup;
    const quiet = quietHoursDecision(recipient.contact, n.channel, n.kind, escalation.incident.severity, now);
    if (quiet.action === 'skip') {
      this.finish(n, escalation, 'skipped', n.attempts, `quiet hours of ${n.contact}, ${escalation.incident.severity} incident`);
      return null;
    }
    if (quiet.action === 'defer') {
      this.hold(n, escalation, recipient.label, quiet.until, `deferred to the end of ${n.contact}'s quiet hours (${localDateTime(quiet.until, this.timeZone)})`);
      return null;
    }
    const limit = this.config.rateLimits[n.channel];
    const windowMs = limit.perSeconds * 1000;
    const recent = this.store.attemptTimes(n.channel, now - windowMs);
    if (recent.length >= limit.max) {
      const until = recent[recent.length - limit.max]! + windowMs;
      this.hold(n, escalation, recipient.label, until, `held by the ${channelName(n.channel)} rate limit (${limit.max} per ${limit.perSeconds} s)`);
      return null;
    }
    const { retry } = this.config;
    const backoffMs = Math.min(retry.baseSeconds * 2 ** n.attempts, retry.maxSeconds) * 1000;
    const { attempts, attemptId } = this.store.beginAttempt(n, now, now + backoffMs);
    this.sending.add(n.id);
    return async () => {
      const started = performance.now();
      let error: string | null = null;
      try {
        await this.senders.send({ channel: n.channel, kind: n.kind, recipient, message: n.message, incident: escalation.incident });
      } catch (failure) {
        error = (failure as Error).message;
      } finally {
        this.sending.delete(n.id);
      }
      this.metrics?.sendSeconds.observe({ channel: n.channel }, (performance.now() - started) / 1000);
      this.metrics?.attempts.inc({ channel: n.channel, outcome: error === null ? 'sent' : 'error' });
      this.store.endAttempt(attemptId, error);
      const at = this.clock.now();
      if (error === null) {
        this.finish(n, escalation, 'sent', attempts, null, recipient.label, at);
      } else if (attempts >= retry.maxAttempts) {
        this.finish(n, escalation, 'failed', attempts, `${error}; giving up`, recipient.label, at);
      } else {
        this.store.postpone(n.id, now + backoffMs, error);
        this.note(escalation.incident.id, `${summary(n, recipient.label)}: failed (attempt ${attempts}): ${error}; retry in ${formatDelay(backoffMs)}`);
        this.log.warn({ incidentId: escalation.incident.id, channel: n.channel, recipient: recipient.label, attempts, err: error }, 'notification failed; will retry');
      }
      if (error !== null && n.kind !== 'failover' && !n.failoverRaised && attempts >= this.config.failover.afterFailures) {
        this.raiseFailover(n, escalation, { channel: n.channel, recipient: recipient.label, attempts, error }, at);
      }
    };
  }

  /** Keeps a notification queued until `until`, saying why on the timeline once. */
  private hold(n: Notification, escalation: Escalation, label: string, until: number, reason: string): void {
    this.store.postpone(n.id, until, reason);
    if (n.lastError !== reason) this.note(escalation.incident.id, `${summary(n, label)}: ${reason}`);
  }

  private finish(
    n: Notification,
    escalation: Escalation,
    status: 'sent' | 'failed' | 'skipped',
    attempts: number,
    error: string | null,
    label = n.contact || ownTargetName(n.channel),
    at = this.clock.now(),
  ): void {
    this.store.finish(n.id, status, at, error);
    this.metrics?.notifications.inc({ channel: n.channel, kind: n.kind, status });
    const tried = attempts > 0 ? ` (attempt ${attempts})` : '';
    this.note(escalation.incident.id, `${summary(n, label)}: ${status}${tried}${error ? `: ${error}` : ''}`);
    const log = { incidentId: escalation.incident.id, channel: n.channel, kind: n.kind, recipient: label, attempts, status };
    if (status === 'failed') this.log.error({ ...log, err: error }, 'notification failed');
    else this.log.info(log, `notification ${status}`);
  }

  /** A notification failing N times tells someone on the next channel, once, so a dead channel is not silent. */
  private raiseFailover(n: Notification, escalation: Escalation, failing: NonNullable<RenderOptions['failing']>, now: number): void {
    const current = this.store.notification(n.id);
    if (!current || current.failoverRaised || (current.status !== 'pending' && current.status !== 'failed')) return;
    this.store.markFailoverRaised(n.id);
    const next = this.config.failover.next[n.channel];
    if (!channelConfigured(this.config.channels, next)) {
      this.note(escalation.incident.id, `${summary(n, failing.recipient)} keeps failing and the failover channel (${channelName(next)}) is not configured`);
      return;
    }
    // The same person on the next channel when they can be reached there; otherwise that channel's own target.
    const sameContact = n.contact !== '' && resolveRecipient(this.config.channels, this.config.contacts, next, n.contact).ok;
    this.note(escalation.incident.id, `${summary(n, failing.recipient)} failed ${failing.attempts} times: raising a notice on ${channelName(next)}`);
    this.queue(escalation, `failover@${n.id}`, 'failover', next, sameContact ? n.contact : '', now, { failing });
  }

  private note(incidentId: string, text: string): void {
    try {
      this.options.sink.note(incidentId, 'notify', text);
    } catch (error) {
      this.log.warn({ err: error, incidentId }, 'could not write a notification on the incident timeline');
    }
  }
}

function summary(n: Notification, label: string): string {
  return `${channelName(n.channel)} ${n.kind} to ${label}`;
}

function snapshot(incident: Incident): Omit<IncidentSnapshot, 'openedAt'> {
  return { id: incident.id, key: incident.key, title: incident.title, severity: incident.severity, detail: incident.detail, pointId: incident.pointId };
}
