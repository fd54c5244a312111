import type { Database } from 'better-sqlite3';

/** One timed probe of a target: when, how long it took, whether it passed. */
export interface ProbeSample {
  at: number;
  ms: number;
  ok: boolean;
}

export interface TargetFigures {
  target: string;
  /** Response time over the last 24 h, every probe (a failed one took its time too). */
  p50Ms: number | null;
  p95Ms: number | null;
  /** Failed probes / probes over the last 24 h. */
  errorRate24h: number | null;
  /** Passed probes / probes over the window (null: no probe in it). */
  uptime24h: number | null;
  uptime30d: number | null;
  samples24h: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Samples are kept this long (the longest window). */
export const FIGURES_RETENTION_MS = 30 * DAY_MS;

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole);

/** A target's figures at `now` from its samples (any order). */
export function figuresOf(target: string, samples: readonly ProbeSample[], now: number): TargetFigures {
  const day = samples.filter((s) => s.at > now - DAY_MS && s.at <= now);
  const month = samples.filter((s) => s.at > now - FIGURES_RETENTION_MS && s.at <= now);
  const times = day.map((s) => s.ms).sort((a, b) => a - b);
  const failedDay = day.filter((s) => !s.ok).length;
  return {
    target,
    p50Ms: percentile(times, 50),
    p95Ms: percentile(times, 95),
    errorRate24h: ratio(failedDay, day.length),
    uptime24h: ratio(day.length - failedDay, day.length),
    uptime30d: ratio(month.filter((s) => s.ok).length, month.length),
    samples24h: day.length,
  };
}

export interface DegradedRule {
  /** Look at probes this far back. */
  windowMs: number;
  /** p95 over the window above this is slow (absent: speed not judged). */
  slowMs: number | undefined;
  /** Failed share of the window's probes at or above this is erroring. */
  errorRate: number;
  /** Fewer probes than this in the window: no verdict. */
  minSamples: number;
}

/**
 * Before a target is down: slow (p95 over `slowMs`) or erroring (a share of probes failing) over the
 * recent window. Null when neither, or too few probes to say.
 */
export function degradedVerdict(samples: readonly ProbeSample[], now: number, rule: DegradedRule): { why: 'slow' | 'erroring'; detail: string } | null {
  const recent = samples.filter((s) => s.at > now - rule.windowMs && s.at <= now);
  if (recent.length < rule.minSamples) return null;
  const failed = recent.filter((s) => !s.ok).length;
  if (failed / recent.length >= rule.errorRate) return { why: 'erroring', detail: `${failed} of the last ${recent.length} probes failed` };
  const p95 = percentile(recent.map((s) => s.ms).sort((a, b) => a - b), 95)!;
  if (rule.slowMs !== undefined && p95 > rule.slowMs) return { why: 'slow', detail: `p95 response time ${Math.round(p95)} ms over the last ${recent.length} probes (limit ${rule.slowMs} ms)` };
  return null;
}

/** Every timed probe, per target, in central's SQLite (`probe_samples`, kept 30 days). */
export class ProbeSamples {
  constructor(private readonly db: Database) {}

  add(target: string, sample: ProbeSample): void {
    this.db.prepare('INSERT INTO probe_samples (target, at, ms, ok) VALUES (?, ?, ?, ?)').run(target, sample.at, sample.ms, sample.ok ? 1 : 0);
  }

  since(target: string, from: number): ProbeSample[] {
    return (this.db.prepare('SELECT at, ms, ok FROM probe_samples WHERE target = ? AND at > ? ORDER BY at').all(target, from) as { at: number; ms: number; ok: number }[]).map((row) => ({
      at: row.at,
      ms: row.ms,
      ok: row.ok === 1,
    }));
  }

  prune(now: number): void {
    this.db.prepare('DELETE FROM probe_samples WHERE at <= ?').run(now - FIGURES_RETENTION_MS);
  }
}
