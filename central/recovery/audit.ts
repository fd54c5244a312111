import type { Database } from 'better-sqlite3';

export interface StepRecord {
  seq: number;
  stepId: string | null;
  phase: string;
  what: string;
  by: string;
  startedAt: number;
  finishedAt: number | null;
  ok: boolean | null;
  exitCode: number | null;
  outputTail: string | null;
  detail: string | null;
}

export interface RunRecord {
  id: string;
  procedure: string;
  target: string;
  status: string;
  reason: string;
  startedAt: number;
  /** Who started the run by hand; null when a failed probe did. */
  startedBy: string | null;
  finishedAt: number | null;
  outcome: string | null;
  awaiting: { stepId: string; text: string } | null;
  steps: StepRecord[];
}

interface RunRow {
  id: string;
  procedure: string;
  target: string;
  status: string;
  reason: string;
  started_at: number;
  started_by: string | null;
  finished_at: number | null;
  outcome: string | null;
  awaiting_step: string | null;
  awaiting_text: string | null;
}

interface StepRow {
  seq: number;
  step_id: string | null;
  phase: string;
  what: string;
  by: string;
  started_at: number;
  finished_at: number | null;
  ok: number | null;
  exit_code: number | null;
  output_tail: string | null;
  detail: string | null;
}

export interface StepOutcome {
  ok: boolean;
  detail: string;
  exitCode?: number | null;
  output?: string;
}

/** Append only (central/migrations.ts): entry N moves these tables from version N to N+1. */
export const RECOVERY_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS runbook_runs (
    id TEXT PRIMARY KEY,
    procedure TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT,
    awaiting_step TEXT,
    awaiting_text TEXT
  );
  CREATE TABLE IF NOT EXISTS runbook_steps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    procedure TEXT NOT NULL,
    step_id TEXT,
    phase TEXT NOT NULL,
    what TEXT NOT NULL,
    by TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    ok INTEGER,
    exit_code INTEGER,
    output_tail TEXT,
    detail TEXT,
    restart INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS runbook_steps_by_run ON runbook_steps (run_id, seq);
  CREATE INDEX IF NOT EXISTS runbook_steps_restarts ON runbook_steps (procedure, restart, started_at);
  `,
  // Who started a run by hand (null: a failed probe did).
  `ALTER TABLE runbook_runs ADD COLUMN started_by TEXT`,
  // Every timed probe (figures.ts): response time, error rate and uptime per target.
  `CREATE TABLE probe_samples (target TEXT NOT NULL, at INTEGER NOT NULL, ms REAL NOT NULL, ok INTEGER NOT NULL);
   CREATE INDEX probe_samples_by_target ON probe_samples (target, at);`,
];

/**
 * Every runbook step, who ran or approved it, when, its exit code and redacted output tail, in
 * central's SQLite. Callers pass text already redacted.
 */
export class RunbookAudit {
  constructor(private readonly db: Database) {}

  init(now: number): void {
    // Runs a previous process left open cannot continue: their in-memory state is gone.
    this.db
      .prepare(`UPDATE runbook_runs SET status = 'interrupted', finished_at = ?, outcome = 'central stopped while the run was active', awaiting_step = NULL, awaiting_text = NULL WHERE status NOT IN ('resolved', 'failed', 'interrupted')`)
      .run(now);
  }

  runStarted(run: { id: string; procedure: string; target: string; reason: string; at: number; startedBy: string | null }): void {
    this.db
      .prepare(`INSERT INTO runbook_runs (id, procedure, target, status, reason, started_at, started_by) VALUES (?, ?, ?, 'running', ?, ?, ?)`)
      .run(run.id, run.procedure, run.target, run.reason, run.at, run.startedBy);
  }

  runStatus(id: string, status: string, awaiting: { stepId: string; text: string } | null = null): void {
    this.db.prepare(`UPDATE runbook_runs SET status = ?, awaiting_step = ?, awaiting_text = ? WHERE id = ?`).run(status, awaiting?.stepId ?? null, awaiting?.text ?? null, id);
  }

  runFinished(id: string, status: string, outcome: string, at: number): void {
    this.db
      .prepare(`UPDATE runbook_runs SET status = ?, outcome = ?, finished_at = ?, awaiting_step = NULL, awaiting_text = NULL WHERE id = ?`)
      .run(status, outcome, at, id);
  }

  stepStarted(step: { runId: string; procedure: string; stepId: string | null; phase: string; what: string; by: string; at: number; restart?: boolean }): number {
    const result = this.db
      .prepare(`INSERT INTO runbook_steps (run_id, procedure, step_id, phase, what, by, started_at, restart) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(step.runId, step.procedure, step.stepId, step.phase, step.what, step.by, step.at, step.restart ? 1 : 0);
    return Number(result.lastInsertRowid);
  }

  stepFinished(seq: number, outcome: StepOutcome, at: number): void {
    this.db
      .prepare(`UPDATE runbook_steps SET finished_at = ?, ok = ?, exit_code = ?, output_tail = ?, detail = ? WHERE seq = ?`)
      .run(at, outcome.ok ? 1 : 0, outcome.exitCode ?? null, outcome.output || null, outcome.detail, seq);
  }

  /** A one-line entry (planner notes, approvals): started and finished at once. */
  note(entry: { runId: string; procedure: string; stepId: string | null; phase: string; what: string; by: string; at: number }): void {
    this.db
      .prepare(`INSERT INTO runbook_steps (run_id, procedure, step_id, phase, what, by, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(entry.runId, entry.procedure, entry.stepId, entry.phase, entry.what, entry.by, entry.at, entry.at);
  }

  /** When counted restarts ran, so the budget survives a restart of central. */
  restartTimes(procedure: string, since: number): number[] {
    const rows = this.db.prepare(`SELECT started_at FROM runbook_steps WHERE procedure = ? AND restart = 1 AND started_at > ? ORDER BY started_at`).all(procedure, since) as Array<{ started_at: number }>;
    return rows.map((r) => r.started_at);
  }

  runs(options: { limit: number; procedure?: string }): RunRecord[] {
    const rows = (
      options.procedure
        ? this.db.prepare(`SELECT * FROM runbook_runs WHERE procedure = ? ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(options.procedure, options.limit)
        : this.db.prepare(`SELECT * FROM runbook_runs ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(options.limit)
    ) as RunRow[];
    const steps = this.db.prepare(`SELECT * FROM runbook_steps WHERE run_id = ? ORDER BY seq`);
    return rows.map((row) => ({
      id: row.id,
      procedure: row.procedure,
      target: row.target,
      status: row.status,
      reason: row.reason,
      startedBy: row.started_by,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      outcome: row.outcome,
      awaiting: row.awaiting_step ? { stepId: row.awaiting_step, text: row.awaiting_text ?? '' } : null,
      steps: (steps.all(row.id) as StepRow[]).map((s) => ({
        seq: s.seq,
        stepId: s.step_id,
        phase: s.phase,
        what: s.what,
        by: s.by,
        startedAt: s.started_at,
        finishedAt: s.finished_at,
        ok: s.ok === null ? null : s.ok === 1,
        exitCode: s.exit_code,
        outputTail: s.output_tail,
        detail: s.detail,
      })),
    }));
  }
}
