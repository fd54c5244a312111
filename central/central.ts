import { CommandError } from '../lib/cli.js';
import { join } from 'node:path';
import type { Logger } from '../lib/log.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { VERSION } from '../lib/version.js';
import { stopSteps } from '../lib/shutdown.js';
import { listen, Router, type StartedServer } from '../lib/http.js';
import { MqttLink } from '../sync/mqtt.js';
import { Ingest } from '../sync/ingest.js';
import { decodeMessage, filterOf, sharedFilter, CENTRAL_KINDS, ROOT, type InboundMessage } from '../sync/protocol.js';
import type { OrderRecord, VoidRecord } from '../sync/schemas.js';
import type { CentralConfig } from './config.js';
import { brokerPasswordFile, readPasswordLogins, startEmbeddedBroker, type EmbeddedBroker } from './broker/index.js';
import { EventBus } from './events.js';
import { Fleet } from './fleet.js';
import { createMetrics, registerFleetMetrics, type CentralMetrics } from './metrics.js';
import { Incidents, INCIDENT_MIGRATIONS } from './incidents/index.js';
import { migrate } from './migrations.js';
import { SqliteCentralStore } from './store/sqlite.js';
import { PostgresCentralStore } from './store/postgres.js';
import type { CentralStore, CommitResult } from './store/types.js';
import type { Conflict } from '../sync/digest.js';
import { PgLeader, SoleLeader, type Leadership } from './leader.js';
import type { CentralPlugin, PluginApis, PluginName, RouteMeta } from './plugin.js';
import { PluginHost, type OrderStatsExtension } from './plugin-host.js';
import { registerCoreRoutes } from './http.js';
import { Access } from './access/access.js';
import { accessGate, addressList, viaTls } from './access/gate.js';
import { registerAccessRoutes } from './access/routes.js';
import { credentialSources, KeyAge } from './access/key-age.js';
import { PostgresAccessStore, SqliteAccessStore, type AccessStore } from './access/store.js';

export interface CentralDeps {
  log: Logger;
  clock?: Clock;
  plugins?: CentralPlugin[];
}

/**
 * How long each part of central may take to stop, in order. Together they stay under the unit's
 * TimeoutStopSec (30 s, checked by a test), so systemd never has to SIGKILL a stopping central.
 */
export const STOP_BUDGET_MS = { plugins: 12_000, announceOffline: 2000, mqtt: 3000, http: 3000, broker: 3000, database: 3000 } as const;

/** The central service: broker (embedded or joined), ingest, store, fleet view, incidents, HTTP, plugins. */
export class Central {
  /** Local SQLite: the orders of a single central, and every plugin's own tables. */
  readonly store: SqliteCentralStore;
  /** The franchise's orders: `store`, or PostgreSQL shared by replicas (`database.url`). */
  readonly orders: CentralStore;
  /** Who does singleton work: always this central on SQLite, one replica on PostgreSQL. */
  readonly leader: Leadership;
  private readonly postgres: PostgresCentralStore | undefined;
  private stopping = false;
  readonly fleet: Fleet;
  readonly incidents: Incidents;
  readonly metrics: CentralMetrics;
  readonly router = new Router<RouteMeta>();
  readonly bus: EventBus;
  /** Named users, tokens and sessions: who may do what at central. */
  readonly access: Access;
  private readonly accessStore: AccessStore;
  /** Every credential's age and expiry. */
  readonly keyAge: KeyAge;
  private broker: EmbeddedBroker | undefined;
  private link: MqttLink | undefined;
  private http: StartedServer | undefined;
  private readonly plugins: PluginHost;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly startedAt: number;
  private readonly orderStatsExtensions = new Map<string, OrderStatsExtension>();

