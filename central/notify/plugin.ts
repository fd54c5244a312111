import { whileLeader } from '../leader.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { Notifier } from './notifier.js';
import { registerNotifyRoutes } from './routes.js';
import { NOTIFY_MIGRATIONS } from './store.js';

/** The escalation ladder (leader only: one replica pages people), signed ack links, maintenance silences and each incident's notifications. */
export class NotifyPlugin implements CentralPlugin<'notify'> {
  readonly name = 'notify';
  readonly migrations = NOTIFY_MIGRATIONS;
  readonly prefix = '/api';
  private detach: (() => Promise<void>) | undefined;

  start(ctx: PluginContext<'notify'>): void {
    const notifier = new Notifier({
      config: ctx.config,
      db: ctx.db,
      feed: ctx.incidents,
      sink: ctx.incidents,
      registry: ctx.metrics.registry,
      clock: ctx.clock,
      log: ctx.log,
      groupOf: (pointId) => ctx.fleet.groupOf(pointId),
    });
    registerNotifyRoutes(ctx.routes, notifier, { db: ctx.db, clock: ctx.clock });
    this.detach = whileLeader(ctx.leader, ctx.log, () => notifier.start(), () => notifier.stop());
  }

  async stop(): Promise<void> {
    await this.detach?.();
  }
}
