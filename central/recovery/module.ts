import { hostname } from 'node:os';
import { withTimeout } from '../../lib/timeout.js';
import { BackupService } from '../backups/service.js';
import type { BackupsConfig } from '../backups/config.js';
import type { UpstreamGate } from '../upstream/gate.js';
import { whileLeader } from '../leader.js';
import type { CentralContext, CentralModule } from '../module.js';
import type { RecoveryConfig } from './config.js';
import { RecoveryEngine } from './engine.js';
import { HostWatch, hostSampler } from './host-watch.js';
import { registerRecoveryRoutes } from './http.js';

/**
 * Central module: the runbook engine and backups (leader only: they act on shared systems), the
 * host self-watch (every replica watches its own host) and their HTTP routes.
 */
export class RecoveryModule implements CentralModule {
  readonly name = 'recovery';
  private engine: RecoveryEngine | undefined;
  private backups: BackupService | null = null;
  private hostWatch: HostWatch | undefined;
  private detach: (() => Promise<void>) | undefined;
  /** Gates handed out before start() learn the engine's verdict once it exists. */
  private readonly gates: Array<{ target: string; up: boolean; listeners: Set<(up: boolean) => void> }> = [];

  constructor(private readonly config: { recovery: RecoveryConfig; backups: BackupsConfig }) {}

  /** For `new Forwarder({ gate })`: usable before start(); up until the runbook says otherwise. */
  gate(target = 'main-server'): UpstreamGate {
    const entry = { target, up: true, listeners: new Set<(up: boolean) => void>() };
    this.gates.push(entry);
    return {
      isUp: () => entry.up,
      onChange: (listener) => {
        entry.listeners.add(listener);
        return () => entry.listeners.delete(listener);
      },
    };
  }

  start(ctx: CentralContext): void {
    const log = ctx.log.child({ part: 'recovery' });
    const { recovery, backups } = this.config;
    const hasBackups = Boolean(backups.postgres ?? backups.config ?? backups.logs);
    this.backups = hasBackups ? new BackupService({ config: backups, db: ctx.store.db, incidents: ctx.incidents, clock: ctx.clock, log: log.child({ part: 'backups' }) }) : null;
    const engine = new RecoveryEngine({ config: recovery, db: ctx.store.db, incidents: ctx.incidents, backups: this.backups ?? undefined, clock: ctx.clock, log });
    this.engine = engine;
    for (const entry of this.gates) {
      const gate = engine.gate(entry.target);
      gate.onChange((up) => {
        entry.up = up;
        for (const listener of entry.listeners) listener(up);
      });
    }
    registerRecoveryRoutes(ctx.router, engine, this.backups);
    this.hostWatch = new HostWatch({ config: recovery.host, incidents: ctx.incidents, log, keyPrefix: `central:${hostname()}`, sample: hostSampler(ctx.config.dataDir) });
    this.hostWatch.start();

    this.detach = whileLeader(ctx.leader, log, () => this.startSingletons(), () => this.stopSingletons());
  }

  async stop(): Promise<void> {
    this.hostWatch?.stop();
    await this.detach?.();
  }

  private async startSingletons(): Promise<void> {
    this.engine?.start();
    await this.backups?.start();
  }

  private async stopSingletons(): Promise<void> {
    await this.engine?.stop();
    // A long pg_dump finishes on its own (its outcome is recorded); do not hold central's shutdown for it.
    await withTimeout(this.backups?.stop() ?? Promise.resolve(), 10_000, 'running backups to finish').catch(() => undefined);
  }
}
