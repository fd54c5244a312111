import type { Database } from 'better-sqlite3';
import type { BackupKind } from './config.js';

export type VerifyState = 'pending' | 'passed' | 'failed' | 'skipped';

export interface BackupRecord {
  id: string;
  kind: BackupKind;
  file: string;
  status: 'running' | 'ok' | 'failed';
  size: number;
  sha256: string;
  startedAt: number;
  finishedAt: number | null;
  verify: VerifyState;
  verifiedAt: number | null;
  verifyDetail: string | null;
  offsite: 'pending' | 'ok' | 'failed' | 'skipped';
  offsiteDetail: string | null;
  error: string | null;
  by: string;
  deleted: boolean;
}

interface Row {
  id: string;
  kind: BackupKind;
  file: string;
  status: BackupRecord['status'];
  size: number;
  sha256: string;
  started_at: number;
  finished_at: number | null;
  verify: VerifyState;
  verified_at: number | null;
  verify_detail: string | null;
  offsite: BackupRecord['offsite'];
  offsite_detail: string | null;
  error: string | null;
  by: string;
  deleted: number;
}

function fromRow(row: Row): BackupRecord {
  return {
    id: row.id,
    kind: row.kind,
    file: row.file,
    status: row.status,
    size: row.size,
    sha256: row.sha256,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    verify: row.verify,
    verifiedAt: row.verified_at,
    verifyDetail: row.verify_detail,
    offsite: row.offsite,
    offsiteDetail: row.offsite_detail,
    error: row.error,
    by: row.by,
    deleted: row.deleted === 1,
  };
}

/** Append only (central/migrations.ts): entry N moves these tables from version N to N+1. */
export const BACKUPS_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS runbook_backups (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    file TEXT NOT NULL,
    status TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    verify TEXT NOT NULL DEFAULT 'pending',
    verified_at INTEGER,
    verify_detail TEXT,
    offsite TEXT NOT NULL DEFAULT 'pending',
    offsite_detail TEXT,
    error TEXT,
    by TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS runbook_backups_by_kind ON runbook_backups (kind, started_at);
  `,
];

/** The backup catalogue in central's SQLite (`runbook_backups`). */
export class BackupStore {
  constructor(private readonly db: Database) {}

  init(now: number): void {
    this.db.prepare(`UPDATE runbook_backups SET status = 'failed', error = 'central stopped during the backup', finished_at = ? WHERE status = 'running'`).run(now);
  }

  started(record: { id: string; kind: BackupKind; file: string; startedAt: number; by: string }): void {
    this.db
      .prepare(`INSERT INTO runbook_backups (id, kind, file, status, started_at, by) VALUES (?, ?, ?, 'running', ?, ?)`)
      .run(record.id, record.kind, record.file, record.startedAt, record.by);
  }

  finished(id: string, result: { size: number; sha256: string; at: number }): void {
    this.db.prepare(`UPDATE runbook_backups SET status = 'ok', size = ?, sha256 = ?, finished_at = ? WHERE id = ?`).run(result.size, result.sha256, result.at, id);
  }

  failed(id: string, error: string, at: number): void {
    this.db.prepare(`UPDATE runbook_backups SET status = 'failed', error = ?, finished_at = ?, verify = 'skipped', offsite = 'skipped' WHERE id = ?`).run(error, at, id);
  }

  verified(id: string, state: VerifyState, detail: string, at: number): void {
    this.db.prepare(`UPDATE runbook_backups SET verify = ?, verify_detail = ?, verified_at = ? WHERE id = ?`).run(state, detail, at, id);
  }

  offsite(id: string, state: BackupRecord['offsite'], detail: string): void {
    this.db.prepare(`UPDATE runbook_backups SET offsite = ?, offsite_detail = ? WHERE id = ?`).run(state, detail, id);
  }

  markDeleted(id: string): void {
    this.db.prepare(`UPDATE runbook_backups SET deleted = 1 WHERE id = ?`).run(id);
  }

  get(id: string): BackupRecord | null {
    const row = this.db.prepare(`SELECT * FROM runbook_backups WHERE id = ?`).get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  list(limit: number): BackupRecord[] {
    return (this.db.prepare(`SELECT * FROM runbook_backups WHERE deleted = 0 ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(limit) as Row[]).map(fromRow);
  }

  newestVerified(kind: BackupKind): BackupRecord | null {
    const row = this.db
      .prepare(`SELECT * FROM runbook_backups WHERE kind = ? AND status = 'ok' AND verify = 'passed' AND deleted = 0 ORDER BY finished_at DESC, rowid DESC LIMIT 1`)
      .get(kind) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  newestOk(kind: BackupKind): BackupRecord | null {
    const row = this.db.prepare(`SELECT * FROM runbook_backups WHERE kind = ? AND status = 'ok' AND deleted = 0 ORDER BY finished_at DESC, rowid DESC LIMIT 1`).get(kind) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Finished backups of `kind` older than `before`, still on disk. */
  expired(kind: BackupKind, before: number): BackupRecord[] {
    return (this.db.prepare(`SELECT * FROM runbook_backups WHERE kind = ? AND deleted = 0 AND status != 'running' AND started_at < ?`).all(kind, before) as Row[]).map(fromRow);
  }
}
