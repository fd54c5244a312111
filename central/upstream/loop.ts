import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import { ConnectionPool } from '../../lib/http-client.js';
import type { Logger } from '../../lib/log.js';
import { redactSecrets } from '../../lib/redact.js';
import { withTimeout } from '../../lib/timeout.js';
import type { Incidents } from '../incidents/index.js';
import type { CentralStore, MaybePromise } from '../store/types.js';
import { toUpstreamBody, toUpstreamVoidBody } from './body.js';
import { statusUrlsOf, upstreamHeaders, type UpstreamConfig } from './config.js';
import { EndpointHealth, Endpoints, endpointFailed } from './endpoints.js';
import { backlogOverdue, classifyExchange, laneOf, parkedIncidentChanges, planDispatch, transitionFor, type Exchange, type Outcome, type QueueHead } from './decisions.js';
import { exchange } from './exchange.js';
import type { TargetGate } from '../recovery/gate.js';
import type { ForwardStore } from './store.js';

const PauseReason = z.enum(['gate', 'failures']);
export type PauseReason = z.infer<typeof PauseReason>;

/**
 * What only the leader's loop knows (paused and why, requests in flight, the last error and probe),
 * written to the shared forward state under `live` on every check, so any replica can show it.
 */
export const LiveStatus = z.object({
  replica: z.string(),
  reportedAt: z.number(),
  paused: z.object({ reasons: z.array(PauseReason), since: z.number() }).nullable(),
  inFlight: z.number().int(),
  consecutiveFailures: z.number().int(),
  lastForwardedAt: z.number().nullable(),
  lastError: z.object({ at: z.number(), orderId: z.string(), pointId: z.string(), error: z.string() }).nullable(),
  lastProbe: z.object({ at: z.number(), ok: z.boolean(), detail: z.string() }).nullable(),
  alertOpen: z.boolean(),
  /** Each of `upstream.urls` (absent in a status written before there was a list). */
  endpoints: z.array(EndpointHealth).optional(),
});
export type LiveStatus = z.infer<typeof LiveStatus>;
export const LIVE_META_KEY = 'live';

export interface ForwardLoopOptions {
  config: UpstreamConfig & { url: string };
  /** This replica's name, in the live status it writes. */
  replica: string;
  /** Where central's committed orders are read from (this SQLite, or PostgreSQL shared by replicas). */
  orders: CentralStore;
  store: ForwardStore;
  clock: Clock;
  log: Logger;
  incidents: Pick<Incidents, 'raise' | 'clear' | 'active'>;
  gate: TargetGate | undefined;
  random: () => number;
  /** Each answer (or its absence), of a sale or (`voided`) a void. */
  onOutcome: (kind: Outcome['kind'], voided: boolean) => void;
}

/** A store's answer, bounded in time when it is a promise (PostgreSQL); SQLite answers at once, without a timer. */
function bounded<T>(answer: MaybePromise<T>, ms: number, what: string): MaybePromise<T> {
  return answer instanceof Promise ? withTimeout(answer, ms, what) : answer;
}

const BACKLOG_INCIDENT = 'forward:backlog';
const PARKED_INCIDENT_PREFIX = 'forward:parked:';
const parkedIncidentKey = (pointId: string) => `${PARKED_INCIDENT_PREFIX}${pointId}`;
/** Committed orders read per page when catching up. */
const PULL_PAGE = 500;

/**
 * The forwarding engine (leader only): picks each point's next order, POSTs it, records the outcome
 * durably, pauses on the runbook's word or after repeated transient failures, and keeps the
 * incidents true. Its state is the store's, so another replica taking over carries on from it.
 */
