import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../lib/paths.js';
import { sleep, withTimeout } from '../lib/timeout.js';
import { topicOf } from '../sync/protocol.js';
import { MosquittoPeer } from '../test/peers/mosquitto.js';
import { freePort, waitFor, waitForPort } from '../test/peers/net.js';
import { startChild, type Child } from '../test/peers/process.js';
import { percentile, type BenchResult } from './report.js';

const POINTS = Number(process.env.HOTPOT_BENCH_FLEET_POINTS ?? 10_000);
const HEALTH_EVERY_S = 10;
const WARMUP_MS = 10_000;
const CPU_WINDOW_MS = 30_000;
const LATENCY_WINDOW_MS = 30_000;
const PROBES = 5;
/** Page loads timed, and GET /api/points?limit=100 requests (plain, filtered, from a cursor). */
const RENDERS = 5;
/** After the page loads, before the CPU window: its first reads are not the steady state. */
const PAGE_SETTLE_MS = 5000;
const PAGE_REQUESTS = 200;
const OPS_USER = 'bench-ops';
const OPS_PASSWORD = 'bench ops password';
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream arch). */
const CLK_TCK = 100;

/** The bench's viewer token (central refuses anonymous reads). */
let token = '';

/** A GET on a fresh connection (no keep-alive race with a busy server), body parsed as JSON. */
function getJson<T>(port: number, path: string, timeoutMs = 10_000): Promise<{ status: number; body: T }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T }));
      });
      req.on('error', reject);
      req.end();
    }),
    timeoutMs,
    `GET ${path} on central`,
  );
}

function say(text: string): void {
  process.stderr.write(`fleet bench ${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.match(/\d+/)?.[0] ?? NaN) / 1024;
}

function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

/** CPU % of one core used by a process over a window, sampling its RSS meanwhile. */
async function measure(pid: number, ms: number, during?: () => Promise<void>): Promise<{ cpuPercent: number; rssMaxMiB: number }> {
  const startCpu = cpuSeconds(pid);
  const started = performance.now();
  let rssMaxMiB = rssMiB(pid);
  const sampler = setInterval(() => (rssMaxMiB = Math.max(rssMaxMiB, rssMiB(pid))), 2000);
  try {
    await (during ? during() : sleep(ms));
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  return { cpuPercent: ((cpuSeconds(pid) - startCpu) / seconds) * 100, rssMaxMiB: Math.max(rssMaxMiB, rssMiB(pid)) };
}

/**
 * An ops person with the dashboard open: Chromium signs in through the login form; each reload is
 * timed from navigation start to the fleet view's first full render (counts, cities, a page of
 * points), read from the page's own performance mark.
 */
async function openDashboard(browser: Browser, port: number): Promise<{ page: Page; renders: number[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForURL(/\/login/);
  await page.fill('#username', OPS_USER);
  await page.fill('#password', OPS_PASSWORD);
  await page.click('button[type="submit"]');
  await page.locator('body[data-fleet-rendered="true"]').waitFor({ timeout: 30_000 });
  const renders: number[] = [];
  for (let i = 0; i < RENDERS; i++) {
    await page.reload();
    await page.locator('body[data-fleet-rendered="true"]').waitFor({ timeout: 30_000 });
    renders.push(await page.evaluate(() => performance.getEntriesByName('hotpot:fleet-rendered')[0]!.startTime));
    say(`  render ${i + 1}: ${await page.evaluate(TIMELINE)}`);
  }
  const shown = await page.locator('li.pt').count();
  if (shown !== 100) throw new Error(`the dashboard shows ${shown} points, not a page of 100`);
  return { page, renders };
}

/** Where a page load's time went (ms from navigation start), for the bench's log. */
const TIMELINE = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = (part) => performance.getEntriesByType('resource').find((r) => r.name.includes(part));
  const at = (entry, key) => (entry ? Math.round(entry[key]) : '-');
  return ['html ' + at(nav, 'responseEnd'), 'dom ' + at(nav, 'domContentLoadedEventEnd'), 'context ' + at(res('/api/dashboard/context'), 'responseEnd'),
    'panels ' + at(res('/static/panels/runbooks.js'), 'responseEnd'), 'stream ' + at(res('/api/events'), 'responseStart'), 'points ' + at(res('/api/points?'), 'responseEnd'),
    'rendered ' + Math.round(performance.getEntriesByName('hotpot:fleet-rendered')[0].startTime)].join(', ');
})()`;

/** GET /api/points?limit=100 as the dashboard asks it: the first page, a filtered page, a page from a cursor. */
async function pageLatencies(port: number, pointIds: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < PAGE_REQUESTS; i++) {
    const query = ['', '&condition=ok', '&group=sim', `&cursor=${pointIds[Math.floor(Math.random() * pointIds.length)]}`, '&q=sim-0'][i % 5];
    const started = performance.now();
    const answer = await getJson<unknown[]>(port, `/api/points?limit=100${query}`);
    times.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`GET /api/points?limit=100${query} answered ${answer.status}`);
  }
  return times.sort((a, b) => a - b);
}

