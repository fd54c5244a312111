/**
 * The seam between what detects problems (fleet alert rules, runbooks, backups, forwarder)
 * and what tracks and escalates them (incident store, notification ladder).
 */
export type Severity = 'critical' | 'major' | 'minor' | 'info';

export interface RaiseIncident {
  /** Dedup key: one open incident per key (e.g. `point:tbilisi-01:printer`, `runbook:main-server`). */
  key: string;
  title: string;
  severity: Severity;
  detail: string;
  pointId?: string;
  /** Key of an open incident this one hangs under (correlation): it does not page on its own. */
  parentKey?: string;
}

export interface Incident {
  id: string;
  key: string;
  title: string;
  severity: Severity;
  detail: string;
  pointId: string | null;
  parentId: string | null;
  status: 'open' | 'acked' | 'resolved';
  openedAt: number;
  ackedAt: number | null;
  ackedBy: string | null;
  resolvedAt: number | null;
}

export interface TimelineEntry {
  incidentId: string;
  at: number;
  kind: string;
  text: string;
}

export type IncidentEvent =
  | { type: 'opened'; incident: Incident }
  | { type: 'acked'; incident: Incident }
  | { type: 'resolved'; incident: Incident }
  | { type: 'updated'; incident: Incident };

/** What detectors call. Raising an open key again updates it; clearing a key with none open is a no-op. */
export interface IncidentSink {
  raise(input: RaiseIncident): Incident;
  clear(key: string, detail: string): Incident | null;
  /** Adds a line to the incident's timeline (e.g. a notification sent, a runbook step run). */
  note(incidentId: string, kind: string, text: string): void;
}

/** What escalation (notifications) listens to. */
export interface IncidentFeed {
  subscribe(listener: (event: IncidentEvent) => void): () => void;
  get(id: string): Incident | null;
  /** Every open or acked incident. */
  active(): Incident[];
  ack(id: string, by: string): Incident | null;
}
