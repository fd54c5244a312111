import type Database from 'better-sqlite3';
import type { Handler, Hook, Router } from '../lib/http.js';
import type { Logger } from '../lib/log.js';
import type { Clock } from '../lib/clock.js';
import { withTimeout } from '../lib/timeout.js';
import type { MqttLink } from '../sync/mqtt.js';
import type { CentralConfig } from './config.js';
import type { EventBus } from './events.js';
import type { Fleet } from './fleet.js';
import type { Incidents } from './incidents/store.js';
import type { Leadership } from './leader.js';
import type { CentralMetrics } from './metrics.js';
import { migrate } from './migrations.js';
import { ACCESS, type Access, type CentralPlugin, type PluginApis, type PluginContext, type PluginName, type PluginRoutes, type RouteMeta } from './plugin.js';
import type { CentralStore } from './store/types.js';

export type OrderStatsExtension = (now: number) => unknown;

/** The core's parts the host hands to plugins, narrowed per plugin. */
export interface CoreParts {
  orders: CentralStore;
  leader: Leadership;
  fleet: Fleet;
  incidents: Incidents;
  bus: EventBus;
  db: Database.Database;
  link: MqttLink;
  metrics: CentralMetrics;
  httpAddress(): { host: string; port: number } | undefined;
  revokeBrokerLogin: ((username: string) => boolean) | undefined;
  /** Adds a key to `GET /api/orders/stats`. */
  extendOrderStats(key: string, read: OrderStatsExtension): void;
}

/** A route declared without a known access level: a programming error that stops central at start. */
export class RouteDeclarationError extends Error {
  override name = 'RouteDeclarationError';
}

/** Each plugin stops within this, so all of them stay inside central's stop budget. */
export const PLUGIN_STOP_MS = 10_000;

/**
 * Orders plugins so each comes after its dependencies (otherwise in the order listed); a
 * dependency that is not listed, or a cycle, is a programming error.
 */
export function startOrder(plugins: readonly CentralPlugin[]): CentralPlugin[] {
  const byName = new Map(plugins.map((plugin) => [plugin.name, plugin]));
  if (byName.size !== plugins.length) throw new Error('a plugin is listed twice');
  const ordered: CentralPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (plugin: CentralPlugin, path: string[]) => {
    if (state.get(plugin.name) === 'done') return;
    if (state.get(plugin.name) === 'visiting') throw new Error(`plugins depend on each other in a cycle: ${[...path, plugin.name].join(' → ')}`);
    state.set(plugin.name, 'visiting');
    for (const name of plugin.dependencies ?? []) {
      const dependency = byName.get(name);
      if (!dependency) throw new Error(`plugin ${plugin.name} depends on ${name}, which is not in central's plugin list`);
      visit(dependency, [...path, plugin.name]);
    }
    state.set(plugin.name, 'done');
    ordered.push(plugin);
  };
  for (const plugin of plugins) visit(plugin, []);
  return ordered;
}

/**
 * Starts central's plugins: in dependency order, each guarded (a plugin that fails is left out
 * and so are the plugins that depend on it), with its config slice, its migrations applied, its
 * routes under its prefix; stops them in reverse order and drops their bus listeners.
 */
export class PluginHost {
  private readonly ordered: CentralPlugin[];
  private readonly started: CentralPlugin[] = [];
  private readonly apis = new Map<PluginName, unknown>();
  private bus: EventBus | undefined;

  constructor(
    plugins: readonly CentralPlugin[],
    private readonly o: { config: CentralConfig; log: Logger; clock: Clock; router: Router<RouteMeta> },
  ) {
    this.ordered = startOrder(plugins);
  }

  running(): PluginName[] {
    return this.started.map((plugin) => plugin.name);
  }

  /** A running plugin's API (undefined when it is not running). */
  api<N extends PluginName & keyof PluginApis>(name: N): PluginApis[N] | undefined {
    return this.apis.get(name) as PluginApis[N] | undefined;
  }

