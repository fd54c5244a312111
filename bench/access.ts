import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../lib/log.js';
import { withTimeout } from '../lib/timeout.js';
import { Central } from '../central/central.js';
import { loadCentralConfig } from '../central/config.js';
import { centralPlugins } from '../central/plugins.js';
import { tempDir } from '../test/helpers/hotpot.js';
import { percentile, type BenchResult } from './report.js';

const POINTS = 200;
const REQUESTS = 4000;
const PASSWORD = 'bench password, long enough';

/** One keep-alive GET, timed from request to the last byte. */
function timedGet(port: number, path: string, agent: Agent, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path} answered ${res.statusCode}`));
        res.resume();
        res.on('end', () => resolve(performance.now() - started));
      });
      req.on('error', reject);
      req.end();
    }),
    10_000,
    `GET ${path}`,
  );
}

/**
 * What the access gate costs a request: `GET /api/points` signed in with a session cookie, beside
 * the same handler mounted as a public route (no identity to establish) — interleaved, same run,
 * same central, same fleet of POINTS points. Target: ≤ 0.2 ms at p50.
 */
export async function run(): Promise<BenchResult[]> {
  const config = loadCentralConfig(undefined, {}, { dataDir: join(tempDir('bench-access'), 'central'), http: { port: 0 }, broker: { host: '127.0.0.1', port: 0 }, recovery: { host: { enabled: false } } });
  const central = new Central(config, { log: silentLogger(), plugins: centralPlugins() });
  await central.access.addUser('bench', 'viewer', PASSWORD);
  await central.start();
  try {
    const now = Date.now();
    for (let i = 0; i < POINTS; i++) {
      const pointId = `bench-${String(i).padStart(4, '0')}`;
      central.fleet.acceptStatus(pointId, { online: true, ts: now, version: 'bench', session: 1 }, now);
    }
    // The same handler with no access to establish: the baseline.
    central.router.add('GET', '/bench/points', { meta: { access: 'public', owner: 'bench' } }, () => ({ status: 200, body: central.fleet.list(central.now()) }));
    const port = central.httpPort!;
    const login = await fetch(`http://127.0.0.1:${port}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: PASSWORD }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const token = await central.access.createToken('bench', 'viewer');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const times = { session: [] as number[], token: [] as number[], open: [] as number[] };
    for (let i = 0; i < 300; i++) await timedGet(port, '/api/points', agent, { cookie }); // warm-up
    for (let i = 0; i < REQUESTS; i++) {
      times.session.push(await timedGet(port, '/api/points', agent, { cookie }));
      times.token.push(await timedGet(port, '/api/points', agent, { authorization: `Bearer ${token}` }));
      times.open.push(await timedGet(port, '/bench/points', agent, {}));
    }
    agent.destroy();
    const p = (list: number[], q: number) => percentile([...list].sort((a, b) => a - b), q);
    const overhead = p(times.session, 50) - p(times.open, 50);
    return [
      { name: `GET /api/points (${POINTS} points), session, p50`, value: p(times.session, 50), unit: 'ms', note: `${REQUESTS} requests, interleaved` },
      { name: `GET /api/points (${POINTS} points), bearer token, p50`, value: p(times.token, 50), unit: 'ms' },
      { name: `same handler with no access check, p50`, value: p(times.open, 50), unit: 'ms' },
      { name: 'access gate overhead (session) at p50', value: overhead, unit: 'ms', target: '≤ 0.2 ms', pass: overhead <= 0.2 },
      { name: 'access gate overhead (token) at p50', value: p(times.token, 50) - p(times.open, 50), unit: 'ms', target: '≤ 0.2 ms', pass: p(times.token, 50) - p(times.open, 50) <= 0.2 },
      { name: 'GET /api/points, session, p99', value: p(times.session, 99), unit: 'ms', note: `no access check: ${p(times.open, 99).toFixed(3)} ms` },
    ];
  } finally {
    await central.stop();
  }
}
