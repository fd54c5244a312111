import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { openDatabase } from '../../lib/sqlite.js';
import { migrate } from '../../central/migrations.js';
import { INCIDENT_MIGRATIONS, Incidents } from '../../central/incidents/index.js';
import { tempDir } from '../helpers/hotpot.js';
import { incidentFeedContract, incidentSinkContract, type IncidentsUnderTest } from './incidents.contract.js';

/** Central's incident store on a SQLite file with its tables made by the migration runner, as central makes them. */
function openStore(file: string, clock: Clock): { db: Database.Database; incidents: Incidents } {
  const db = openDatabase(file, []);
  migrate(db, 'incidents', INCIDENT_MIGRATIONS, clock.now());
  return { db, incidents: new Incidents(db, clock, silentLogger()) };
}

function freshStore(clock: Clock): IncidentsUnderTest<Incidents> {
  const { db, incidents } = openStore(join(tempDir('incidents'), 'central.db'), clock);
  return { incidents, close: () => db.close() };
}

describe('incident contract: central store (SQLite)', () => {
  incidentSinkContract(freshStore);
  incidentFeedContract(freshStore);
});

describe('incident store: what only the store keeps (timeline, history, restarts)', () => {
  it('writes each change on the timeline and lists by status', () => {
    const clock = new ManualClock(1_000);
    const { db, incidents } = openStore(join(tempDir('incidents'), 'central.db'), clock);
    const raise = { key: 'point:a-1:printer', title: 'a-1: printer down', severity: 'major', detail: 'no answer', pointId: 'a-1' } as const;
    const first = incidents.raise(raise);
    incidents.raise(raise);
    incidents.raise({ ...raise, severity: 'critical', detail: 'cover open' });
    expect(incidents.list({ status: 'active' }).map((incident) => incident.id)).toEqual([first.id]);
    incidents.clear(raise.key, 'printer up again');
    const again = incidents.raise(raise);
    expect(incidents.list({ status: 'active' }).map((incident) => incident.id)).toEqual([again.id]);
    expect(incidents.list({ status: 'resolved' }).map((incident) => incident.id)).toEqual([first.id]);
    expect(incidents.timeline(first.id).map((t) => t.kind)).toEqual(['opened', 'severity', 'updated', 'resolved']);
    db.close();
  });

  it('keeps acks, notes and the one-open-per-key rule across a restart', () => {
    const clock = new ManualClock(5_000);
    const file = join(tempDir('incidents'), 'central.db');
    const first = openStore(file, clock);
    const incident = first.incidents.raise({ key: 'runbook:main-server', title: 'main server down', severity: 'critical', detail: 'HTTP 502' });
    first.incidents.ack(incident.id, 'nino');
    first.incidents.note(incident.id, 'notify', 'chat to #ops: sent');
    first.db.close();

    const second = openStore(file, clock);
    expect(second.incidents.openFor('runbook:main-server')).toMatchObject({ id: incident.id, status: 'acked' });
    // Still one open per key after the restart: raising updates the same incident.
    expect(second.incidents.raise({ key: 'runbook:main-server', title: 'main server down', severity: 'critical', detail: 'HTTP 502' }).id).toBe(incident.id);
    expect(second.incidents.timeline(incident.id).map((t) => `${t.kind}:${t.text}`)).toEqual([
      'opened:HTTP 502',
      'acked:acknowledged by nino',
      'notify:chat to #ops: sent',
    ]);
    second.db.close();
  });

  it('shows a parent with its children, and the child its correlation on the timeline', () => {
    const { db, incidents } = openStore(join(tempDir('incidents'), 'central.db'), new ManualClock(0));
    const parent = incidents.raise({ key: 'point:a-1:disconnected', title: 'a-1 disconnected', severity: 'major', detail: 'offline', pointId: 'a-1' });
    const child = incidents.raise({ key: 'point:a-1:camera', title: 'a-1: camera down', severity: 'minor', detail: 'black', pointId: 'a-1', parentKey: parent.key });
    expect(incidents.detail(parent.id)!.children.map((c) => c.id)).toEqual([child.id]);
    expect(incidents.timeline(parent.id).map((t) => t.kind)).toEqual(['opened', 'child']);
    incidents.clear(parent.key, 'connected again');
    expect(incidents.timeline(child.id).map((t) => t.kind)).toEqual(['opened', 'correlated', 'detached']);
    db.close();
  });
});
