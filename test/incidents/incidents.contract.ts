import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import type { Incident, IncidentEvent, IncidentFeed, IncidentSink, RaiseIncident } from '../../central/incidents/types.js';

/** An implementation under test, empty, on a clock the suite moves. */
export interface IncidentsUnderTest<T> {
  incidents: T;
  close(): void;
}

export type OpenIncidents<T> = (clock: ManualClock) => IncidentsUnderTest<T>;

const T0 = 1_700_000_000_000;
const PRINTER: RaiseIncident = { key: 'point:a-1:printer', title: 'a-1: printer down', severity: 'major', detail: 'no answer', pointId: 'a-1' };
const DISCONNECTED: RaiseIncident = { key: 'point:a-1:disconnected', title: 'a-1 disconnected', severity: 'major', detail: 'offline', pointId: 'a-1' };
const CAMERA: RaiseIncident = { key: 'point:a-1:camera', title: 'a-1: camera down', severity: 'minor', detail: 'black', pointId: 'a-1', parentKey: DISCONNECTED.key };

function fixture<T>(open: OpenIncidents<T>) {
  const opened: IncidentsUnderTest<T>[] = [];
  afterEach(() => {
    for (const under of opened.splice(0)) under.close();
  });
  return () => {
    const clock = new ManualClock(T0);
    const under = open(clock);
    opened.push(under);
    return { incidents: under.incidents, clock };
  };
}

/**
 * What a detector may rely on (IncidentSink), for central's incident store and every test
 * double standing in for it: one open incident per key, raise again = update in place, clear =
 * resolve, correlation under an open parent.
 */
export function incidentSinkContract(open: OpenIncidents<IncidentSink>): void {
  const fresh = fixture(open);

  describe('sink', () => {
    it('opens an incident with what was raised, at the current time', () => {
      const { incidents } = fresh();
      const incident = incidents.raise(PRINTER);
      expect(incident).toEqual({
        id: expect.any(String),
        key: PRINTER.key,
        title: PRINTER.title,
        severity: 'major',
        detail: 'no answer',
        pointId: 'a-1',
        parentId: null,
        status: 'open',
        openedAt: T0,
        ackedAt: null,
        ackedBy: null,
        resolvedAt: null,
      });
      expect(incidents.raise({ key: 'runbook:main-server', title: 'main server down', severity: 'critical', detail: 'HTTP 502' })).toMatchObject({
        pointId: null,
        status: 'open',
      });
    });

    it('keeps one open incident per key: the same raise again returns it unchanged', () => {
      const { incidents, clock } = fresh();
      const first = incidents.raise(PRINTER);
      clock.advance(1000);
      expect(incidents.raise(PRINTER)).toEqual(first);
      expect(incidents.raise({ ...PRINTER, key: 'point:a-2:printer', pointId: 'a-2' }).id).not.toBe(first.id);
    });

    it('updates the open incident in place when a raise changes its severity, title or detail', () => {
      const { incidents, clock } = fresh();
      const first = incidents.raise(PRINTER);
      clock.advance(1000);
      const louder = incidents.raise({ ...PRINTER, severity: 'critical', detail: 'cover open' });
      expect(louder).toEqual({ ...first, severity: 'critical', detail: 'cover open' });
      const renamed = incidents.raise({ ...PRINTER, severity: 'critical', detail: 'cover open', title: 'a-1: receipt printer down' });
      expect(renamed).toEqual({ ...louder, title: 'a-1: receipt printer down' });
    });

    it('resolves on clear, once; a key with nothing open clears to null', () => {
      const { incidents, clock } = fresh();
      const first = incidents.raise(PRINTER);
      clock.advance(2000);
      expect(incidents.clear(PRINTER.key, 'printer up again')).toEqual({ ...first, status: 'resolved', resolvedAt: T0 + 2000 });
      expect(incidents.clear(PRINTER.key, 'again')).toBeNull();
      expect(incidents.clear('never-raised', 'nothing')).toBeNull();
    });

    it('opens a new incident for a key raised again after it resolved', () => {
      const { incidents, clock } = fresh();
      const first = incidents.raise(PRINTER);
      incidents.clear(PRINTER.key, 'printer up again');
      clock.advance(5000);
      const again = incidents.raise(PRINTER);
      expect(again.id).not.toBe(first.id);
      expect(again).toMatchObject({ status: 'open', openedAt: T0 + 5000, resolvedAt: null });
    });

    it('hangs an incident under the open incident its parentKey names, and only then', () => {
      const { incidents } = fresh();
      // Nothing open behind the parentKey: it stands alone.
      expect(incidents.raise(CAMERA).parentId).toBeNull();
      const parent = incidents.raise(DISCONNECTED);
      // Raised again with its parent now open: correlated in place.
      const child = incidents.raise(CAMERA);
      expect(child.parentId).toBe(parent.id);
      expect(incidents.raise({ ...PRINTER, parentKey: PRINTER.key }).parentId).toBeNull();

      incidents.clear(DISCONNECTED.key, 'connected again');
      // The parent resolved: raised again, the child stands on its own.
      expect(incidents.raise(CAMERA)).toMatchObject({ id: child.id, parentId: null, status: 'open' });
    });

    it('takes timeline notes for any incident, open or not, without throwing', () => {
      const { incidents } = fresh();
      const incident = incidents.raise(PRINTER);
      incidents.note(incident.id, 'notify', 'chat to #ops: sent');
      incidents.clear(PRINTER.key, 'up');
      incidents.note(incident.id, 'notify', 'all-clear sent');
      incidents.note('no-such-incident', 'notify', 'text');
    });
  });
}

