import Database from 'better-sqlite3';
import { Agent as HttpAgent, request } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { sampleMenuFile } from '../lib/paths.js';
import { withTimeout } from '../lib/timeout.js';
import { OrderStore } from '../agent/store.js';
import { MosquittoPeer } from '../test/peers/mosquitto.js';
import { waitFor } from '../test/peers/net.js';
import { startChild } from '../test/peers/process.js';
import { startHotpot, tempDir, httpJson } from '../test/helpers/hotpot.js';
import { unitRuntime } from '../test/helpers/unit-runtime.js';
import { percentile, type BenchResult } from './report.js';

const COMMIT_ORDERS = 5000;
const DRAIN_ORDERS = 10_000;
const RAW_MESSAGES = 20_000;
const RAW_WINDOW = 100;

const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });

function post(port: number, body: string): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/orders', method: 'POST', agent: keepAlive, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    }),
    10_000,
    'POST /api/orders',
  );
}

function log(text: string): void {
  process.stderr.write(`  ${text}\n`);
}

/** Starts the HTTP floor: a child node:http server that only parses the JSON body and answers 201. */
async function startFloor(): Promise<{ port: number; stop: () => Promise<void> }> {
  const script = `const s = require('node:http').createServer((req, res) => { const c = []; req.on('data', (d) => c.push(d)); req.on('end', () => { JSON.parse(Buffer.concat(c)); res.writeHead(201, { 'content-type': 'application/json' }); res.end('{"ok":true}'); }); });
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port)));`;
  const child = startChild(process.execPath, ['-e', script]);
  const port = await withTimeout(
    new Promise<number>((resolve) => child.proc.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())))),
    10_000,
    'the HTTP floor server to listen',
  );
  return { port, stop: () => child.kill('SIGTERM').then(() => undefined) };
}

function elapsedMs(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Where a tmpfs is: an agent whose data lives there pays no fsync (Linux has /dev/shm). */
const RAM_DISK = '/dev/shm';

interface Rounds {
  commit: number[];
  http: number[];
  /** A raw FULL insert on the agent's disk, per round (absent for the RAM disk). */
  fsync: number[];
}

/**
 * Sequential POST /api/orders against a real agent process (run as its systemd unit runs it)
 * whose data is under `dataDir`, interleaved with the same POST to the HTTP floor and (with
 * `rawFsync`) a raw FULL insert on the same disk: one of each per round, so all of them see the
 * same machine at the same moment (this machine is shared; measured one after the other they
 * would not).
 */
async function commitRounds(dataDir: string, floorPort: number, rawFsync: boolean): Promise<Rounds> {
  const agent = await startHotpot('agent', {
    HOTPOT_POINT_ID: 'bench-01',
    HOTPOT_DATA_DIR: join(dataDir, 'agent'),
    HOTPOT_MQTT_URL: 'mqtt://127.0.0.1:9',
    HOTPOT_HTTP_PORT: '0',
    HOTPOT_MENU_FILE: sampleMenuFile(),
  }, 20_000, unitRuntime('hotpot-agent'));
  const raw = rawFsync ? new Database(join(dataDir, 'raw.db')) : undefined;
  const rounds: Rounds = { commit: [], http: [], fsync: [] };
  try {
    raw?.pragma('journal_mode = WAL');
    raw?.pragma('synchronous = FULL');
    raw?.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, record TEXT NOT NULL)');
    const insert = raw?.prepare('INSERT INTO t (record) VALUES (?)');
    const record = 'x'.repeat(400);
    const body = JSON.stringify({ items: [{ sku: 'khinkali-meat', qty: 10 }, { sku: 'borjomi', qty: 2 }, { name: 'Extra bread', unitPrice: 250, qty: 1 }], payment: 'cash' });
    for (let i = 0; i < 200; i++) {
      await post(agent.httpPort, body);
      await post(floorPort, body);
    }
    for (let i = 0; i < COMMIT_ORDERS; i++) {
      let t0 = process.hrtime.bigint();
      const status = await post(agent.httpPort, body);
      rounds.commit.push(elapsedMs(t0));
      if (status !== 201) throw new Error(`order ${i}: HTTP ${status}`);
      t0 = process.hrtime.bigint();
      await post(floorPort, body);
      rounds.http.push(elapsedMs(t0));
      if (raw && insert) {
        t0 = process.hrtime.bigint();
        raw.transaction(() => insert.run(record))();
        rounds.fsync.push(elapsedMs(t0));
      }
      if (i % 1000 === 999) log(`commit (${dataDir}): ${i + 1}/${COMMIT_ORDERS}`);
    }
  } finally {
    raw?.close();
    await agent.kill('SIGTERM');
  }
  for (const series of [rounds.commit, rounds.http, rounds.fsync]) series.sort((a, b) => a - b);
  return rounds;
}

