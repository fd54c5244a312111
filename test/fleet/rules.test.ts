import { describe, expect, it } from 'vitest';
import { alertsConfigSchema } from '../../central/alerts/config.js';
import { areaKey, evaluateFleet, parseAlertKey, pointAlerts, pointKey } from '../../central/alerts/rules.js';
import { conditionOf, groupResolver, readUsage, type PointView } from '../../central/fleet.js';
import type { CheckState } from '../../sync/schemas.js';

const cfg = alertsConfigSchema.parse({});
const T0 = 1_700_000_000_000;
const MIN = 60_000;
const up: CheckState = { status: 'up', detail: 'fine', since: T0 - 60 * MIN };

function point(pointId: string, over: Partial<PointView> = {}): PointView {
  const view: PointView = {
    pointId,
    group: pointId.split('-')[0]!,
    connected: true,
    stale: false,
    condition: 'ok',
    disconnectedSince: null,
    mode: 'online',
    modeSince: T0 - 60 * MIN,
    lastSeen: T0,
    checks: { internet: up, printer: up, camera: up, system: up },
    usage: { cpu: 10, memory: 20, disk: 30 },
    unsynced: 0,
    oldestUnsyncedAt: null,
    oldestUnsyncedAgeMs: null,
    version: '1',
    clockSkewMs: 50,
    session: 1,
    ...over,
  };
  return { ...view, condition: conditionOf(view) };
}

const out = (pointId: string, since: number) => point(pointId, { connected: false, disconnectedSince: since });
const keys = (plan: ReturnType<typeof evaluateFleet>) => plan.raise.map((r) => r.key);

describe('alert rules (pure)', () => {
  it('a healthy point raises nothing and asks for no recheck', () => {
    const result = pointAlerts(point('tbilisi-01'), T0, cfg);
    expect(result.alerts).toEqual([]);
    expect(result.recheckAt).toBeNull();
  });

  it('disconnected alerts only after 2 minutes, and says when to look again', () => {
    const early = pointAlerts(out('tbilisi-01', T0), T0 + MIN, cfg);
    expect(early.alerts).toEqual([]);
    expect(early.recheckAt).toBe(T0 + 2 * MIN);
    const late = pointAlerts(out('tbilisi-01', T0), T0 + 2 * MIN, cfg);
    expect(late.alerts.map((a) => a.key)).toEqual([pointKey('tbilisi-01', 'disconnected')]);
    expect(late.alerts[0]!.severity).toBe('major');
  });

  it('manual mode alerts after 5 minutes', () => {
    const manual = point('batumi-01', { mode: 'offline', modeSince: T0 });
    expect(pointAlerts(manual, T0 + 4 * MIN, cfg).alerts).toEqual([]);
    expect(pointAlerts(manual, T0 + 5 * MIN, cfg).alerts.map((a) => a.rule)).toEqual(['manual']);
  });

  it('printer down is major, degraded minor; camera down or black/frozen alerts', () => {
    const printerDown = point('kutaisi-01', { checks: { ...point('x').checks, printer: { status: 'down', detail: 'no answer on 9100', since: T0 } } });
    const [down] = pointAlerts(printerDown, T0, cfg).alerts;
    expect(down).toMatchObject({ key: 'point:kutaisi-01:printer', severity: 'major', detail: 'no answer on 9100' });
    const paperLow = point('kutaisi-01', { checks: { ...point('x').checks, printer: { status: 'degraded', detail: 'paper low', since: T0 } } });
    expect(pointAlerts(paperLow, T0, cfg).alerts[0]).toMatchObject({ rule: 'printer', severity: 'minor' });
    const frozen = point('kutaisi-01', { checks: { ...point('x').checks, camera: { status: 'degraded', detail: 'frozen picture', since: T0 } } });
    expect(pointAlerts(frozen, T0, cfg).alerts.map((a) => a.key)).toEqual(['point:kutaisi-01:camera']);
  });

  it('cpu, memory and disk over 80 % alert each on its own key; odd data is ignored', () => {
    const busy = point('tbilisi-02', { usage: { cpu: 95, memory: 81, disk: 79.9 } });
    expect(pointAlerts(busy, T0, cfg).alerts.map((a) => a.rule)).toEqual(['cpu', 'memory']);
    const system: CheckState = { status: 'up', detail: 'x', since: T0, data: { cpuPercent: 'lots', memoryPercent: 250, diskPercent: 85 } };
    expect(readUsage(system)).toEqual({ cpu: null, memory: null, disk: 85 });
    expect(readUsage(undefined)).toEqual({ cpu: null, memory: null, disk: null });
  });

  it('unsynced orders older than 15 minutes alert; the recheck lands when they come of age', () => {
    const lagging = point('tbilisi-03', { unsynced: 4, oldestUnsyncedAt: T0 - 10 * MIN, oldestUnsyncedAgeMs: 10 * MIN });
    const now = pointAlerts(lagging, T0, cfg);
    expect(now.alerts).toEqual([]);
    expect(now.recheckAt).toBe(T0 + 5 * MIN);
    const old = point('tbilisi-03', { unsynced: 4, oldestUnsyncedAt: T0 - 16 * MIN, oldestUnsyncedAgeMs: 16 * MIN });
    expect(pointAlerts(old, T0, cfg).alerts.map((a) => a.rule)).toEqual(['unsynced']);
  });

  it('clock skew over 2 minutes either way alerts', () => {
    expect(pointAlerts(point('a-1', { clockSkewMs: 3 * MIN }), T0, cfg).alerts.map((a) => a.rule)).toEqual(['clock']);
    expect(pointAlerts(point('a-1', { clockSkewMs: -3 * MIN }), T0, cfg).alerts.map((a) => a.rule)).toEqual(['clock']);
    expect(pointAlerts(point('a-1', { clockSkewMs: MIN }), T0, cfg).alerts).toEqual([]);
  });

  it('disabled rules and custom thresholds come from config', () => {
    const quiet = alertsConfigSchema.parse({ resources: { enabled: false }, disconnected: { afterMs: 10_000 } });
    expect(pointAlerts(point('a-1', { usage: { cpu: 99, memory: 99, disk: 99 } }), T0, quiet).alerts).toEqual([]);
    expect(pointAlerts(out('a-1', T0), T0 + 10_000, quiet).alerts.map((a) => a.rule)).toEqual(['disconnected']);
  });
});