/**
 * `hotpot simulate --points 10000` (health every 10 s) → Mosquitto → `hotpot central` (a child
 * process, read through /proc): central's CPU and RSS in steady state, and how long a health
 * publish takes to show in the API; with an ops dashboard open (Chromium), its first full render and
 * the API's pages of 100 points.
 */
export async function run(): Promise<BenchResult[]> {
  const needed = POINTS + 500;
  const limit = openFilesLimit();
  if (limit < needed) {
    throw new Error(`the open-files limit is ${limit}; Mosquitto needs about ${needed} for ${POINTS} points: raise it (ulimit -n ${needed}) and run again`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'hotpot-bench-fleet-'));
  const bin = join(packageRoot(), 'dist', 'bin', 'hotpot.js');
  const children: Child[] = [];
  // 10,000 connections: no connection cap, and small packets go out at once.
  const mosquitto = await new MosquittoPeer({ extraConfig: ['max_connections -1', 'set_tcp_nodelay true'] }).start();
  const probe = await mqtt.connectAsync(mosquitto.url, { clientId: 'bench-fleet-probe', reconnectPeriod: 0 });
  let browser: Browser | undefined;
  try {
    const httpPort = await freePort();
    const centralEnv = {
      ...process.env,
      HOTPOT_MQTT_URL: mosquitto.url,
      HOTPOT_MQTT_CLIENT_ID: 'bench-central',
      // Central's first subscribe brings every point's retained status and health (20,000
      // messages) in one flood; on a busy machine the PINGRESP queued behind it can take longer
      // than the default 10 s keepalive, and a reconnect brings the flood again.
      HOTPOT_MQTT_KEEPALIVE: '30',
      HOTPOT_HTTP_HOST: '127.0.0.1',
      HOTPOT_HTTP_PORT: String(httpPort),
      HOTPOT_DATA_DIR: join(dir, 'central'),
      HOTPOT_LOG_LEVEL: 'warn',
    };
    token = (await promisify(execFile)(process.execPath, [bin, 'token', 'create', 'bench', '--role', 'viewer'], { env: centralEnv, timeout: 30_000 })).stdout.trim();
    const addUser = execFile(process.execPath, [bin, 'user', 'add', OPS_USER, '--role', 'viewer', '--password-stdin'], { env: centralEnv, timeout: 30_000 });
    addUser.stdin!.end(`${OPS_PASSWORD}\n`);
    await withTimeout(new Promise((resolve, reject) => addUser.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`hotpot user add exited ${code}`))))), 30_000, 'hotpot user add');
    const central = startChild(process.execPath, [bin, 'central'], { env: centralEnv, logFile: join(dir, 'central.log') });
    children.push(central);
    await waitForPort('127.0.0.1', httpPort, 'hotpot central', 30_000);

    const simulate = startChild(
      process.execPath,
      [bin, 'simulate', '--points', String(POINTS), '--broker', mosquitto.url, '--health-every', String(HEALTH_EVERY_S), '--orders-per-minute', '0', '--prefix', 'sim'],
      { env: { ...process.env, HOTPOT_LOG_LEVEL: 'error' }, logFile: join(dir, 'simulate.log') },
    );
    children.push(simulate);
    say(`central and ${POINTS} simulated points starting (logs in ${dir})`);
    const rampStart = performance.now();
    let connected = 0;
    await waitFor(
      async () => {
        const summary = await getJson<{ points: number; byCondition: Record<string, number> }>(httpPort, '/api/fleet/summary').catch(() => null);
        if (summary) connected = summary.body.points - summary.body.byCondition.offline!;
        return connected >= POINTS;
      },
      `${POINTS} simulated points connected (see ${dir})`,
      120_000,
      1000,
    );
    const rampSeconds = (performance.now() - rampStart) / 1000;
    say(`${connected} points connected in ${rampSeconds.toFixed(0)} s; warming up`);
    await sleep(WARMUP_MS);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const dashboard = await openDashboard(browser, httpPort);
    const renders = [...dashboard.renders].sort((a, b) => a - b);
    say(`dashboard first full render ${dashboard.renders.map((r) => r.toFixed(0)).join(', ')} ms; measuring with it open`);
    await sleep(PAGE_SETTLE_MS);

    const steady = await measure(central.pid, CPU_WINDOW_MS);
    say(`steady state (a dashboard open): central ${steady.cpuPercent.toFixed(1)} % of a core, ${steady.rssMaxMiB.toFixed(0)} MiB; timing pages of points`);
    const pointIds = (await getJson<Array<{ pointId: string }>>(httpPort, '/api/points?limit=1000')).body.map((p) => p.pointId);
    const pages = await pageLatencies(httpPort, pointIds);
    say(`GET /api/points?limit=100 p50 ${percentile(pages, 50).toFixed(1)} ms, p99 ${percentile(pages, 99).toFixed(1)} ms; probing latency`);
    const mosquittoCpu = mosquitto.pid ? cpuSeconds(mosquitto.pid) : NaN;

    // Publish → visible: probe points publish health with a fresh marker; poll the API until it shows.
    const latencies: number[] = [];
    let marker = 0;
    const probing = async () => {
      for (let i = 1; i <= PROBES; i++) {
        const pointId = `probe-${String(i).padStart(2, '0')}`;
        await probe.publishAsync(topicOf('pointStatus', { pointId }), JSON.stringify({ online: true, ts: Date.now(), version: 'bench', session: 1 }), { qos: 1, retain: true });
      }
      const until = performance.now() + LATENCY_WINDOW_MS;
      while (performance.now() < until) {
        const pointId = `probe-${String((marker % PROBES) + 1).padStart(2, '0')}`;
        const expected = ++marker;
        const now = Date.now();
        const up = { status: 'up', detail: 'bench probe', since: now };
        const health = { pointId, mode: 'online', checks: { internet: up, printer: up, camera: up, system: up }, unsynced: expected, oldestUnsyncedAt: null, ts: now };
        const sent = performance.now();
        void probe.publishAsync(topicOf('pointHealth', { pointId }), JSON.stringify(health), { qos: 1, retain: true }).catch(() => undefined);
        await waitFor(
          async () => (await getJson<{ unsynced?: number }>(httpPort, `/api/points/${pointId}`)).body.unsynced === expected,
          `probe health ${expected} shown by GET /api/points/${pointId}`,
          10_000,
          5,
        );
        latencies.push(performance.now() - sent);
        await sleep(50);
      }
    };
    const duringProbe = await measure(central.pid, LATENCY_WINDOW_MS, probing);

    say(`probed ${latencies.length} health publishes; timing the full list`);
    const listTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const list = await getJson<unknown[]>(httpPort, '/api/points', 60_000);
      if (list.status !== 200 || list.body.length < POINTS) throw new Error(`GET /api/points answered ${list.status} with ${list.body.length} points`);
      listTimes.push(performance.now() - started);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const p99 = percentile(sorted, 99);
    return [
      { name: 'simulated points connected', value: connected, unit: 'points', note: `ramp ${rampSeconds.toFixed(0)} s, health every ${HEALTH_EVERY_S} s` },
      { name: 'central CPU, steady state', value: steady.cpuPercent, unit: '% of one core', target: '< 30 %', pass: steady.cpuPercent < 30, note: `${CPU_WINDOW_MS / 1000} s window, a dashboard open` },
      { name: 'dashboard first full render p50', value: percentile(renders, 50), unit: 'ms', target: '≤ 1000 ms', pass: percentile(renders, 50) <= 1000, note: `headless Chromium, signed in, ${POINTS} points; max ${Math.max(...renders).toFixed(0)} ms of ${RENDERS}` },
      { name: 'GET /api/points?limit=100 p50', value: percentile(pages, 50), unit: 'ms', note: `${PAGE_REQUESTS} requests: first page, by condition, by group, from a cursor, by text` },
      { name: 'GET /api/points?limit=100 p99', value: percentile(pages, 99), unit: 'ms', target: '≤ 100 ms', pass: percentile(pages, 99) <= 100 },
      { name: 'central RSS, max in window', value: steady.rssMaxMiB, unit: 'MiB' },
      { name: 'health publish → GET /api/points/:id p50', value: percentile(sorted, 50), unit: 'ms', note: `${sorted.length} samples` },
      { name: 'health publish → GET /api/points/:id p99', value: p99, unit: 'ms', target: '≤ 1000 ms', pass: p99 <= 1000 },
      { name: 'central CPU while probing', value: duringProbe.cpuPercent, unit: '% of one core', note: 'includes ~100 API polls/s' },
      { name: `GET /api/points (all ${POINTS}) p50`, value: percentile([...listTimes].sort((a, b) => a - b), 50), unit: 'ms' },
      { name: 'mosquitto CPU time, whole run', value: mosquittoCpu, unit: 's' },
    ];
  } finally {
    await browser?.close();
    await probe.endAsync().catch(() => undefined);
    for (const child of children.reverse()) await child.kill('SIGTERM').catch(() => child.kill('SIGKILL'));
    await mosquitto.stop();
  }
}