export class ForwardLoop {
  /** By lane (laneOf): a point's sales, or one void. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly paused = new Set<PauseReason>();
  private pausedSince: number | null = null;
  private consecutiveFailures = 0;
  private lastForwardedAt: number | null = null;
  private lastError: LiveStatus['lastError'] = null;
  private lastProbe: LiveStatus['lastProbe'] = null;
  /** Parked counts per point as the incidents last said them. */
  private reportedParked = new Map<string, number>();
  /** undefined until the first check, so an alert left open by a previous run gets cleared. */
  private alertOpen: boolean | undefined;
  private pumpQueued = false;
  private pumping = false;
  private pumpAgain = false;
  /** Answers received, waiting for the next flush to record them. */
  private readonly settled: { head: QueueHead; outcome: Outcome }[] = [];
  private flushQueued = false;
  /** Flushes run one after another: a point's next order waits for its last answer to be recorded. */
  private flushing: Promise<void> = Promise.resolve();
  private pulling: Promise<void> | undefined;
  private pullAgain = false;
  private checking: Promise<void> | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt: number | null = null;
  private probeTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private unsubscribeGate: (() => void) | undefined;
  private unsubscribeSignals: (() => void) | undefined;
  private stopped = false;
  /** Set once stop() has waited for the requests in flight: late answers then change nothing. */
  private closed = false;
  private readonly permanentError: RegExp;
  private readonly statusUrls: string[];
  private readonly endpoints: Endpoints;
  private readonly pool: ConnectionPool;

  constructor(private readonly o: ForwardLoopOptions) {
    this.permanentError = new RegExp(o.config.permanentErrorPattern, 'i');
    this.statusUrls = statusUrlsOf(o.config);
    this.endpoints = new Endpoints(o.config.urls, o.config.primaryRetryMs);
    // One connection per request in flight, and one for the status probe.
    this.pool = new ConnectionPool(o.config.concurrency + 1);
  }

  start(): void {
    const { gate } = this.o;
    if (gate) {
      if (!gate.isUp()) this.pause('gate');
      this.unsubscribeGate = gate.onChange((up) => (up ? this.resume('gate') : this.pause('gate')));
    }
    // A follower committed orders: queue them now. Someone re-drove or re-forwarded orders: send
    // them now, and keep the parked incidents true.
    this.unsubscribeSignals = this.o.store.onSignal((signal) => {
      if (signal.kind === 'books') return;
      this.pull();
      if (signal.kind === 'committed') return;
      this.background(this.reconcileParked(), 'could not reconcile the parked-order incidents');
      this.kick();
    });
    // Incidents a previous run left open are reconciled with the store on the first check.
    for (const incident of this.o.incidents.active()) {
      if (incident.key.startsWith(PARKED_INCIDENT_PREFIX)) this.reportedParked.set(incident.key.slice(PARKED_INCIDENT_PREFIX.length), 0);
    }
    this.o.log.info({ upstream: redactSecrets(this.o.config.url) }, 'forwarding orders to the main server');
    this.check();
    this.kick();
  }

  /**
   * Queues what central committed after the watermark, page by page, then sends. Called on each
   * commit and each check, so orders committed by another replica or before a crash are found too.
   */
  pull(): void {
    if (this.stopped) return;
    if (this.pulling) {
      this.pullAgain = true;
      return;
    }
    this.pulling = this.pullPages()
      .catch((error: unknown) => this.o.log.warn({ err: (error as Error).message }, 'could not read committed orders; trying again at the next check'))
      .finally(() => {
        this.pulling = undefined;
        if (this.pullAgain) {
          this.pullAgain = false;
          this.pull();
        }
      });
  }

