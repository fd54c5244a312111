import type { Logger } from '../../lib/log.js';
import { whileLeader } from '../leader.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import type { TargetGate } from '../recovery/gate.js';
import { adoptLocalForwardState } from './adopt.js';
import { BOOKS_META_KEY, BooksCheck, readBooksReport } from './books.js';
import { registerForwardingRoutes } from './http.js';
import { ForwardLoop } from './loop.js';
import { registerForwardMetrics } from './metrics.js';
import { forwardBacklog, type ForwardStore, type RedriveFilter, type Redriven } from './store.js';
import { PostgresForwardStore } from './store-postgres.js';
import { SqliteForwardStore, UPSTREAM_MIGRATIONS, openForwardDatabase } from './store-sqlite.js';
import { endpointsOf, forwardingView, sharedLive } from './view.js';

export interface UpstreamDeps {
  /** Stands in for the main-server runbook's verdict (tests); otherwise the recovery plugin's gate. */
  gate?: TargetGate;
}

/**
 * Forwards every committed order to the main server (`upstream.url`), idempotently (our order id
 * is the sale id and the Idempotency-Key), through its outages, pausing while the main-server
 * runbook says it is down. With replicas only the leader forwards, reading every replica's orders
 * and keeping the forward state in the PostgreSQL they share, so any replica answers the
 * forwarding API and a new leader resumes where the old one stopped. After a database restore it
 * re-forwards what the dump lacks; with `upstream.lookup` it proves the main server's books daily.
 * Without `upstream.url` it only reports the backlog left from earlier.
 */
export class UpstreamPlugin implements CentralPlugin<'upstream'> {
  readonly name = 'upstream';
  readonly dependencies;
  readonly migrations = UPSTREAM_MIGRATIONS;
  private loop: ForwardLoop | undefined;
  private books: BooksCheck | undefined;
  private store: ForwardStore | undefined;
  private detach: (() => Promise<void>) | undefined;
  private unregisterRestoreHook: (() => void) | undefined;
  private db: ReturnType<typeof openForwardDatabase> | undefined;

  constructor(private readonly deps: UpstreamDeps = {}) {
    this.dependencies = deps.gate ? ([] as const) : (['recovery'] as const);
  }

  start(ctx: PluginContext<'upstream'>): void {
    const store = this.openStore(ctx);
    ctx.extendOrderStats('backlog', (now) => forwardBacklog(store, now));
    const { url, lookup } = ctx.config;
    if (!url) return;
    const config = { ...ctx.config, url };
    const recovery = this.deps.gate ? undefined : ctx.dependency('recovery');
    const gate = this.deps.gate ?? recovery!.gate('main-server');
    const live = async () => this.loop?.live() ?? (await sharedLive(store));
    const metrics = registerForwardMetrics(ctx.metrics.registry, {
      backlog: async () => store.backlog(ctx.clock.now()),
      voids: async () => store.voidBacklog(),
      paused: async () => Boolean((await live())?.paused),
      books: async () => readBooksReport(await store.meta(BOOKS_META_KEY)),
      endpoints: async () => endpointsOf(config, await live()),
    });
    const lead = async () => {
      if (this.loop) return;
      await this.adoptLocalState(ctx);
      this.loop = new ForwardLoop({
        config,
        replica: ctx.central.replica,
        orders: ctx.orders,
        store,
        clock: ctx.clock,
        log: ctx.log,
        incidents: ctx.incidents,
        gate,
        random: Math.random,
        onOutcome: (kind, voided) => (voided ? metrics.voidAttempts : metrics.attempts).inc({ result: kind }),
      });
      this.loop.start();
      if (lookup) {
        this.books = new BooksCheck({ lookup, upstream: config, store, clock: ctx.clock, log: ctx.log.child({ part: 'books' }), incidents: ctx.incidents, timeZone: ctx.central.timeZone });
        this.books.start();
      }
    };
    const tellLeader = coalesced(() => store.signal({ kind: 'committed' }), (error) => ctx.log.warn({ err: error.message }, 'could not tell the leader about new orders; it finds them at its next check'));
    ctx.bus.onOrdersCommitted(this, () => (this.loop ? this.loop.pull() : tellLeader()));
    this.detach = whileLeader(ctx.leader, ctx.log, lead, () => this.stopLeading());
    const reforward = (since: number, by: string) => reforwardSince(store, since, by, ctx.clock.now(), ctx.log);
    registerForwardingRoutes(ctx.routes, {
      view: async () => forwardingView(store, config, await live(), ctx.central.replica, ctx.clock.now()),
      redrive: (filter, by) => redrive(store, filter, by, ctx.clock.now(), ctx.log),
      reforward: async (since, by) => (await reforward(since, by)).count,
      requestBooksCheck: lookup ? async (pointId) => store.signal({ kind: 'books', pointId }) : undefined,
    });
    // A restore of the main server's database loses what was recorded after its dump was taken.
    this.unregisterRestoreHook = recovery?.onRestored('upstream', (restored) =>
      reforward(restored.takenAt, `runbook ${restored.procedure} run ${restored.runId} (restored backup ${restored.backupId})`),
    );
  }

