import type { EventEmitter } from 'node:events';
import type { Logger } from '../lib/log.js';
import type { Clock } from '../lib/clock.js';
import type { Router } from '../lib/http.js';
import type { MqttLink } from '../sync/mqtt.js';
import type { CentralConfig } from './config.js';
import type { Fleet } from './fleet.js';
import type { Incidents } from './incidents/store.js';
import type { CentralMetrics } from './metrics.js';
import type { SqliteCentralStore } from './store/sqlite.js';
import type { CentralStore, CommittedOrder } from './store/types.js';
import type { Leadership } from './leader.js';

/** Events central's core emits for its modules. */
export interface CentralEvents {
  /** Orders newly committed (duplicates excluded), in commit order. */
  ordersCommitted: (orders: CommittedOrder[]) => void;
}

/** What every central module gets: the core's parts, never each other's internals. */
export interface CentralContext {
  config: CentralConfig;
  log: Logger;
  clock: Clock;
  /** This replica's local SQLite: modules keep their own state tables in `store.db`. */
  store: SqliteCentralStore;
  /** The franchise's orders: `store` itself, or PostgreSQL shared by every replica (`database.url`). */
  orders: CentralStore;
  /**
   * Singleton work (runbooks, backups, escalation timers) runs only on the leader: check
   * `leader.isLeader()` before each run, or start on 'leader' and stop on 'follower'.
   */
  leader: Leadership;
  router: Router;
  link: MqttLink;
  fleet: Fleet;
  /** Raise/clear (IncidentSink) and subscribe/ack (IncidentFeed): one open incident per key. */
  incidents: Incidents;
  metrics: CentralMetrics;
  events: EventEmitter;
}

/**
 * A feature of central (fleet alerts, dashboard, forwarder, runbooks, notifications...).
 * Constructors have no side effects; `start` may fail without taking central down.
 */
export interface CentralModule {
  readonly name: string;
  start(ctx: CentralContext): Promise<void> | void;
  stop(): Promise<void> | void;
}
