import { readFileSync } from 'node:fs';
import { sleep } from '../lib/timeout.js';
import { MosquittoPeer } from '../test/peers/mosquitto.js';
import { waitFor } from '../test/peers/net.js';
import { startChild } from '../test/peers/process.js';
import { throwawayDatabase, type ThrowawayDatabase } from '../test/peers/postgres.js';
import { HOTPOT_BIN, httpJson, startHotpot, tempDir, type HotpotProcess } from '../test/helpers/hotpot.js';
import { replicaEnv, type OrderStatsBody } from '../test/helpers/replicas.js';
import { clockTicksPerSecond } from './proc.js';
import type { BenchResult } from './report.js';

/**
 * Sizing: `hotpot simulate` points against central (one SQLite central, or PostgreSQL replicas
 * sharing one Mosquitto), everything on this machine. Measures each central process's CPU (share
 * of one core: a central is one Node thread) and memory while the fleet reports health and sends
 * orders. `HOTPOT_SIZING=sqlite:1:2500,postgres:2:2500` picks the runs (store:replicas:points).
 */

const HEALTH_EVERY_SEC = 10;
const ORDERS_PER_MINUTE = 4;
const WARM_UP_MS = 20_000;
const WINDOW_MS = 30_000;
/** The load a replica should carry at most, so a backlog drain or a failover has room. */
const CPU_BUDGET_PERCENT = 50;

interface Scenario {
  store: 'sqlite' | 'postgres';
  replicas: number;
  points: number;
}

