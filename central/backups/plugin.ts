import { coalesce, withTimeout } from '../../lib/timeout.js';
import { whileLeader } from '../leader.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { BACKUP_KINDS } from './config.js';
import { registerBackupRoutes } from './http.js';
import { BackupService } from './service.js';
import { BACKUPS_MIGRATIONS } from './store.js';

const PUSH_AFTER_MS = 100;

/** What the backups plugin offers the runbooks: the service that restores from verified dumps (null: none configured). */
export interface BackupsApi {
  service: BackupService | null;
}

declare module '../plugin.js' {
  interface PluginApis {
    backups: BackupsApi;
  }
}

/** Scheduled and on-demand backups (leader only: they act on shared systems), `GET /api/backups`, `POST /api/backups/run`. */
export class BackupsPlugin implements CentralPlugin<'backups'> {
  readonly name = 'backups';
  readonly migrations = BACKUPS_MIGRATIONS;
  readonly prefix = '/api/backups';
  private detach: (() => Promise<void>) | undefined;
  private stopPushing: (() => void) | undefined;

  start(ctx: PluginContext<'backups'>): BackupsApi {
    const config = ctx.config;
    const configured = BACKUP_KINDS.some((kind) => config[kind] !== undefined);
    const service = configured ? new BackupService({ config, db: ctx.db, incidents: ctx.incidents, clock: ctx.clock, log: ctx.log, timeZone: ctx.central.timeZone }) : null;
    registerBackupRoutes(ctx.routes, service);
    if (service) {
      // Open dashboards follow a backup live: its phases, its bytes, its verification.
      const push = coalesce(() => ctx.bus.emitDashboardPush({ type: 'backups', data: service.overview() }), PUSH_AFTER_MS);
      const unsubscribe = service.onChange(() => push.trigger());
      this.stopPushing = () => {
        unsubscribe();
        push.cancel();
      };
      this.detach = whileLeader(
        ctx.leader,
        ctx.log,
        () => service.start(),
        // A long pg_dump finishes on its own (its outcome is recorded); do not hold central's shutdown for it.
        () => withTimeout(service.stop(), 8000, 'running backups to finish').catch(() => undefined),
      );
    }
    return { service };
  }

  async stop(): Promise<void> {
    this.stopPushing?.();
    await this.detach?.();
  }
}
