import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Logger } from '../lib/log.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { VERSION } from '../lib/version.js';
import { listen, Router, type StartedServer } from '../lib/http.js';
import { MqttLink } from '../sync/mqtt.js';
import { Ingest } from '../sync/ingest.js';
import { parseTopic, topics, ROOT, sharedFilter, centralFilters } from '../sync/topics.js';
import { CentralStatusMessage, decodePayload, type OrderRecord } from '../sync/schemas.js';
import type { CentralConfig } from './config.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { Fleet } from './fleet.js';
import { createMetrics, registerFleetMetrics, type CentralMetrics } from './metrics.js';
import { Incidents, registerIncidentRoutes } from './incidents/index.js';
import { SqliteCentralStore } from './store/sqlite.js';
import { PostgresCentralStore } from './store/postgres.js';
import type { CentralStore } from './store/types.js';
import { PgLeader, SoleLeader, type Leadership } from './leader.js';
import type { CentralContext, CentralModule } from './module.js';
import { registerCoreRoutes } from './http.js';

export interface CentralDeps {
  log: Logger;
  clock?: Clock;
  modules?: CentralModule[];
}

/** The central service: broker (embedded or joined), ingest, store, fleet view, HTTP, modules. */
export class Central {
  /** Local SQLite: the orders of a single central, and every module's own state tables. */
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
  readonly router = new Router();
  readonly events = new EventEmitter();
  private broker: EmbeddedBroker | undefined;
  private link: MqttLink | undefined;
  private http: StartedServer | undefined;
  private readonly started: CentralModule[] = [];
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly startedAt: number;

