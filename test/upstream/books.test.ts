import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import type { Central } from '../../central/central.js';
import type { Incident } from '../../central/incidents/index.js';
import type { RunRecord } from '../../central/recovery/index.js';
import type { ForwardingView } from '../../central/upstream/index.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { HOTPOT_BIN, httpJson, tempDir } from '../helpers/hotpot.js';
import { brokerOf } from '../helpers/logins.js';
import { waitFor } from '../peers/net.js';
import { adminQuery, throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { SalesServer } from '../peers/sales-server.js';
import { startForwardingCentral } from './central.js';
import { makeOrders, publishOrders } from './orders.js';

const run = promisify(execFile);

describeWithPeers("the main server's books: restores, hand re-forwards and the books check", [peers.postgres()], () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  /** A main server keeping its sales in a throwaway PostgreSQL database, and a central forwarding to it. */
  async function setUp(prefix: string, extra: { upstream?: (sales: SalesServer) => Record<string, unknown>; config?: (main: ThrowawayDatabase, dir: string) => Record<string, unknown> } = {}) {
    const dir = tempDir(prefix);
    const main = await throwawayDatabase('hotpot_main');
    cleanup.push(() => main.drop());
    const sales = await new SalesServer({ database: main.url }).start();
    cleanup.push(() => sales.close());
    const central = await startForwardingCentral(dir, { url: sales.url, ...extra.upstream?.(sales) }, {}, extra.config?.(main, dir) ?? {});
    cleanup.push(() => central.stop());
    const view = async () => (await httpJson<ForwardingView>(central.httpPort!, 'GET', '/api/forwarding')).body;
    /** Publishes orders as the boxes would and waits until central has forwarded all it holds. */
    const sell = async (orders: ReturnType<typeof makeOrders>, total: number) => {
      await publishOrders(brokerOf(central), orders);
      await waitFor(async () => (await view()).forwarded === total, `${total} orders forwarded`, 30_000, 50);
    };
    const held = async () => new Set(await sales.heldSales());
    return { dir, main, sales, central, view, sell, held };
  }

  /** Every order central has committed. */
  async function committedIds(central: Central): Promise<string[]> {
    return (await central.orders.listOrders({ limit: 100_000 })).map((order) => order.id);
  }

  it("a restore through the database procedure ends by re-forwarding what the dump lacks: within a minute the main server's database holds every sale again", async () => {
    const { central, main, sell, held } = await setUp('books-restore', {
      config: (db, dir) => ({
        backups: { dir: join(dir, 'backups'), postgres: { url: db.url, verify: { checks: [{ name: 'sales', query: 'SELECT count(*) FROM sales', min: 1 }] } } },
        recovery: {
          procedures: {
            database: {
              probe: { every: '300ms', checks: [{ type: 'postgres', name: 'sales table', url: db.url, query: "SELECT to_regclass('public.sales') IS NOT NULL" }] },
              stages: [{ name: 'data-recovery', steps: [{ type: 'restore-backup', id: 'restore', url: db.url, auto: true, timeoutMs: 60_000 }] }],
            },
          },
        },
      }),
    });
    await sell([...makeOrders('tbilisi-05', 20), ...makeOrders('batumi-05', 20)], 40);
    const backupRun = await httpJson<{ id: string }>(central.httpPort!, 'POST', '/api/backups/run', { kind: 'postgres' });
    expect(backupRun.status).toBe(202);
    await waitFor(
      async () => (await httpJson<{ newestVerified: { id: string } | null }>(central.httpPort!, 'GET', '/api/backups')).body.newestVerified?.id === backupRun.body.id,
      'the backup of the main server to be verified',
      60_000,
      100,
    );
    // Sold after the dump was taken: the restored database will not have these.
    await sell([...makeOrders('tbilisi-05', 15, 21), ...makeOrders('batumi-05', 15, 21)], 70);
    expect((await held()).size).toBe(70);

    const brokeAt = Date.now();
    await adminQuery('DROP TABLE sales', main.url);
    // Sold while the main server's database is broken: they wait, and go once it is back.
    await publishOrders(brokerOf(central), makeOrders('kutaisi-05', 5));

    const all = async () => new Set(await committedIds(central));
    await waitFor(
      async () => {
        const [committed, onMain] = await Promise.all([all(), held().catch(() => new Set<string>())]);
        return committed.size === 75 && [...committed].every((id) => onMain.has(id));
      },
      "every sale central committed to be in the main server's database again",
      60_000,
      200,
    );
    process.stderr.write(`books: every committed sale back on the main server ${Date.now() - brokeAt} ms after its database broke\n`);

    const runs = (await httpJson<RunRecord[]>(central.httpPort!, 'GET', '/api/runbooks/runs?procedure=database')).body;
    const restore = runs[0]!.steps;
    expect(restore.find((step) => step.stepId === 'restore' && step.phase === 'act')).toMatchObject({ ok: true });
    // The 30 orders forwarded after the dump began went back to the queue, audited in the run with their count.
    const after = restore.find((step) => step.phase === 'after-restore')!;
    expect(after).toMatchObject({ ok: true, stepId: 'restore', detail: expect.stringMatching(/^re-forwarded 30 order\(s\) forwarded since /) });
    expect(after.what).toContain(`upstream after restoring backup ${backupRun.body.id}`);
    const audit = (await httpJson<ForwardingView>(central.httpPort!, 'GET', '/api/forwarding')).body.audit;
    expect(audit[0]).toMatchObject({ action: 'reforward', count: 30, by: expect.stringContaining(`runbook database run ${runs[0]!.id}`) });
  });

  it('hotpot reforward --since sends again what a restore done outside central lost, and the audit names the token', async () => {
    const { central, main, sell, held, view } = await setUp('books-reforward');
    await sell(makeOrders('gori-05', 10), 10);
    const dumpTakenAt = Date.now();
    const later = makeOrders('gori-05', 10, 11);
    await sell(later, 20);
    // The main server's database went back to a dump taken at dumpTakenAt (by someone else's tools).
    await adminQuery(`DELETE FROM sales WHERE recorded_at >= ${dumpTakenAt}`, main.url);
    expect((await held()).size).toBe(10);

    const token = await central.access.createToken('night-ops', 'operator');
    const env = { ...process.env, HOTPOT_TOKEN: token };
    const central_ = ['--central', `http://127.0.0.1:${central.httpPort}`];
    await expect(run(process.execPath, [HOTPOT_BIN, 'reforward', ...central_, '--since', 'yesterday'], { env })).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('"yesterday" is not a time') });
    const { stdout } = await run(process.execPath, [HOTPOT_BIN, 'reforward', ...central_, '--since', new Date(dumpTakenAt).toISOString()], { env });
    expect(stdout).toContain('re-forwarding 10 order(s) forwarded since');
    await waitFor(async () => (await held()).size === 20, 'the lost sales back on the main server', 30_000, 100);
    expect(await held()).toEqual(new Set(await committedIds(central)));
    expect((await view()).audit[0]).toMatchObject({ by: 'night-ops', action: 'reforward', count: 10 });

    const viewer = await central.access.createToken('grafana', 'viewer');
    const refused = await httpJson(central.httpPort!, 'POST', '/api/forwarding/reforward', { since: dumpTakenAt }, { authorization: `Bearer ${viewer}` });
    expect(refused.status).toBe(403);
    const bad = await httpJson<{ issues: { path: string }[] }>(central.httpPort!, 'POST', '/api/forwarding/reforward', { since: '2026-12-05 21:00' });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0]!.path).toBe('since');
  });

  it('the books check: a sale deleted at the main server by hand is re-sent and said so; one that stays missing keeps an incident open', async () => {
    const { central, main, sales, sell, held, view } = await setUp('books-check', {
      upstream: (server) => ({ lookup: { saleUrl: `${server.url}/{saleId}`, settleMs: 20_000 } }),
    });
    const orders = [...makeOrders('rustavi-05', 8), ...makeOrders('zugdidi-05', 8)];
    await sell(orders, 16);
    const check = async (pointId?: string) => {
      const before = (await view()).books?.finishedAt ?? 0;
      const asked = await httpJson(central.httpPort!, 'POST', '/api/forwarding/books', pointId ? { pointId } : {});
      expect(asked.status).toBe(202);
      await waitFor(async () => ((await view()).books?.finishedAt ?? 0) > before, 'the books check to report', 60_000, 100);
      return (await view()).books!;
    };
    const incidents = async (status: string) => (await httpJson<Incident[]>(central.httpPort!, 'GET', `/api/incidents?status=${status}`)).body.filter((incident) => incident.key.startsWith('forward:books'));
    const metric = async (series: string) => {
      const line = (await httpJson<string>(central.httpPort!, 'GET', '/metrics')).body.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(' ').pop()) : undefined;
    };

    // Equal books: nothing to say.
    expect(await check()).toMatchObject({ points: 2, checked: 16, missing: 0, resent: 0, stillMissing: 0, errors: 0, differing: [], repaired: [] });

    // Someone deletes a sale in the main server's database by hand.
    const lost = orders[3]!;
    await adminQuery(`DELETE FROM sales WHERE sale_id = '${lost.id}'`, main.url);
    const repaired = await check();
    expect(repaired).toMatchObject({ points: 2, checked: 16, missing: 1, resent: 1, stillMissing: 0, differing: [] });
    expect(repaired.repaired).toEqual([{ pointId: 'rustavi-05', checked: 8, missing: 1, resent: 1, stillMissing: 0, sample: [], error: null }]);
    expect(await held()).toContain(lost.id);
    expect((await view()).audit[0]).toMatchObject({ action: 'reforward', count: 1, detail: expect.stringContaining(lost.number) });
    // Said so: a resolved incident naming what happened, and the metrics.
    expect(await incidents('resolved')).toEqual([expect.objectContaining({ key: 'forward:books:rustavi-05', severity: 'info', pointId: 'rustavi-05' })]);
    expect(await metric('hotpot_forward_books_orders{result="resent"}')).toBe(1);
    expect(await metric('hotpot_forward_books_orders{result="still_missing"}')).toBe(0);

    // A main server that says "recorded" and keeps nothing: the books still differ after the re-send.
    const gone = orders[12]!;
    await adminQuery(`DELETE FROM sales WHERE sale_id = '${gone.id}'`, main.url);
    sales.control({ rules: [{ behaviour: 'loseSilently', ids: [gone.id] }] });
    const differs = await check('zugdidi-05');
    expect(differs).toMatchObject({ points: 1, missing: 1, resent: 1, stillMissing: 1 });
    expect(differs.differing).toEqual([expect.objectContaining({ pointId: 'zugdidi-05', stillMissing: 1, sample: [gone.number], error: null })]);
    const open = await incidents('open');
    expect(open).toEqual([expect.objectContaining({ key: 'forward:books:zugdidi-05', severity: 'major', pointId: 'zugdidi-05' })]);
    expect(open[0]!.detail).toContain(gone.number);
    expect(await metric('hotpot_forward_books_orders{result="still_missing"}')).toBe(1);
    expect(await metric('hotpot_forward_books_points{result="differing"}')).toBe(1);

    // The main server is fixed: the next check re-sends it once more, and the incident resolves.
    sales.control({ rules: [] });
    expect(await check()).toMatchObject({ missing: 1, resent: 1, stillMissing: 0 });
    expect(await incidents('open')).toEqual([]);
    expect(await held()).toEqual(new Set(orders.map((order) => order.id)));
  });
});
