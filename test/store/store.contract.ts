import { contentDigest } from '../../sync/digest.js';
import { afterEach, expect, it } from 'vitest';
import type { CentralStore } from '../../central/store/types.js';
import type { OrderRecord, VoidRecord } from '../../sync/schemas.js';
import { makeOrders, makeVoid } from '../upstream/orders.js';

/** A store under test, empty, plus a way to open a second handle on the same data (another replica). */
export interface StoreUnderTest {
  store: CentralStore;
  another(): Promise<CentralStore>;
}

const ids = (orders: readonly { id: string }[]) => orders.map((order) => order.id);

/**
 * The one contract every central order store passes (SQLite, PostgreSQL). `open` gives a fresh,
 * empty store for each test; the suite closes every handle it got.
 */
export function centralStoreContract(open: () => Promise<StoreUnderTest>): void {
  const handles: CentralStore[] = [];
  afterEach(async () => {
    for (const store of handles.splice(0)) await store.close();
  });
  async function fresh(): Promise<StoreUnderTest> {
    const under = await open();
    handles.push(under.store);
    return {
      store: under.store,
      another: async () => {
        const second = await under.another();
        handles.push(second);
        return second;
      },
    };
  }

  it('commits new orders, returns them as fresh, and lists them whole with receivedAt', async () => {
    const { store } = await fresh();
    const orders = makeOrders('tbilisi-01', 5);
    const result = await store.commitOrders(orders, 1_700_000_000_123);
    expect(result.inserted).toBe(5);
    expect(ids(result.fresh)).toEqual(ids(orders));
    expect(await store.listOrders({ limit: 100 })).toEqual(orders.map((order) => ({ ...order, receivedAt: 1_700_000_000_123, voidedAt: null, voidReason: null })));
  });

  it('is idempotent by order id: a commit again changes nothing and reports no fresh order', async () => {
    const { store } = await fresh();
    const orders = makeOrders('tbilisi-01', 10);
    await store.commitOrders(orders, 1000);
    const again = await store.commitOrders(orders, 2000);
    expect(again).toEqual({ inserted: 0, fresh: [], freshVoids: [], conflicts: [] });
    const listed = await store.listOrders({ limit: 100 });
    expect(ids(listed)).toEqual(ids(orders));
    expect(listed.every((order) => order.receivedAt === 1000)).toBe(true);
    expect(await store.orderStats()).toEqual({ total: 10, byPoint: { 'tbilisi-01': 10 }, voids: 0 });
  });

  it('reports an id already committed with other content as a conflict (both digests) and keeps the first version', async () => {
    const { store } = await fresh();
    const [a, b] = makeOrders('kutaisi-03', 2) as [OrderRecord, OrderRecord];
    await store.commitOrders([a], 1000);
    const changed = { ...a, payment: a.payment === 'cash' ? ('card' as const) : ('cash' as const) };
    // b twice in one batch with different content: the second copy conflicts with the first.
    const bChanged = { ...b, note: 'other' };
    const result = await store.commitOrders([changed, a, b, bChanged], 2000);
    expect(result.fresh.map((o) => o.id)).toEqual([b.id]);
    expect(result.conflicts).toEqual([
      { id: a.id, pointId: 'kutaisi-03', committedDigest: contentDigest(a), receivedDigest: contentDigest(changed) },
      { id: b.id, pointId: 'kutaisi-03', committedDigest: contentDigest(b), receivedDigest: contentDigest(bChanged) },
    ]);
    const listed = await store.listOrders({ pointId: 'kutaisi-03', limit: 10 });
    expect(listed.map((o) => contentDigest({ ...o, receivedAt: undefined, voidedAt: undefined, voidReason: undefined }))).toEqual([contentDigest(a), contentDigest(b)]);
  });

  it('reports exactly the new orders of a batch mixing new and duplicates, once each', async () => {
    const { store } = await fresh();
    const [a, b, c, d] = makeOrders('batumi-02', 4) as [OrderRecord, OrderRecord, OrderRecord, OrderRecord];
    await store.commitOrders([a, b], 1000);
    // c twice in one batch: a resend that joined its original's group commit.
    const result = await store.commitOrders([b, c, a, d, c], 2000);
    expect(result.inserted).toBe(2);
    expect(ids(result.fresh)).toEqual([c.id, d.id]);
    expect(ids(await store.listOrders({ limit: 100 }))).toEqual([a.id, b.id, c.id, d.id]);
    expect((await store.orderStats()).total).toBe(4);
  });

  it('pages in commit order with `after`, with no gap and no repeat', async () => {
    const { store } = await fresh();
    const committed: OrderRecord[] = [];
    for (let batch = 0; batch < 5; batch++) {
      // Interleave points so commit order differs from any per-point order.
      const orders = [...makeOrders('kutaisi-01', 7, batch * 7 + 1), ...makeOrders('batumi-01', 6, batch * 6 + 1)];
      await store.commitOrders(orders, 1000 + batch);
      committed.push(...orders);
    }
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.listOrders({ after, limit: 8 });
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(8);
      paged.push(...ids(page));
      after = page[page.length - 1]!.id;
    }
    expect(paged).toEqual(ids(committed));
    expect(await store.listOrders({ after: committed[committed.length - 1]!.id, limit: 8 })).toEqual([]);
  });

  it('treats an unknown `after` as the start', async () => {
    const { store } = await fresh();
    const orders = makeOrders('tbilisi-03', 3);
    await store.commitOrders(orders, 1000);
    const unknown = makeOrders('tbilisi-03', 1)[0]!.id;
    expect(ids(await store.listOrders({ after: unknown, limit: 10 }))).toEqual(ids(orders));
    expect(ids(await store.listOrders({ after: 'not-an-order-id', limit: 10 }))).toEqual(ids(orders));
  });

  it('filters by point, also while paging', async () => {
    const { store } = await fresh();
    const kutaisi = makeOrders('kutaisi-01', 6);
    const batumi = makeOrders('batumi-01', 6);
    await store.commitOrders(kutaisi.flatMap((order, i) => [order, batumi[i]!]), 1000);
    expect(ids(await store.listOrders({ pointId: 'batumi-01', limit: 100 }))).toEqual(ids(batumi));
    const firstPage = await store.listOrders({ pointId: 'kutaisi-01', limit: 4 });
    expect(ids(firstPage)).toEqual(ids(kutaisi.slice(0, 4)));
    expect(ids(await store.listOrders({ pointId: 'kutaisi-01', after: firstPage[3]!.id, limit: 4 }))).toEqual(ids(kutaisi.slice(4)));
    expect(await store.listOrders({ pointId: 'zugdidi-01', limit: 100 })).toEqual([]);
  });

  it('counts orders per point and in total', async () => {
    const { store } = await fresh();
    expect(await store.orderStats()).toEqual({ total: 0, byPoint: {}, voids: 0 });
    await store.commitOrders([...makeOrders('tbilisi-01', 3), ...makeOrders('batumi-01', 2)], 1000);
    await store.commitOrders(makeOrders('tbilisi-01', 4, 4), 2000);
    expect(await store.orderStats()).toEqual({ total: 9, byPoint: { 'batumi-01': 2, 'tbilisi-01': 7 }, voids: 0 });
  });

  it('two committers on the same ids at once (two replicas): every order stored once, fresh to exactly one', async () => {
    const TOTAL = 3000;
    const { store, another } = await fresh();
    const second = await another();
    const orders = makeOrders('rustavi-01', TOTAL);
    // Overlapping batches in opposite orders, several at once, as two replicas handed the same resends.
    const firstPart = orders.slice(0, 0.6 * TOTAL);
    const lastPart = orders.slice(0.4 * TOTAL).reverse();
    const commits = await Promise.all(
      Array.from({ length: 8 }, (_, round) => {
        const batch = (round % 2 ? lastPart : firstPart).slice((round >> 1) * 50);
        return (round % 2 ? second : store).commitOrders(batch, 1000 + round);
      }),
    );
    const freshIds = commits.flatMap((commit) => ids(commit.fresh));
    expect(commits.reduce((sum, commit) => sum + commit.inserted, 0)).toBe(freshIds.length);
    expect(new Set(freshIds).size).toBe(freshIds.length);
    expect([...freshIds].sort()).toEqual(ids(orders).sort());
    const listed = ids(await second.listOrders({ limit: TOTAL * 2 }));
    expect(listed.length).toBe(TOTAL);
    expect([...listed].sort()).toEqual(ids(orders).sort());
    expect(await store.orderStats()).toEqual({ total: TOTAL, byPoint: { 'rustavi-01': TOTAL }, voids: 0 });
  });

  it("gives one point's orders created in a window [from, to), for end-of-day reconciliation", async () => {
    const { store } = await fresh();
    const orders = makeOrders('zugdidi-01', 4).map((order, i) => ({ ...order, createdAt: 1_000_000 + i * 100 }));
    await store.commitOrders([...orders, ...makeOrders('batumi-01', 2).map((order) => ({ ...order, createdAt: 1_000_150 }))], 5000);
    const day = [...(await store.dayOrders('zugdidi-01', 1_000_100, 1_000_300))].sort((a, b) => a.seq - b.seq);
    expect(day).toEqual(orders.slice(1, 3).map((order) => ({ seq: order.seq, number: order.number, total: order.total, payment: order.payment, synced: true, voided: false })));
    expect(await store.dayOrders('zugdidi-01', 2_000_000, 3_000_000)).toEqual([]);
  });

  it('counts every point\'s orders per hour in a window [from, to), by the orders\' own time', async () => {
    const { store } = await fresh();
    const H = 3_600_000;
    const base = 500_000 * H;
    const at = (pointId: string, times: number[]) => makeOrders(pointId, times.length).map((order, i) => ({ ...order, createdAt: times[i]! }));
    await store.commitOrders([...at('zugdidi-01', [base + 10, base + 20, base + H + 5]), ...at('batumi-01', [base + 2 * H - 1, base + 3 * H])], 5000);
    expect(await store.hourlyCounts(base, base + 3 * H)).toEqual([
      { pointId: 'batumi-01', hour: base + H, count: 1 },
      { pointId: 'zugdidi-01', hour: base, count: 2 },
      { pointId: 'zugdidi-01', hour: base + H, count: 1 },
    ]);
    expect(await store.hourlyCounts(base + 4 * H, base + 5 * H)).toEqual([]);
  });

  it('applies voids idempotently by void id: fresh once, then listed, counted and in the day', async () => {
    const { store } = await fresh();
    const orders = makeOrders('gori-01', 4);
    const voided = makeVoid(orders[1]!, 'wrong dish');
    // The order and its void in one batch, the void sent twice in it.
    const first = await store.commitOrders(orders, 1000, [voided, voided]);
    expect(first.inserted).toBe(4);
    expect(first.freshVoids).toEqual([voided]);
    const again = await store.commitOrders(orders, 2000, [voided]);
    expect(again).toEqual({ inserted: 0, fresh: [], freshVoids: [], conflicts: [] });
    // A second void of the same order (another id) changes nothing either.
    expect((await store.commitOrders([], 3000, [makeVoid(orders[1]!, 'other reason')])).freshVoids).toEqual([]);
    const listed = await store.listOrders({ limit: 10 });
    expect(listed.map((order) => [order.voidedAt, order.voidReason])).toEqual([[null, null], [voided.voidedAt, 'wrong dish'], [null, null], [null, null]]);
    expect(await store.orderStats()).toEqual({ total: 4, byPoint: { 'gori-01': 4 }, voids: 1 });
    expect(await store.voidsOf([orders[0]!.id, orders[1]!.id])).toEqual([{ ...voided, receivedAt: 1000 }]);
    const day = await store.dayOrders('gori-01', 0, Number.MAX_SAFE_INTEGER);
    expect(day.filter((order) => order.voided).map((order) => order.seq)).toEqual([orders[1]!.seq]);
  });

  it('pages voids in commit order after a void id (what forwarding catches up from)', async () => {
    const { store } = await fresh();
    const orders = makeOrders('gori-04', 3);
    const voids = orders.map((order, i) => makeVoid(order, `reason ${i}`));
    await store.commitOrders(orders, 1000, [voids[0]!]);
    await store.commitOrders([], 2000, [voids[1]!, voids[2]!]);
    expect((await store.listVoids(undefined, 2)).map((record) => record.id)).toEqual([voids[0]!.id, voids[1]!.id]);
    expect(await store.listVoids(voids[1]!.id, 10)).toEqual([{ ...voids[2]!, receivedAt: 2000 }]);
    expect(await store.listVoids(voids[2]!.id, 10)).toEqual([]);
  });

  it('keeps a void that arrives before its order, and applies it when the order comes', async () => {
    const { store } = await fresh();
    const [order] = makeOrders('gori-02', 1) as [OrderRecord];
    const early: VoidRecord = makeVoid(order, 'rang twice');
    expect((await store.commitOrders([], 1000, [early])).freshVoids).toEqual([early]);
    expect(await store.orderStats()).toEqual({ total: 0, byPoint: {}, voids: 0 });
    await store.commitOrders([order], 2000);
    expect((await store.listOrders({ limit: 10 }))[0]).toMatchObject({ id: order.id, voidReason: 'rang twice', voidedAt: early.voidedAt });
    expect((await store.orderStats()).voids).toBe(1);
  });

  it("ignores a void naming another point's order", async () => {
    const { store } = await fresh();
    const [order] = makeOrders('gori-03', 1) as [OrderRecord];
    await store.commitOrders([order], 1000, [{ ...makeVoid(order, 'not mine'), pointId: 'batumi-09' }]);
    expect((await store.listOrders({ limit: 10 }))[0]!.voidedAt).toBeNull();
    expect((await store.orderStats()).voids).toBe(0);
  });
}
