import type Database from 'better-sqlite3';
import type { CommandName } from '../../sync/protocol.js';

/** Append only (central/migrations.ts): entry N moves these tables from version N to N+1. */
export const COMMANDS_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS fleet_commands (
    id TEXT PRIMARY KEY,
    point_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    sent_by TEXT NOT NULL,
    status TEXT NOT NULL,
    result_at INTEGER,
    detail TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS fleet_commands_point ON fleet_commands(point_id, sent_at);
`,
];

/** sent: published, no result yet; ok/failed: the point's result; unsent: the publish itself failed. */
export type CommandStatus = 'sent' | 'ok' | 'failed' | 'unsent';

export interface CommandRecord {
  id: string;
  pointId: string;
  name: CommandName;
  sentAt: number;
  sentBy: string;
  status: CommandStatus;
  resultAt: number | null;
  detail: string;
}

interface Row {
  id: string;
  point_id: string;
  name: CommandName;
  sent_at: number;
  sent_by: string;
  status: CommandStatus;
  result_at: number | null;
  detail: string;
}

const fromRow = (row: Row): CommandRecord => ({
  id: row.id,
  pointId: row.point_id,
  name: row.name,
  sentAt: row.sent_at,
  sentBy: row.sent_by,
  status: row.status,
  resultAt: row.result_at,
  detail: row.detail,
});

/** Commands central sent to points, and their results, in central's SQLite. */
export class CommandStore {
  private readonly stmts;

  constructor(db: Database.Database) {
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO fleet_commands (id, point_id, name, sent_at, sent_by, status, result_at, detail) VALUES (@id, @pointId, @name, @sentAt, @sentBy, @status, @resultAt, @detail)',
      ),
      finish: db.prepare("UPDATE fleet_commands SET status = ?, result_at = ?, detail = ? WHERE id = ? AND status = 'sent'"),
      get: db.prepare<[string], Row>('SELECT * FROM fleet_commands WHERE id = ?'),
      forPoint: db.prepare<[string, number], Row>('SELECT * FROM fleet_commands WHERE point_id = ? ORDER BY sent_at DESC, id DESC LIMIT ?'),
    };
  }

  add(record: CommandRecord): void {
    this.stmts.insert.run(record);
  }

  /** Records the outcome of a command still waiting for one; false when it was not waiting. */
  finish(id: string, status: Exclude<CommandStatus, 'sent'>, at: number, detail: string): boolean {
    return this.stmts.finish.run(status, at, detail, id).changes === 1;
  }

  get(id: string): CommandRecord | null {
    const row = this.stmts.get.get(id);
    return row ? fromRow(row) : null;
  }

  forPoint(pointId: string, limit: number): CommandRecord[] {
    return this.stmts.forPoint.all(pointId, limit).map(fromRow);
  }
}