  async start(core: CoreParts): Promise<void> {
    this.bus = core.bus;
    for (const plugin of this.ordered) {
      const log = this.o.log.child({ plugin: plugin.name });
      const config = (this.o.config as Record<string, unknown>)[plugin.name];
      if (plugin.enabled && !plugin.enabled(config as never)) {
        log.info('plugin off by its config');
        continue;
      }
      const missing = (plugin.dependencies ?? []).filter((name) => !this.apis.has(name));
      if (missing.length) {
        log.error({ missing }, `plugin not started: it needs ${missing.join(', ')}, which did not start`);
        continue;
      }
      try {
        if (plugin.migrations) migrate(core.db, plugin.name, plugin.migrations, this.o.clock.now());
        const api = await plugin.start(this.context(plugin, config, log, core) as never);
        this.apis.set(plugin.name, api);
        this.started.push(plugin);
      } catch (error) {
        if (error instanceof RouteDeclarationError) throw error;
        // One failing plugin must not take central (and order ingest) down.
        log.error({ err: error }, 'plugin failed to start; central runs without it');
      }
    }
  }

  async stop(): Promise<void> {
    for (const plugin of this.started.splice(0).reverse()) {
      try {
        await withTimeout(Promise.resolve(plugin.stop()), PLUGIN_STOP_MS, `plugin ${plugin.name} to stop`);
      } catch (error) {
        this.o.log.warn({ err: error, plugin: plugin.name }, 'plugin failed to stop cleanly');
      }
      // Plugins register their listeners under themselves: a stopped plugin hears nothing more.
      this.bus?.removeListeners(plugin);
      this.apis.delete(plugin.name);
    }
  }

  private context(plugin: CentralPlugin, config: unknown, log: Logger, core: CoreParts): PluginContext<PluginName> {
    const link = core.link;
    return {
      config: config as never,
      central: {
        dataDir: this.o.config.dataDir,
        timeZone: this.o.config.timeZone,
        replica: this.o.config.mqtt.clientId,
        databaseUrl: this.o.config.database.url,
        httpAddress: core.httpAddress,
        revokeBrokerLogin: core.revokeBrokerLogin,
      },
      log,
      clock: this.o.clock,
      db: core.db,
      orders: core.orders,
      leader: core.leader,
      routes: pluginRoutes(this.o.router, plugin.name, plugin.prefix ?? '/api'),
      mqtt: {
        get connected() {
          return link.connected;
        },
        publish: (kind, params, payload) => link.publish(kind, params, payload),
      },
      fleet: core.fleet,
      incidents: core.incidents,
      metrics: { registry: core.metrics.registry, rejected: (reason) => core.metrics.rejected.inc({ reason }) },
      bus: core.bus,
      extendOrderStats: core.extendOrderStats,
      dependency: <D extends PluginName & keyof PluginApis>(name: D) => {
        if (!(plugin.dependencies ?? []).includes(name)) throw new Error(`plugin ${plugin.name} uses ${name} without listing it in its dependencies`);
        return this.apis.get(name) as PluginApis[D];
      },
    };
  }
}

/**
 * A plugin's routes on central's router: under its prefix, each with its declared access (a route
 * without one is refused: central must not start with an open route by mistake), behind the
 * plugin's own hooks, which run after the core's and only for its routes.
 */
export function pluginRoutes(router: Router<RouteMeta>, owner: string, prefix: string): PluginRoutes {
  const hooks: Hook<RouteMeta>[] = [];
  const add = (method: string, path: string, access: Access, handler: Handler, body: 'json' | 'form' = 'json') => {
    const full = `${prefix}${path}`;
    if (!ACCESS.includes(access)) throw new RouteDeclarationError(`${owner} declares ${method} ${full} without an access level (one of ${ACCESS.join(', ')})`);
    const route = { method, path: full, meta: { access, owner }, body };
    router.add(method, full, { meta: route.meta, body }, async (req, res) => {
      for (const hook of hooks) {
        const early = await hook(req, route);
        if (early) return early;
      }
      return handler(req, res);
    });
  };
  return {
    get: (path, access, handler) => add('GET', path, access, handler),
    post: (path, access, handler, options) => add('POST', path, access, handler, options?.body),
    put: (path, access, handler) => add('PUT', path, access, handler),
    delete: (path, access, handler) => add('DELETE', path, access, handler),
    addHook: (hook) => void hooks.push(hook),
  };
}