  constructor(readonly config: CentralConfig, private readonly deps: CentralDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log;
    this.startedAt = this.clock.now();
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
      onReject: (reason) => this.metrics.rejected.inc({ reason }),
      onLateWill: () => this.metrics.lateWills.inc(),
    });
    this.incidents = new Incidents(this.store.db, this.clock, this.log);
    registerFleetMetrics(this.metrics, this.fleet, this.incidents, this.clock);
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

  async start(): Promise<void> {
    const { config } = this;
    if (!config.mqtt.url) this.broker = await startEmbeddedBroker(config.broker.host, config.broker.port, this.log);
    // PostgreSQL down at start: central still starts; commits fail (nothing acked) until it is back.
    await this.postgres?.ready().catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'PostgreSQL order store not ready yet; retrying on each commit'));
    const link = new MqttLink({
      url: this.brokerUrl,
      clientId: config.mqtt.clientId,
      username: config.mqtt.username,
      password: config.mqtt.password,
      ca: config.mqtt.ca,
      cert: config.mqtt.cert,
      key: config.mqtt.key,
      keepaliveSeconds: config.mqtt.keepalive,
      clean: false,
      protocolVersion: config.mqtt.sharedGroup ? 5 : 4,
      log: this.log,
      will: () => ({ topic: topics.centralStatus(), payload: { online: false, ts: this.clock.now() }, retain: true }),
    });
    this.link = link;
    const ingest = new Ingest({
      store: {
        commitOrders: (orders, receivedAt) => this.commit(orders, receivedAt),
      },
      publishAck: (pointId, ids) => link.publish(topics.pointAcks(pointId), { ts: this.clock.now(), ids }),
      log: this.log,
      clock: this.clock,
      onReject: (reason) => this.metrics.rejected.inc({ reason }),
      onCommitted: (inserted, received) => {
        this.metrics.ordersIngested.inc({ result: 'inserted' }, inserted);
        this.metrics.ordersIngested.inc({ result: 'duplicate' }, received - inserted);
      },
    });
    link.onMessage((topic, payload) => this.route(ingest, topic, payload));
    link.on('connect', () => this.publishOnline(link));
    await link.subscribe(centralSubscriptions(config.mqtt.sharedGroup));
    link.start();
    await this.leader.start();

    registerCoreRoutes(this.router, this);
    registerIncidentRoutes(this.router, this.incidents);
    this.fleet.start();
    const ctx: CentralContext = {
      config,
      log: this.log,
      clock: this.clock,
      store: this.store,
      orders: this.orders,
      leader: this.leader,
      router: this.router,
      link,
      fleet: this.fleet,
      incidents: this.incidents,
      metrics: this.metrics,
      events: this.events,
    };
    for (const module of this.deps.modules ?? []) {
      try {
        await module.start(ctx);
        this.started.push(module);
      } catch (error) {
        // One failing module must not take central (and order ingest) down.
        this.log.error({ err: error, module: module.name }, 'module failed to start; central runs without it');
      }
    }
    this.http = await listen(this.router, config.http.host, config.http.port, this.log);
    await link.waitConnected(10_000).catch(() => this.log.warn({ url: this.brokerUrl }, 'not connected to the broker yet; retrying in the background'));
    this.log.info(
      {
        http: { host: this.http.host, port: this.http.port },
        broker: this.broker ? { embedded: true, port: this.broker.port } : { url: config.mqtt.url },
        version: VERSION,
      },
      'ready',
    );
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

  private publishOnline(link: MqttLink): void {
    link.publish(topics.centralStatus(), { online: true, ts: this.clock.now() }, { retain: true }).catch((error: unknown) => {
      this.log.warn({ err: (error as Error).message }, 'could not publish central status');
    });
  }

  /** Replicas share one retained status: another replica's will (offline) must not stop the points syncing. */
  private reassertOnline(payload: Buffer): void {
    const decoded = decodePayload(CentralStatusMessage, payload);
    if (!decoded.ok || decoded.value.online || this.stopping || !this.link?.connected) return;
    this.log.info('another replica went offline; this one is still serving');
    this.publishOnline(this.link);
  }

  private async commit(orders: readonly OrderRecord[], receivedAt: number): Promise<{ inserted: number }> {
    const result = await this.orders.commitOrders(orders, receivedAt);
    if (result.fresh.length > 0 && this.events.listenerCount('ordersCommitted') > 0) {
      this.events.emit('ordersCommitted', result.fresh.map((order) => ({ ...order, receivedAt })));
    }
    return result;
  }

  private route(ingest: Ingest, topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    const now = this.clock.now();
    if (!parsed) {
      ingest.reject('unknown_topic', null, topic.slice(0, 200));
      return;
    }
    switch (parsed.kind) {
      case 'orders':
        return ingest.accept(parsed.pointId, payload);
      case 'status':
        return this.fleet.acceptStatus(parsed.pointId, payload, now);
      case 'health':
        return this.fleet.acceptHealth(parsed.pointId, payload, now);
      case 'centralStatus':
        return this.reassertOnline(payload);
      case 'commandResult':
        this.events.emit('commandResult', parsed.pointId, parsed.name, payload);
        return;
      default:
        // acks and commands are central's own publications coming back.
        return;
    }
  }

  async stop(graceful = true): Promise<void> {
    this.stopping = true;
    for (const module of this.started.splice(0).reverse()) {
      try {
        await module.stop();
      } catch (error) {
        this.log.warn({ err: error, module: module.name }, 'module failed to stop cleanly');
      }
    }
    if (graceful && this.link?.connected) {
      await this.link.publish(topics.centralStatus(), { online: false, ts: this.clock.now() }, { retain: true, timeoutMs: 2000 }).catch(() => undefined);
    }
    this.fleet.stop();
    await this.link?.stop(graceful);
    await this.http?.close();
    await this.broker?.close();
    await this.leader.stop();
    await this.postgres?.close();
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
  if (!sharedGroup) return [`${ROOT}/points/#`];
  const filters = Object.entries(centralFilters).map(([kind, filter]) => (kind === 'orders' ? sharedFilter(sharedGroup, filter) : filter));
  return [...filters, topics.centralStatus()];
}
