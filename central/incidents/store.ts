import type Database from 'better-sqlite3';
import type { Logger } from '../../lib/log.js';
import type { Clock } from '../../lib/clock.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { raisedAgain, type Incident, type IncidentEvent, type IncidentFeed, type IncidentSink, type RaiseIncident, type Severity, type TimelineEntry } from './types.js';

/** Append only (central/migrations.ts): entry N moves these tables from version N to N+1. */
export const INCIDENT_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    detail TEXT NOT NULL,
    point_id TEXT,
    parent_id TEXT,
    status TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    acked_at INTEGER,
    acked_by TEXT,
    resolved_at INTEGER
  );
  CREATE UNIQUE INDEX IF NOT EXISTS incidents_one_open_per_key ON incidents(key) WHERE status <> 'resolved';
  CREATE INDEX IF NOT EXISTS incidents_point ON incidents(point_id, opened_at);
  CREATE INDEX IF NOT EXISTS incidents_opened ON incidents(opened_at);
  CREATE TABLE IF NOT EXISTS incident_timeline (
    seq INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS incident_timeline_incident ON incident_timeline(incident_id, seq);
`,
];

interface IncidentRow {
  id: string;
  key: string;
  title: string;
  severity: Severity;
  detail: string;
  point_id: string | null;
  parent_id: string | null;
  status: Incident['status'];
  opened_at: number;
  acked_at: number | null;
  acked_by: string | null;
  resolved_at: number | null;
}

function fromRow(row: IncidentRow): Incident {
  return {
    id: row.id,
    key: row.key,
    title: row.title,
    severity: row.severity,
    detail: row.detail,
    pointId: row.point_id,
    parentId: row.parent_id,
    status: row.status,
    openedAt: row.opened_at,
    ackedAt: row.acked_at,
    ackedBy: row.acked_by,
    resolvedAt: row.resolved_at,
  };
}

export interface IncidentQuery {
  /** `active` = open or acked. */
  status?: Incident['status'] | 'active' | undefined;
  pointId?: string | undefined;
  limit?: number | undefined;
}

export interface IncidentWithTimeline extends Incident {
  timeline: TimelineEntry[];
  children: Incident[];
}

/**
 * Central's incidents: one open incident per key, a timeline for each, persisted in central's
 * SQLite. Detectors raise and clear (IncidentSink); escalation subscribes and acks (IncidentFeed).
 * Open incidents are also held in memory, so raising an unchanged alert again costs no write.
 */
export class Incidents implements IncidentSink, IncidentFeed {
  private readonly openByKey = new Map<string, Incident>();
  private readonly listeners = new Set<(event: IncidentEvent) => void>();
  private readonly stmts;

  constructor(private readonly db: Database.Database, private readonly clock: Clock, private readonly log: Logger) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO incidents (id, key, title, severity, detail, point_id, parent_id, status, opened_at, acked_at, acked_by, resolved_at)
         VALUES (@id, @key, @title, @severity, @detail, @pointId, @parentId, @status, @openedAt, @ackedAt, @ackedBy, @resolvedAt)`,
      ),
      update: db.prepare(
        `UPDATE incidents SET title = @title, severity = @severity, detail = @detail, parent_id = @parentId, status = @status,
           acked_at = @ackedAt, acked_by = @ackedBy, resolved_at = @resolvedAt WHERE id = @id`,
      ),
      byId: db.prepare<[string], IncidentRow>('SELECT * FROM incidents WHERE id = ?'),
      open: db.prepare<[], IncidentRow>("SELECT * FROM incidents WHERE status <> 'resolved' ORDER BY opened_at"),
      children: db.prepare<[string], IncidentRow>('SELECT * FROM incidents WHERE parent_id = ? ORDER BY opened_at'),
      note: db.prepare('INSERT INTO incident_timeline (incident_id, at, kind, text) VALUES (?, ?, ?, ?)'),
      timeline: db.prepare<[string], { incident_id: string; at: number; kind: string; text: string }>(
        'SELECT incident_id, at, kind, text FROM incident_timeline WHERE incident_id = ? ORDER BY seq',
      ),
    };
    for (const row of this.stmts.open.all()) this.openByKey.set(row.key, fromRow(row));
  }

  raise(input: RaiseIncident): Incident {
    const now = this.clock.now();
    const parentId = this.parentIdFor(input);
    const existing = this.openByKey.get(input.key);
    if (existing) {
      const changed =
        existing.title !== input.title || existing.severity !== input.severity || existing.detail !== input.detail || existing.parentId !== parentId;
      if (!changed) return existing;
      const { incident: updated, voidedAck } = raisedAgain(existing, { title: input.title, severity: input.severity, detail: input.detail, parentId });
      this.write(() => {
        this.stmts.update.run(updated);
        if (existing.severity !== updated.severity) this.stmts.note.run(updated.id, now, 'severity', `${existing.severity} → ${updated.severity}`);
        if (voidedAck) this.stmts.note.run(updated.id, now, 'reopened', `open again: the ack by ${voidedAck} was for ${existing.severity}`);
        if (existing.detail !== updated.detail || existing.title !== updated.title) this.stmts.note.run(updated.id, now, 'updated', updated.detail);
        if (existing.parentId !== parentId) {
          this.stmts.note.run(updated.id, now, parentId ? 'correlated' : 'detached', parentId ? `now under ${this.keyOf(parentId)}` : 'stands on its own again');
        }
      });
      this.openByKey.set(updated.key, updated);
      this.emit({ type: 'updated', incident: updated });
      return updated;
    }
    const incident: Incident = {
      id: uuidv7(now),
      key: input.key,
      title: input.title,
      severity: input.severity,
      detail: input.detail,
      pointId: input.pointId ?? null,
      parentId,
      status: 'open',
      openedAt: now,
      ackedAt: null,
      ackedBy: null,
      resolvedAt: null,
    };
    this.write(() => {
      this.stmts.insert.run(incident);
      this.stmts.note.run(incident.id, now, 'opened', input.detail);
      if (parentId) {
        this.stmts.note.run(incident.id, now, 'correlated', `under ${input.parentKey}`);
        this.stmts.note.run(parentId, now, 'child', `${input.title} (${input.key})`);
      }
    });
    this.openByKey.set(incident.key, incident);
    this.emit({ type: 'opened', incident });
    return incident;
  }

  clear(key: string, detail: string): Incident | null {
    const existing = this.openByKey.get(key);
    if (!existing) return null;
    const now = this.clock.now();
    const resolved: Incident = { ...existing, status: 'resolved', resolvedAt: now };
    // Children still open no longer have a parent to hang under: they stand (and page) on their own.
    const orphans = [...this.openByKey.values()].filter((incident) => incident.parentId === existing.id);
    const detached = orphans.map((orphan): Incident => ({ ...orphan, parentId: null }));
    this.write(() => {
      this.stmts.update.run(resolved);
      this.stmts.note.run(resolved.id, now, 'resolved', detail);
      for (const orphan of detached) {
        this.stmts.update.run(orphan);
        this.stmts.note.run(orphan.id, now, 'detached', `${key} resolved; stands on its own again`);
      }
    });
    this.openByKey.delete(key);
    this.emit({ type: 'resolved', incident: resolved });
    for (const orphan of detached) {
      this.openByKey.set(orphan.key, orphan);
      this.emit({ type: 'updated', incident: orphan });
    }
    return resolved;
  }

  /**
   * Resolved by a person (the condition went away unnoticed, or ops take it from here). A detector
   * whose condition persists does not raise it again until the condition clears and returns.
   */
  resolveByHand(id: string, by: string, reason: string | undefined): Incident | null {
    const incident = this.get(id);
    if (!incident || incident.status === 'resolved') return incident;
    return this.clear(incident.key, `resolved by ${by}${reason ? `: ${reason}` : ''}`);
  }

  /** A person's comment on the incident's timeline. */
  comment(id: string, by: string, text: string): Incident | null {
    const incident = this.get(id);
    if (!incident) return null;
    this.note(id, 'comment', `${by}: ${text}`);
    this.emit({ type: 'updated', incident });
    return incident;
  }

  note(incidentId: string, kind: string, text: string): void {
    this.write(() => this.stmts.note.run(incidentId, this.clock.now(), kind.slice(0, 64), text.slice(0, 4000)));
  }

  subscribe(listener: (event: IncidentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(id: string): Incident | null {
    const row = this.stmts.byId.get(id);
    return row ? fromRow(row) : null;
  }

  /** Acks an incident (idempotent: a second ack, or an ack of a resolved one, changes nothing). */
  ack(id: string, by: string): Incident | null {
    const incident = this.get(id);
    if (!incident || incident.status !== 'open') return incident;
    const now = this.clock.now();
    const acked: Incident = { ...incident, status: 'acked', ackedAt: now, ackedBy: by };
    this.write(() => {
      this.stmts.update.run(acked);
      this.stmts.note.run(id, now, 'acked', `acknowledged by ${by}`);
    });
    this.openByKey.set(acked.key, acked);
    this.emit({ type: 'acked', incident: acked });
    return acked;
  }

  /** The open (or acked) incident with this key. */
  openFor(key: string): Incident | null {
    return this.openByKey.get(key) ?? null;
  }

  /** Every open or acked incident. */
  active(): Incident[] {
    return [...this.openByKey.values()];
  }

  list(query: IncidentQuery = {}): Incident[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.status === 'active') where.push("status <> 'resolved'");
    else if (query.status) {
      where.push('status = ?');
      args.push(query.status);
    }
    if (query.pointId) {
      where.push('point_id = ?');
      args.push(query.pointId);
    }
    const sql = `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, id DESC LIMIT ?`;
    return this.db
      .prepare<(string | number)[], IncidentRow>(sql)
      .all(...args, query.limit ?? 200)
      .map(fromRow);
  }

  timeline(id: string): TimelineEntry[] {
    return this.stmts.timeline.all(id).map((row) => ({ incidentId: row.incident_id, at: row.at, kind: row.kind, text: row.text }));
  }

  /** An incident with its timeline and the incidents correlated under it. */
  detail(id: string): IncidentWithTimeline | null {
    const incident = this.get(id);
    if (!incident) return null;
    return { ...incident, timeline: this.timeline(id), children: this.stmts.children.all(id).map(fromRow) };
  }

  private parentIdFor(input: RaiseIncident): string | null {
    if (!input.parentKey || input.parentKey === input.key) return null;
    return this.openByKey.get(input.parentKey)?.id ?? null;
  }

  private keyOf(id: string): string {
    return this.get(id)?.key ?? id;
  }

  private write(fn: () => void): void {
    this.db.transaction(fn)();
  }

  private emit(event: IncidentEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A failing subscriber (e.g. a notification channel) must not undo or block the incident.
        this.log.error({ err: error, event: event.type, incident: event.incident.id }, 'incident subscriber failed');
      }
    }
  }
}
