import type Database from 'better-sqlite3';
import { z } from 'zod';
import { uuidv7 } from '../../lib/uuidv7.js';
import { NoticeSeverity, NoticeTexts, type Notice } from '../../sync/schemas.js';

/** Append only (central/migrations.ts). */
export const NOTICES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE notices (
  id TEXT PRIMARY KEY,
  severity TEXT NOT NULL,
  text TEXT NOT NULL,
  since INTEGER NOT NULL,
  source TEXT NOT NULL,
  created_by TEXT NOT NULL,
  cleared_at INTEGER,
  cleared_by TEXT
);
CREATE INDEX notices_current ON notices (cleared_at, since);
CREATE INDEX notices_by_source ON notices (source, cleared_at);`,
];

/** A notice as central keeps it: the published fields, plus who posted it and why. */
export interface StoredNotice extends Notice {
  /** `user:<name>` for a notice posted by hand, `runbook:<target>` for one a procedure posted. */
  source: string;
  createdBy: string;
  clearedAt: number | null;
  clearedBy: string | null;
}

// Rows are parsed like any other input: a hand-edited database gives a clear error, not a wrong notice.
const row = z
  .object({
    id: z.string(),
    severity: NoticeSeverity,
    text: z.string().transform((text) => NoticeTexts.parse(JSON.parse(text))),
    since: z.number(),
    source: z.string(),
    created_by: z.string(),
    cleared_at: z.number().nullable(),
    cleared_by: z.string().nullable(),
  })
  .transform(
    (r): StoredNotice => ({
      id: r.id,
      severity: r.severity,
      text: r.text,
      since: r.since,
      source: r.source,
      createdBy: r.created_by,
      clearedAt: r.cleared_at,
      clearedBy: r.cleared_by,
    }),
  );
const fromRow = (raw: unknown) => row.parse(raw);

/** The notices table in central's SQLite: every notice ever posted, the current ones uncleared. */
export class NoticeStore {
  private readonly stmts;

  constructor(db: Database.Database) {
    this.stmts = {
      insert: db.prepare('INSERT INTO notices (id, severity, text, since, source, created_by) VALUES (?, ?, ?, ?, ?, ?)'),
      get: db.prepare<[string]>('SELECT * FROM notices WHERE id = ?'),
      current: db.prepare<[]>('SELECT * FROM notices WHERE cleared_at IS NULL ORDER BY since, id'),
      clear: db.prepare<[number, string, string]>('UPDATE notices SET cleared_at = ?, cleared_by = ? WHERE id = ? AND cleared_at IS NULL'),
      clearSource: db.prepare<[number, string, string]>('UPDATE notices SET cleared_at = ?, cleared_by = ? WHERE source = ? AND cleared_at IS NULL RETURNING id'),
    };
  }

  add(notice: Pick<Notice, 'severity' | 'text'>, source: string, by: string, now: number): StoredNotice {
    const id = uuidv7(now);
    this.stmts.insert.run(id, notice.severity, JSON.stringify(notice.text), now, source, by);
    return this.get(id)!;
  }

  get(id: string): StoredNotice | null {
    const found = this.stmts.get.get(id);
    return found ? fromRow(found) : null;
  }

  current(): StoredNotice[] {
    return this.stmts.current.all().map(fromRow);
  }

  /** Clears one notice; null when there is none with this id, the notice as it is when it was cleared before. */
  clear(id: string, by: string, now: number): StoredNotice | null {
    this.stmts.clear.run(now, by, id);
    return this.get(id);
  }

  /** Clears every current notice of `source`; returns their ids. */
  clearSource(source: string, by: string, now: number): string[] {
    return (this.stmts.clearSource.all(now, by, source) as { id: string }[]).map((r) => r.id);
  }
}
