import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import { ALL_CHECK_NAMES } from '../../sync/schemas.js';
import type { ChangeCause, PointView } from '../fleet.js';
import { CentralErrors } from '../errors.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { HISTORY_MIGRATIONS, HistoryStore, type FleetEvent, type SeriesPoint, type SeriesRow } from './store.js';

/** What a point looked like, reduced to the parts whose changes are kept. */
type Signature = Map<string, { value: string; detail: string }>;

const connectionOf = (view: PointView) => (view.connected ? 'connected' : view.stale ? 'stale' : 'disconnected');

/** The signature's values in one string: most messages change none, and this costs one string. */
function fingerprint(view: PointView): string {
  let text = `${connectionOf(view)}|${view.mode}|${view.version}`;
  for (const name of ALL_CHECK_NAMES) text += `|${view.checks[name]?.status}`;
  return text;
}

function signature(view: PointView): Signature {
  const sig: Signature = new Map();
  sig.set('connection', { value: connectionOf(view), detail: view.stale ? 'silent longer than expected' : `session ${view.session}` });
  if (view.mode) sig.set('mode', { value: view.mode, detail: '' });
  if (view.version) sig.set('version', { value: view.version, detail: '' });
  for (const name of ALL_CHECK_NAMES) {
    const check = view.checks[name];
    if (check) sig.set(`check:${name}`, { value: check.status, detail: check.detail });
  }
  return sig;
}

const SERIES = ['cpu', 'memory', 'disk', 'temperature'] as const;
type Averaged = Record<(typeof SERIES)[number], number>;

interface Bucket {
  at: number;
  samples: number;
  sums: Averaged;
  counts: Averaged;
  unsynced: number | null;
}

const zeros = (): Averaged => ({ cpu: 0, memory: 0, disk: 0, temperature: 0 });

function toPoint(bucket: Bucket): SeriesPoint {
  const avg = (k: keyof Averaged) => (bucket.counts[k] ? bucket.sums[k] / bucket.counts[k] : null);
  return { at: bucket.at, cpu: avg('cpu'), memory: avg('memory'), disk: avg('disk'), temperature: avg('temperature'), unsynced: bucket.unsynced, samples: bucket.samples };
}

/** The box's temperature (°C) from its temperature check's reading; null when it has no sensor or sent none. */
export function temperatureOf(view: Pick<PointView, 'checks'>): number | null {
  const value = view.checks.temperature?.data?.temperatureC;
  return typeof value === 'number' && Number.isFinite(value) && value > -60 && value < 200 ? value : null;
}

const HistoryQuery = z.object({
  since: z.coerce.number().int().nonnegative().optional(),
  until: z.coerce.number().int().nonnegative().optional(),
  /** Events returned at most (newest first). */
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  /** About how many points the series should have; buckets are merged into steps to fit. */
  points: z.coerce.number().int().min(10).max(5000).default(1440),
});

const FLUSH_EVERY_MS = 1000;
const MAX_ROWS_PER_TICK = 2000;
const PRUNE_EVERY_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

/**
 * Keeps every state change of every point (connection, mode, version, each check's status) and
 * its numbers (cpu, memory, disk, unsynced) averaged per bucket, written in one transaction a
 * second and pruned by the retention in `history`. `GET /api/points/:pointId/history`.
 */
export class HistoryPlugin implements CentralPlugin<'history'> {
  readonly name = 'history';
  readonly migrations = HISTORY_MIGRATIONS;
  private ctx: PluginContext<'history'> | undefined;
  private store: HistoryStore | undefined;
  private readonly last = new Map<string, { fingerprint: string; signature: Signature }>();
  private readonly buckets = new Map<string, Bucket>();
  private pendingEvents: FleetEvent[] = [];
  private pendingSeries: SeriesRow[] = [];
  private timers: NodeJS.Timeout[] = [];

  start(ctx: PluginContext<'history'>): void {
    this.ctx = ctx;
    this.store = new HistoryStore(ctx.db);
    ctx.bus.onPointChanged(this, ({ pointId, cause }) => this.record(pointId, cause));
    this.timers.push(setInterval(() => this.flush('tick'), FLUSH_EVERY_MS), setInterval(() => this.prune(), PRUNE_EVERY_MS));
    this.prune();
    ctx.routes.get('/points/:pointId/history', 'viewer', (req) => {
      const query = parseWith(HistoryQuery, Object.fromEntries(req.query), 'query');
      const pointId = req.params.pointId!;
      if (!ctx.fleet.view(pointId, ctx.clock.now())) throw CentralErrors.noPoint(pointId);
      return { status: 200, body: this.history(pointId, query) };
    });
  }

