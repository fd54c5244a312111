import { fork, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createLogger } from '../lib/log.js';
import { untilSignal, type Command } from '../lib/cli.js';
import { uuidv7 } from '../lib/uuidv7.js';
import { VERSION } from '../lib/version.js';
import { sleep, withTimeout } from '../lib/timeout.js';
import { agentClientId, MqttLink } from '../sync/mqtt.js';
import { writeLogins } from './provision/index.js';
import { orderNumber, type HealthMessage, type OrderRecord } from '../sync/schemas.js';
import { decodeMessage, filterOf, type CommandMessage, type CommandName } from '../sync/protocol.js';

export interface SimulatedPointOptions {
  pointId: string;
  brokerUrl: string;
  /** Its broker password (the username is the pointId), when the broker wants logins. */
  password: string | undefined;
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
      clientId: agentClientId(o.pointId),
      username: o.pointId,
      password: o.password,
      keepaliveSeconds: 30,
      clean: true,
      log: o.log,
      will: () => ({ kind: 'pointStatus', params: { pointId: o.pointId }, payload: { online: false, ts: Date.now(), version: VERSION, session: 1 } }),
    });
  }

  get pointId(): string {
    return this.o.pointId;
  }

  waitConnected(ms: number): Promise<void> {
    return this.link.waitConnected(ms);
  }

  start(): void {
    this.link.onMessage((topic, payload) => {
      const decoded = decodeMessage(topic, payload);
      if (!decoded.ok) return;
      const inbound = decoded.value;
      if (inbound.kind === 'pointCommand') return void this.answer(inbound.params.command, inbound.message);
      if (inbound.kind === 'pointAcks') for (const id of inbound.message.ids) if (this.unacked.delete(id)) this.acked++;
    });
    this.link.on('connect', () => {
      void this.link.publish('pointStatus', { pointId: this.o.pointId }, { online: true, ts: Date.now(), version: VERSION, session: 1 }).catch(() => undefined);
      void this.publishHealth();
      void this.resend();
    });
    void this.link.subscribe([filterOf('pointAcks', { pointId: this.o.pointId }), filterOf('pointCommand', { pointId: this.o.pointId })]);
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
    await this.link.publish('pointHealth', { pointId: this.o.pointId }, health).catch(() => undefined);
  }

  /** Commands get an answer as a box would give (rebirth really publishes again); nothing else runs. */
  private async answer(name: CommandName, command: CommandMessage): Promise<void> {
    if (name === 'mode') return;
    if (name === 'rebirth') await this.publishHealth();
    const result = { ts: Date.now(), id: command.id, pointId: this.o.pointId, ok: true, detail: `simulated ${name}` };
    await this.link.publish('pointCommandResult', { pointId: this.o.pointId, command: name }, result).catch(() => undefined);
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
    await this.link.publish('pointOrders', { pointId: this.o.pointId }, { ts: Date.now(), orders }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.timers.forEach((t) => clearInterval(t));
    await this.link.stop(true);
  }
}

/** One process keeps this many simulated connections at most; more points fork more workers. */
const POINTS_PER_WORKER = 2500;
const CONNECT_BATCH = 100;

interface SimulateOptions {
  count: number;
  first: number;
  broker: string;
  /** The password file the points' logins went into; their passwords derive from `loginSecret`. */
  passwordFile: string | undefined;
  loginSecret: string | undefined;
  prefix: string;
  healthEverySec: number;
  ordersPerMinute: number;
  durationMs: number | undefined;
}

/** Resolves when this process should stop: a signal, the duration, or (a worker) its parent gone. */
function stopWhen(durationMs: number | undefined): Promise<unknown> {
  const waits: Promise<unknown>[] = [untilSignal()];
  if (durationMs !== undefined) waits.push(sleep(durationMs));
  if (process.send) waits.push(new Promise((resolve) => process.once('disconnect', resolve)));
  return Promise.race(waits);
}

async function simulateHere(o: SimulateOptions): Promise<number> {
  const log = createLogger({ name: 'simulate', level: process.env.HOTPOT_LOG_LEVEL ?? 'warn' });
  const points: SimulatedPoint[] = [];
  // Connect in batches, each once the one before is in: a burst of thousands of CONNECTs on a
  // busy machine times out, reconnects and takes the broker down with it.
  for (let i = 0; i < o.count; i += CONNECT_BATCH) {
    const batch: SimulatedPoint[] = [];
    for (let j = i; j < Math.min(o.count, i + CONNECT_BATCH); j++) {
      const pointId = simulatedPointId(o.prefix, o.first + j);
      const point = new SimulatedPoint({
        pointId,
        brokerUrl: o.broker,
        password: o.loginSecret === undefined ? undefined : simulatedPassword(o.loginSecret, pointId),
        healthEveryMs: o.healthEverySec * 1000,
        ordersPerMinute: o.ordersPerMinute,
        log,
      });
      point.start();
      batch.push(point);
    }
    points.push(...batch);
    await Promise.all(batch.map((point) => point.waitConnected(60_000).catch(() => log.warn({ pointId: point.pointId }, 'not connected yet; it keeps trying'))));
  }
  process.stdout.write(`simulating ${o.count} points (${o.prefix}-${String(o.first).padStart(5, '0')}…) against ${o.broker}; Ctrl-C stops\n`);
  await stopWhen(o.durationMs);
  await Promise.all(points.map((p) => p.stop()));
  process.stdout.write(`orders acked by central: ${points.reduce((sum, p) => sum + p.acked, 0)}\n`);
  return 0;
}

