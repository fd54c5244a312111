import type Database from 'better-sqlite3';
import type { Registry } from 'prom-client';
import type { Handler, Hook } from '../lib/http.js';
import type { Logger } from '../lib/log.js';
import type { Clock } from '../lib/clock.js';
import type { MessageKind, OutgoingOf, ParamsOf } from '../sync/protocol.js';
import type { RejectReason } from '../sync/schemas.js';
import type { CentralConfig } from './config.js';
import type { EventBus } from './events.js';
import type { Fleet } from './fleet.js';
import type { Incidents } from './incidents/store.js';
import type { Leadership } from './leader.js';
import type { Migrations } from './migrations.js';
import type { CentralStore } from './store/types.js';

/** Roles of named users at central, each including the ones before it. */
export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** Who may call a route: anyone (health, assets, signed links), or a signed-in user with at least this role. */
export type Access = 'public' | Role;
export const ACCESS: readonly Access[] = ['public', ...ROLES];

/** What every route of central carries: the access it needs and the plugin (or `core`) that serves it. */
export interface RouteMeta {
  access: Access;
  owner: string;
}

/** Central's plugins; a plugin's name is its folder's name and its config key. */
export const PLUGIN_NAMES = ['notify', 'notices', 'history', 'alerts', 'commands', 'dashboard', 'menu', 'reconciliation', 'backups', 'recovery', 'upstream', 'status', 'activity'] as const;
export type PluginName = (typeof PLUGIN_NAMES)[number];

/**
 * What plugins offer each other, by name: a plugin with an API adds itself here from its own folder
 * (`declare module '../plugin.js' { interface PluginApis { recovery: RecoveryApi } }`), so this file
 * imports none of them.
 */
export interface PluginApis {}

/** A plugin's config slice: the key named like the plugin, or nothing for plugins without settings. */
export type ConfigOf<N extends PluginName> = N extends keyof CentralConfig ? CentralConfig[N] : undefined;
/** What a plugin's start() returns: its API when it offers one. */
export type ApiOf<N extends PluginName> = N extends keyof PluginApis ? PluginApis[N] : void;

/** Central-wide facts a plugin may read (never central's whole config). */
export interface CentralFacts {
  dataDir: string;
  /** IANA zone every page and message shows times in. */
  timeZone: string;
  /** This replica's name (its MQTT client id). */
  replica: string;
  /** PostgreSQL shared by every replica (`database.url`), for state a plugin must share; undefined on SQLite. */
  databaseUrl: string | undefined;
  /** Where central's HTTP server listens, once it does. */
  httpAddress(): { host: string; port: number } | undefined;
  /**
   * Revokes a broker login on the embedded broker (its password-file line goes, its client is
   * dropped); false when it had none. Undefined when central joins an external broker.
   */
  revokeBrokerLogin: ((username: string) => boolean) | undefined;
}

/**
 * A plugin's routes, mounted under its prefix. Each route declares who may call it; a route
 * without a known access is refused at start. `addHook` runs only before this plugin's routes.
 */
export interface PluginRoutes {
  get(path: string, access: Access, handler: Handler): void;
  post(path: string, access: Access, handler: Handler, options?: { body?: 'json' | 'form' }): void;
  put(path: string, access: Access, handler: Handler): void;
  delete(path: string, access: Access, handler: Handler): void;
  addHook(hook: Hook<RouteMeta>): void;
}

/** Publishing through the protocol map; what arrives reaches plugins as bus events. */
export interface PluginMqtt {
  readonly connected: boolean;
  publish<K extends MessageKind>(kind: K, params: ParamsOf<K>, payload: OutgoingOf<K>): Promise<void>;
}

/** The fleet view, read-only. */
export type FleetReader = Pick<Fleet, 'view' | 'list' | 'query' | 'size' | 'groupOf'>;

export interface PluginMetrics {
  registry: Registry;
  /** Counts a refused MQTT message (the `hotpot_mqtt_rejected_total` counter). */
  rejected(reason: RejectReason): void;
}

/** What a plugin gets at start: its own config slice and narrow handles on central's core. */
export interface PluginContext<N extends PluginName> {
  readonly config: ConfigOf<N>;
  readonly central: CentralFacts;
  /** A child logger naming the plugin. */
  readonly log: Logger;
  readonly clock: Clock;
  /** This replica's SQLite, with the plugin's migrations applied: the plugin's tables live here. */
  readonly db: Database.Database;
  /** The franchise's orders: this SQLite, or PostgreSQL shared by every replica (`database.url`). */
  readonly orders: CentralStore;
  /** Singleton work (runbooks, backups, paging, forwarding) runs only while this replica leads. */
  readonly leader: Leadership;
  readonly routes: PluginRoutes;
  readonly mqtt: PluginMqtt;
  readonly fleet: FleetReader;
  /** Raise/clear and subscribe/ack: one open incident per key. */
  readonly incidents: Incidents;
  readonly metrics: PluginMetrics;
  /** Listeners registered here are removed when the plugin stops. */
  readonly bus: EventBus;
  /** Adds a key to `GET /api/orders/stats` (e.g. upstream's `backlog`), read on each request. */
  extendOrderStats(key: string, read: (now: number) => unknown): void;
  /** The API of a plugin listed in `dependencies` (started before this one). */
  dependency<D extends PluginName & keyof PluginApis>(name: D): PluginApis[D];
}

/**
 * A feature of central (after fastify's plugins and zigbee2mqtt's extensions). Constructors have no
 * side effects; central starts plugins after their dependencies, each guarded (one failing cannot
 * take ingest down), and stops them in reverse order.
 */
export interface CentralPlugin<N extends PluginName = PluginName> {
  readonly name: N;
  /** Plugins whose API this one uses: started first; if one is not running, this one does not start. */
  readonly dependencies?: readonly (PluginName & keyof PluginApis)[];
  /** This plugin's tables, versioned on their own (central/migrations.ts). */
  readonly migrations?: Migrations;
  /** Where its routes mount (default `/api`). */
  readonly prefix?: string;
  /** Off when its config says so (e.g. upstream without a URL); on by default. */
  enabled?(config: ConfigOf<N>): boolean;
  start(ctx: PluginContext<N>): Promise<ApiOf<N>> | ApiOf<N>;
  stop(): Promise<void> | void;
}