  async stop(): Promise<void> {
    this.unregisterRestoreHook?.();
    await this.detach?.();
    await this.store?.close();
    this.db?.close();
  }

  /** PostgreSQL when replicas share `database.url`, else a second connection to this central's SQLite. */
  private openStore(ctx: PluginContext<'upstream'>): ForwardStore {
    const url = ctx.central.databaseUrl;
    if (url) {
      this.store = new PostgresForwardStore({ url, log: ctx.log });
    } else {
      this.db = openForwardDatabase(ctx.db.name);
      this.store = new SqliteForwardStore(this.db);
    }
    return this.store;
  }

  /** With `database.url`, once: the shared state starts from this replica's own (see adopt.ts). */
  private async adoptLocalState(ctx: PluginContext<'upstream'>): Promise<void> {
    if (!(this.store instanceof PostgresForwardStore)) return;
    const local = openForwardDatabase(ctx.db.name);
    try {
      await adoptLocalForwardState(local, this.store, ctx.log);
    } catch (error) {
      ctx.log.error({ err: (error as Error).message }, "could not start the shared forward state from this replica's own; orders it does not know are sent again");
    } finally {
      local.close();
    }
  }

  private async stopLeading(): Promise<void> {
    const [loop, books] = [this.loop, this.books];
    this.loop = undefined;
    this.books = undefined;
    await books?.stop();
    await loop?.stop();
  }
}

/** Parked orders and voids back to the queue, audited with who asked; the leader's loop hears the store's signal and sends them. */
async function redrive(store: ForwardStore, filter: RedriveFilter, by: string, now: number, log: Logger): Promise<Redriven> {
  const redriven = await store.redrive(filter, now);
  const { orders, voids } = redriven;
  if (orders.length + voids.length) {
    const scope = filter.ids ? `${filter.ids.length} requested id(s)` : filter.pointId ? `point ${filter.pointId}` : 'every point';
    const detail = `re-drove ${orders.length} parked order(s)${voids.length ? ` and ${voids.length} parked void(s)` : ''} of ${scope}`;
    await store.audit({ at: now, by, action: 'redrive', count: orders.length + voids.length, detail });
    log.info({ orders: orders.length, voids: voids.length, pointId: filter.pointId ?? null, by }, 'parked orders and voids re-driven');
  }
  return redriven;
}

/** Every order forwarded at or after `since` back to the queue (the main server lost them), audited. */
async function reforwardSince(store: ForwardStore, since: number, by: string, now: number, log: Logger): Promise<{ count: number; detail: string }> {
  const count = await store.reforward({ since }, now);
  const detail = `re-forwarded ${count} order(s) forwarded since ${new Date(since).toISOString()}`;
  await store.audit({ at: now, by, action: 'reforward', count, detail });
  log.warn({ orders: count, since, by }, 'orders re-forwarded to the main server');
  return { count, detail };
}

/** `work` once at a time: calls while it runs make one more run after it, not one each. */
function coalesced(work: () => Promise<unknown> | unknown, onError: (error: Error) => void): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    Promise.resolve()
      .then(work)
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
}
