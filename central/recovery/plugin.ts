import { hostname } from 'node:os';
import { Gauge } from 'prom-client';
import { coalesce } from '../../lib/timeout.js';
import { whileLeader } from '../leader.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { RECOVERY_MIGRATIONS } from './audit.js';
import { RecoveryEngine, type RestoreHook, type TargetHealth } from './engine.js';
import type { TargetGate } from './gate.js';
import { HostWatch, hostSampler } from './host-watch.js';
import { registerRecoveryRoutes } from './http.js';
import { RunbookAudit } from './audit.js';
import { SecurityProcedure } from './security.js';

/** Runs the dashboard shows (the same as its GET /api/runbooks/runs). */
const DASHBOARD_RUNS = 20;
const PUSH_AFTER_MS = 100;

/** What the recovery plugin offers: each target's verified health (upstream pauses forwarding on it; the status page shows it). */
export interface RecoveryApi {
  gate(target: string): TargetGate;
  /** The target's verified health and since when; null when no procedure watches it. */
  targetHealth(target: string): TargetHealth | null;
  /** Runs `hook` after every good `restore-backup` (upstream re-forwards what the dump lacks); returns the unregister function. */
  onRestored(name: string, hook: RestoreHook): () => void;
}

declare module '../plugin.js' {
  interface PluginApis {
    recovery: RecoveryApi;
  }
}

/**
 * The runbook engine (leader only: it acts on shared systems), the host self-watch (every replica
 * watches its own host) and the runbook routes. Restores come from the backups plugin, notify
 * steps go out through the notify plugin, notice steps through the notices plugin.
 */
export class RecoveryPlugin implements CentralPlugin<'recovery'> {
  readonly name = 'recovery';
  readonly dependencies = ['backups', 'notify', 'notices'] as const;
  readonly migrations = RECOVERY_MIGRATIONS;
  readonly prefix = '/api/runbooks';
  private hostWatch: HostWatch | undefined;
  private detach: (() => Promise<void>) | undefined;
  private stopPushing: (() => void) | undefined;

  start(ctx: PluginContext<'recovery'>): RecoveryApi {
    const backups = ctx.dependency('backups').service ?? undefined;
    const engine = new RecoveryEngine({
      config: ctx.config,
      db: ctx.db,
      incidents: ctx.incidents,
      backups,
      notifier: ctx.dependency('notify'),
      notices: ctx.dependency('notices'),
      clock: ctx.clock,
      log: ctx.log,
    });
    const security = new SecurityProcedure({
      audit: new RunbookAudit(ctx.db),
      incidents: ctx.incidents,
      clock: ctx.clock,
      log: ctx.log,
      approvals: ctx.config.approvals,
      revokeBrokerLogin: ctx.central.revokeBrokerLogin,
      connected: (pointId) => ctx.fleet.view(pointId, ctx.clock.now())?.connected ?? false,
    });
    ctx.bus.onPointChanged(this, ({ pointId }) => security.pointChanged(pointId));
    registerRecoveryRoutes(ctx.routes, engine, security);
    registerFigureMetrics(ctx, engine);
    this.pushToDashboard(ctx, engine);
    this.hostWatch = new HostWatch({ config: ctx.config.host, incidents: ctx.incidents, log: ctx.log, keyPrefix: `central:${hostname()}`, sample: hostSampler(ctx.central.dataDir, ctx.config.host) });
    this.hostWatch.start();
    this.detach = whileLeader(ctx.leader, ctx.log, () => engine.start(), () => engine.stop());
    return { gate: (target) => engine.gate(target), targetHealth: (target) => engine.targetHealth(target), onRestored: (name, hook) => engine.onRestored(name, hook) };
  }

  /** Open dashboards follow procedures and runs live (steps as they start and end, approvals). */
  private pushToDashboard(ctx: PluginContext<'recovery'>, engine: RecoveryEngine): void {
    // A step's end and the next step's start come together: one push for the burst.
    const push = coalesce(() => ctx.bus.emitDashboardPush({ type: 'runbooks', data: { procedures: engine.procedures(), runs: engine.runs({ limit: DASHBOARD_RUNS }) } }), PUSH_AFTER_MS);
    const unsubscribe = engine.onChange(() => push.trigger());
    this.stopPushing = () => {
      unsubscribe();
      push.cancel();
    };
  }

  async stop(): Promise<void> {
    this.stopPushing?.();
    this.hostWatch?.stop();
    await this.detach?.();
  }
}

/** `hotpot_probe_*`: each target's probe figures, computed when Prometheus scrapes. */
function registerFigureMetrics(ctx: PluginContext<'recovery'>, engine: RecoveryEngine): void {
  const registers = [ctx.metrics.registry];
  // Registered first, so collected first: it fills the other two.
  new Gauge({
    name: 'hotpot_probe_response_seconds',
    help: "A target's probe response time over 24 h, by quantile (0.5, 0.95)",
    labelNames: ['target', 'quantile'] as const,
    registers,
    collect() {
      for (const gauge of [this, errors, uptime]) gauge.reset();
      for (const f of engine.figures()) {
        if (f.p50Ms !== null) this.set({ target: f.target, quantile: '0.5' }, f.p50Ms / 1000);
        if (f.p95Ms !== null) this.set({ target: f.target, quantile: '0.95' }, f.p95Ms / 1000);
        if (f.errorRate24h !== null) errors.set({ target: f.target }, f.errorRate24h);
        if (f.uptime24h !== null) uptime.set({ target: f.target, window: '24h' }, f.uptime24h);
        if (f.uptime30d !== null) uptime.set({ target: f.target, window: '30d' }, f.uptime30d);
      }
    },
  });
  const errors = new Gauge({ name: 'hotpot_probe_error_ratio', help: "Share of a target's probes that failed over 24 h", labelNames: ['target'] as const, registers });
  const uptime = new Gauge({ name: 'hotpot_probe_uptime_ratio', help: "Share of a target's probes that passed, by window (24h, 30d)", labelNames: ['target', 'window'] as const, registers });
}
