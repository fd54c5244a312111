import type Database from 'better-sqlite3';

/** Append only (central/migrations.ts): entry N moves these tables from version N to N+1. */
export const HISTORY_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS fleet_events (
    seq INTEGER PRIMARY KEY,
    point_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    detail TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS fleet_events_point ON fleet_events(point_id, at);
  CREATE INDEX IF NOT EXISTS fleet_events_at ON fleet_events(at);
  CREATE TABLE IF NOT EXISTS fleet_series (
    point_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    cpu REAL,
    memory REAL,
    disk REAL,
    unsynced INTEGER,
    samples INTEGER NOT NULL,
    PRIMARY KEY (point_id, at)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS fleet_series_at ON fleet_series(at);
`,
  // The box's temperature (°C, the temperature check's reading) beside cpu/memory/disk.
  `ALTER TABLE fleet_series ADD COLUMN temperature REAL;`,
];

/** One state change of a point: `connection`, `mode`, `version` or `check:<name>`. */
export interface FleetEvent {
  pointId: string;
  at: number;
  kind: string;
  value: string;
  detail: string;
}

/** One bucket of a point's numbers: averages of cpu/memory/disk (%) and temperature (°C), the most unsynced orders seen. */
export interface SeriesPoint {
  at: number;
  cpu: number | null;
  memory: number | null;
  disk: number | null;
  temperature: number | null;
  unsynced: number | null;
  samples: number;
}

export interface SeriesRow extends SeriesPoint {
  pointId: string;
}

/** The fleet's history in central's SQLite: state changes and downsampled numeric series. */
export class HistoryStore {
  private readonly stmts;
  private readonly writeBatch: (events: readonly FleetEvent[], series: readonly SeriesRow[]) => void;

  constructor(db: Database.Database) {
    this.stmts = {
      event: db.prepare('INSERT INTO fleet_events (point_id, at, kind, value, detail) VALUES (?, ?, ?, ?, ?)'),
      series: db.prepare(
        `INSERT INTO fleet_series (point_id, at, cpu, memory, disk, temperature, unsynced, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(point_id, at) DO UPDATE SET cpu = excluded.cpu, memory = excluded.memory, disk = excluded.disk,
           temperature = excluded.temperature, unsynced = excluded.unsynced, samples = excluded.samples`,
      ),
      events: db.prepare<[string, number, number, number], { point_id: string; at: number; kind: string; value: string; detail: string }>(
        'SELECT point_id, at, kind, value, detail FROM fleet_events WHERE point_id = ? AND at >= ? AND at < ? ORDER BY at DESC, seq DESC LIMIT ?',
      ),
      seriesRange: db.prepare<[number, number, string, number, number], SeriesPoint>(
        `SELECT CAST(at / ? AS INTEGER) * ? AS at, AVG(cpu) AS cpu, AVG(memory) AS memory, AVG(disk) AS disk, AVG(temperature) AS temperature, MAX(unsynced) AS unsynced, SUM(samples) AS samples
         FROM fleet_series WHERE point_id = ? AND at >= ? AND at < ? GROUP BY 1 ORDER BY 1`,
      ),
      firstSeries: db.prepare<[string], { at: number | null }>('SELECT MIN(at) AS at FROM fleet_series WHERE point_id = ?'),
      pruneEvents: db.prepare('DELETE FROM fleet_events WHERE at < ?'),
      pruneSeries: db.prepare('DELETE FROM fleet_series WHERE at < ?'),
    };
    this.writeBatch = db.transaction((events: readonly FleetEvent[], series: readonly SeriesRow[]) => {
      for (const e of events) this.stmts.event.run(e.pointId, e.at, e.kind, e.value, e.detail);
      for (const s of series) this.stmts.series.run(s.pointId, s.at, s.cpu, s.memory, s.disk, s.temperature, s.unsynced, s.samples);
    });
  }

  /** One transaction for everything gathered since the last write. */
  write(events: readonly FleetEvent[], series: readonly SeriesRow[]): void {
    if (events.length || series.length) this.writeBatch(events, series);
  }

  events(pointId: string, since: number, until: number, limit: number): FleetEvent[] {
    return this.stmts.events.all(pointId, since, until, limit).map((row) => ({ pointId: row.point_id, at: row.at, kind: row.kind, value: row.value, detail: row.detail }));
  }

  /** Buckets merged into steps of `stepMs` (a multiple of the stored bucket), oldest first. */
  series(pointId: string, since: number, until: number, stepMs: number): SeriesPoint[] {
    const step = Math.max(1, Math.round(stepMs));
    return this.stmts.seriesRange.all(step, step, pointId, since, until);
  }

  /** When the point's oldest kept bucket starts; null when none is kept. */
  firstSeriesAt(pointId: string): number | null {
    return this.stmts.firstSeries.get(pointId)?.at ?? null;
  }

  prune(eventsBefore: number, seriesBefore: number): { events: number; series: number } {
    return { events: this.stmts.pruneEvents.run(eventsBefore).changes, series: this.stmts.pruneSeries.run(seriesBefore).changes };
  }
}
