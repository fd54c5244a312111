import { EventEmitter } from 'node:events';
import type { CheckName, CheckState, HardwareCheckName, Mode } from '../sync/schemas.js';

/** The four core checks always; the hardware ones where the provider runs them. */
export type HealthChecks = Record<CheckName, CheckState> & Partial<Record<HardwareCheckName, CheckState>>;

export interface HealthSnapshot {
  mode: Mode;
  checks: HealthChecks;
}

/** What the agent needs from its health checks: a snapshot and a 'change' event. */
export interface HealthProvider extends EventEmitter {
  start(): void;
  stop(): Promise<void>;
  snapshot(): HealthSnapshot;
  /** The mode alone (the order path asks it on every order; no snapshot to build). */
  mode(): Mode;
  /** Staff or central forces manual-order mode (`'offline'`) or lifts its override (`null`); absent when the provider cannot. */
  force?(source: 'staff' | 'central', mode: 'offline' | null): void;
  /** Who holds the point offline by hand now (none: its checks decide). */
  forcedOffline?(): ('staff' | 'central')[];
}

/**
 * Health with no device checks: the MQTT link stands in for the internet check. Used until
 * the checks runner (drivers/) is configured, and by simulated points.
 */
export class LinkHealth extends EventEmitter implements HealthProvider {
  private internet: CheckState;
  private readonly fixed: CheckState;

  constructor(now: number) {
    super();
    this.internet = { status: 'down', detail: 'not connected to central yet', since: now };
    this.fixed = { status: 'up', detail: 'not configured', since: now };
  }

  start(): void {}
  async stop(): Promise<void> {}

  setLink(connected: boolean, now: number): void {
    if ((this.internet.status === 'up') === connected) return;
    this.internet = connected
      ? { status: 'up', detail: 'connected to central', since: now }
      : { status: 'down', detail: 'central unreachable', since: now };
    this.emit('change');
  }

  mode(): Mode {
    return this.internet.status === 'down' ? 'offline' : 'online';
  }

  snapshot(): HealthSnapshot {
    return {
      mode: this.mode(),
      checks: { internet: this.internet, printer: this.fixed, camera: this.fixed, system: this.fixed },
    };
  }
}
