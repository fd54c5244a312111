import type Database from 'better-sqlite3';
import type { DaySummary } from '../../sync/schemas.js';

export type DayStatus = 'match' | 'mismatch' | 'pending';

export interface DayCheck {
  pointId: string;
  date: string;
  status: DayStatus;
  /** What differs, one line each (empty unless mismatch). */
  differences: string[];
  box: DaySummary;
  checkedAt: number;
}

/** Append only (central/migrations.ts): entry N moves these tables from version N to N+1. */
export const RECONCILIATION_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS point_days (
    point_id TEXT NOT NULL,
    date TEXT NOT NULL,
    box TEXT NOT NULL,
    status TEXT NOT NULL,
    differences TEXT NOT NULL,
    checked_at INTEGER NOT NULL,
    PRIMARY KEY (point_id, date)
  );
  CREATE INDEX IF NOT EXISTS point_days_mismatch ON point_days(point_id) WHERE status = 'mismatch';
`,
];

interface Row {
  point_id: string;
  date: string;
  box: string;
  status: DayStatus;
  differences: string;
  checked_at: number;
}

function fromRow(row: Row): DayCheck {
  return {
    pointId: row.point_id,
    date: row.date,
    status: row.status,
    differences: JSON.parse(row.differences) as string[],
    box: JSON.parse(row.box) as DaySummary,
    checkedAt: row.checked_at,
  };
}

/** The boxes' day summaries as last reported, each with central's verdict, in this replica's SQLite. */
export class ReconciliationStore {
  private readonly stmts;

  constructor(db: Database.Database) {
    this.stmts = {
      upsert: db.prepare<[string, string, string, string, string, number]>(
        `INSERT INTO point_days (point_id, date, box, status, differences, checked_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(point_id, date) DO UPDATE SET box = excluded.box, status = excluded.status, differences = excluded.differences, checked_at = excluded.checked_at`,
      ),
      get: db.prepare<[string, string], Row>('SELECT * FROM point_days WHERE point_id = ? AND date = ?'),
      latest: db.prepare<[string], Row>('SELECT * FROM point_days WHERE point_id = ? ORDER BY checked_at DESC LIMIT 1'),
      mismatches: db.prepare<[string], Row>("SELECT * FROM point_days WHERE point_id = ? AND status = 'mismatch' ORDER BY date"),
      pointsWithMismatch: db.prepare<[], { point_id: string }>("SELECT DISTINCT point_id FROM point_days WHERE status = 'mismatch'"),
    };
  }

  save(check: DayCheck): void {
    this.stmts.upsert.run(check.pointId, check.date, JSON.stringify(check.box), check.status, JSON.stringify(check.differences), check.checkedAt);
  }

  get(pointId: string, date: string): DayCheck | null {
    const row = this.stmts.get.get(pointId, date);
    return row ? fromRow(row) : null;
  }

  /** The point's most recently reported day (for its time zone). */
  latest(pointId: string): DayCheck | null {
    const row = this.stmts.latest.get(pointId);
    return row ? fromRow(row) : null;
  }

  mismatches(pointId: string): DayCheck[] {
    return this.stmts.mismatches.all(pointId).map(fromRow);
  }

  pointsWithMismatch(): string[] {
    return this.stmts.pointsWithMismatch.all().map((row) => row.point_id);
  }
}