/**
 * What escalation may rely on (IncidentFeed) from an implementation that is both sink and feed:
 * events delivered inline, one per real change, acks that stick, children freed by their parent.
 */
export function incidentFeedContract(open: OpenIncidents<IncidentSink & IncidentFeed>): void {
  const fresh = fixture(open);
  const subscribed = (incidents: IncidentFeed) => {
    const events: IncidentEvent[] = [];
    const unsubscribe = incidents.subscribe((event) => events.push(event));
    return { events, unsubscribe, types: () => events.map((event) => `${event.type} ${event.incident.key}`) };
  };

  describe('feed', () => {
    it('delivers one event per change, inline, carrying the incident as it is after the change', () => {
      const { incidents, clock } = fresh();
      const { events, types } = subscribed(incidents);
      const opened = incidents.raise(PRINTER);
      expect(events).toEqual([{ type: 'opened', incident: opened }]);
      incidents.raise(PRINTER);
      expect(types()).toEqual([`opened ${PRINTER.key}`]);
      const updated = incidents.raise({ ...PRINTER, severity: 'critical' });
      clock.advance(10);
      const acked = incidents.ack(opened.id, 'nino');
      clock.advance(10);
      const resolved = incidents.clear(PRINTER.key, 'up again');
      expect(events.slice(1)).toEqual([
        { type: 'updated', incident: updated },
        { type: 'acked', incident: acked },
        { type: 'resolved', incident: resolved },
      ]);
    });

    it('stops delivering to a listener that unsubscribed, and keeps delivering to the others', () => {
      const { incidents } = fresh();
      const first = subscribed(incidents);
      const second = subscribed(incidents);
      incidents.raise(PRINTER);
      first.unsubscribe();
      incidents.clear(PRINTER.key, 'up');
      expect(first.types()).toEqual([`opened ${PRINTER.key}`]);
      expect(second.types()).toEqual([`opened ${PRINTER.key}`, `resolved ${PRINTER.key}`]);
    });

    it('gets an incident by id in its current state; an unknown id is null', () => {
      const { incidents } = fresh();
      const incident = incidents.raise(PRINTER);
      expect(incidents.get(incident.id)).toEqual(incident);
      const resolved = incidents.clear(PRINTER.key, 'up');
      expect(incidents.get(incident.id)).toEqual(resolved);
      expect(incidents.get('no-such-incident')).toBeNull();
    });

    it('lists open and acked incidents as active, never resolved ones', () => {
      const { incidents } = fresh();
      const printer = incidents.raise(PRINTER);
      const disconnected = incidents.raise(DISCONNECTED);
      const gone = incidents.raise({ ...PRINTER, key: 'point:a-2:printer' });
      incidents.ack(disconnected.id, 'nino');
      incidents.clear(gone.key, 'up');
      const active = incidents.active();
      expect(active.map((incident) => incident.id).sort()).toEqual([printer.id, disconnected.id].sort());
      expect(active.find((incident) => incident.id === disconnected.id)?.status).toBe('acked');
    });

    it('acks once and says who; a second ack, or an ack of a resolved incident, changes nothing', () => {
      const { incidents, clock } = fresh();
      const { types } = subscribed(incidents);
      const incident = incidents.raise(PRINTER);
      clock.advance(500);
      const acked = incidents.ack(incident.id, 'nino');
      expect(acked).toEqual({ ...incident, status: 'acked', ackedAt: T0 + 500, ackedBy: 'nino' });
      clock.advance(10);
      expect(incidents.ack(incident.id, 'giorgi')).toEqual(acked);
      expect(incidents.get(incident.id)).toEqual(acked);
      expect(incidents.ack('no-such-incident', 'x')).toBeNull();

      const other = incidents.raise(DISCONNECTED);
      const resolved = incidents.clear(DISCONNECTED.key, 'back');
      expect(incidents.ack(other.id, 'nino')).toEqual(resolved);
      expect(types()).toEqual([`opened ${PRINTER.key}`, `acked ${PRINTER.key}`, `opened ${DISCONNECTED.key}`, `resolved ${DISCONNECTED.key}`]);
    });

    it('keeps an acked incident acked when it is raised again with news, and resolves it on clear', () => {
      const { incidents } = fresh();
      const incident = incidents.raise(PRINTER);
      incidents.ack(incident.id, 'nino');
      expect(incidents.raise({ ...PRINTER, detail: 'cover open' })).toMatchObject({ id: incident.id, status: 'acked', ackedBy: 'nino', detail: 'cover open' });
      expect(incidents.clear(PRINTER.key, 'up')).toMatchObject({ id: incident.id, status: 'resolved', ackedBy: 'nino' });
    });

    it('opens an acked incident again when its severity rises (the ack was for the lower one); a drop keeps it acked', () => {
      const { incidents } = fresh();
      const incident = incidents.raise({ ...PRINTER, severity: 'minor' });
      incidents.ack(incident.id, 'nino');
      expect(incidents.raise({ ...PRINTER, severity: 'minor', detail: 'cover open' })).toMatchObject({ status: 'acked', ackedBy: 'nino' });
      expect(incidents.raise({ ...PRINTER, severity: 'critical' })).toMatchObject({ id: incident.id, status: 'open', ackedAt: null, ackedBy: null, severity: 'critical' });
      incidents.ack(incident.id, 'giorgi');
      expect(incidents.raise({ ...PRINTER, severity: 'major' })).toMatchObject({ status: 'acked', ackedBy: 'giorgi', severity: 'major' });
    });

    it('frees the open children of an incident that resolves: each stands on its own, announced as updated', () => {
      const { incidents } = fresh();
      const { events } = subscribed(incidents);
      const parent = incidents.raise(DISCONNECTED);
      const child = incidents.raise(CAMERA);
      expect(incidents.get(child.id)?.parentId).toBe(parent.id);

      incidents.clear(DISCONNECTED.key, 'connected again');
      const freed = incidents.get(child.id) as Incident;
      expect(freed).toEqual({ ...child, parentId: null });
      expect(events.slice(-2)).toEqual([
        { type: 'resolved', incident: expect.objectContaining({ id: parent.id, status: 'resolved' }) },
        { type: 'updated', incident: freed },
      ]);
      expect(incidents.active()).toEqual([freed]);
    });

    it('a failing subscriber neither blocks the change nor the other subscribers', () => {
      const { incidents } = fresh();
      incidents.subscribe(() => {
        throw new Error('SMS gateway down');
      });
      const { types } = subscribed(incidents);
      const incident = incidents.raise(PRINTER);
      expect(types()).toEqual([`opened ${PRINTER.key}`]);
      expect(incidents.active()).toEqual([incident]);
      expect(incidents.ack(incident.id, 'nino')?.status).toBe('acked');
    });
  });
}
