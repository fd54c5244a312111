import type { PointCondition, PointView } from '../fleet.js';
import { fleetSummary } from '../fleet.js';
import type { Incident, Severity } from '../incidents/types.js';
import type { Notice } from '../../sync/schemas.js';
import type { StatusConfig } from './config.js';

export const COMPONENTS = ['mainServer', 'database', 'chain'] as const;
export type ComponentId = (typeof COMPONENTS)[number];
/** `not-monitored`: no recovery procedure watches it; `unknown`: one does, with no verdict yet (or on a replica that does not lead). */
export type ComponentState = 'up' | 'down' | 'unknown' | 'not-monitored';

/** What `GET /status.json` answers (and the page shows): nothing internal unless `showPoints`. */
export interface StatusSnapshot {
  /** When the status last changed (what it says, not when it was asked). */
  updatedAt: number;
  timeZone: string;
  /** `outage`: a component is down; `degraded`: a notice or an open incident of a component; else `operational`. */
  overall: 'operational' | 'degraded' | 'outage';
  components: { id: ComponentId; state: ComponentState; since: number | null }[];
  fleet: { points: number; byCondition: Record<PointCondition, number> };
  notices: Notice[];
  incidents: { component: ComponentId; severity: Severity; since: number; acknowledged: boolean }[];
  points?: { pointId: string; group: string; condition: PointCondition }[];
}

export interface StatusSources {
  now: number;
  timeZone: string;
  /** A recovery target's health and since when; null when no procedure watches it. */
  health(target: string): { health: 'up' | 'down' | 'unknown'; since: number | null } | null;
  /** The open incident of a recovery target (`runbook:<target>`). */
  incident(target: string): Incident | null;
  notices: Notice[];
  points: readonly PointView[];
}

/** The public status, from central's state (pure). */
export function statusSnapshot(config: StatusConfig, sources: StatusSources): StatusSnapshot {
  const components = COMPONENTS.map((id) => {
    const health = sources.health(config.components[id]);
    const state: ComponentState = health?.health ?? 'not-monitored';
    // Down since its outage began: the open incident says when, even across a restart of central.
    const outageSince = state === 'down' ? sources.incident(config.components[id])?.openedAt : undefined;
    return { id, state, since: outageSince ?? health?.since ?? null };
  });
  const incidents = COMPONENTS.flatMap((component) => {
    const incident = sources.incident(config.components[component]);
    return incident ? [{ component, severity: incident.severity, since: incident.openedAt, acknowledged: incident.status === 'acked' }] : [];
  });
  const summary = fleetSummary(sources.points);
  const overall = components.some((c) => c.state === 'down') ? 'outage' : sources.notices.length || incidents.length ? 'degraded' : 'operational';
  return {
    updatedAt: sources.now,
    timeZone: sources.timeZone,
    overall,
    components,
    fleet: { points: summary.points, byCondition: summary.byCondition },
    notices: sources.notices,
    incidents,
    ...(config.showPoints ? { points: sources.points.map((p) => ({ pointId: p.pointId, group: p.group, condition: p.condition })) } : {}),
  };
}