/**
 * The commit path against the HTTP floor, twice: on this machine's disk (what a point waits for,
 * fsync included) and on a RAM disk, where the difference to the floor is the agent's own work
 * (what the target holds it to). A box's eMMC adds its fsync on top of the first.
 */
export async function commitBench(): Promise<BenchResult[]> {
  const floor = await startFloor();
  try {
    const disk = await commitRounds(tempDir('bench-commit'), floor.port, true);
    const ramDir = existsSync(RAM_DISK) ? mkdtempSync(join(RAM_DISK, 'hotpot-bench-')) : undefined;
    let ram: Rounds | undefined;
    try {
      ram = ramDir ? await commitRounds(ramDir, floor.port, false) : undefined;
    } finally {
      if (ramDir) rmSync(ramDir, { recursive: true, force: true });
    }
    const sum = (series: number[]) => series.reduce((total, ms) => total + ms, 0);
    const ratio = sum(disk.fsync) / sum(disk.commit);
    const results: BenchResult[] = [
      { name: 'order commit p50 / p99 (POST → 201, this disk)', value: percentile(disk.commit, 50), unit: `ms / ${percentile(disk.commit, 99).toFixed(2)} ms` },
      { name: 'HTTP floor p50 / p99 (same rounds)', value: percentile(disk.http, 50), unit: `ms / ${percentile(disk.http, 99).toFixed(2)} ms`, note: 'same client: a child node:http server that only parses the body and answers 201' },
      { name: 'raw FULL insert p50 / p99 (this disk, same rounds)', value: percentile(disk.fsync, 50), unit: `ms / ${percentile(disk.fsync, 99).toFixed(2)} ms` },
      {
        name: 'order commit p99 − HTTP floor p99 (this disk)',
        value: percentile(disk.commit, 99) - percentile(disk.http, 99),
        unit: 'ms',
        note: 'the disk’s fsync tail is in it: one WAL fsync per order (synchronous=FULL); on a box’s eMMC that fsync, not the agent, sets the p99',
      },
      { name: 'order commit rate (sequential, this disk)', value: COMMIT_ORDERS / (sum(disk.commit) / 1000), unit: 'orders/s' },
      { name: 'raw insert time / order commit time', value: ratio * 100, unit: '%', target: '≥ 50 %', pass: ratio >= 0.5 },
    ];
    if (ram) {
      const over = percentile(ram.commit, 99) - percentile(ram.http, 99);
      results.push(
        { name: 'order commit p50 / p99 (agent on a RAM disk: no fsync)', value: percentile(ram.commit, 50), unit: `ms / ${percentile(ram.commit, 99).toFixed(2)} ms` },
        { name: 'HTTP floor p50 / p99 (those rounds)', value: percentile(ram.http, 50), unit: `ms / ${percentile(ram.http, 99).toFixed(2)} ms` },
        { name: 'commit path p99 − HTTP floor p99 (no fsync)', value: over, unit: 'ms', target: '≤ 0.5 ms', pass: over <= 0.5 },
      );
    }
    return results;
  } finally {
    await floor.stop();
  }
}

