import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { ConfigError } from '../../lib/config.js';
import type { ForwardingView } from '../../central/upstream/index.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { sampleOrder, startAgent } from '../helpers/inproc.js';
import { brokerOf } from '../helpers/logins.js';
import { waitFor } from '../peers/net.js';
import { throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { SalesServer } from '../peers/sales-server.js';
import { startForwardingCentral } from '../upstream/central.js';

it('upstream.url and upstream.urls together are a config error; url is the one-endpoint shorthand', () => {
  expect(() => loadCentralConfig(undefined, { HOTPOT_UPSTREAM_URL: 'http://a/api/sales', HOTPOT_UPSTREAM_URLS: 'http://a/api/sales,http://b/api/sales' })).toThrow(ConfigError);
  expect(() => loadCentralConfig(undefined, { HOTPOT_UPSTREAM_URL: 'http://a/api/sales', HOTPOT_UPSTREAM_URLS: 'http://b/api/sales' })).toThrow(/upstream\.urls: set upstream\.url or upstream\.urls, not both/);
  const list = loadCentralConfig(undefined, { HOTPOT_UPSTREAM_URLS: 'http://a/api/sales,https://b/api/sales' }).upstream;
  expect(list).toMatchObject({ url: 'http://a/api/sales', urls: ['http://a/api/sales', 'https://b/api/sales'], primaryRetryMs: 60_000 });
  expect(loadCentralConfig(undefined, {}).upstream).toMatchObject({ url: undefined, urls: [] });
});

/** Two endpoints of one main server (two sales servers over one PostgreSQL database), the first down, then the two swapped. */
describeWithPeers('central upstream endpoint list', [peers.postgres()], () => {
  let db: ThrowawayDatabase;
  let first: SalesServer;
  let second: SalesServer;
  let central: Central;
  let agent: Agent;

  beforeAll(async () => {
    db = await throwawayDatabase('hotpot_endpoints');
    first = await new SalesServer({ database: db.url }).start();
    second = await new SalesServer({ database: db.url }).start();
    const dir = tempDir('endpoints');
    central = await startForwardingCentral(dir, { urls: [first.url, second.url], primaryRetryMs: 1000 });
    agent = await startAgent(dir, 'gori-01', brokerOf(central));
  });
  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
    await first?.close();
    await second?.close();
    await db?.drop();
  });

  const held = async () => (await db.query('SELECT COUNT(*)::int AS n, COUNT(DISTINCT sale_id)::int AS ids FROM sales')).rows[0] as { n: number; ids: number };
  const view = async () => (await httpJson<ForwardingView>(central.httpPort!, 'GET', '/api/forwarding')).body;
  const sell = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++) expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', sampleOrder(i))).status).toBe(201);
  };

  it('first endpoint down: every sale recorded once on the second; swapped: back on the first, still once', async () => {
    const firstPort = first.port;
    await first.close();
    await sell(0, 30);
    await waitFor(async () => (await held()).n === 30, '30 sales on the main server', 30_000);
    expect(await held()).toEqual({ n: 30, ids: 30 });
    expect(second.stats().recorded).toBe(30);
    const during = await view();
    expect(during.endpoints.map((e) => [e.url, e.current, e.up])).toEqual([
      [first.url, false, false],
      [second.url, true, true],
    ]);
    const metrics = (await httpJson<string>(central.httpPort!, 'GET', '/metrics')).body as unknown as string;
    expect(metrics).toContain(`hotpot_forward_endpoint_up{endpoint="${first.url}"} 0`);
    expect(metrics).toContain(`hotpot_forward_endpoint_up{endpoint="${second.url}"} 1`);
    expect(metrics).toContain(`hotpot_forward_endpoint_current{endpoint="${second.url}"} 1`);

    // Swap: the first comes back (same address), the second goes down, answering 503.
    first = await new SalesServer({ database: db.url, port: firstPort }).start();
    second.control({ down: true });
    await sell(30, 30);
    await waitFor(async () => (await held()).n === 60, '60 sales on the main server', 30_000);
    expect(await held()).toEqual({ n: 60, ids: 60 });
    expect(first.stats().recorded).toBe(30);
    await waitFor(async () => (await view()).endpoints[0]!.current, 'the first endpoint current again', 10_000);

    // Both up: sticky on the first, nothing sent twice.
    second.control({ down: false });
    await sell(60, 10);
    await waitFor(async () => (await held()).n === 70, '70 sales', 30_000);
    expect(await held()).toEqual({ n: 70, ids: 70 });
    expect(first.stats().duplicates + second.stats().duplicates).toBe(0);
    expect((await view()).endpoints.map((e) => [e.current, e.up])[0]).toEqual([true, true]);
  });
});
