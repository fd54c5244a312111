import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { Incidents } from '../../central/incidents/store.js';
import type { Central } from '../../central/central.js';
import type { Incident, IncidentEvent } from '../../central/incidents/types.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { startFleetCentral } from './helpers.js';
import { centralTables } from '../helpers/central-db.js';

function openIncidents(file: string, clock: ManualClock) {
  const db = centralTables(file);
  return { db, incidents: new Incidents(db, clock, silentLogger()) };
}

describe('incident store (real SQLite)', () => {
  it('keeps one open incident per key, updates it in place, and resolves it on clear', () => {
    const clock = new ManualClock(1_000);
    const { db, incidents } = openIncidents(join(tempDir('incidents'), 'central.db'), clock);
    const events: IncidentEvent[] = [];
    incidents.subscribe((e) => events.push(e));

    const first = incidents.raise({ key: 'point:a-1:printer', title: 'a-1: printer down', severity: 'major', detail: 'no answer', pointId: 'a-1' });
    clock.advance(1000);
    const same = incidents.raise({ key: 'point:a-1:printer', title: 'a-1: printer down', severity: 'major', detail: 'no answer', pointId: 'a-1' });
    expect(same.id).toBe(first.id);
    expect(events.map((e) => e.type)).toEqual(['opened']);

    const louder = incidents.raise({ key: 'point:a-1:printer', title: 'a-1: printer down', severity: 'critical', detail: 'cover open', pointId: 'a-1' });
    expect(louder.id).toBe(first.id);
    expect(louder.severity).toBe('critical');
    expect(incidents.list({ status: 'active' })).toHaveLength(1);

    clock.advance(1000);
    const resolved = incidents.clear('point:a-1:printer', 'printer up again');
    expect(resolved).toMatchObject({ id: first.id, status: 'resolved', resolvedAt: 3_000 });
    expect(incidents.clear('point:a-1:printer', 'again')).toBeNull();
    expect(events.map((e) => e.type)).toEqual(['opened', 'updated', 'resolved']);

    // The same key after it resolved is a new incident.
    const again = incidents.raise({ key: 'point:a-1:printer', title: 'a-1: printer down', severity: 'major', detail: 'no answer', pointId: 'a-1' });
    expect(again.id).not.toBe(first.id);
    expect(incidents.timeline(first.id).map((t) => t.kind)).toEqual(['opened', 'severity', 'updated', 'resolved']);
    db.close();
  });

  it('acks once, says who, and keeps everything across a restart', () => {
    const clock = new ManualClock(5_000);
    const file = join(tempDir('incidents'), 'central.db');
    const first = openIncidents(file, clock);
    const incident = first.incidents.raise({ key: 'runbook:main-server', title: 'main server down', severity: 'critical', detail: 'HTTP 502' });
    const acked = first.incidents.ack(incident.id, 'nino');
    expect(acked).toMatchObject({ status: 'acked', ackedBy: 'nino', ackedAt: 5_000 });
    clock.advance(10);
    expect(first.incidents.ack(incident.id, 'giorgi')!.ackedBy).toBe('nino');
    expect(first.incidents.ack('no-such-id', 'x')).toBeNull();
    first.incidents.note(incident.id, 'notify', 'chat to #ops: sent');
    first.db.close();

    const second = openIncidents(file, clock);
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

  it('correlates a child under its parent, and frees it when the parent resolves', () => {
    const clock = new ManualClock(0);
    const { db, incidents } = openIncidents(join(tempDir('incidents'), 'central.db'), clock);
    const events: IncidentEvent[] = [];
    incidents.subscribe((e) => events.push(e));
    const parent = incidents.raise({ key: 'point:a-1:disconnected', title: 'a-1 disconnected', severity: 'major', detail: 'offline', pointId: 'a-1' });
    const child = incidents.raise({ key: 'point:a-1:camera', title: 'a-1: camera down', severity: 'minor', detail: 'black', pointId: 'a-1', parentKey: parent.key });
    expect(child.parentId).toBe(parent.id);
    expect(incidents.detail(parent.id)!.children.map((c) => c.id)).toEqual([child.id]);
    // A parentKey with nothing open behind it leaves the incident standing alone.
    expect(incidents.raise({ key: 'x', title: 'x', severity: 'info', detail: '', parentKey: 'nothing-open' }).parentId).toBeNull();

    incidents.clear(parent.key, 'connected again');
    const freed = incidents.get(child.id) as Incident;
    expect(freed.parentId).toBeNull();
    expect(freed.status).toBe('open');
    expect(events.at(-1)).toMatchObject({ type: 'updated', incident: { id: child.id, parentId: null } });
    expect(incidents.timeline(child.id).map((t) => t.kind)).toEqual(['opened', 'correlated', 'detached']);
    db.close();
  });

  it('a failing subscriber neither blocks the incident nor the other subscribers', () => {
    const { db, incidents } = openIncidents(join(tempDir('incidents'), 'central.db'), new ManualClock(0));
    const seen: string[] = [];
    incidents.subscribe(() => {
      throw new Error('SMS gateway down');
    });
    incidents.subscribe((e) => seen.push(e.type));
    incidents.raise({ key: 'k', title: 't', severity: 'minor', detail: 'd' });
    expect(seen).toEqual(['opened']);
    expect(incidents.openFor('k')).not.toBeNull();
    db.close();
  });
});

describe('incident HTTP API (real central)', () => {
  let central: Central | undefined;
  afterEach(async () => {
    await central?.stop();
    central = undefined;
  });

  it('lists with filters, shows a timeline, and acks with a validated body', async () => {
    central = await startFleetCentral(tempDir('incidents-http'));
    const port = central.httpPort!;
    const a = central.incidents.raise({ key: 'point:tbilisi-01:printer', title: 'printer down', severity: 'major', detail: 'off', pointId: 'tbilisi-01' });
    const b = central.incidents.raise({ key: 'point:batumi-01:camera', title: 'camera down', severity: 'minor', detail: 'black', pointId: 'batumi-01' });
    central.incidents.clear(b.key, 'camera up again');

    const all = await httpJson<Incident[]>(port, 'GET', '/api/incidents');
    expect(all.body.map((i) => i.id).sort()).toEqual([a.id, b.id].sort());
    const open = await httpJson<Incident[]>(port, 'GET', '/api/incidents?status=open');
    expect(open.body.map((i) => i.id)).toEqual([a.id]);
    const batumi = await httpJson<Incident[]>(port, 'GET', '/api/incidents?pointId=batumi-01');
    expect(batumi.body.map((i) => i.id)).toEqual([b.id]);
    expect((await httpJson(port, 'GET', '/api/incidents?status=sideways')).status).toBe(400);

    const detail = await httpJson<{ timeline: { kind: string }[] }>(port, 'GET', `/api/incidents/${b.id}`);
    expect(detail.body.timeline.map((t) => t.kind).filter((kind) => kind !== 'notify')).toEqual(['opened', 'resolved']);
    expect((await httpJson(port, 'GET', '/api/incidents/nope')).status).toBe(404);

    const bad = await httpJson<{ error: string }>(port, 'POST', `/api/incidents/${a.id}/ack`, { note: 42 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('note');
    expect(central.incidents.get(a.id)!.status).toBe('open');

    // The audit names who signed in; a `by` in the body is ignored.
    const nino = await central.access.createToken('nino', 'operator');
    const acked = await httpJson<Incident>(port, 'POST', `/api/incidents/${a.id}/ack`, { by: 'giorgi' }, { authorization: `Bearer ${nino}` });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'acked', ackedBy: 'nino' });
    const anonymous = await httpJson<Incident>(port, 'POST', `/api/incidents/${b.id}/ack`);
    expect(anonymous.body.status).toBe('resolved');
    expect((await httpJson(port, 'POST', '/api/incidents/nope/ack', {})).status).toBe(404);
  });
});
