import { systemClock, type Clock } from '../../lib/clock.js';
import { raisedAgain, type Incident, type IncidentSink, type RaiseIncident } from '../../central/incidents/types.js';

/**
 * An in-memory IncidentSink for tests and benches that drive one detector: open incidents by
 * key, plus every call in order. It passes the same sink contract as central's store
 * (test/incidents/incidents.contract.ts).
 */
export class MemoryIncidents implements IncidentSink {
  readonly open = new Map<string, Incident>();
  readonly log: Array<{ call: 'raise' | 'clear' | 'note'; key: string; severity?: string; text: string }> = [];
  private seq = 0;

  constructor(private readonly clock: Clock = systemClock) {}

  raise(input: RaiseIncident): Incident {
    this.log.push({ call: 'raise', key: input.key, severity: input.severity, text: input.detail });
    const parentId = input.parentKey && input.parentKey !== input.key ? (this.open.get(input.parentKey)?.id ?? null) : null;
    const existing = this.open.get(input.key);
    if (existing) {
      const changed = existing.title !== input.title || existing.severity !== input.severity || existing.detail !== input.detail || existing.parentId !== parentId;
      if (!changed) return existing;
      const updated = raisedAgain(existing, { title: input.title, severity: input.severity, detail: input.detail, parentId }).incident;
      this.open.set(input.key, updated);
      return updated;
    }
    const incident: Incident = {
      id: `inc-${++this.seq}`,
      key: input.key,
      title: input.title,
      severity: input.severity,
      detail: input.detail,
      pointId: input.pointId ?? null,
      parentId,
      status: 'open',
      openedAt: this.clock.now(),
      ackedAt: null,
      ackedBy: null,
      resolvedAt: null,
    };
    this.open.set(input.key, incident);
    return incident;
  }

  clear(key: string, detail: string): Incident | null {
    const incident = this.open.get(key);
    if (!incident) return null;
    this.open.delete(key);
    this.log.push({ call: 'clear', key, text: detail });
    // As in the store: children still open stand on their own once their parent resolves.
    for (const [childKey, child] of this.open) if (child.parentId === incident.id) this.open.set(childKey, { ...child, parentId: null });
    return { ...incident, status: 'resolved', resolvedAt: this.clock.now() };
  }

  note(incidentId: string, kind: string, text: string): void {
    const key = [...this.open.values()].find((i) => i.id === incidentId)?.key ?? `(closed ${incidentId})`;
    this.log.push({ call: 'note', key, text: `${kind}: ${text}` });
  }

  raised(key: string): Array<{ severity?: string; text: string }> {
    return this.log.filter((e) => e.call === 'raise' && e.key === key);
  }
}