  stop(): void {
    this.timers.forEach((timer) => clearInterval(timer));
    this.timers = [];
    this.flush('stop');
  }

  /** State changes (newest first) and the numeric series (oldest first, including the open bucket). */
  history(pointId: string, query: z.output<typeof HistoryQuery>): { events: FleetEvent[]; series: SeriesPoint[]; stepMs: number } {
    const now = this.ctx!.clock.now();
    this.flush('query');
    const until = query.until ?? now + 1;
    const bucketMs = this.ctx!.config.bucketMs;
    // By default the last day, or less when less is kept: a new point's chart gets its real buckets, not one merged step.
    const kept = Math.min(this.store!.firstSeriesAt(pointId) ?? Infinity, this.buckets.get(pointId)?.at ?? Infinity);
    const eventsSince = query.since ?? until - DAY_MS;
    const since = query.since ?? Math.max(eventsSince, Number.isFinite(kept) ? kept : eventsSince);
    const stepMs = Math.max(bucketMs, Math.ceil((until - since) / query.points / bucketMs) * bucketMs);
    const series = this.store!.series(pointId, since, until, stepMs);
    const open = this.buckets.get(pointId);
    if (open && open.at >= since && open.at < until && open.at > (series.at(-1)?.at ?? -1)) series.push(toPoint(open));
    return { events: this.store!.events(pointId, eventsSince, until, query.limit), series, stepMs };
  }

  private record(pointId: string, cause: ChangeCause): void {
    const ctx = this.ctx!;
    const now = ctx.clock.now();
    const view = ctx.fleet.view(pointId, now);
    if (!view) return;
    if (cause === 'health') this.sample(view, now);
    const prior = this.last.get(pointId);
    const print = fingerprint(view);
    if (prior?.fingerprint === print) return;
    const next = signature(view);
    for (const [kind, state] of next) {
      const before = prior?.signature.get(kind);
      if (before?.value !== state.value) this.pendingEvents.push({ pointId, at: now, kind, value: state.value, detail: state.detail });
    }
    this.last.set(pointId, { fingerprint: print, signature: next });
  }

  private sample(view: PointView, now: number): void {
    const bucketMs = this.ctx!.config.bucketMs;
    const at = now - (now % bucketMs);
    let bucket = this.buckets.get(view.pointId);
    if (bucket && bucket.at !== at) {
      this.pendingSeries.push({ pointId: view.pointId, ...toPoint(bucket) });
      bucket = undefined;
    }
    if (!bucket) {
      bucket = { at, samples: 0, sums: zeros(), counts: zeros(), unsynced: null };
      this.buckets.set(view.pointId, bucket);
    }
    bucket.samples++;
    const values = { ...view.usage, temperature: temperatureOf(view) };
    for (const key of SERIES) {
      const value = values[key];
      if (value === null) continue;
      bucket.sums[key] += value;
      bucket.counts[key]++;
    }
    if (view.unsynced !== null) bucket.unsynced = Math.max(bucket.unsynced ?? 0, view.unsynced);
  }

  /**
   * Writes what gathered; buckets whose time is over are closed first (all of them when stopping).
   * A tick writes a bounded share, so the minute when every bucket closes at once (or the first
   * minute, when every point's state is new) does not hold up message handling in one transaction.
   */
  private flush(mode: 'tick' | 'query' | 'stop'): void {
    const ctx = this.ctx;
    if (!ctx || !this.store) return;
    const now = ctx.clock.now();
    const bucketMs = ctx.config.bucketMs;
    for (const [pointId, bucket] of this.buckets) {
      if (mode !== 'stop' && bucket.at + bucketMs > now) continue;
      this.pendingSeries.push({ pointId, ...toPoint(bucket) });
      this.buckets.delete(pointId);
    }
    const limit = mode === 'tick' ? MAX_ROWS_PER_TICK : Infinity;
    const events = this.pendingEvents.splice(0, limit);
    const series = this.pendingSeries.splice(0, limit);
    try {
      this.store.write(events, series);
    } catch (error) {
      ctx.log.error({ err: error, events: events.length, series: series.length }, 'fleet history write failed; those rows are lost');
    }
  }

  private prune(): void {
    const ctx = this.ctx!;
    const now = ctx.clock.now();
    const { eventsRetentionMs, seriesRetentionMs } = ctx.config;
    try {
      const removed = this.store!.prune(now - eventsRetentionMs, now - seriesRetentionMs);
      if (removed.events || removed.series) ctx.log.info(removed, 'pruned fleet history past its retention');
    } catch (error) {
      ctx.log.error({ err: error }, 'fleet history prune failed');
    }
  }
}
