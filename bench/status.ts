import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../lib/log.js';
import { withTimeout } from '../lib/timeout.js';
import { Central } from '../central/central.js';
import { loadCentralConfig } from '../central/config.js';
import { centralPlugins } from '../central/plugins.js';
import { statusSnapshot } from '../central/status/index.js';
import { tempDir } from '../test/helpers/hotpot.js';
import { percentile, type BenchResult } from './report.js';

const POINTS = 10_000;
/** Customers reloading at once, each on its own keep-alive connection. */
const CROWD = 32;
const REQUESTS_EACH = 250;

function get(port: number, path: string, agent: Agent, headers: Record<string, string>): Promise<{ ms: number; status: number; etag: string | undefined }> {
  const started = performance.now();
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, etag: res.headers.etag }));
      });
      req.on('error', reject);
      req.end();
    }),
    10_000,
    `GET ${path}`,
  );
}

/** A crowd of CROWD clients each asking REQUESTS_EACH times; returns latencies, the rate, and central's CPU per request. */
async function crowd(port: number, path: string, headers: Record<string, string>, expected: number) {
  const agents = Array.from({ length: CROWD }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const times: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    agents.map(async (agent) => {
      for (let i = 0; i < REQUESTS_EACH; i++) {
        const res = await get(port, path, agent, headers);
        if (res.status !== expected) throw new Error(`GET ${path} answered ${res.status}, expected ${expected}`);
        times.push(res.ms);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  for (const agent of agents) agent.destroy();
  times.sort((a, b) => a - b);
  const total = CROWD * REQUESTS_EACH;
  return { p50: percentile(times, 50), p99: percentile(times, 99), rate: total / seconds, cpuMsPerRequest: (used.user + used.system) / 1000 / total };
}

/**
 * The public status page under a crowd: CROWD clients reloading `/status.json` over a fleet of
 * POINTS points, first as new visitors (full body), then as browsers revalidating their copy
 * (`If-None-Match` → 304). The process's CPU includes the load generator (same process), so it
 * is an upper bound of what central spends.
 */
export async function run(): Promise<BenchResult[]> {
  const config = loadCentralConfig(undefined, {}, { dataDir: join(tempDir('bench-status'), 'central'), http: { port: 0 }, broker: { host: '127.0.0.1', port: 0 }, recovery: { host: { enabled: false } } });
  const central = new Central(config, { log: silentLogger(), plugins: centralPlugins() });
  await central.start();
  try {
    const now = Date.now();
    for (let i = 0; i < POINTS; i++) {
      central.fleet.acceptStatus(`bench-${String(i).padStart(5, '0')}`, { online: i % 50 !== 0, ts: now, version: 'bench', session: 1 }, now);
    }
    await central.api('notices')!.post({ severity: 'warning', text: { ru: 'Проверка.', en: 'A check.', ka: 'შემოწმება.' } }, 'user:bench', 'bench');
    const port = central.httpPort!;
    const warm = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(port, '/status.json', warm, {});
    warm.destroy();
    const fresh = await crowd(port, '/status.json', {}, 200);
    const revalidating = await crowd(port, '/status.json', { 'if-none-match': first.etag! }, 304);
    const page = await crowd(port, '/status?lang=ka', {}, 200);
    const builds: number[] = [];
    const recovery = central.api('recovery')!;
    const notices = central.api('notices')!;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const at = Date.now();
      JSON.stringify(
        statusSnapshot(config.status, {
          now: at,
          timeZone: config.timeZone,
          health: (target) => recovery.targetHealth(target),
          incident: (target) => central.incidents.openFor(`runbook:${target}`),
          notices: notices.current(),
          points: central.fleet.list(at),
        }),
      );
      builds.push(performance.now() - started);
    }
    builds.sort((a, b) => a - b);
    const note = `${CROWD} clients × ${REQUESTS_EACH}, ${POINTS} points`;
    return [
      { name: `GET /status.json, new visitors: requests/s`, value: fresh.rate, unit: 'req/s', note },
      { name: `GET /status.json, new visitors: p50 / p99`, value: fresh.p50, unit: 'ms', note: `p99 ${fresh.p99.toFixed(2)} ms` },
      { name: `GET /status.json, If-None-Match → 304: requests/s`, value: revalidating.rate, unit: 'req/s', note },
      { name: `GET /status.json, 304: p50 / p99`, value: revalidating.p50, unit: 'ms', note: `p99 ${revalidating.p99.toFixed(2)} ms` },
      { name: `GET /status (ka page): requests/s`, value: page.rate, unit: 'req/s', note },
      { name: 'CPU per request (central and the crowd), new visitors', value: fresh.cpuMsPerRequest, unit: 'ms' },
      { name: 'CPU per request (central and the crowd), 304', value: revalidating.cpuMsPerRequest, unit: 'ms' },
      { name: `one rebuild of the status (${POINTS} points), p50`, value: percentile(builds, 50), unit: 'ms', note: 'at most once a second, however many ask' },
    ];
  } finally {
    await central.stop();
  }
}
