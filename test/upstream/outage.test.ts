import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Central } from '../../central/central.js';
import type { ForwardingView } from '../../central/upstream/index.js';
import { packageRoot } from '../../lib/paths.js';
import { freePort, waitFor } from '../peers/net.js';
import { SalesServer, SalesServerChild, type SalesStats } from '../peers/sales-server.js';
import { suiteToken, HOTPOT_BIN, httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { startForwardingCentral } from './central.js';
import { makeOrders, publishOrders } from './orders.js';
import { brokerOf, embeddedBrokerAt } from '../helpers/logins.js';

const run = promisify(execFile);

function expectEachOrderRecordedOnce(stats: SalesStats, orderIds: readonly string[]): void {
  expect(stats.recorded).toBe(orderIds.length);
  expect(new Set(stats.sales.map((sale) => sale.saleId))).toEqual(new Set(orderIds));
  const byPoint = new Map<string, number[]>();
  for (const sale of stats.sales) byPoint.set(sale.pointId, [...(byPoint.get(sale.pointId) ?? []), sale.seq]);
  for (const [pointId, seqs] of byPoint) expect(seqs, `${pointId} recorded in seq order`).toEqual([...seqs].sort((a, b) => a - b));
}

describe('forwarding through outages (real child processes, kill -9)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('the main server dies mid-stream and comes back: forwarding pauses, probes, resumes, and records every order exactly once', async () => {
    const dir = tempDir('fwd-server-dies');
    const sales = await new SalesServerChild(await freePort(), join(dir, 'sales.jsonl')).start();
    cleanup.push(() => sales.kill());
    await sales.control({ delayMs: 50 });
    const central: Central = await startForwardingCentral(dir, { url: sales.url });
    cleanup.push(() => central.stop());
    const view = async () => (await httpJson<ForwardingView>(central.httpPort!, 'GET', '/api/forwarding')).body;
    const points = ['tbilisi-02', 'batumi-02', 'kutaisi-02'];
    const first = points.flatMap((pointId) => makeOrders(pointId, 30));
    const second = points.flatMap((pointId) => makeOrders(pointId, 20, 31));

    await publishOrders(brokerOf(central), first);
    await waitFor(async () => (await sales.stats()).recorded >= 10, 'the first sales recorded', 30_000);
    const beforeKill = await sales.stats();
    await sales.kill();
    expect(beforeKill.recorded).toBeLessThan(first.length);

    await publishOrders(brokerOf(central), second);
    await waitFor(async () => (await view()).paused?.reasons.includes('failures') ?? false, 'forwarding to pause itself', 30_000);
    const paused = await view();
    expect(paused.state).toBe('paused');
    expect(paused.lastError?.error).toMatch(/ECONNREFUSED|ECONNRESET|socket|closed|terminated/i);
    await waitFor(async () => (await view()).lastProbe !== null, 'a status probe while paused');
    expect((await view()).lastProbe?.ok).toBe(false);

    await sales.start(); // same port, same journal: the sales recorded before the kill are still there
    await waitFor(async () => (await sales.stats()).recorded === first.length + second.length, 'every order recorded after the server came back', 60_000);
    expectEachOrderRecordedOnce(await sales.stats(), [...first, ...second].map((order) => order.id));
    await waitFor(async () => (await view()).forwarded === first.length + second.length, 'every order marked forwarded');
    expect(await view()).toMatchObject({ paused: null, backlog: { size: 0 } });
  });

  it('central killed -9 mid-forward resumes from its store on restart: no order lost, none recorded twice', async () => {
    if (!existsSync(join(packageRoot(), 'dist', 'central', 'upstream', 'index.js'))) {
      throw new Error('dist/ has no upstream plugin: run npm run build first (npm test does)');
    }
    const dir = tempDir('fwd-central-dies');
    const sales = await new SalesServer().start();
    cleanup.push(() => sales.close());
    sales.control({ delayMs: 40 });
    const brokerPort = await freePort();
    const env = {
      HOTPOT_DATA_DIR: join(dir, 'central'),
      HOTPOT_HTTP_HOST: '127.0.0.1',
      HOTPOT_HTTP_PORT: '0',
      HOTPOT_BROKER_HOST: '127.0.0.1',
      HOTPOT_BROKER_PORT: String(brokerPort),
      HOTPOT_UPSTREAM_URL: sales.url,
      HOTPOT_UPSTREAM_BACKOFF_BASE_MS: '50',
      HOTPOT_UPSTREAM_BACKOFF_MAX_MS: '500',
      HOTPOT_UPSTREAM_PROBE_EVERY_MS: '100',
    };
    let central: HotpotProcess = await startHotpot('central', env);
    cleanup.push(() => central.kill());
    const orders = ['gori-02', 'telavi-02', 'poti-02', 'mtskheta-02'].flatMap((pointId) => makeOrders(pointId, 50));

    await publishOrders(embeddedBrokerAt(env.HOTPOT_DATA_DIR, brokerPort), orders);
    await waitFor(
      async () => (await httpJson<{ total: number }>(central.httpPort, 'GET', '/api/orders/stats')).body.total === orders.length,
      'central to commit all 200 orders',
      30_000,
    );
    await waitFor(() => sales.stats().recorded >= 30, 'forwarding under way', 30_000);
    await central.kill('SIGKILL');
    const atKill = sales.stats();
    expect(atKill.recorded).toBeLessThan(orders.length);

    central = await startHotpot('central', env);
    await waitFor(() => sales.stats().recorded === orders.length, 'every order recorded after the restart', 60_000);
    const stats = sales.stats();
    expectEachOrderRecordedOnce(stats, orders.map((order) => order.id));
    // Only what was in flight at the kill (one per point at most) may be POSTed again.
    expect(stats.posts - orders.length).toBeLessThanOrEqual(4);
    await waitFor(
      async () => (await httpJson<ForwardingView>(central.httpPort, 'GET', '/api/forwarding')).body.forwarded === orders.length,
      'the restarted central to mark every order forwarded',
    );
    const backlog = await httpJson<{ backlog: { size: number } }>(central.httpPort, 'GET', '/api/orders/stats');
    expect(backlog.body.backlog.size).toBe(0);

    // The CLI signs in with an operator's token, as ops would run it.
    const cli = await run(process.execPath, [HOTPOT_BIN, 'redrive', '--central', `http://127.0.0.1:${central.httpPort}`], { timeout: 20_000, env: { ...process.env, HOTPOT_TOKEN: suiteToken(central.httpPort)! } });
    expect(cli.stdout).toContain('re-drove 0 parked order(s)');
  });
});