/** mqtt.js QoS 1 publish → subscribe through the same broker, 100 in flight. */
async function rawMqttRate(url: string, payloadBytes: number): Promise<number> {
  const sub = await mqtt.connectAsync(url, { clientId: `bench-sub-${Date.now()}`, clean: true });
  const pub = await mqtt.connectAsync(url, { clientId: `bench-pub-${Date.now()}`, clean: true });
  await sub.subscribeAsync('bench/raw', { qos: 1 });
  let received = 0;
  const done = new Promise<void>((resolve) => sub.on('message', () => ++received === RAW_MESSAGES && resolve()));
  const payload = Buffer.alloc(payloadBytes, 0x61);
  const started = process.hrtime.bigint();
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < RAW_WINDOW && sent < RAW_MESSAGES) {
        inFlight++;
        sent++;
        pub.publish('bench/raw', payload, { qos: 1 }, (error) => {
          if (error) return reject(error);
          inFlight--;
          if (sent === RAW_MESSAGES && inFlight === 0) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await withTimeout(done, 60_000, 'the raw subscriber to receive every message');
  const rate = RAW_MESSAGES / (Number(process.hrtime.bigint() - started) / 1e9);
  await pub.endAsync();
  await sub.endAsync();
  return rate;
}

/** 10,000 orders on a box while central is down, then central started: time until all synced. */
async function drainBench(): Promise<BenchResult[]> {
  const dir = tempDir('bench-drain');
  const broker = await new MosquittoPeer().start();
  try {
    const pointId = 'drain-01';
    const store = new OrderStore(join(dir, pointId, 'agent.db'), pointId);
    const items = [{ sku: 'khinkali-meat', name: 'Khinkali, beef & pork', unitPrice: 150, qty: 10, lineTotal: 1500 }, { sku: 'borjomi', name: 'Borjomi mineral water', unitPrice: 350, qty: 2, lineTotal: 700 }];
    for (let i = 0; i < DRAIN_ORDERS; i++) store.addOrder({ items, payment: 'cash', note: null, clientRef: null, currency: 'GEL', mode: 'offline' });
    const recordBytes = Buffer.byteLength(store.unsyncedAfter(0, 1)[0]!.record);
    store.close();
    log(`drain: ${DRAIN_ORDERS} orders waiting on the box (${recordBytes} B each)`);
    const agent = await startHotpot('agent', {
      HOTPOT_POINT_ID: pointId,
      HOTPOT_DATA_DIR: join(dir, pointId),
      HOTPOT_MQTT_URL: broker.url,
      HOTPOT_HTTP_PORT: '0',
      HOTPOT_MENU_FILE: sampleMenuFile(),
    }, 20_000, unitRuntime('hotpot-agent'));
    const central = await startHotpot('central', { HOTPOT_DATA_DIR: join(dir, 'central'), HOTPOT_HTTP_PORT: '0', HOTPOT_MQTT_URL: broker.url });
    // Timed from central's "ready" log line: Node's own start-up is not the drain.
    const started = Date.now();
    // Central's stats are a cheap read; the box's unsynced count scans its backlog, so it is asked last.
    await waitFor(async () => (await httpJson<{ total: number }>(central.httpPort, 'GET', '/api/orders/stats')).body.total === DRAIN_ORDERS, 'every order committed at central', 120_000, 5);
    await waitFor(async () => (await httpJson<{ unsynced: number }>(agent.httpPort, 'GET', '/api/health')).body.unsynced === 0, 'every order marked synced on the box', 120_000, 5);
    const seconds = (Date.now() - started) / 1000;
    const stats = (await httpJson<{ total: number }>(central.httpPort, 'GET', '/api/orders/stats')).body;
    if (stats.total !== DRAIN_ORDERS) throw new Error(`central holds ${stats.total} orders, expected ${DRAIN_ORDERS}`);
    await agent.kill('SIGTERM');
    await central.kill('SIGTERM');
    const drainRate = DRAIN_ORDERS / seconds;
    log(`drain: ${drainRate.toFixed(0)} orders/s; measuring raw QoS 1 rate`);
    const rawRate = await rawMqttRate(broker.url, recordBytes);
    const ratio = drainRate / rawRate;
    return [
      { name: 'backlog drain (central ready → all synced)', value: drainRate, unit: 'orders/s', target: '≥ 10,000 orders/s', pass: drainRate >= 10_000 },
      { name: 'raw mqtt.js QoS 1 pub→sub (window 100)', value: rawRate, unit: 'msg/s' },
      { name: 'drain rate / raw QoS 1 rate', value: ratio * 100, unit: '%', target: '≥ 50 %', pass: ratio >= 0.5 },
    ];
  } finally {
    await broker.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  return [...(await commitBench()), ...(await drainBench())];
}