/** Splits the points over worker processes (`hotpot simulate --workers 1 --first K ...`), stopped with this one. */
async function simulateInWorkers(o: SimulateOptions, workers: number): Promise<number> {
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot tell which hotpot entry file to start the workers from');
  const children: ChildProcess[] = [];
  const base = Math.floor(o.count / workers);
  let first = o.first;
  for (let w = 0; w < workers; w++) {
    const count = base + (w < o.count % workers ? 1 : 0);
    const args = ['simulate', '--workers', '1', '--first', String(first), '--points', String(count), '--broker', o.broker, '--prefix', o.prefix];
    args.push('--health-every', String(o.healthEverySec), '--orders-per-minute', String(o.ordersPerMinute));
    if (o.passwordFile) args.push('--passwd-file', o.passwordFile);
    // The workers derive the passwords the parent wrote; the secret goes by env, never argv (ps shows argv).
    const env = o.loginSecret === undefined ? process.env : { ...process.env, [LOGIN_SECRET_ENV]: o.loginSecret };
    children.push(fork(entry, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env }));
    first += count;
  }
  const exits = children.map((child) => new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1))));
  await Promise.race([stopWhen(o.durationMs), Promise.all(exits)]);
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const codes = await Promise.all(exits.map((exit) => withTimeout(exit, 15_000, 'a simulate worker to exit').catch(() => 1)));
  return codes.every((code) => code === 0) ? 0 : 1;
}

function simulatedPointId(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(5, '0')}`;
}

/** Set by the parent for its workers: the secret their points' passwords derive from. */
const LOGIN_SECRET_ENV = 'HOTPOT_SIMULATE_LOGIN_SECRET';

/** A simulated point's password: derived, so worker processes know it without it crossing argv. */
function simulatedPassword(secret: string, pointId: string): string {
  return createHmac('sha256', secret).update(pointId).digest('base64url');
}

/**
 * With --passwd-file, every simulated point gets a login in that file (replacing an older one),
 * as `hotpot provision-point --passwd-file` gives a real point. Workers find the file written.
 */
function provisionSimulatedLogins(o: Omit<SimulateOptions, 'loginSecret'>): string | undefined {
  if (!o.passwordFile) return undefined;
  const inherited = process.env[LOGIN_SECRET_ENV];
  if (inherited) return inherited;
  const secret = randomBytes(32).toString('base64url');
  const pointIds = Array.from({ length: o.count }, (_, i) => simulatedPointId(o.prefix, o.first + i));
  writeLogins(o.passwordFile, pointIds.map((pointId) => ({ username: pointId, password: simulatedPassword(secret, pointId) })));
  return secret;
}

function wholeNumber(value: unknown, name: string, fallback: number, min: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
  return n;
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'N simulated points (health + orders) against a broker',
  usage: [
    'usage: hotpot simulate --points N --broker URL [--passwd-file FILE] [--health-every SECONDS] [--orders-per-minute N]',
    '                       [--prefix NAME] [--duration SECONDS] [--workers N]',
    '',
    'Connects N light simulated points to the broker; each publishes retained status (with a will),',
    'health every --health-every seconds (default 10) and orders (default 2 a minute) until acked,',
    'and answers resync/reprint/rebirth commands. More than 2,500 points are spread over worker',
    `processes (--workers, default one per ${POINTS_PER_WORKER} points).`,
    '',
    '--passwd-file FILE gives every simulated point a new login in that password file (user = its',
    "pointId), for a broker that wants logins: central's embedded broker (its broker.passwordFile,",
    'default <dataDir>/broker.passwd, read again by itself) or Mosquitto (reload it after).',
  ].join('\n'),
  options: {
    points: { type: 'string', short: 'n' },
    broker: { type: 'string', short: 'b' },
    'health-every': { type: 'string' },
    'orders-per-minute': { type: 'string' },
    prefix: { type: 'string' },
    duration: { type: 'string' },
    workers: { type: 'string' },
    'passwd-file': { type: 'string' },
    /** Number of the first point (workers use it to name their share). */
    first: { type: 'string' },
  },
  async run(values) {
    const broker = values.broker as string | undefined;
    if (!broker || !/^(mqtts?|tcp):\/\//.test(broker)) throw new Error('--broker must be an mqtt:// URL, e.g. mqtt://127.0.0.1:1883');
    const count = wholeNumber(values.points, 'points', NaN, 1);
    const prefix = (values.prefix as string | undefined) ?? 'sim';
    if (!/^[a-z0-9-]{1,50}$/.test(prefix)) throw new Error('--prefix must be 1-50 of a-z, 0-9 and -');
    const passwordFile = values['passwd-file'] as string | undefined;
    if (passwordFile === '') throw new Error('--passwd-file needs a file name');
    const base = {
      count,
      first: wholeNumber(values.first, 'first', 1, 1),
      broker,
      prefix,
      passwordFile,
      healthEverySec: wholeNumber(values['health-every'], 'health-every', 10, 1),
      ordersPerMinute: wholeNumber(values['orders-per-minute'], 'orders-per-minute', 2, 0),
      durationMs: values.duration === undefined ? undefined : wholeNumber(values.duration, 'duration', 0, 1) * 1000,
    };
    const options: SimulateOptions = { ...base, loginSecret: provisionSimulatedLogins(base) };
    const workers = Math.min(count, wholeNumber(values.workers, 'workers', Math.ceil(count / POINTS_PER_WORKER), 1));
    return workers > 1 ? simulateInWorkers(options, workers) : simulateHere(options);
  },
};
