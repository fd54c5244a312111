import { join } from 'node:path';
import type { Logger } from '../lib/log.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { VERSION } from '../lib/version.js';
import { listen, type StartedServer } from '../lib/http.js';
import { agentClientId, MqttLink } from '../sync/mqtt.js';
import { Outbox } from '../sync/outbox.js';
import { agentFilters, decodeMessage, type CommandMessage, type CommandName } from '../sync/protocol.js';
import type { HealthBody, OrderRecord, StatusMessage, VoidRecord } from '../sync/schemas.js';
import { readHttpTls, type AgentConfig } from './config.js';
import { OrderStore } from './store.js';
import { MenuSource } from './menu.js';
import { NoticeBoard } from './notices.js';
import { LinkHealth, type HealthProvider } from './health.js';
import { agentRouter } from './http.js';
import { DayReporter } from './reconciliation.js';
import type { CashDrawer } from './drawer.js';
import { stopSteps } from '../lib/shutdown.js';
import { DiskFullError, DiskFullWatch, withDiskFull } from './disk.js';

/** The mode and since when, kept so a restart does not reset "offline since". */
const MODE_KEY = 'mode.since';
/** A checkpoint runs once no order has been committed for this long... */
const CHECKPOINT_IDLE_MS = 250;
/** ...or, in a rush that never pauses, inside the commit that grows the WAL past this (16 MiB). */
const CHECKPOINT_BACKSTOP_PAGES = 4000;

/**
 * How long each part of the agent may take to stop, in order: together under the unit's
 * TimeoutStopSec (20 s, checked by a test).
 */
export const AGENT_STOP_BUDGET_MS = { announceOffline: 2000, mqtt: 3000, receipts: 4000, kitchen: 4000, checks: 3000, http: 2000 } as const;

/** Receipt printing, as the agent sees it (implemented over drivers/ by the print queue). */
export interface Receipts {
  start(): void;
  stop(): Promise<void>;
  /** Queues the receipt of an order inside the order's own transaction; never throws, never blocks the order. */
  enqueue(order: OrderRecord): void;
  /** Queues a void's slip (or kitchen "VOID" ticket) inside the void's own transaction, like enqueue. */
  enqueueVoid(voided: VoidRecord): void;
  reprint(orderId: string): boolean;
  printed(orderId: string): boolean;
  /** Why its paper waits and since when; null while it prints. */
  waiting(): { reason: string; since: number; queued: number } | null;
}

export interface AgentDeps {
  log: Logger;
  clock?: Clock;
  health?: (store: OrderStore) => HealthProvider;
  receipts?: (store: OrderStore) => Receipts;
  /** Kitchen tickets (`kitchenPrinter`), queued like receipts. */
  kitchen?: (store: OrderStore) => Receipts;
  /** The cash drawer on the receipt printer (absent without one). */
  drawer?: CashDrawer;
  /** Health is published at least this often (ms). */
  healthEveryMs?: number;
}

