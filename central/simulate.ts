import { createLogger } from '../lib/log.js';
import { untilSignal, type Command } from '../lib/cli.js';
import { uuidv7 } from '../lib/uuidv7.js';
import { VERSION } from '../lib/version.js';
import { sleep } from '../lib/timeout.js';
import { MqttLink } from '../sync/mqtt.js';
import { AckMessage, decodePayload, orderNumber, type HealthMessage, type OrderRecord } from '../sync/schemas.js';
import { topics } from '../sync/topics.js';

export interface SimulatedPointOptions {
  pointId: string;
  brokerUrl: string;
  healthEveryMs: number;
  ordersPerMinute: number;
  log: ReturnType<typeof createLogger>;
}

/**
 * A light point for load and demos: status with a will, periodic health, and orders kept until
 * central acks them. Not a box: it keeps its outbox in memory.
 */
export class SimulatedPoint {
  private readonly link: MqttLink;
  private readonly unacked = new Map<string, OrderRecord>();
  private seq = 0;
  private timers: NodeJS.Timeout[] = [];
  acked = 0;

  constructor(private readonly o: SimulatedPointOptions) {
    this.link = new MqttLink({
      url: o.brokerUrl,
      clientId: `hotpot-sim-${o.pointId}`,
      keepaliveSeconds: 30,
      clean: true,
      log: o.log,
      will: () => ({ topic: topics.pointStatus(o.pointId), payload: { online: false, ts: Date.now(), version: VERSION, session: 1 }, retain: true }),
    });
  }

  start(): void {
    this.link.onMessage((_topic, payload) => {
      const ack = decodePayload(AckMessage, payload);
      if (!ack.ok) return;
      for (const id of ack.value.ids) if (this.unacked.delete(id)) this.acked++;
    });
    this.link.on('connect', () => {
      void this.link.publish(topics.pointStatus(this.o.pointId), { online: true, ts: Date.now(), version: VERSION, session: 1 }, { retain: true }).catch(() => undefined);
      void this.publishHealth();
      void this.resend();
    });
    void this.link.subscribe([topics.pointAcks(this.o.pointId)]);
    this.link.start();
    // Spread the fleet's health over the period instead of a thundering herd.
    const jitter = Math.random() * this.o.healthEveryMs;
    this.timers.push(setTimeout(() => this.timers.push(setInterval(() => void this.publishHealth(), this.o.healthEveryMs)), jitter));
    if (this.o.ordersPerMinute > 0) this.timers.push(setInterval(() => void this.order(), 60_000 / this.o.ordersPerMinute));
    this.timers.push(setInterval(() => void this.resend(), 10_000));
  }

  private async publishHealth(): Promise<void> {
    const now = Date.now();
    const up = { status: 'up' as const, detail: 'simulated', since: now };
    const health: HealthMessage = {
      pointId: this.o.pointId,
      mode: 'online',
      checks: { internet: up, printer: up, camera: up, system: up },
      unsynced: this.unacked.size,
      oldestUnsyncedAt: null,
      version: VERSION,
      ts: now,
    };
    await this.link.publish(topics.pointHealth(this.o.pointId), health, { retain: true }).catch(() => undefined);
  }

  private async order(): Promise<void> {
    const seq = ++this.seq;
    const qty = 1 + Math.floor(Math.random() * 3);
    const order: OrderRecord = {
      id: uuidv7(),
      pointId: this.o.pointId,
      seq,
      number: orderNumber(this.o.pointId, seq),
      createdAt: Date.now(),
      items: [{ sku: 'khinkali-meat', name: 'Khinkali, beef & pork', unitPrice: 150, qty, lineTotal: 150 * qty }],
      total: 150 * qty,
      currency: 'GEL',
      payment: 'cash',
      note: null,
      clientRef: null,
      mode: 'online',
    };
    this.unacked.set(order.id, order);
    await this.send([order]);
  }

  private async resend(): Promise<void> {
    if (this.unacked.size) await this.send([...this.unacked.values()].slice(0, 500));
  }

  private async send(orders: OrderRecord[]): Promise<void> {
    await this.link.publish(topics.pointOrders(this.o.pointId), { ts: Date.now(), orders }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.timers.forEach((t) => clearInterval(t));
    await this.link.stop(true);
  }
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'N simulated points (health + orders) against a broker',
  usage: [
    'usage: hotpot simulate --points N --broker URL [--health-every SECONDS] [--orders-per-minute N] [--prefix NAME] [--duration SECONDS]',
    '',
    'Connects N light simulated points to the broker; each publishes retained status (with a will),',
    'health every --health-every seconds (default 10) and orders (default 2 a minute) until acked.',
  ].join('\n'),
  options: {
    points: { type: 'string', short: 'n' },
    broker: { type: 'string', short: 'b' },
    'health-every': { type: 'string' },
    'orders-per-minute': { type: 'string' },
    prefix: { type: 'string' },
    duration: { type: 'string' },
  },
  async run(values) {
    const count = Number(values.points);
    const broker = values.broker as string | undefined;
    if (!Number.isInteger(count) || count < 1) throw new Error('--points must be a whole number ≥ 1');
    if (!broker || !/^(mqtts?|tcp):\/\//.test(broker)) throw new Error('--broker must be an mqtt:// URL, e.g. mqtt://127.0.0.1:1883');
    const log = createLogger({ name: 'simulate', level: process.env.HOTPOT_LOG_LEVEL ?? 'warn' });
    const prefix = (values.prefix as string | undefined) ?? 'sim';
    const points: SimulatedPoint[] = [];
    for (let i = 0; i < count; i++) {
      const point = new SimulatedPoint({
        pointId: `${prefix}-${String(i + 1).padStart(5, '0')}`,
        brokerUrl: broker,
        healthEveryMs: Number(values['health-every'] ?? 10) * 1000,
        ordersPerMinute: Number(values['orders-per-minute'] ?? 2),
        log,
      });
      point.start();
      points.push(point);
      if (i % 200 === 199) await sleep(50);
    }
    process.stdout.write(`simulating ${count} points against ${broker}; Ctrl-C stops\n`);
    const duration = values.duration ? Number(values.duration) * 1000 : undefined;
    await (duration ? Promise.race([sleep(duration), untilSignal()]) : untilSignal());
    await Promise.all(points.map((p) => p.stop()));
    process.stdout.write(`orders acked by central: ${points.reduce((sum, p) => sum + p.acked, 0)}\n`);
    return 0;
  },
};