function scenarios(): Scenario[] {
  const spec = process.env.HOTPOT_SIZING ?? 'sqlite:1:2500,postgres:2:2500';
  return spec.split(',').map((part) => {
    const [store, replicas, points] = part.split(':');
    if ((store !== 'sqlite' && store !== 'postgres') || !Number(replicas) || !Number(points)) throw new Error(`HOTPOT_SIZING: "${part}" is not store:replicas:points`);
    if (store === 'sqlite' && Number(replicas) !== 1) throw new Error('HOTPOT_SIZING: SQLite runs one central only');
    return { store, replicas: Number(replicas), points: Number(points) };
  });
}

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuSeconds(pid: number, ticksPerSecond: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

function log(text: string): void {
  process.stderr.write(`  ${text}\n`);
}

async function measure(scenario: Scenario, ticksPerSecond: number): Promise<BenchResult[]> {
  const label = `${scenario.points} points, ${scenario.replicas} × ${scenario.store}`;
  const dir = tempDir('sizing');
  const broker = await new MosquittoPeer().start();
  let database: ThrowawayDatabase | undefined;
  const centrals: HotpotProcess[] = [];
  try {
    if (scenario.store === 'postgres') database = await throwawayDatabase('hotpot_sizing');
    for (let i = 0; i < scenario.replicas; i++) {
      const name = `central-${i + 1}`;
      const env = database ? replicaEnv(name, dir, broker.url, database.url) : { HOTPOT_DATA_DIR: `${dir}/${name}`, HOTPOT_HTTP_PORT: '0', HOTPOT_MQTT_URL: broker.url };
      centrals.push(await startHotpot('central', { ...env, HOTPOT_LOG_LEVEL: 'info' }, 60_000));
    }
    // Stopped by SIGTERM once measured; the duration only bounds a run that went wrong.
    const durationSec = 900;
    const args = ['simulate', '--points', String(scenario.points), '--broker', broker.url, '--health-every', String(HEALTH_EVERY_SEC)];
    args.push('--orders-per-minute', String(ORDERS_PER_MINUTE), '--duration', String(durationSec), '--prefix', 'size');
    log(`${label}: node ${HOTPOT_BIN} ${args.join(' ')}`);
    const simulate = startChild(process.execPath, [HOTPOT_BIN, ...args], { env: { ...process.env, HOTPOT_LOG_LEVEL: 'warn' } });
    try {
      const api = centrals[0]!.httpPort;
      let seen = 0;
      // While thousands of points connect at once, an API call may wait longer than its timeout: poll on.
      const connected = async () => (seen = (await httpJson<unknown[]>(api, 'GET', '/api/points').catch(() => ({ body: [] }))).body.length || seen) >= scenario.points;
      await waitFor(connected, `${scenario.points} points in the fleet view`, 300_000, 1000).catch((error: Error) => {
        throw new Error(`${error.message}; it showed ${seen}`);
      });
      await sleep(WARM_UP_MS / 2);
      const stats = async () => (await httpJson<OrderStatsBody>(api, 'GET', '/api/orders/stats')).body.total;
      const before = { cpu: centrals.map((c) => cpuSeconds(c.pid, ticksPerSecond)), broker: cpuSeconds(broker.pid!, ticksPerSecond), orders: await stats(), at: Date.now() };
      await sleep(WINDOW_MS);
      const seconds = (Date.now() - before.at) / 1000;
      const cpu = centrals.map((c, i) => ((cpuSeconds(c.pid, ticksPerSecond) - before.cpu[i]!) / seconds) * 100);
      const brokerCpu = ((cpuSeconds(broker.pid!, ticksPerSecond) - before.broker) / seconds) * 100;
      const ordersPerSec = ((await stats()) - before.orders) / seconds;
      const rss = Math.max(...centrals.map((c) => rssMb(c.pid)));
      const visible = (await Promise.all(centrals.map(async (c) => (await httpJson<unknown[]>(c.httpPort, 'GET', '/api/points')).body.length))).every((n) => n === scenario.points);
      const busiest = Math.max(...cpu);
      const perReplica = Math.floor((scenario.points * CPU_BUDGET_PERCENT) / Math.max(busiest, 0.1));
      log(`${label}: central CPU ${cpu.map((c) => c.toFixed(1)).join(' / ')} %, broker ${brokerCpu.toFixed(1)} %, ${ordersPerSec.toFixed(1)} orders/s, RSS ${rss.toFixed(0)} MB`);
      return [
        { name: `${label}: central CPU (busiest replica, % of one core)`, value: busiest, unit: '%', note: `health every ${HEALTH_EVERY_SEC} s, ${ORDERS_PER_MINUTE} orders/min per point` },
        { name: `${label}: mosquitto CPU`, value: brokerCpu, unit: '%' },
        { name: `${label}: orders committed`, value: ordersPerSec, unit: 'orders/s', note: `offered ${((scenario.points * ORDERS_PER_MINUTE) / 60).toFixed(1)} orders/s` },
        { name: `${label}: central RSS (largest replica)`, value: rss, unit: 'MB' },
        { name: `${label}: every replica sees the whole fleet`, value: visible ? 1 : 0, unit: 'bool', pass: visible },
        { name: `${label}: points per replica at ${CPU_BUDGET_PERCENT} % of a core (linear)`, value: perReplica, unit: 'points' },
      ];
    } finally {
      await simulate.kill('SIGKILL');
    }
  } finally {
    for (const central of centrals) await central.kill('SIGTERM').catch(() => central.kill('SIGKILL'));
    await broker.stop();
    await database?.drop();
  }
}

export async function run(): Promise<BenchResult[]> {
  const ticksPerSecond = await clockTicksPerSecond();
  const results: BenchResult[] = [];
  for (const scenario of scenarios()) {
    try {
      results.push(...(await measure(scenario, ticksPerSecond)));
    } catch (error) {
      // A central too busy to answer its API within the timeouts is past its size: a result, not a crash.
      const label = `${scenario.points} points, ${scenario.replicas} × ${scenario.store}`;
      log(`${label}: did not keep up: ${(error as Error).message}`);
      results.push({ name: `${label}: kept up`, value: 0, unit: 'bool', pass: false, note: (error as Error).message.slice(0, 200) });
    }
  }
  return results;
}
