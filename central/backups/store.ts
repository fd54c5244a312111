import { basename } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { BackupKind } from './config.js';
import type { Tier } from './plan.js';

export type VerifyState = 'pending' | 'passed' | 'failed' | 'skipped';

export interface BackupRecord {
  id: string;
  kind: BackupKind;
  tier: Tier;
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
  /** Where its off-site copies are (the local file is `file`, gone once `deleted`). */
  copies: CopyRecord[];
}

/** One off-site copy: sent and checked (`ok`), not (`failed`), or pruned (`deleted`). */
export interface CopyRecord {
  target: string;
  state: 'ok' | 'failed' | 'deleted';
  detail: string;
  at: number;
}

/** One restore drill: which backup, fetched from where, and what its checks said. */
export interface DrillRecord {
  id: string;
  kind: BackupKind;
  backupId: string | null;
  target: string;
  at: number;
  ok: boolean;
  detail: string;
}

interface Row {
  id: string;
  kind: BackupKind;
  tier: Tier;
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

function fromRow(row: Row, copies: CopyRecord[]): BackupRecord {
  return {
    id: row.id,
    kind: row.kind,
    tier: row.tier,
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
    copies,
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
  `
  ALTER TABLE runbook_backups ADD COLUMN tier TEXT NOT NULL DEFAULT 'daily';
  CREATE TABLE IF NOT EXISTS runbook_backup_copies (
    backup_id TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (backup_id, target)
  );
  CREATE TABLE IF NOT EXISTS runbook_backup_drills (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    backup_id TEXT,
    target TEXT NOT NULL,
    at INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL
  );
  `,
];

/** The backup catalogue in central's SQLite (`runbook_backups`). */
export class BackupStore {
  constructor(private readonly db: Database) {}

  init(now: number): void {
    this.db.prepare(`UPDATE runbook_backups SET status = 'failed', error = 'central stopped during the backup', finished_at = ? WHERE status = 'running'`).run(now);
  }

  started(record: { id: string; kind: BackupKind; tier: Tier; file: string; startedAt: number; by: string }): void {
    this.db
      .prepare(`INSERT INTO runbook_backups (id, kind, tier, file, status, started_at, by) VALUES (?, ?, ?, ?, 'running', ?, ?)`)
      .run(record.id, record.kind, record.tier, record.file, record.startedAt, record.by);
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

  copied(id: string, target: string, state: CopyRecord['state'], detail: string, at: number): void {
    this.db
      .prepare(`INSERT INTO runbook_backup_copies (backup_id, target, state, detail, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (backup_id, target) DO UPDATE SET state = excluded.state, detail = excluded.detail, at = excluded.at`)
      .run(id, target, state, detail, at);
  }

  get(id: string): BackupRecord | null {
    const row = this.db.prepare(`SELECT * FROM runbook_backups WHERE id = ?`).get(id) as Row | undefined;
    return row ? this.withCopies(row) : null;
  }

  /** The newest first: backups with a local file or an off-site copy still there. */
  list(limit: number): BackupRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM runbook_backups b WHERE deleted = 0 OR EXISTS (SELECT 1 FROM runbook_backup_copies c WHERE c.backup_id = b.id AND c.state = 'ok')
         ORDER BY started_at DESC, rowid DESC LIMIT ?`,
      )
      .all(limit) as Row[];
    return rows.map((row) => this.withCopies(row));
  }

  /** Every backup of `kind` by file name (the names a target lists). */
  byName(kind: BackupKind): Map<string, BackupRecord> {
    const rows = this.db.prepare(`SELECT * FROM runbook_backups WHERE kind = ? AND status = 'ok'`).all(kind) as Row[];
    return new Map(rows.map((row) => [basename(row.file), this.withCopies(row)]));
  }

  newestVerified(kind: BackupKind): BackupRecord | null {
    const row = this.db
      .prepare(`SELECT * FROM runbook_backups WHERE kind = ? AND status = 'ok' AND verify = 'passed' AND deleted = 0 ORDER BY finished_at DESC, rowid DESC LIMIT 1`)
      .get(kind) as Row | undefined;
    return row ? this.withCopies(row) : null;
  }

  newestOk(kind: BackupKind): BackupRecord | null {
    const row = this.db.prepare(`SELECT * FROM runbook_backups WHERE kind = ? AND status = 'ok' AND deleted = 0 ORDER BY finished_at DESC, rowid DESC LIMIT 1`).get(kind) as Row | undefined;
    return row ? this.withCopies(row) : null;
  }

  /** The newest backup of `kind` with a good copy on `target` (what a drill fetches). */
  newestCopied(kind: BackupKind, target: string): BackupRecord | null {
    const row = this.db
      .prepare(
        `SELECT b.* FROM runbook_backups b JOIN runbook_backup_copies c ON c.backup_id = b.id
         WHERE b.kind = ? AND b.status = 'ok' AND c.target = ? AND c.state = 'ok' ORDER BY b.finished_at DESC, b.rowid DESC LIMIT 1`,
      )
      .get(kind, target) as Row | undefined;
    return row ? this.withCopies(row) : null;
  }

  /** Finished backups of `kind` whose local file is still there. */
  local(kind: BackupKind): BackupRecord[] {
    return (this.db.prepare(`SELECT * FROM runbook_backups WHERE kind = ? AND deleted = 0 AND status != 'running'`).all(kind) as Row[]).map((row) => this.withCopies(row));
  }

  drilled(drill: DrillRecord): void {
    this.db
      .prepare(`INSERT INTO runbook_backup_drills (id, kind, backup_id, target, at, ok, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(drill.id, drill.kind, drill.backupId, drill.target, drill.at, drill.ok ? 1 : 0, drill.detail);
  }

  /** The newest drill of each kind. */
  lastDrills(): DrillRecord[] {
    const rows = this.db
      .prepare(`SELECT * FROM runbook_backup_drills d WHERE at = (SELECT max(at) FROM runbook_backup_drills e WHERE e.kind = d.kind) ORDER BY kind`)
      .all() as Array<{ id: string; kind: BackupKind; backup_id: string | null; target: string; at: number; ok: number; detail: string }>;
    return rows.map((r) => ({ id: r.id, kind: r.kind, backupId: r.backup_id, target: r.target, at: r.at, ok: r.ok === 1, detail: r.detail }));
  }

  private withCopies(row: Row): BackupRecord {
    const copies = this.db.prepare(`SELECT target, state, detail, at FROM runbook_backup_copies WHERE backup_id = ? ORDER BY target`).all(row.id) as CopyRecord[];
    return fromRow(row, copies);
  }
}
