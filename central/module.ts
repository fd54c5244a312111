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
import type { CommittedOrder } from './store/types.js';

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
  store: SqliteCentralStore;
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
