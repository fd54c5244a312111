import type { Incident, IncidentSink, RaiseIncident } from '../../central/incidents/types.js';

/** An in-memory IncidentSink for tests: open incidents by key, plus every call in order. */
export class MemoryIncidents implements IncidentSink {
  readonly open = new Map<string, Incident>();
  readonly log: Array<{ call: 'raise' | 'clear' | 'note'; key: string; severity?: string; text: string }> = [];
  private seq = 0;

  raise(input: RaiseIncident): Incident {
    const existing = this.open.get(input.key);
    const incident: Incident = existing
      ? { ...existing, severity: input.severity, detail: input.detail, title: input.title }
      : {
          id: `inc-${++this.seq}`,
          key: input.key,
          title: input.title,
          severity: input.severity,
          detail: input.detail,
          pointId: input.pointId ?? null,
          parentId: null,
          status: 'open',
          openedAt: Date.now(),
          ackedAt: null,
          ackedBy: null,
          resolvedAt: null,
        };
    this.open.set(input.key, incident);
    this.log.push({ call: 'raise', key: input.key, severity: input.severity, text: input.detail });
    return incident;
  }

  clear(key: string, detail: string): Incident | null {
    const incident = this.open.get(key);
    if (!incident) return null;
    this.open.delete(key);
    this.log.push({ call: 'clear', key, text: detail });
    return { ...incident, status: 'resolved', resolvedAt: Date.now() };
  }

  note(incidentId: string, kind: string, text: string): void {
    const key = [...this.open.values()].find((i) => i.id === incidentId)?.key ?? `(closed ${incidentId})`;
    this.log.push({ call: 'note', key, text: `${kind}: ${text}` });
  }

  raised(key: string): Array<{ severity?: string; text: string }> {
    return this.log.filter((e) => e.call === 'raise' && e.key === key);
  }
}
