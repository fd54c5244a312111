import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { degradedVerdict, figuresOf } from '../../central/recovery/figures.js';
import type { Central } from '../../central/central.js';
import { startCentral } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { waitFor } from '../peers/net.js';

const DAY = 86_400_000;

describe('probe figures: the arithmetic', () => {
  it('p50/p95 and error rate over 24 h, uptime over 24 h and 30 d; degraded before down', () => {
    const now = 40 * DAY;
    const samples = [
      ...Array.from({ length: 20 }, (_, i) => ({ at: now - i * 60_000, ms: 10 + i, ok: i !== 0 })),
      ...Array.from({ length: 20 }, (_, i) => ({ at: now - 10 * DAY - i, ms: 5, ok: false })),
      { at: now - 31 * DAY, ms: 1, ok: false },
    ];
    const f = figuresOf('main', samples, now);
    expect(f).toMatchObject({ p50Ms: 19, p95Ms: 28, errorRate24h: 1 / 20, uptime24h: 19 / 20, uptime30d: 19 / 40, samples24h: 20 });
    const rule = { windowMs: 15 * 60_000, slowMs: 20, errorRate: 0.5, minSamples: 5 };
    expect(degradedVerdict(samples, now, rule)?.why).toBe('slow');
    expect(degradedVerdict(samples, now, { ...rule, slowMs: 100 })).toBeNull();
    expect(degradedVerdict(samples, now, { ...rule, errorRate: 0.05 })?.why).toBe('erroring');
    expect(degradedVerdict(samples.slice(0, 3), now, rule)).toBeNull();
  });
});

describe('probe figures against a real main server that slows down and errors', () => {
  let server: Server | undefined;
  let central: Central | undefined;
  afterEach(async () => {
    await central?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('times every probe; a slow, then erroring main server opens runbook:main-server:degraded before it is down', async () => {
    let phase: 'fast' | 'slow' | 'errors' = 'fast';
    let n = 0;
    server = createServer((_req, res) => {
      n++;
      const answer = (status: number) => res.writeHead(status, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      if (phase === 'slow') setTimeout(() => answer(200), 250);
      else answer(phase === 'errors' && n % 2 === 0 ? 500 : 200);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/status`;
    central = await startCentral(tempDir('figures'), {
      extra: {
        recovery: {
          host: { enabled: false },
          procedures: {
            'main-server': {
              // failAfter high: this test is about before it is down.
              probe: { every: '100ms', failAfter: 1000, checks: [{ type: 'http', url }], slowMs: 150, errorRate: 0.4, degradedWindow: '1s', degradedMinSamples: 4 },
              stages: [{ name: 'wait', steps: [{ type: 'wait', id: 'wait', timeoutMs: 1000 }] }],
            },
          },
        },
      },
    });
    const port = central.httpPort!;
    type Figures = { target: string; p50Ms: number; p95Ms: number; errorRate24h: number; uptime24h: number; uptime30d: number; samples24h: number }[];
    const figures = async () => (await httpJson<Figures>(port, 'GET', '/api/runbooks/figures')).body[0]!;
    const degraded = () => central!.incidents.openFor('runbook:main-server:degraded');

    await waitFor(async () => (await figures()).samples24h >= 6, 'six timed probes');
    expect(await figures()).toMatchObject({ target: 'main-server', errorRate24h: 0, uptime24h: 1, uptime30d: 1 });
    expect(degraded()).toBeNull();

    phase = 'slow';
    await waitFor(() => degraded()?.title === 'main-server is slow', 'the slow incident', 15_000);
    expect((await figures()).p95Ms).toBeGreaterThan(200);
    phase = 'fast';
    await waitFor(() => degraded() === null, 'the slow incident to clear', 15_000);

    phase = 'errors';
    await waitFor(() => degraded()?.title === 'main-server is erroring', 'the erroring incident', 15_000);
    const f = await figures();
    expect(f.errorRate24h).toBeGreaterThan(0);
    expect(f.uptime24h).toBeLessThan(1);
    // Still not down: no run started.
    expect(central.incidents.openFor('runbook:main-server')).toBeNull();
    const metrics = (await httpJson<string>(port, 'GET', '/metrics')).body;
    expect(metrics).toMatch(/hotpot_probe_uptime_ratio\{target="main-server",window="30d"\} 0\.\d+/);
    expect(metrics).toMatch(/hotpot_probe_response_seconds\{target="main-server",quantile="0.95"\} 0\.\d+/);
  });
});
