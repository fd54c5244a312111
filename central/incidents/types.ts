/**
 * The seam between what detects problems (fleet alert rules, runbooks, backups, forwarder)
 * and what tracks and escalates them (incident store, notification ladder).
 */
export type Severity = 'critical' | 'major' | 'minor' | 'info';

/** Most severe first. */
export const SEVERITIES = ['critical', 'major', 'minor', 'info'] as const satisfies readonly Severity[];

/** Whether `to` outranks `from` (minor → major, major → critical, info → minor…); a drop is not a rise. */
export function severityRaised(from: Severity, to: Severity): boolean {
  return SEVERITIES.indexOf(to) < SEVERITIES.indexOf(from);
}

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

/**
 * An open incident raised again with new facts. A rise in severity voids an acknowledgement given at
 * the lower one: the incident is open again, so whoever is paged for the new severity can ack it.
 */
export function raisedAgain(existing: Incident, next: Pick<Incident, 'title' | 'severity' | 'detail' | 'parentId'>): { incident: Incident; voidedAck: string | null } {
  const voidsAck = existing.status === 'acked' && severityRaised(existing.severity, next.severity);
  return {
    incident: { ...existing, ...next, ...(voidsAck ? { status: 'open' as const, ackedAt: null, ackedBy: null } : {}) },
    voidedAck: voidsAck ? existing.ackedBy : null,
  };
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