  constructor(readonly config: CentralConfig, deps: CentralDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log;
    this.startedAt = this.clock.now();
    this.bus = new EventBus(this.log);
    this.metrics = createMetrics();
    this.store = new SqliteCentralStore(join(config.dataDir, 'central.db'));
    const { url, poolMax, leaderPollMs } = config.database;
    this.postgres = url ? new PostgresCentralStore({ url, poolMax, log: this.log }) : undefined;
    this.orders = this.postgres ?? this.store;
    this.leader = url ? new PgLeader({ url, log: this.log, name: config.mqtt.clientId, pollMs: leaderPollMs }) : new SoleLeader();
    this.fleet = new Fleet({
      log: this.log,
      clock: this.clock,
      staleAfterMs: config.fleet.staleAfterMs,
      groups: config.fleet.groups,
      onChange: (pointId, cause) => this.bus.emitPointChanged({ pointId, cause }),
      onReject: (reason) => this.metrics.rejected.inc({ reason }),
      onLateWill: () => this.metrics.lateWills.inc(),
    });
    migrate(this.store.db, 'incidents', INCIDENT_MIGRATIONS, this.clock.now());
    // With replicas every one must know the same people: users live where the orders do.
    this.accessStore = url ? new PostgresAccessStore(url) : new SqliteAccessStore(this.store.db, this.clock.now());
    this.access = new Access({ store: this.accessStore, clock: this.clock, log: this.log.child({ part: 'access' }), sessionTtlMs: config.http.sessionTtl, dataDir: config.dataDir });
    this.incidents = new Incidents(this.store.db, this.clock, this.log);
    registerFleetMetrics(this.metrics, this.fleet, this.incidents, this.clock);
    this.keyAge = new KeyAge({
      db: this.store.db,
      clock: this.clock,
      log: this.log.child({ part: 'keys' }),
      incidents: this.incidents,
      registry: this.metrics.registry,
      config: config.keys,
      sources: credentialSources(config, () => readPasswordLogins(brokerPasswordFile(config))),
      tokens: () => this.accessStore.listTokens(),
    });
    this.plugins = new PluginHost(deps.plugins ?? [], { config, log: this.log, clock: this.clock, router: this.router });
  }

  now(): number {
    return this.clock.now();
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  get brokerUrl(): string {
    return this.config.mqtt.url ?? this.broker!.url;
  }

  get mqttConnected(): boolean {
    return this.link?.connected ?? false;
  }

  /** A running plugin's API, e.g. `api('recovery')?.gate('main-server')`. */
  api<N extends PluginName & keyof PluginApis>(name: N): PluginApis[N] | undefined {
    return this.plugins.api(name);
  }

  /** The names of the plugins that started, in start order. */
  get runningPlugins(): PluginName[] {
    return this.plugins.running();
  }

  async start(): Promise<void> {
    const { config } = this;
    if (!config.mqtt.url) this.broker = await startEmbeddedBroker(config, this.log);
    // PostgreSQL down at start: central still starts; commits fail (nothing acked) until it is back.
    await this.postgres?.ready().catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'PostgreSQL order store not ready yet; retrying on each commit'));
    const link = new MqttLink({
      url: this.brokerUrl,
      clientId: config.mqtt.clientId,
      ...(this.broker?.centralLogin ?? { username: config.mqtt.username, password: config.mqtt.password }),
      ca: config.mqtt.ca,
      cert: config.mqtt.cert,
      key: config.mqtt.key,
      keepaliveSeconds: config.mqtt.keepalive,
      clean: false,
      protocolVersion: config.mqtt.sharedGroup ? 5 : 4,
      log: this.log,
      will: () => ({ kind: 'centralStatus', params: {}, payload: { online: false, ts: this.clock.now() } }),
    });
    this.link = link;
    const ingest = new Ingest({
      store: { commitOrders: (orders, receivedAt, voids) => this.commit(orders, receivedAt, voids) },
      publishAck: (pointId, ids, conflicts) => link.publish('pointAcks', { pointId }, { ts: this.clock.now(), ids, conflicts }),
      log: this.log,
      clock: this.clock,
      onReject: (reason) => this.metrics.rejected.inc({ reason }),
      onCommitted: (inserted, received, conflicts) => {
        this.metrics.ordersIngested.inc({ result: 'inserted' }, inserted);
        this.metrics.ordersIngested.inc({ result: 'duplicate' }, received - inserted - conflicts.length);
        this.metrics.ordersIngested.inc({ result: 'conflict' }, conflicts.length);
        this.reportConflicts(conflicts);
      },
    });
    link.onMessage((topic, payload) => this.route(ingest, topic, payload));
    link.on('connect', (connection: number) => {
      this.publishOnline(link);
      this.bus.emitBrokerConnected({ connection });
    });
    await link.subscribe(centralSubscriptions(config.mqtt.sharedGroup));
    link.start();
    await this.leader.start();

