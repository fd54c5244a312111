import { EventEmitter } from 'node:events';
import type { Logger } from '../lib/log.js';
import type { CommandName } from '../sync/protocol.js';
import type { CommandResultMessage, DaySummaryMessage, VoidRecord } from '../sync/schemas.js';
import type { ChangeCause } from './fleet.js';
import type { CommittedOrder } from './store/types.js';

/** Orders and voids newly committed (duplicates excluded), in commit order. */
export interface OrdersCommitted {
  orders: CommittedOrder[];
  voids: VoidRecord[];
}
/** A point's state changed: a status (or will), a health message, or silence (stale). */
export interface PointChanged {
  pointId: string;
  cause: ChangeCause;
}
/** A point answered a command (decoded; not yet matched to a command central sent). */
export interface CommandAnswered {
  pointId: string;
  command: CommandName;
  result: CommandResultMessage;
}
/** A point's end-of-day summaries (decoded; the topic's point not yet checked against the payload). */
export interface DaySummariesReceived {
  pointId: string;
  message: DaySummaryMessage;
}
/** Something for every open dashboard: SSE `event: <type>`. */
export interface DashboardPush {
  type: string;
  data: unknown;
}

/** Central's MQTT link (re)connected with its subscriptions granted: retained state may need publishing again. */
export interface BrokerConnected {
  connection: number;
}

interface EventMap {
  brokerConnected: BrokerConnected;
  ordersCommitted: OrdersCommitted;
  pointChanged: PointChanged;
  commandAnswered: CommandAnswered;
  daySummariesReceived: DaySummariesReceived;
  dashboardPush: DashboardPush;
}
type EventName = keyof EventMap;
type Listener<E extends EventName> = (data: EventMap[E]) => void | Promise<void>;

/**
 * Central's typed event bus (after zigbee2mqtt's lib/eventBus.ts): one `emitX`/`onX` pair per event.
 * Listeners are registered under an owner (a plugin) and `removeListeners(owner)` drops them all, so
 * a stopped plugin hears nothing. A listener that throws (or rejects) is logged; the emitter and
 * the other listeners carry on.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly owned = new Map<object, { event: EventName; listener: (data: unknown) => void }[]>();

  constructor(private readonly log: Logger) {
    this.emitter.setMaxListeners(0);
  }

  emitBrokerConnected(data: BrokerConnected): void {
    this.emit('brokerConnected', data);
  }
  onBrokerConnected(owner: object, listener: Listener<'brokerConnected'>): void {
    this.on('brokerConnected', owner, listener);
  }

  emitOrdersCommitted(data: OrdersCommitted): void {
    this.emit('ordersCommitted', data);
  }
  onOrdersCommitted(owner: object, listener: Listener<'ordersCommitted'>): void {
    this.on('ordersCommitted', owner, listener);
  }

  emitPointChanged(data: PointChanged): void {
    this.emit('pointChanged', data);
  }
  onPointChanged(owner: object, listener: Listener<'pointChanged'>): void {
    this.on('pointChanged', owner, listener);
  }

  emitCommandAnswered(data: CommandAnswered): void {
    this.emit('commandAnswered', data);
  }
  onCommandAnswered(owner: object, listener: Listener<'commandAnswered'>): void {
    this.on('commandAnswered', owner, listener);
  }

  emitDaySummariesReceived(data: DaySummariesReceived): void {
    this.emit('daySummariesReceived', data);
  }
  onDaySummariesReceived(owner: object, listener: Listener<'daySummariesReceived'>): void {
    this.on('daySummariesReceived', owner, listener);
  }

  emitDashboardPush(data: DashboardPush): void {
    this.emit('dashboardPush', data);
  }
  onDashboardPush(owner: object, listener: Listener<'dashboardPush'>): void {
    this.on('dashboardPush', owner, listener);
  }

  /** Whether anyone listens: lets a hot path skip building an event nobody reads. */
  hasListeners(event: EventName): boolean {
    return this.emitter.listenerCount(event) > 0;
  }

  removeListeners(owner: object): void {
    for (const { event, listener } of this.owned.get(owner) ?? []) this.emitter.off(event, listener);
    this.owned.delete(owner);
  }

  private emit<E extends EventName>(event: E, data: EventMap[E]): void {
    this.emitter.emit(event, data);
  }

  private on<E extends EventName>(event: E, owner: object, listener: Listener<E>): void {
    const guarded = (data: EventMap[E]) => {
      const fail = (error: unknown) => this.log.error({ err: error, event }, 'event listener failed');
      try {
        const result = listener(data);
        if (result instanceof Promise) result.catch(fail);
      } catch (error) {
        fail(error);
      }
    };
    this.emitter.on(event, guarded);
    const list = this.owned.get(owner) ?? [];
    list.push({ event, listener: guarded as (data: unknown) => void });
    this.owned.set(owner, list);
  }
}