  /** Orders first, then voids: a void queued with its sale still goes only once the sale is forwarded. */
  private async pullPages(): Promise<void> {
    for (;;) {
      const after = (await bounded(this.o.store.watermark(), 30_000, 'the forward watermark')) ?? undefined;
      const page = await bounded(this.o.orders.listOrders({ after, limit: PULL_PAGE }), 30_000, 'committed orders after the watermark');
      if (this.closed) return;
      if (page.length === 0) break;
      // The queued record is the order as the box sent it: a listing's void fields stay out of it.
      const orders = page.map(({ voidedAt: _voidedAt, voidReason: _voidReason, ...order }) => order);
      if ((await bounded(this.o.store.enqueue(orders, this.now()), 30_000, 'queuing committed orders')) > 0) this.kick();
      if (page.length < PULL_PAGE) break;
    }
    for (;;) {
      const after = (await bounded(this.o.store.voidWatermark(), 30_000, 'the void watermark')) ?? undefined;
      const page = await bounded(this.o.orders.listVoids(after, PULL_PAGE), 30_000, 'committed voids after the watermark');
      if (this.closed || page.length === 0) return;
      if ((await bounded(this.o.store.enqueueVoids(page, this.now()), 30_000, 'queuing committed voids')) > 0) this.kick();
      if (page.length < PULL_PAGE) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeGate?.();
    this.unsubscribeSignals?.();
    clearTimeout(this.wakeTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.checkTimer);
    const busy = [...this.inFlight.values(), ...(this.pulling ? [this.pulling] : []), ...(this.checking ? [this.checking] : [])];
    await withTimeout(Promise.allSettled(busy), this.o.config.timeoutMs + 2000, 'in-flight forwards to finish').catch(
      (error: unknown) => this.o.log.warn({ err: (error as Error).message }, 'stopping with forwards still in flight; they are sent again on start'),
    );
    this.scheduleFlush(true);
    await withTimeout(this.flushing, 5000, 'the last forward outcomes to be recorded').catch((error: unknown) => this.o.log.warn({ err: (error as Error).message }, 'stopping before the last outcomes were recorded; those orders are sent again'));
    this.closed = true;
    this.pool.close();
  }

  /** What only this loop knows, for `GET /api/forwarding` here and (through the store) on the other replicas. */
  live(): LiveStatus {
    return {
      replica: this.o.replica,
      reportedAt: this.now(),
      paused: this.paused.size > 0 ? { reasons: [...this.paused], since: this.pausedSince ?? this.now() } : null,
      inFlight: this.inFlight.size,
      consecutiveFailures: this.consecutiveFailures,
      lastForwardedAt: this.lastForwardedAt,
      lastError: this.lastError,
      lastProbe: this.lastProbe,
      alertOpen: this.alertOpen ?? false,
      endpoints: this.endpoints.view(),
    };
  }

  get isPaused(): boolean {
    return this.paused.size > 0;
  }

  private now(): number {
    return this.o.clock.now();
  }

  /** Runs `work` without waiting for it; a failure is logged, never thrown. */
  private background(work: Promise<unknown>, failure: string): void {
    work.catch((error: unknown) => this.o.log.warn({ err: (error as Error).message }, failure));
  }

  private kick(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      void this.pump();
    });
  }

  /** One at a time: points busy when the queue heads are read are left out, so no answer recorded meanwhile can be sent twice. */
  private async pump(): Promise<void> {
    if (this.stopped || this.paused.size > 0) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const { config } = this.o;
    if (this.inFlight.size >= config.concurrency) return;
    this.pumping = true;
    try {
      const busy = new Set(this.inFlight.keys());
      const heads = [
        ...(await bounded(this.o.store.heads(), config.timeoutMs, 'the forward queue')),
        ...(await bounded(this.o.store.voidHeads(config.concurrency + busy.size), config.timeoutMs, 'the void queue')),
      ];
      if (this.stopped || this.paused.size > 0) return;
      const now = this.now();
      const plan = planDispatch(heads, busy, config.concurrency - this.inFlight.size, now);
      for (const head of plan.send) {
        const sending = this.send(head).catch((error: unknown) => {
          this.o.log.error({ err: error, orderId: head.orderId, voidId: head.voidId }, 'forwarding an order failed unexpectedly; it stays pending');
        });
        this.inFlight.set(laneOf(head), sending);
      }
      this.scheduleWake(plan.wakeAt, now);
    } catch (error) {
      this.o.log.warn({ err: (error as Error).message }, 'could not read the forward queue; trying again shortly');
      this.scheduleWake(this.now() + config.backoff.baseMs, this.now());
    } finally {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.kick();
      }
    }
  }

  private scheduleWake(wakeAt: number | null, now: number): void {
    if (wakeAt === null || (this.wakeAt !== null && this.wakeAt <= wakeAt)) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = wakeAt;
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = null;
      void this.pump();
    }, Math.max(0, wakeAt - now));
    this.wakeTimer.unref();
  }

  private async send(head: QueueHead): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.attempt(head);
    } catch (error) {
      outcome = { kind: 'transient', error: `unexpected: ${(error as Error).message}` };
    }
    this.settled.push({ head, outcome });
    this.scheduleFlush();
  }

  private async attempt(head: QueueHead): Promise<Outcome> {
    const { config } = this.o;
    const request = await this.requestFor(head);
    if (!request) return { kind: 'permanent', error: `the queued record of ${head.voidId ? `void ${head.voidId}` : `order ${head.orderId}`} is missing` };
    const shape = request.enveloped ? 'recordSale' : 'plain';
    const send = (url: string) =>
      exchange({ method: 'POST', url, headers: { ...upstreamHeaders(config), 'idempotency-key': request.key }, body: request.body, timeoutMs: config.timeoutMs, pool: this.pool });
    if (request.url) return classifyExchange(await send(request.url), shape, this.permanentError);
    // Down the endpoint list while endpoints fail; the same Idempotency-Key on each, so a sale one of
    // them recorded without answering is not recorded twice.
    let answer: Exchange = { error: 'no endpoint' };
    for (const index of this.endpoints.order(this.now())) {
      answer = await send(this.endpoints.urls[index]!);
      const failure = endpointFailed(answer);
      if (failure === null) {
        this.endpoints.succeeded(index, this.now());
        break;
      }
      this.endpoints.failed(index, this.now(), failure);
    }
    return classifyExchange(answer, shape, this.permanentError);
  }

  /**
   * What to POST for a queued sale or void; null when its record is gone. `url` is set only for a
   * void with its own `upstream.voidUrl`: everything else goes down the endpoint list.
   */
  private async requestFor(head: QueueHead): Promise<{ url: string | undefined; key: string; body: unknown; enveloped: boolean } | null> {
    const { config } = this.o;
    if (head.voidId) {
      const record = await bounded(this.o.store.voidRecord(head.voidId), config.timeoutMs, `the queued record of void ${head.voidId}`);
      return record && { url: config.voidUrl, key: record.id, body: toUpstreamVoidBody(record, config.voidBody), enveloped: config.voidBody !== 'plain' };
    }
    const order = await bounded(this.o.store.order(head.orderId), config.timeoutMs, `the queued record of order ${head.orderId}`);
    return order && { url: undefined, key: order.id, body: toUpstreamBody(order, config.body, config), enveloped: config.body !== 'plain' };
  }

  /** The answers that arrived together are recorded by one flush, after the flushes before it. */
  private scheduleFlush(now = false): void {
    if (now) {
      this.flushing = this.flushing.then(() => this.flush());
      return;
    }
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flushing = this.flushing.then(() => this.flush());
    });
  }

  /**
   * Group commit: the answers that arrived together are recorded in one transaction, and only
   * then may their points send their next order (so a crash resends at most what was in flight).
   */
  private async flush(): Promise<void> {
    const batch = this.settled.splice(0);
    if (this.closed || batch.length === 0) return;
    const { config } = this.o;
    const now = this.now();
    try {
      const transitions = batch.map(({ head, outcome }) => transitionFor(head, outcome, now, config.backoff, this.o.random));
      await bounded(this.o.store.apply(transitions, now), config.timeoutMs, 'recording forward outcomes');
    } catch (error) {
      this.o.log.error({ err: error, orders: batch.length }, 'could not record forward outcomes; those orders are sent again');
      for (const { head } of batch) this.inFlight.delete(laneOf(head));
      this.scheduleWake(now + config.backoff.baseMs, now);
      return;
    }
    for (const { head, outcome } of batch) {
      this.inFlight.delete(laneOf(head));
      this.afterOutcome(head, outcome, now);
    }
    this.kick();
  }

  private afterOutcome(head: QueueHead, outcome: Outcome, now: number): void {
    this.o.onOutcome(outcome.kind, Boolean(head.voidId));
    if (outcome.kind === 'forwarded') {
      this.consecutiveFailures = 0;
      this.lastForwardedAt = now;
      // An answer got through: whatever paused us by failures is over.
      if (this.paused.has('failures')) this.resume('failures');
      return;
    }
    this.lastError = { at: now, orderId: head.orderId, pointId: head.pointId, error: outcome.error };
    if (outcome.kind === 'permanent') {
      this.consecutiveFailures = 0;
      this.o.log.warn({ orderId: head.orderId, voidId: head.voidId, pointId: head.pointId, error: outcome.error }, `the main server refused ${head.voidId ? 'a void' : 'an order'}; parked until re-driven`);
      if (!this.reportedParked.get(head.pointId)) this.background(this.reconcileParked(), 'could not reconcile the parked-order incidents');
      return;
    }
    this.consecutiveFailures++;
    this.o.log.debug({ orderId: head.orderId, attempts: head.attempts + 1, error: outcome.error }, 'forward failed; will retry');
    if (this.consecutiveFailures >= this.o.config.pauseAfterFailures && !this.paused.has('failures')) {
      this.pause('failures');
      this.scheduleProbe();
    }
  }

  private pause(reason: PauseReason): void {
    if (this.paused.has(reason)) return;
    if (this.paused.size === 0) this.pausedSince = this.now();
    this.paused.add(reason);
    this.o.log.warn(
      { reason, consecutiveFailures: this.consecutiveFailures, lastError: this.lastError?.error },
      reason === 'gate' ? 'the main-server runbook reports the server down; forwarding paused' : 'forwarding paused after repeated failures; probing the main server',
    );
    this.background(this.publishLive(), 'could not share the forwarding status');
  }

  /** The runbook's "up" also ends a pause by failures: the server was verified up. */
  private resume(reason: PauseReason): void {
    const ended = reason === 'gate' ? ['gate', 'failures'] as const : ['failures'] as const;
    if (!ended.some((r) => this.paused.has(r))) return;
    for (const r of ended) this.paused.delete(r);
    clearTimeout(this.probeTimer);
    this.consecutiveFailures = 0;
    if (this.paused.size > 0) return;
    this.pausedSince = null;
    this.background(
      (async () => {
        const due = await this.o.store.retryNow(this.now());
        this.o.log.info({ reason, due }, 'the main server is up; forwarding resumed');
        await this.publishLive();
      })(),
      'could not make the waiting orders due; they go at their backoff',
    );
    this.kick();
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      this.probe().catch((error: unknown) => {
        this.o.log.error({ err: error }, 'probing the main server failed unexpectedly');
        this.scheduleProbe();
      });
    }, this.o.config.probeEveryMs);
    this.probeTimer.unref();
  }

  /** While paused by failures: GET the status URL until it answers 200. */
  private async probe(): Promise<void> {
    if (this.stopped || !this.paused.has('failures')) return;
    let answer: Exchange = { error: 'no status URL' };
    // Any endpoint's status answering 200 is enough: requests find the working endpoint themselves.
    for (const url of this.statusUrls) {
      answer = await exchange({ url, headers: upstreamHeaders(this.o.config), timeoutMs: this.o.config.timeoutMs, pool: this.pool });
      if ('status' in answer && answer.status === 200) break;
    }
    const ok = 'status' in answer && answer.status === 200;
    this.lastProbe = { at: this.now(), ok, detail: 'status' in answer ? `HTTP ${answer.status}` : answer.error };
    if (this.stopped) return;
    if (ok) this.resume('failures');
    else this.scheduleProbe();
  }

  /** Periodic: pull what was committed, send what is due (a signal may have been missed), keep the incidents and the shared status true. */
  private check(): void {
    if (this.stopped) return;
    this.pull();
    this.kick();
    this.checking ??= (async () => {
      try {
        await this.checkBacklog();
        await this.reconcileParked();
        await this.publishLive();
      } catch (error) {
        this.o.log.error({ err: (error as Error).message }, 'forwarding backlog check failed');
      } finally {
        this.checking = undefined;
      }
    })();
    this.checkTimer = setTimeout(() => this.check(), this.o.config.checkEveryMs);
    this.checkTimer.unref();
  }

  private async publishLive(): Promise<void> {
    if (this.closed) return;
    await this.o.store.setMeta(LIVE_META_KEY, JSON.stringify(this.live()));
  }

  private async checkBacklog(): Promise<void> {
    const { incidents, config } = this.o;
    const backlog = await this.o.store.backlog(this.now());
    const now = this.now();
    const overdue = backlogOverdue(backlog.oldestPendingAt, now, config.alertAfterMs);
    if (overdue === this.alertOpen) return;
    this.alertOpen = overdue;
    if (overdue) {
      const waitedMin = Math.round((now - backlog.oldestPendingAt!) / 60_000);
      const detail = [
        `${backlog.pending} order(s) wait to reach the main server; the oldest has waited ${waitedMin} min (alert after ${Math.round(config.alertAfterMs / 60_000)} min).`,
        this.paused.size ? `Forwarding is paused (${[...this.paused].join(', ')}).` : '',
        this.lastError ? `Last error: ${this.lastError.error}` : '',
      ].filter(Boolean).join(' ');
      this.o.log.warn({ pending: backlog.pending, oldestPendingAt: backlog.oldestPendingAt }, 'forwarding backlog is overdue');
      incidents.raise({ key: BACKLOG_INCIDENT, title: 'Orders are not reaching the main server', severity: 'major', detail });
    } else {
      incidents.clear(BACKLOG_INCIDENT, `the forwarding backlog drained (${backlog.pending} pending)`);
    }
  }

  /** One incident per point for its parked orders and voids together: raised, re-raised when the count changes, cleared once none is left. */
  private async reconcileParked(): Promise<void> {
    const points = new Map((await this.o.store.byPoint()).map((point) => [point.pointId, point]));
    const current = new Map([...points].map(([pointId, point]) => [pointId, point.parked + point.parkedVoids]));
    const changes = parkedIncidentChanges(this.reportedParked, current);
    const { incidents } = this.o;
    for (const { pointId } of changes.raise) {
      const { parked, parkedVoids } = points.get(pointId)!;
      const latest = parked ? (await this.o.store.parked(1, pointId))[0] : undefined;
      const what = [parked ? `${parked} order(s)` : '', parkedVoids ? `${parkedVoids} void(s)` : ''].filter(Boolean).join(' and ');
      incidents.raise({
        key: parkedIncidentKey(pointId),
        title: `The main server refused orders from ${pointId}`,
        severity: 'major',
        pointId,
        detail:
          `${what} from ${pointId} are parked: the main server refused them as invalid` +
          `${latest ? ` (latest order: ${latest.number}, ${latest.lastError ?? 'no error recorded'})` : ''}. ` +
          `Fix the cause, then re-drive them: hotpot redrive --point ${pointId}`,
      });
    }
    for (const pointId of changes.clear) incidents.clear(parkedIncidentKey(pointId), `no parked orders or voids left at ${pointId}`);
    this.reportedParked = new Map([...current].filter(([, parked]) => parked > 0));
  }
}
