import type { Probe, ProbeResult } from '../../drivers/index.js';
import type { CheckData, CheckResult } from './machine.js';
import type { Check } from './runner.js';

/** errno codes that mean this box has no link or no route, rather than a far end that is down. */
const NO_ROUTE = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL']);

export interface InternetFacts {
  probes: ProbeResult[];
  /** Whether the MQTT link to central is up. */
  central: boolean;
  /** From the routing table; null when unknown or not looked at. */
  defaultRoute: boolean | null;
  slowMs: number;
}

function failure(result: ProbeResult): string {
  return `${result.target} ${result.code ?? 'failed'}`;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * up / degraded / down from one round of probes plus the central link. `detail` tells "no link
 * or route" from "internet unreachable" from "only central unreachable"; latency goes in `data`
 * so the detail stays the same from one second to the next. Pure.
 */
export function assessInternet(facts: InternetFacts): CheckResult {
  const { probes, central } = facts;
  const answered = probes.filter((p) => p.ok);
  const failed = probes.filter((p) => !p.ok);
  const data: CheckData = {
    latencyMs: median(answered.map((p) => p.latencyMs)),
    targetsUp: answered.length,
    targets: probes.length,
    central,
  };
  for (const probe of probes) data[`ms ${probe.target}`] = probe.ok ? probe.latencyMs : null;

  if (probes.length === 0) {
    return central
      ? { status: 'up', detail: 'connected to central (no internet targets configured)', data }
      : { status: 'down', detail: 'central unreachable (no internet targets configured to tell a cut link from a central outage)', data };
  }
  if (answered.length === 0) {
    if (central) return { status: 'degraded', detail: `internet targets unreachable but central is connected: ${failed.map(failure).join(', ')}`, data };
    const routeless = failed.filter((p) => NO_ROUTE.has(p.code ?? ''));
    if (routeless.length > 0) return { status: 'down', detail: `no link or route: ${routeless.map(failure).join(', ')}`, data };
    if (facts.defaultRoute === false) return { status: 'down', detail: 'no link or route: the box has no default route (cable, Wi-Fi or DHCP?)', data };
    return { status: 'down', detail: `internet unreachable: all ${probes.length} targets fail (${failed.map(failure).join(', ')})`, data };
  }
  if (failed.length > 0) {
    const centralNote = central ? '' : '; central unreachable';
    return { status: 'degraded', detail: `${answered.length}/${probes.length} internet targets answer; failing: ${failed.map(failure).join(', ')}${centralNote}`, data };
  }
  if (!central) return { status: 'degraded', detail: 'only central unreachable: internet targets answer but the MQTT link to central is down', data };
  const slow = answered.filter((p) => p.latencyMs > facts.slowMs);
  if (slow.length > 0) return { status: 'degraded', detail: `slow internet: ${slow.map((p) => p.target).join(', ')} over ${facts.slowMs} ms`, data };
  return { status: 'up', detail: `${answered.length}/${probes.length} internet targets answer`, data };
}

export interface InternetCheckOptions {
  timeoutMs: number;
  slowMs: number;
  /** Whether the link to central is up (the agent passes `() => agent.link.connected`). */
  centralConnected: () => boolean | Promise<boolean>;
  defaultRoute: () => Promise<boolean | null>;
}

/** Probes every target at once, each with its own timeout. */
export class InternetCheck implements Check {
  readonly name = 'internet' as const;

  constructor(private readonly probes: readonly Probe[], private readonly options: InternetCheckOptions) {}

  async run(): Promise<CheckResult> {
    const [probes, central] = await Promise.all([Promise.all(this.probes.map((p) => p.check(this.options.timeoutMs))), this.options.centralConnected()]);
    // The routing table is read only when it can explain an outage.
    const defaultRoute = probes.length > 0 && probes.every((p) => !p.ok) && !central ? await this.options.defaultRoute() : null;
    return assessInternet({ probes, central, defaultRoute, slowMs: this.options.slowMs });
  }
}
