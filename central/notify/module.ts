import { whileLeader } from '../leader.js';
import type { CentralContext, CentralModule } from '../module.js';
import type { NotifyConfig } from './config.js';
import { Notifier } from './notifier.js';
import { registerNotifyRoutes } from './routes.js';

/** Central module: the escalation ladder (leader only: one replica pages people) and ack links. */
export class NotifyModule implements CentralModule {
  readonly name = 'notify';
  private detach: (() => Promise<void>) | undefined;

  constructor(private readonly config: NotifyConfig) {}

  start(ctx: CentralContext): void {
    const log = ctx.log.child({ part: 'notify' });
    const notifier = new Notifier({
      config: this.config,
      db: ctx.store.db,
      feed: ctx.incidents,
      sink: ctx.incidents,
      registry: ctx.metrics.registry,
      clock: ctx.clock,
      log,
    });
    registerNotifyRoutes(ctx.router, notifier);
    this.detach = whileLeader(ctx.leader, log, () => notifier.start(), () => notifier.stop());
  }

  async stop(): Promise<void> {
    await this.detach?.();
  }
}
