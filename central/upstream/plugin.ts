import { CentralErrors } from '../errors.js';
import { whileLeader } from '../leader.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import type { TargetGate } from '../recovery/gate.js';
import { registerForwardingRoutes } from './http.js';
import { ForwardLoop } from './loop.js';
import { registerForwardMetrics } from './metrics.js';
import { ForwardStore, UPSTREAM_MIGRATIONS, forwardBacklog, openForwardDatabase } from './store.js';

export interface UpstreamDeps {
  /** Stands in for the main-server runbook's verdict (tests); otherwise the recovery plugin's gate. */
  gate?: TargetGate;
}

/**
 * Forwards every committed order to the main server (`upstream.url`), idempotently (our order id
 * is the sale id and the Idempotency-Key), through its outages, pausing while the main-server
 * runbook says it is down. With replicas only the leader forwards, reading every replica's orders
 * from the shared store. Without `upstream.url` it only reports the backlog left from earlier.
 */
export class UpstreamPlugin implements CentralPlugin<'upstream'> {
  readonly name = 'upstream';
  readonly dependencies;
  readonly migrations = UPSTREAM_MIGRATIONS;
  private loop: ForwardLoop | undefined;
  private detach: (() => Promise<void>) | undefined;
  private db: ReturnType<typeof openForwardDatabase> | undefined;

  constructor(private readonly deps: UpstreamDeps = {}) {
    this.dependencies = deps.gate ? ([] as const) : (['recovery'] as const);
  }

  start(ctx: PluginContext<'upstream'>): void {
    const { url } = ctx.config;
    ctx.extendOrderStats('backlog', (now) => forwardBacklog(ctx.db, now));
    if (!url) return;
    const db = openForwardDatabase(ctx.db.name);
    this.db = db;
    const store = new ForwardStore(db);
    const gate = this.deps.gate ?? ctx.dependency('recovery').gate('main-server');
    const metrics = registerForwardMetrics(ctx.metrics.registry, {
      backlog: () => store.backlog(ctx.clock.now()),
      paused: () => this.loop?.isPaused ?? false,
    });
    const startLoop = () => {
      if (this.loop) return;
      this.loop = new ForwardLoop({
        config: { ...ctx.config, url },
        orders: ctx.orders,
        store,
        clock: ctx.clock,
        log: ctx.log,
        incidents: ctx.incidents,
        gate,
        random: Math.random,
        onOutcome: (kind) => metrics.attempts.inc({ result: kind }),
      });
      this.loop.start();
    };
    ctx.bus.onOrdersCommitted(this, () => this.loop?.pull());
    this.detach = whileLeader(ctx.leader, ctx.log, startLoop, () => this.stopLoop());
    registerForwardingRoutes(ctx.routes, () => this.leadingLoop());
  }

  async stop(): Promise<void> {
    await this.detach?.();
    this.db?.close();
  }

  private async stopLoop(): Promise<void> {
    const loop = this.loop;
    this.loop = undefined;
    await loop?.stop();
  }

  private leadingLoop(): ForwardLoop {
    if (!this.loop) throw CentralErrors.notLeader('forwarding');
    return this.loop;
  }
}