/** The box process: order store, staff HTTP API, outbox to central, presence and health. */
export class Agent {
  readonly store: OrderStore;
  readonly menu: MenuSource;
  /** Central's current notices for the staff. */
  readonly notices: NoticeBoard;
  readonly link: MqttLink;
  readonly outbox: Outbox;
  readonly health: HealthProvider;
  readonly receipts: Receipts | undefined;
  readonly kitchen: Receipts | undefined;
  readonly drawer: CashDrawer | undefined;
  readonly dayReporter: DayReporter;
  /** Whether the data disk is full (SQLITE_FULL on a write), until a write commits again. */
  readonly disk: DiskFullWatch;
  private readonly linkHealth: LinkHealth | undefined;
  private http: StartedServer | undefined;
  /** The same router over HTTPS (`http.tls`), on `http.tlsPort`. */
  private https: StartedServer | undefined;
  private session = 0;
  private modeNow: { mode: string; since: number } | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(readonly config: AgentConfig, private readonly deps: AgentDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log;
    this.store = new OrderStore(join(config.dataDir, 'agent.db'), config.pointId);
    this.menu = new MenuSource(this.store, this.log, config.menuFile, config.currency);
    this.notices = new NoticeBoard(this.store, this.log);
    this.link = new MqttLink({
      url: config.mqtt.urls[0]!,
      fallbackUrls: config.mqtt.urls.slice(1),
      primaryRetryMs: config.mqtt.primaryRetryMs,
      clientId: agentClientId(config.pointId),
      username: config.mqtt.username ?? config.pointId,
      password: config.mqtt.password,
      ca: config.mqtt.ca,
      cert: config.mqtt.cert,
      key: config.mqtt.key,
      keepaliveSeconds: config.mqtt.keepalive,
      clean: false,
      log: this.log,
      will: () => {
        this.session = this.nextSession();
        return { kind: 'pointStatus', params: { pointId: config.pointId }, payload: this.statusPayload(false) };
      },
    });
    this.outbox = new Outbox({
      pointId: config.pointId,
      source: this.store,
      link: this.link,
      log: this.log,
      batchSize: config.mqtt.batchSize,
      window: config.mqtt.window,
      ackTimeoutMs: config.mqtt.ackTimeoutMs,
      clock: this.clock,
    });
    if (deps.health) {
      this.health = deps.health(this.store);
    } else {
      this.linkHealth = new LinkHealth(this.clock.now());
      this.health = this.linkHealth;
    }
    this.receipts = deps.receipts?.(this.store);
    this.kitchen = deps.kitchen?.(this.store);
    this.drawer = deps.drawer;
    this.disk = new DiskFullWatch({
      dataDir: config.dataDir,
      clock: this.clock,
      log: this.log,
      probe: () => this.store.setMeta('disk.probe', String(this.clock.now())),
      onChange: () => void this.publishHealth(),
    });
    this.dayReporter = new DayReporter({ store: this.store, link: this.link, pointId: config.pointId, timeZone: config.timeZone, clock: this.clock, log: this.log });
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  get httpsPort(): number | undefined {
    return this.https?.port;
  }

  async start(): Promise<void> {
    const { config, link } = this;
    if (this.store.db.openedExclusive) {
      this.log.warn({ dataDir: config.dataDir }, 'the data disk was full at start: agent.db is open held by this process alone (no -shm file); orders are refused with 507 until space is freed; restart the agent after freeing space so other programs (the installer\'s outbox check) can read agent.db');
    }
    link.onMessage((topic, payload) => this.onMessage(topic, payload));
    link.on('connect', () => {
      this.linkHealth?.setLink(true, this.clock.now());
      void this.announce();
    });
    link.on('disconnect', () => {
      this.linkHealth?.setLink(false, this.clock.now());
      this.outbox.setCentralOnline(false);
    });
    this.health.on('change', () => {
      this.noteMode();
      void this.publishHealth();
    });
    this.noteMode();
    await link.subscribe(agentFilters(config.pointId));
    const router = agentRouter(this, { log: this.log, clock: this.clock });
    this.http = await listen(router, config.http.host, config.http.port, this.log);
    if (config.http.tls) this.https = await listen(router, config.http.host, config.http.tlsPort, this.log, readHttpTls(config.http.tls));
    this.health.start();
    this.receipts?.start();
    this.kitchen?.start();
    this.outbox.start();
    this.dayReporter.start();
    link.start();
    this.store.deferCheckpoints(CHECKPOINT_BACKSTOP_PAGES);
    this.healthTimer = setInterval(() => void this.publishHealth(), this.deps.healthEveryMs ?? 30_000);
    this.healthTimer.unref();
    this.log.info({ pointId: config.pointId, http: { host: this.http.host, port: this.http.port, ...(this.https ? { tlsPort: this.https.port } : {}) }, mqtt: config.mqtt.urls, version: VERSION }, 'ready');
  }

  /** Commits an order, then queues its receipt (and kitchen ticket), opens the drawer for cash and wakes the outbox. */
  commitOrder(input: Parameters<OrderStore['addOrder']>[0]): { order: OrderRecord; created: boolean } {
    // The print jobs join the order's transaction: one fsync per order, and no order without its paper.
    // A full disk rolls the transaction back: 507 (DiskFullError), nothing half-written.
    const result = this.disk.write('order', () => this.store.addOrder(input, this.clock.now(), this.paperJobs));
    if (result.created) {
      this.checkpointWhenIdle();
      this.outbox.kick();
      if (this.drawer && this.config.drawer.kickOnCash && result.order.payment === 'cash') void this.drawer.open({ reason: 'cash order', order: result.order.number });
    }
    return result;
  }

  /** Commits a void (null: no such order), queues its paper in the same transaction and wakes the outbox. */
  commitVoid(input: Parameters<OrderStore['addVoid']>[0]): ReturnType<OrderStore['addVoid']> {
    // A full disk: 507 like an order's commit, the order stays as it was.
    const result = this.disk.write('void', () => this.store.addVoid(input, this.clock.now(), this.voidPaperJobs));
    if (result?.created) {
      this.checkpointWhenIdle();
      this.outbox.kick();
    }
    return result;
  }

  private readonly voidPaperJobs = (voided: VoidRecord): void => {
    this.receipts?.enqueueVoid(voided);
    this.kitchen?.enqueueVoid(voided);
  };

  /** The WAL is copied into the database between orders, not during one (the commit's p99). */
  private checkpointWhenIdle(): void {
    // refresh() restarts the one timer: no new timer per order.
    if (this.checkpointTimer) {
      this.checkpointTimer.refresh();
      return;
    }
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      try {
        this.store.checkpoint();
      } catch (error) {
        this.log.warn({ err: (error as Error).message }, 'WAL checkpoint failed; SQLite checkpoints by itself past the backstop');
      }
    }, CHECKPOINT_IDLE_MS);
    this.checkpointTimer.unref();
  }

  private readonly paperJobs = (order: OrderRecord): void => {
    this.receipts?.enqueue(order);
    this.kitchen?.enqueue(order);
  };

  /** Since when the point has been in its current mode (this run of the agent, or the last one if the mode is the same). */
  get modeSince(): number {
    return this.modeNow?.since ?? this.clock.now();
  }

  private noteMode(): void {
    const mode = this.health.snapshot().mode;
    if (this.modeNow?.mode === mode) return;
    const stored = this.modeNow ? null : this.store.getMeta(MODE_KEY);
    const previous = stored ? (JSON.parse(stored) as { mode: string; since: number }) : null;
    this.modeNow = previous?.mode === mode ? previous : { mode, since: this.clock.now() };
    try {
      this.disk.write('mode', () => this.store.setMeta(MODE_KEY, JSON.stringify(this.modeNow)));
    } catch (error) {
      // Kept in memory; a restart may then say "since" from the start.
      this.log.warn({ err: (error as Error).message }, 'could not store since when the mode holds');
    }
  }

  /** The next MQTT session number, durable; on a full disk one more than the last, in memory only. */
  private nextSession(): number {
    try {
      return this.disk.write('session', () => this.store.nextCounter('mqtt.session'));
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'could not store the MQTT session number; counting on in memory');
      return this.session + 1;
    }
  }

  healthBody(): HealthBody {
    const snapshot = this.health.snapshot();
    const unsynced = this.store.unsyncedStats();
    return {
      pointId: this.config.pointId,
      mode: snapshot.mode,
      checks: { ...snapshot.checks, system: withDiskFull(snapshot.checks.system, this.disk.fullSince, this.config.dataDir) },
      unsynced: unsynced.count,
      oldestUnsyncedAt: unsynced.oldestCreatedAt,
      conflicts: this.store.conflictCount(),
      version: VERSION,
    };
  }

  private statusPayload(online: boolean): StatusMessage {
    return { online, ts: this.clock.now(), version: VERSION, session: this.session };
  }

  private async announce(): Promise<void> {
    try {
      await this.link.publish('pointStatus', { pointId: this.config.pointId }, this.statusPayload(true));
      await this.publishHealth();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'could not announce presence; will retry on reconnect');
    }
  }

  private async publishHealth(): Promise<void> {
    if (!this.link.connected) return;
    try {
      await this.link.publish('pointHealth', { pointId: this.config.pointId }, { ...this.healthBody(), ts: this.clock.now() });
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'health publish failed');
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    const decoded = decodeMessage(topic, payload);
    if (!decoded.ok) {
      this.log.warn({ topic: topic.slice(0, 200), reason: decoded.reason, detail: decoded.detail }, 'ignored a bad message');
      return;
    }
    const inbound = decoded.value;
    switch (inbound.kind) {
      case 'pointAcks':
        try {
          this.disk.write('ack', () => this.outbox.onAck(inbound.message.ids, inbound.message.conflicts));
        } catch (error) {
          // Not marked synced: the outbox sends these again after its ack timeout and central acks them again.
          if (!DiskFullError.is(error)) this.log.error({ err: (error as Error).message }, 'could not mark acked orders synced; they will be sent again');
          return;
        }
        this.dayReporter.kick();
        return;
      case 'centralStatus':
        this.outbox.setCentralOnline(inbound.message.online);
        return;
      case 'pointStatus':
        // A will from an older session (or a takeover) must not leave a live box marked offline.
        if (!inbound.message.online && this.link.connected) void this.announce();
        return;
      case 'menu':
        this.menu.acceptFromCentral(inbound.message);
        return;
      case 'notices':
        this.notices.accept(inbound.message, this.clock.now());
        return;
      case 'pointCommand':
        if (inbound.params.pointId === this.config.pointId) void this.runCommand(inbound.params.command, inbound.message);
        return;
      default:
        return;
    }
  }

  private async runCommand(name: CommandName, command: CommandMessage): Promise<void> {
    let ok = true;
    let detail: string;
    switch (name) {
      case 'resync':
        this.outbox.rewind('resync command');
        detail = `resending ${this.store.unsyncedStats().count} unsynced orders`;
        break;
      case 'rebirth':
        await this.announce();
        detail = 'status and health published again';
        break;
      case 'reprint': {
        const last = this.store.list('all', { limit: 1 })[0];
        ok = Boolean(last && this.receipts?.reprint(last.order.id));
        detail = ok ? `reprint of ${last!.order.number} queued` : this.receipts ? 'no order to reprint' : 'no printer configured';
        break;
      }
      case 'mode': {
        // `force: "offline"` puts the point in manual-order mode; null lifts central's override.
        const force = 'force' in command.args ? command.args.force : null;
        ok = Boolean(this.health.force);
        if (ok) this.health.force!('central', force);
        detail = ok ? `mode ${this.health.snapshot().mode}${force ? ' (forced offline by central)' : ''}` : 'this agent runs without device checks; its mode cannot be forced';
        break;
      }
    }
    this.log.info({ command: name, id: command.id, ok, detail }, 'command run');
    await this.link
      .publish('pointCommandResult', { pointId: this.config.pointId, command: name }, { ts: this.clock.now(), id: command.id, pointId: this.config.pointId, ok, detail })
      .catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'command result publish failed'));
  }

  /** `graceful: false` drops the MQTT socket so the broker publishes the will, as in a crash. */
  async stop(graceful = true): Promise<void> {
    const step = stopSteps(AGENT_STOP_BUDGET_MS, this.log);
    clearInterval(this.healthTimer);
    clearTimeout(this.checkpointTimer);
    this.disk.stop();
    this.outbox.stop();
    this.dayReporter.stop();
    if (graceful && this.link.connected) {
      await step('announceOffline', this.link.publish('pointStatus', { pointId: this.config.pointId }, this.statusPayload(false)));
    }
    await step('mqtt', this.link.stop(graceful));
    // A receipt being printed finishes (or times out) before the store closes under it.
    await step('receipts', this.receipts?.stop());
    await step('kitchen', this.kitchen?.stop());
    await step('checks', this.health.stop());
    await step('http', Promise.all([this.http?.close(), this.https?.close()]));
    this.store.close();
  }
}
