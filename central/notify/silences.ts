import type Database from 'better-sqlite3';
import { z } from 'zod';
import { uuidv7 } from '../../lib/uuidv7.js';
import { PointId } from '../../sync/schemas.js';
import { GroupName } from '../fleet.js';

/** What a silence covers: every field given must match (a point, a group of points, an alert rule). */
export interface SilenceMatch {
  pointId?: string | undefined;
  group?: string | undefined;
  rule?: string | undefined;
}

export interface Silence {
  id: string;
  match: SilenceMatch;
  until: number;
  reason: string;
  createdBy: string;
  createdAt: number;
  /** Lifted by hand before `until` (DELETE), and by whom. */
  endedAt: number | null;
  endedBy: string | null;
}

const MAX_SILENCE_MS = 30 * 86_400_000;

/** `POST /api/silences`: `until` is epoch milliseconds or an ISO 8601 time with its offset. */
export const SilenceRequest = z.strictObject({
  match: z
    .strictObject({
      pointId: PointId.optional(),
      group: GroupName.optional(),
      /** An alert rule (`printer`, `disconnected`, …) or the first part of another incident key (`runbook`, `forward`). */
      rule: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'a rule is a-z, 0-9 and -, e.g. printer').optional(),
    })
    .refine((match) => match.pointId !== undefined || match.group !== undefined || match.rule !== undefined, 'name a pointId, a group or a rule'),
  until: z.union([z.number().int().positive(), z.iso.datetime({ offset: true }).transform((text) => Date.parse(text))]),
  reason: z.string().trim().min(1).max(500),
});

/** Whether `until` makes sense now: in the future, and not further than 30 days (a forgotten silence hides real outages). */
export function untilProblem(until: number, now: number): string | null {
  if (until <= now) return 'until must be in the future';
  if (until - now > MAX_SILENCE_MS) return 'a silence lasts at most 30 days';
  return null;
}

/** The rule of an incident key: `point:<id>:<rule>` → rule; other keys (`runbook:db`, `area:batumi`) → their first part. */
export function ruleOf(key: string): string {
  const parts = key.split(':');
  return parts[0] === 'point' && parts.length >= 3 ? parts[parts.length - 1]! : parts[0]!;
}

/**
 * The silence that covers an incident now, if any (pure). `group` is the group of the incident's
 * point; an area outage (`area:<group>`) belongs to its group.
 */
export function silenceFor(incident: { key: string; pointId: string | null }, group: string | null, silences: readonly Silence[], now: number): Silence | null {
  const areaGroup = incident.key.startsWith('area:') ? incident.key.slice('area:'.length) : null;
  for (const silence of silences) {
    if (silence.endedAt !== null || silence.until <= now) continue;
    const { pointId, group: wantedGroup, rule } = silence.match;
    if (pointId !== undefined && incident.pointId !== pointId) continue;
    if (wantedGroup !== undefined && (group ?? areaGroup) !== wantedGroup) continue;
    if (rule !== undefined && ruleOf(incident.key) !== rule) continue;
    return silence;
  }
  return null;
}

interface Row {
  id: string;
  point_id: string | null;
  grp: string | null;
  rule: string | null;
  until: number;
  reason: string;
  created_by: string;
  created_at: number;
  ended_at: number | null;
  ended_by: string | null;
}

const fromRow = (row: Row): Silence => ({
  id: row.id,
  match: { ...(row.point_id ? { pointId: row.point_id } : {}), ...(row.grp ? { group: row.grp } : {}), ...(row.rule ? { rule: row.rule } : {}) },
  until: row.until,
  reason: row.reason,
  createdBy: row.created_by,
  createdAt: row.created_at,
  endedAt: row.ended_at,
  endedBy: row.ended_by,
});

/** Silences in central's SQLite (`notify_silences`), kept after they end so the record shows who hid what. */
export class SilenceStore {
  private readonly stmts;
  private cache: { at: number; silences: Silence[] } | undefined;

  constructor(db: Database.Database) {
    this.stmts = {
      insert: db.prepare('INSERT INTO notify_silences (id, point_id, grp, rule, until, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      current: db.prepare<[number], Row>('SELECT * FROM notify_silences WHERE ended_at IS NULL AND until > ? ORDER BY created_at'),
      recent: db.prepare<[number, number], Row>('SELECT * FROM notify_silences WHERE created_at >= ? OR (ended_at IS NULL AND until > ?) ORDER BY created_at DESC LIMIT 200'),
      get: db.prepare<[string], Row>('SELECT * FROM notify_silences WHERE id = ?'),
      end: db.prepare<[number, string, string]>('UPDATE notify_silences SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL'),
    };
  }

  add(request: z.output<typeof SilenceRequest>, by: string, now: number): Silence {
    const id = uuidv7(now);
    const { pointId, group, rule } = request.match;
    this.stmts.insert.run(id, pointId ?? null, group ?? null, rule ?? null, request.until, request.reason, by, now);
    this.cache = undefined;
    return this.get(id)!;
  }

  get(id: string): Silence | null {
    const row = this.stmts.get.get(id);
    return row ? fromRow(row) : null;
  }

  /** Silences in force now (read once per second at most: the ladder asks on every tick). */
  current(now: number): Silence[] {
    if (!this.cache || now - this.cache.at >= 1000) this.cache = { at: now, silences: this.stmts.current.all(now).map(fromRow) };
    return this.cache.silences.filter((silence) => silence.until > now);
  }

  /** In force now, or created in the last week. */
  recent(now: number): Silence[] {
    return this.stmts.recent.all(now - 7 * 86_400_000, now).map(fromRow);
  }

  end(id: string, by: string, now: number): Silence | null {
    this.stmts.end.run(now, by, id);
    this.cache = undefined;
    return this.get(id);
  }
}
