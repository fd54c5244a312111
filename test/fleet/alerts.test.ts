import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { withDiskFull } from '../../agent/disk.js';
import type { Central } from '../../central/central.js';
import type { Incident } from '../../central/incidents/types.js';
import { waitFor } from '../peers/net.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { HandPublisher, healthFor, nextHealthRead, startFleetCentral, viewOf } from './helpers.js';
import { brokerOf } from '../helpers/logins.js';

const MIN = 60_000;

describe('fleet alerts through a real central (aedes), with a hand-moved clock', () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  async function setup() {
    const clock = new ManualClock(Date.now());
    // Stale marking is tested elsewhere: here silence while the clock jumps must not count.
    const central = await startFleetCentral(tempDir('alerts'), { clock, extra: { fleet: { staleAfterMs: 24 * 60 * MIN }, alerts: { tickMs: 100 } } });
    running.push(central);
    const hand = await HandPublisher.connect(brokerOf(central));
    running.push({ stop: () => hand.close() });
    return { clock, central, hand };
  }

  async function online(hand: HandPublisher, central: Central, clock: ManualClock, pointId: string, overrides: Parameters<typeof healthFor>[2] = {}) {
    const read = nextHealthRead(central, pointId);
    await hand.status(pointId, true, 1, clock.now());
    await hand.health(healthFor(pointId, clock.now(), overrides));
    await read;
    expect(viewOf(central, pointId)?.connected).toBe(true);
  }

  async function offline(hand: HandPublisher, central: Central, clock: ManualClock, pointId: string) {
    await hand.status(pointId, false, 1, clock.now());
    await waitFor(() => viewOf(central, pointId)?.connected === false, `${pointId} disconnected`);
  }

  const open = (central: Central, key: string) => central.incidents.openFor(key);
  const paging = (central: Central) => central.incidents.active().filter((i) => !i.parentId).map((i) => i.key).sort();

  it('printer down opens an incident at once and resolves itself when the printer is back', async () => {
    const { clock, central, hand } = await setup();
    await online(hand, central, clock, 'kutaisi-01', { checks: { printer: { status: 'down', detail: 'no answer on 9100', since: clock.now() } } });
    await waitFor(() => open(central, 'point:kutaisi-01:printer') !== null, 'the printer incident');
    expect(open(central, 'point:kutaisi-01:printer')).toMatchObject({ severity: 'major', detail: 'no answer on 9100', pointId: 'kutaisi-01', parentId: null });
    const id = open(central, 'point:kutaisi-01:printer')!.id;

    clock.advance(5000);
    await hand.health(healthFor('kutaisi-01', clock.now()));
    await waitFor(() => open(central, 'point:kutaisi-01:printer') === null, 'the printer incident resolved');
    expect(central.incidents.get(id)).toMatchObject({ status: 'resolved', resolvedAt: clock.now() });
    expect(central.incidents.timeline(id).find((t) => t.kind === 'resolved')).toMatchObject({ text: 'printer up again' });
  });

  it('disconnected opens after 2 minutes, not before; acked through the API; resolved on reconnect', async () => {
    const { clock, central, hand } = await setup();
    await online(hand, central, clock, 'batumi-01');
    await offline(hand, central, clock, 'batumi-01');
    clock.advance(MIN);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(open(central, 'point:batumi-01:disconnected')).toBeNull();

    clock.advance(MIN + 1000);
    await waitFor(() => open(central, 'point:batumi-01:disconnected') !== null, 'the disconnect incident');
    const incident = open(central, 'point:batumi-01:disconnected')!;
    // The audit names who signed in; a `by` in the body is a forgery and is ignored.
    const ops = await central.access.createToken('ops', 'operator');
    const acked = await httpJson<Incident>(central.httpPort!, 'POST', `/api/incidents/${incident.id}/ack`, { by: 'someone-else' }, { authorization: `Bearer ${ops}` });
    expect(acked.body).toMatchObject({ status: 'acked', ackedBy: 'ops' });

    clock.advance(MIN);
    await online(hand, central, clock, 'batumi-01');
    await waitFor(() => open(central, 'point:batumi-01:disconnected') === null, 'the disconnect resolved by the reconnect');
    const timeline = await httpJson<{ status: string; timeline: { kind: string }[] }>(central.httpPort!, 'GET', `/api/incidents/${incident.id}`);
    expect(timeline.body.status).toBe('resolved');
    // (Notifications add their own lines; these are the incident's own.)
    expect(timeline.body.timeline.map((t) => t.kind).filter((kind) => kind !== 'notify')).toEqual(['opened', 'acked', 'resolved']);
  });

  it("a disconnected point's printer and camera alerts hang under its disconnect instead of paging", async () => {
    const { clock, central, hand } = await setup();
    // As central sees it after a restart: the retained will, then the last health, printer and camera down.
    const since = clock.now();
    await hand.status('tbilisi-07', false, 3, since);
    await hand.health(
      healthFor('tbilisi-07', since, {
        checks: { printer: { status: 'down', detail: 'paper out', since }, camera: { status: 'degraded', detail: 'frozen picture', since } },
      }),
    );
    await waitFor(() => viewOf(central, 'tbilisi-07')?.checks.printer?.status === 'down', 'the health read');
    clock.advance(30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(central.incidents.active()).toEqual([]);

    clock.advance(2 * MIN);
    await waitFor(() => central.incidents.active().length === 3, 'the disconnect with its two children');
    const parent = open(central, 'point:tbilisi-07:disconnected')!;
    expect(open(central, 'point:tbilisi-07:printer')!.parentId).toBe(parent.id);
    expect(open(central, 'point:tbilisi-07:camera')!.parentId).toBe(parent.id);
    expect(paging(central)).toEqual(['point:tbilisi-07:disconnected']);

    // Back online with the printer fixed: the disconnect and printer resolve, the camera pages on its own.
    await online(hand, central, clock, 'tbilisi-07', { checks: { camera: { status: 'degraded', detail: 'frozen picture', since } } });
    await waitFor(() => central.incidents.active().length === 1, 'only the camera left');
    expect(open(central, 'point:tbilisi-07:camera')).toMatchObject({ parentId: null, status: 'open' });
    expect(paging(central)).toEqual(['point:tbilisi-07:camera']);
  });

  it('a printer incident already open moves under the disconnect once the point is out 2 minutes', async () => {
    const { clock, central, hand } = await setup();
    await online(hand, central, clock, 'kutaisi-02', { checks: { printer: { status: 'down', detail: 'off', since: clock.now() } } });
    await waitFor(() => open(central, 'point:kutaisi-02:printer') !== null, 'the printer incident');
    await offline(hand, central, clock, 'kutaisi-02');
    clock.advance(MIN);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Pending disconnect: the printer incident is neither resolved nor moved yet.
    expect(open(central, 'point:kutaisi-02:printer')!.parentId).toBeNull();
    clock.advance(MIN + 1000);
    await waitFor(() => open(central, 'point:kutaisi-02:disconnected') !== null, 'the disconnect');
    await waitFor(() => open(central, 'point:kutaisi-02:printer')!.parentId === open(central, 'point:kutaisi-02:disconnected')!.id, 'the printer under it');
    expect(paging(central)).toEqual(['point:kutaisi-02:disconnected']);
  });

  it('three points of one city out together: one area outage, not three pages; it ends when they return', async () => {
    const { clock, central, hand } = await setup();
    for (const id of ['tbilisi-01', 'tbilisi-02', 'tbilisi-03', 'tbilisi-04', 'batumi-01']) await online(hand, central, clock, id);
    await offline(hand, central, clock, 'tbilisi-01');
    clock.advance(20_000);
    await offline(hand, central, clock, 'tbilisi-02');
    await offline(hand, central, clock, 'batumi-01');
    clock.advance(20_000);
    await offline(hand, central, clock, 'tbilisi-03');

    clock.advance(2 * MIN);
    await waitFor(() => open(central, 'point:tbilisi-03:disconnected') !== null, 'every disconnect open');
    expect(paging(central)).toEqual(['area:tbilisi', 'point:batumi-01:disconnected']);
    const area = open(central, 'area:tbilisi')!;
    expect(area.severity).toBe('critical');
    const children = (await httpJson<{ children: Incident[] }>(central.httpPort!, 'GET', `/api/incidents/${area.id}`)).body.children;
    expect(children.map((c) => c.key).sort()).toEqual(['point:tbilisi-01:disconnected', 'point:tbilisi-02:disconnected', 'point:tbilisi-03:disconnected']);
    expect(viewOf(central, 'tbilisi-04')!.connected).toBe(true);
    const metrics = (await httpJson<string>(central.httpPort!, 'GET', '/metrics')).body.split('\n');
    expect(metrics).toContain('hotpot_point_connected{point="tbilisi-01"} 0');
    expect(metrics).toContain('hotpot_point_connected{point="tbilisi-04"} 1');
    expect(metrics).toContain('hotpot_point_check_status{point="tbilisi-04",check="printer"} 0');
    expect(metrics).toContain('hotpot_point_unsynced_orders{point="tbilisi-04"} 0');
    expect(metrics).toContain('hotpot_fleet_points{condition="offline"} 4');
    expect(metrics).toContain('hotpot_incidents_active{status="open",severity="critical",correlated="no"} 1');
    expect(metrics).toContain('hotpot_incidents_active{status="open",severity="major",correlated="yes"} 3');

    // Two come back: fewer than 3 out ends the area outage; the one still out pages on its own.
    await online(hand, central, clock, 'tbilisi-01');
    await online(hand, central, clock, 'tbilisi-02');
    await waitFor(() => open(central, 'area:tbilisi') === null, 'the area outage resolved');
    expect(paging(central)).toEqual(['point:batumi-01:disconnected', 'point:tbilisi-03:disconnected']);
  });

  it('a disk incident open for usage above 80 % escalates to diskFullSeverity when the disk fills, and drops back when space returns', async () => {
    const { clock, central, hand } = await setup();
    const now = clock.now();
    const usage = { status: 'degraded' as const, detail: 'disk 93 %', since: now, data: { cpuPercent: 20, memoryPercent: 40, diskPercent: 93 } };
    await online(hand, central, clock, 'poti-02', { checks: { system: usage } });
    clock.advance(5 * MIN + 1000);
    await waitFor(() => open(central, 'point:poti-02:disk') !== null, 'the disk usage incident');
    const minor = open(central, 'point:poti-02:disk')!;
    expect(minor).toMatchObject({ severity: 'minor', title: 'poti-02: disk above 80 %' });

    // The box's store fails a write: the same incident, now critical and worded as orders refused.
    const fullAt = clock.now();
    await hand.health(healthFor('poti-02', fullAt, { checks: { system: withDiskFull(usage, fullAt, '/var/lib/hotpot') } }));
    await waitFor(() => open(central, 'point:poti-02:disk')?.severity === 'critical', 'the disk incident escalates');
    const critical = open(central, 'point:poti-02:disk')!;
    expect(critical).toMatchObject({ id: minor.id, title: 'poti-02: disk full, orders refused', detail: expect.stringContaining('disk full') });
    expect(central.incidents.timeline(minor.id)).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'severity', text: 'minor → critical' })]));
    expect(paging(central)).toEqual(['point:poti-02:disk']);

    // Space freed, usage still above 80 %: back to the usage alert, same incident.
    await hand.health(healthFor('poti-02', clock.now(), { checks: { system: { ...usage, since: clock.now() - 6 * MIN } } }));
    await waitFor(() => open(central, 'point:poti-02:disk')?.severity === 'minor', 'the disk incident back to minor');
    expect(open(central, 'point:poti-02:disk')!.id).toBe(minor.id);
  });

  it('manual mode, old unsynced orders, skewed clock and a full disk each alert, and clear', async () => {
    const { clock, central, hand } = await setup();
    const now = clock.now();
    await online(hand, central, clock, 'poti-01', {
      mode: 'offline',
      unsynced: 12,
      oldestUnsyncedAt: now - 10 * MIN,
      checks: { system: { status: 'degraded', detail: 'disk 93 %', since: now, data: { cpuPercent: 20, memoryPercent: 40, diskPercent: 93 } } },
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Each of these must hold a while first (5 min manual mode and disk, 15 min for the oldest order).
    expect(central.incidents.active()).toEqual([]);
    clock.advance(5 * MIN + 1000);
    await waitFor(() => ['manual', 'unsynced', 'disk'].every((rule) => open(central, `point:poti-01:${rule}`) !== null), 'manual, unsynced and disk incidents');

    // A health stamped 3 minutes in the past: the box's clock is behind.
    await hand.health(healthFor('poti-01', clock.now() - 3 * MIN, { mode: 'offline', unsynced: 12, oldestUnsyncedAt: now - 10 * MIN }));
    await waitFor(() => open(central, 'point:poti-01:clock') !== null, 'the clock incident');
    await waitFor(() => open(central, 'point:poti-01:disk') === null, 'the disk incident cleared (no usage data now)');

    await hand.health(healthFor('poti-01', clock.now()));
    await waitFor(() => central.incidents.active().length === 0, 'every incident resolved');
  });
});
