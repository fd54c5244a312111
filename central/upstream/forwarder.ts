import { HttpError } from '../../lib/http.js';
import { whileLeader } from '../leader.js';
import type { CentralContext, CentralModule } from '../module.js';
import type { UpstreamGate } from './gate.js';
import { registerForwardingRoutes } from './http.js';
import { ForwardLoop } from './loop.js';
import { registerForwardMetrics } from './metrics.js';
import { ForwardStore, openForwardDatabase } from './store.js';

export interface ForwarderDeps {
  /** The main-server runbook's verdict. Without one, forwarding still pauses itself after repeated failures. */
  gate?: UpstreamGate;
}

/**
 * Central module: forwards every committed order to the main server (`upstream.url`),
 * idempotently (our order id is the sale id and the Idempotency-Key), through its outages.
 * With replicas only the leader forwards, reading every replica's orders from the shared store.
 */
export class Forwarder implements CentralModule {
  readonly name = 'forwarder';
  private loop: ForwardLoop | undefined;
  private detach: (() => Promise<void>) | undefined;
  private db: ReturnType<typeof openForwardDatabase> | undefined;

  constructor(private readonly deps: ForwarderDeps = {}) {}

  start(ctx: CentralContext): void {
    const { url } = ctx.config.upstream;
    if (!url) throw new Error('upstream.url is not set: nothing to forward to');
    const db = openForwardDatabase(ctx.store.db.name);
    this.db = db;
    const store = new ForwardStore(db);
    const log = ctx.log.child({ part: 'forwarder' });
    const metrics = registerForwardMetrics(ctx.metrics.registry, {
      backlog: () => store.backlog(ctx.clock.now()),
      paused: () => this.loop?.isPaused ?? false,
    });
    const startLoop = () => {
      if (this.loop) return;
      this.loop = new ForwardLoop({
        config: { ...ctx.config.upstream, url },
        orders: ctx.orders,
        store,
        clock: ctx.clock,
        log,
        incidents: ctx.incidents,
        gate: this.deps.gate,
        random: Math.random,
        onOutcome: (kind) => metrics.attempts.inc({ result: kind }),
      });
      this.loop.start();
    };
    const onCommitted = () => this.loop?.pull();
    ctx.events.on('ordersCommitted', onCommitted);
    const follow = whileLeader(ctx.leader, log, startLoop, () => this.stopLoop());
    this.detach = async () => {
      ctx.events.off('ordersCommitted', onCommitted);
      await follow();
    };
    registerForwardingRoutes(ctx.router, () => this.leadingLoop());
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
    if (!this.loop) throw new HttpError(503, { error: 'this central replica is not the leader: forwarding runs on the leader' });
    return this.loop;
  }
}
