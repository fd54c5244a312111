import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ALL_CHECK_NAMES } from '../sync/schemas.js';
import type { Clock } from '../lib/clock.js';
import { fleetSummary, type Fleet } from './fleet.js';
import type { Incidents } from './incidents/store.js';

/** Central's Prometheus registry (one per instance, so several centrals can share a process in tests). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hotpot_central_' });
  return {
    registry,
    ordersIngested: new Counter({ name: 'hotpot_orders_ingested_total', help: 'Orders received from points, by result', labelNames: ['result'] as const, registers: [registry] }),
    rejected: new Counter({ name: 'hotpot_mqtt_rejected_total', help: 'MQTT messages rejected, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    lateWills: new Counter({ name: 'hotpot_fleet_late_wills_ignored_total', help: 'Wills from an older session that arrived after the point reconnected, ignored', registers: [registry] }),
  };
}

export type CentralMetrics = ReturnType<typeof createMetrics>;

const CHECK_LEVEL = { up: 0, degraded: 1, down: 2, unknown: -1 } as const;

/**
 * Per-point gauges and incident counts, computed when Prometheus scrapes (nothing per message).
 * Check status: 0 up, 1 degraded, 2 down.
 */
export function registerFleetMetrics(metrics: CentralMetrics, fleet: Fleet, incidents: Incidents, clock: Clock): void {
  const registers = [metrics.registry];
  // Registered first, so collected first (prom-client collects in registration order): one pass
  // over the fleet fills every per-point gauge before the others are read.
  new Gauge({
    name: 'hotpot_point_connected',
    help: '1 when the point is connected and not stale',
    labelNames: ['point'] as const,
    registers,
    collect() {
      const now = clock.now();
      for (const gauge of [this, manual, check, unsynced, lastSeen]) gauge.reset();
      const views = fleet.list(now);
      for (const view of views) {
        const point = view.pointId;
        this.set({ point }, view.connected ? 1 : 0);
        if (view.mode) manual.set({ point }, view.mode === 'offline' ? 1 : 0);
        for (const name of ALL_CHECK_NAMES) {
          const state = view.checks[name];
          if (state) check.set({ point, check: name }, CHECK_LEVEL[state.status]);
        }
        if (view.unsynced !== null) unsynced.set({ point }, view.unsynced);
        if (view.lastSeen !== null) lastSeen.set({ point }, Math.max(0, (now - view.lastSeen) / 1000));
      }
      for (const [condition, count] of Object.entries(fleetSummary(views).byCondition)) byCondition.set({ condition }, count);
    },
  });
  const manual = new Gauge({ name: 'hotpot_point_manual_mode', help: '1 when the point takes orders by hand (mode offline)', labelNames: ['point'] as const, registers });
  const check = new Gauge({ name: 'hotpot_point_check_status', help: 'Check status: 0 up, 1 degraded, 2 down, -1 unknown (no sensor or tool to tell)', labelNames: ['point', 'check'] as const, registers });
  const unsynced = new Gauge({ name: 'hotpot_point_unsynced_orders', help: 'Orders on the box central has not acked', labelNames: ['point'] as const, registers });
  const lastSeen = new Gauge({ name: 'hotpot_point_last_seen_seconds', help: 'Seconds since central last heard from the point', labelNames: ['point'] as const, registers });
  const byCondition = new Gauge({ name: 'hotpot_fleet_points', help: 'Points by condition', labelNames: ['condition'] as const, registers });
  new Gauge({
    name: 'hotpot_incidents_active',
    help: 'Open or acked incidents, by status and severity (correlated children counted apart)',
    labelNames: ['status', 'severity', 'correlated'] as const,
    registers,
    collect() {
      this.reset();
      for (const incident of incidents.active()) this.inc({ status: incident.status, severity: incident.severity, correlated: incident.parentId ? 'yes' : 'no' });
    },
  });
  const opened = new Counter({ name: 'hotpot_incidents_opened_total', help: 'Incidents opened, by severity', labelNames: ['severity'] as const, registers });
  incidents.subscribe((event) => {
    if (event.type === 'opened') opened.inc({ severity: event.incident.severity });
  });
}