describe('correlation (pure)', () => {
  it("a disconnected point's printer and camera alerts hang under its disconnect", () => {
    const broken = point('tbilisi-01', {
      connected: false,
      disconnectedSince: T0,
      checks: { ...point('x').checks, printer: { status: 'down', detail: 'off', since: T0 }, camera: { status: 'down', detail: 'black frame', since: T0 } },
    });
    const pending = evaluateFleet([broken], T0 + MIN, cfg, new Set());
    expect(pending.raise).toEqual([]);
    expect(pending.recheckAt.get('tbilisi-01')).toBe(T0 + 2 * MIN);
    // An alert already open stays as it is while the disconnect is pending.
    const kept = evaluateFleet([broken], T0 + MIN, cfg, new Set([pointKey('tbilisi-01', 'printer')]));
    expect(kept.keep).toEqual([pointKey('tbilisi-01', 'printer')]);

    const plan = evaluateFleet([broken], T0 + 2 * MIN, cfg, new Set());
    expect(plan.raise.map((r) => [r.key, r.parentKey])).toEqual([
      ['point:tbilisi-01:disconnected', undefined],
      ['point:tbilisi-01:printer', 'point:tbilisi-01:disconnected'],
      ['point:tbilisi-01:camera', 'point:tbilisi-01:disconnected'],
    ]);
  });

  it('three points of one city out within the window: one area outage above their disconnects', () => {
    const views = [out('tbilisi-01', T0), out('tbilisi-02', T0 + MIN), out('tbilisi-03', T0 + 3 * MIN), point('tbilisi-04'), out('batumi-01', T0)];
    const before = evaluateFleet(views, T0 + MIN, cfg, new Set());
    expect(before.raise).toEqual([]);
    const plan = evaluateFleet(views, T0 + 2 * MIN, cfg, new Set());
    expect(plan.raise[0]).toMatchObject({ key: areaKey('tbilisi'), severity: 'critical' });
    expect(plan.raise.map((r) => [r.key, r.parentKey])).toEqual([
      ['area:tbilisi', undefined],
      ['point:tbilisi-01:disconnected', 'area:tbilisi'],
      ['point:batumi-01:disconnected', undefined],
    ]);
    // Later members join below the area once their own 2 minutes are up.
    const later = evaluateFleet(views, T0 + 6 * MIN, cfg, new Set([areaKey('tbilisi')]));
    expect(later.raise.filter((r) => r.parentKey === 'area:tbilisi').map((r) => r.key)).toEqual([
      'point:tbilisi-01:disconnected',
      'point:tbilisi-02:disconnected',
      'point:tbilisi-03:disconnected',
    ]);
  });

  it('points out too far apart, or too few, page one by one', () => {
    const apart = [out('tbilisi-01', T0), out('tbilisi-02', T0), out('tbilisi-03', T0 + 10 * MIN)];
    expect(keys(evaluateFleet(apart, T0 + 12 * MIN, cfg, new Set()))).not.toContain('area:tbilisi');
    const two = [out('tbilisi-01', T0), out('tbilisi-02', T0)];
    expect(keys(evaluateFleet(two, T0 + 3 * MIN, cfg, new Set()))).toEqual(['point:tbilisi-01:disconnected', 'point:tbilisi-02:disconnected']);
  });

  it('an open area outage stays while enough points are out, and ends when fewer are', () => {
    const three = [out('tbilisi-01', T0), out('tbilisi-02', T0 + 20 * MIN), out('tbilisi-03', T0 + 40 * MIN)];
    expect(keys(evaluateFleet(three, T0 + 45 * MIN, cfg, new Set([areaKey('tbilisi')])))).toContain('area:tbilisi');
    expect(keys(evaluateFleet(three.slice(0, 2), T0 + 45 * MIN, cfg, new Set([areaKey('tbilisi')])))).not.toContain('area:tbilisi');
  });

  it('groups come from config lists and prefixes, else the first part of the id', () => {
    const groupOf = groupResolver({ capital: ['tb-*', 'vake-01'], coast: ['batumi-*'] });
    expect(groupOf('tb-07')).toBe('capital');
    expect(groupOf('vake-01')).toBe('capital');
    expect(groupOf('vake-02')).toBe('vake');
    expect(groupOf('batumi-03')).toBe('coast');
    expect(groupOf('kutaisi-01')).toBe('kutaisi');
  });

  it("keys: the engine owns point rules and areas, not other modules' incidents", () => {
    expect(parseAlertKey('point:tbilisi-01:printer')).toEqual({ pointId: 'tbilisi-01', rule: 'printer' });
    expect(parseAlertKey('area:tbilisi')).toEqual({ group: 'tbilisi' });
    expect(parseAlertKey('point:tbilisi-01:reconciliation')).toBeNull();
    expect(parseAlertKey('runbook:main-server')).toBeNull();
  });
});