    this.guardRoutes();
    registerCoreRoutes(this);
    this.fleet.start();
    await this.plugins.start({
      orders: this.orders,
      leader: this.leader,
      fleet: this.fleet,
      incidents: this.incidents,
      bus: this.bus,
      db: this.store.db,
      link,
      metrics: this.metrics,
      httpAddress: () => (this.http ? { host: this.http.host, port: this.http.port } : undefined),
      revokeBrokerLogin: this.broker ? (username) => this.broker!.revokeLogin(username) : undefined,
      extendOrderStats: (key, read) => this.orderStatsExtensions.set(key, read),
    });
    this.http = await listen(this.router, config.http.host, config.http.port, this.log);
    await this.keyAge.start();
    const setupFile = await this.access.prepareSetup().catch((error: unknown) => {
      this.log.error({ err: (error as Error).message }, 'could not read central users; logins fail until the user store answers');
      return null;
    });
    if (setupFile) this.log.warn({ path: '/setup', tokenFile: setupFile }, 'central has no users yet: open /setup and create the first admin with the token in tokenFile');
    // An external broker may come later (central retries); its own embedded one must answer now, or ingest is dead.
    await link.waitConnected(10_000).catch(() => {
      if (this.broker) throw new CommandError(`central cannot connect to its own embedded broker at ${this.brokerUrl} within 10 s, so it would ingest nothing; check broker.host and broker.port`);
      this.log.warn({ url: this.brokerUrl }, 'not connected to the broker yet; retrying in the background');
    });
    this.log.info(
      {
        http: { host: this.http.host, port: this.http.port },
        broker: this.broker ? { embedded: true, port: this.broker.port, tlsPort: this.broker.tlsPort } : { url: config.mqtt.url },
        plugins: this.plugins.running(),
        version: VERSION,
      },
      'ready',
    );
  }

  /** The access gate runs first on every route; login, logout, `/api/me` and `/setup` are core routes. */
  private guardRoutes(): void {
    const { http, notify } = this.config;
    const bound = http.host === '0.0.0.0' || http.host === '::' ? [] : [http.host];
    const allowedHosts = [...http.allowedHosts, ...bound, ...(notify.publicUrl ? [new URL(notify.publicUrl).hostname] : [])];
    this.router.addHook(accessGate({ access: this.access, allowedHosts, authProxy: http.authProxy }));
    const trusted = http.authProxy ? addressList(http.authProxy.trustedProxies) : undefined;
    registerAccessRoutes(this.router, { access: this.access, keyAge: this.keyAge, overTls: (req) => viaTls(req, trusted) });
  }

  health() {
    return {
      status: this.link?.connected ? 'ok' : 'degraded',
      version: VERSION,
      uptimeSec: Math.round((this.clock.now() - this.startedAt) / 1000),
      mqtt: { url: this.brokerUrl, connected: this.link?.connected ?? false, embeddedBroker: Boolean(this.broker) },
      store: this.postgres ? 'postgres' : 'sqlite',
      leader: this.leader.isLeader(),
    };
  }

  /** `GET /api/orders/stats`: the store's counts plus what plugins add (e.g. upstream's `backlog`). */
  async orderStats(): Promise<Record<string, unknown>> {
    const stats: Record<string, unknown> = { ...(await this.orders.orderStats()) };
    const now = this.clock.now();
    for (const [key, read] of this.orderStatsExtensions) stats[key] = await read(now);
    return stats;
  }

  private publishOnline(link: MqttLink): void {
    link.publish('centralStatus', {}, { online: true, ts: this.clock.now() }).catch((error: unknown) => {
      this.log.warn({ err: (error as Error).message }, 'could not publish central status');
    });
  }

  /**
   * An order id central committed, sent again with other content: two versions of one sale exist.
   * Logged with both digests, one incident per point (the box shows the order as "conflict").
   */
  private reportConflicts(conflicts: readonly Conflict[]): void {
    const byPoint = new Map<string, Conflict[]>();
    for (const conflict of conflicts) {
      this.log.warn({ pointId: conflict.pointId, orderId: conflict.id, committedDigest: conflict.committedDigest, receivedDigest: conflict.receivedDigest }, 'order conflict: id already committed with other content; not acked');
      byPoint.set(conflict.pointId, [...(byPoint.get(conflict.pointId) ?? []), conflict]);
    }
    for (const [pointId, found] of byPoint) {
      const first = found[0]!;
      this.incidents.raise({
        key: `point:${pointId}:order-conflict`,
        title: `Conflicting order versions from ${pointId}`,
        severity: 'major',
        pointId,
        detail:
          `${pointId} sent ${found.length} order(s) whose id central already committed with other content (latest: ${first.id}, ` +
          `committed ${first.committedDigest}, received ${first.receivedDigest}). Central keeps its first version; ` +
          `compare the box's copy (staff page, status "conflict") with central's and correct the books by hand.`,
      });
    }
  }

  private async commit(orders: readonly OrderRecord[], receivedAt: number, voids: readonly VoidRecord[] = []): Promise<CommitResult> {
    const result = await this.orders.commitOrders(orders, receivedAt, voids);
    if (result.fresh.length + result.freshVoids.length > 0 && this.bus.hasListeners('ordersCommitted')) {
      this.bus.emitOrdersCommitted({ orders: result.fresh.map((order) => ({ ...order, receivedAt })), voids: result.freshVoids });
    }
    return result;
  }

  private route(ingest: Ingest, topic: string, payload: Buffer): void {
    const decoded = decodeMessage(topic, payload);
    if (!decoded.ok) {
      this.log.warn({ reason: decoded.reason, kind: decoded.kind, pointId: decoded.pointId, detail: decoded.detail }, 'rejected MQTT message');
      this.metrics.rejected.inc({ reason: decoded.reason });
      return;
    }
    this.dispatch(ingest, decoded.value);
  }

  private dispatch(ingest: Ingest, inbound: InboundMessage): void {
    const now = this.clock.now();
    switch (inbound.kind) {
      case 'pointOrders':
        return ingest.accept(inbound.params.pointId, inbound.message);
      case 'pointStatus':
        return this.fleet.acceptStatus(inbound.params.pointId, inbound.message, now);
      case 'pointHealth':
        return this.fleet.acceptHealth(inbound.params.pointId, inbound.message, now);
      case 'pointCommandResult':
        return this.bus.emitCommandAnswered({ pointId: inbound.params.pointId, command: inbound.params.command, result: inbound.message });
      case 'pointDay':
        return this.bus.emitDaySummariesReceived({ pointId: inbound.params.pointId, message: inbound.message });
      case 'centralStatus':
        // Replicas share one retained status: another replica's will (offline) must not stop the points syncing.
        if (!inbound.message.online && !this.stopping && this.link?.connected) {
          this.log.info('another replica went offline; this one is still serving');
          this.publishOnline(this.link);
        }
        return;
      default:
        // acks, commands and the menu are central's own publications coming back.
        return;
    }
  }

  async stop(graceful = true): Promise<void> {
    this.stopping = true;
    const step = stopSteps(STOP_BUDGET_MS, this.log);
    this.keyAge.stop();
    await step('plugins', this.plugins.stop());
    if (graceful && this.link?.connected) {
      await step('announceOffline', this.link.publish('centralStatus', {}, { online: false, ts: this.clock.now() }));
    }
    this.fleet.stop();
    await step('mqtt', this.link?.stop(graceful));
    await step('http', this.http?.close());
    await step('broker', this.broker?.close());
    await step('database', Promise.all([this.leader.stop(), this.postgres?.close(), this.accessStore.close()]));
    this.store.close();
  }
}

/**
 * A single central takes every point topic. Replicas split the orders through a shared
 * subscription (each order message goes to one replica, which commits and acks it) and each
 * subscribe to everything else, so every replica has the whole fleet view and sees the others'
 * wills on central's status. (Brokers send no retained messages on shared subscriptions.)
 */
export function centralSubscriptions(sharedGroup: string | undefined): string[] {
  // Everything under points/, so a message on a topic outside the protocol is seen and counted.
  if (!sharedGroup) return [`${ROOT}/points/#`];
  const filters = CENTRAL_KINDS.map((kind) => (kind === 'pointOrders' ? sharedFilter(sharedGroup, filterOf(kind)) : filterOf(kind)));
  return [...filters, filterOf('centralStatus')];
}
