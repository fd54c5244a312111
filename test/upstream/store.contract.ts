import { beforeEach, expect, it } from 'vitest';
import type { CommittedOrder } from '../../central/store/types.js';
import type { ForwardSignal, ForwardStore } from '../../central/upstream/store.js';
import { waitFor } from '../peers/net.js';
import { makeOrders, makeVoid } from './orders.js';

export interface ForwardStoreFactory {
  /** An empty store. */
  fresh(): Promise<ForwardStore>;
  /** The same state through a new handle, as after a restart (or on another replica). */
  reopen(store: ForwardStore): Promise<ForwardStore>;
}

const committed = (orders: ReturnType<typeof makeOrders>, receivedAt: number): CommittedOrder[] => orders.map((order) => ({ ...order, receivedAt }));

/**
 * What every ForwardStore does (after aedes' abstract-persistence): one suite, run against SQLite
 * and PostgreSQL.
 */
export function forwardStoreContract(factory: ForwardStoreFactory): void {
  let store: ForwardStore;
  beforeEach(async () => {
    store = await factory.fresh();
  });

  it('queues committed orders once and moves the watermark past them, in commit order', async () => {
    expect(await store.watermark()).toBeNull();
    const first = committed(makeOrders('a', 3), 1000);
    expect(await store.enqueue(first, 1000)).toBe(3);
    expect(await store.watermark()).toBe(first[2]!.id);
    const later = committed([...makeOrders('b', 2), ...makeOrders('a', 1, 4)], 2000);
    expect(await store.enqueue([...first.slice(1), ...later], 2000)).toBe(3); // a resend of queued orders changes nothing
    expect(await store.watermark()).toBe(later[2]!.id);
    expect(await store.enqueue([], 3000)).toBe(0);
    const { receivedAt: _received, ...record } = later[0]!;
    expect(await store.order(later[0]!.id)).toEqual(record);
    expect(await store.order('01890000-0000-7000-8000-000000000000')).toBeNull();
    expect(await store.backlog(5000)).toEqual({ size: 6, pending: 6, parked: 0, oldestReceivedAt: 1000, oldestAgeMs: 4000, oldestPendingAt: 1000 });
  });

  it('queues voids once past a void watermark; offers a void only once its sale is forwarded; records its outcomes and backlog', async () => {
    const [a1, a2] = makeOrders('a', 2);
    const [early, late] = [makeVoid(a1!, 'wrong dish'), makeVoid(a2!, 'rang twice')];
    expect(await store.voidWatermark()).toBeNull();
    // The void of a2 arrives before a2 itself: it waits.
    expect(await store.enqueueVoids([{ ...early, receivedAt: 1000 }, { ...late, receivedAt: 1000 }, { ...early, receivedAt: 1000 }], 1000)).toBe(2);
    expect(await store.voidWatermark()).toBe(early.id);
    expect(await store.enqueueVoids([{ ...late, receivedAt: 1500 }], 1500)).toBe(0);
    await store.enqueue(committed([a1!], 1000), 1000);
    expect(await store.voidHeads(10)).toEqual([]);
    expect(await store.voidBacklog()).toEqual({ pending: 2, waitingForSale: 2, parked: 0, forwarded: 0 });
    await store.apply([{ orderId: a1!.id, to: 'forwarded' }], 2000);
    const [head] = await store.voidHeads(10);
    expect(await store.voidHeads(10)).toEqual([{ orderId: a1!.id, voidId: early.id, pointId: 'a', seq: 1, attempts: 0, nextAttemptAt: 1000, receivedAt: 1000 }]);
    expect(await store.voidRecord(early.id)).toEqual(early);
    await store.apply([{ orderId: head!.orderId, voidId: early.id, to: 'retry', error: 'HTTP 503', nextAttemptAt: 9000 }], 3000);
    expect(await store.retryNow(4000)).toBe(1);
    expect((await store.voidHeads(10))[0]).toMatchObject({ attempts: 1, nextAttemptAt: 4000 });
    await store.apply([{ orderId: head!.orderId, voidId: early.id, to: 'forwarded' }], 5000);
    expect(await store.voidHeads(10)).toEqual([]);
    // Its sale's state is untouched by the void's outcomes.
    expect(await store.statuses([a1!.id])).toEqual(new Map([[a1!.id, 'forwarded']]));
    expect(await store.voidBacklog()).toEqual({ pending: 1, waitingForSale: 1, parked: 0, forwarded: 1 });
    // Re-forwarding since a restore sends the void again, after its sale.
    expect(await store.reforward({ since: 0 }, 6000)).toBe(1);
    expect(await store.voidBacklog()).toEqual({ pending: 2, waitingForSale: 2, parked: 0, forwarded: 0 });
  });

  it("offers each point's lowest pending seq, and the next one once it is forwarded or parked", async () => {
    const [a1, a2, a3] = makeOrders('a', 3);
    const [b1] = makeOrders('b', 1);
    await store.enqueue(committed([a3!, b1!, a1!, a2!], 1000), 1000); // out of seq order, as a resend can be
    const seqs = async () => Object.fromEntries((await store.heads()).map((head) => [head.pointId, head.seq]));
    expect(await seqs()).toEqual({ a: 1, b: 1 });
    await store.apply([{ orderId: a1!.id, to: 'forwarded' }, { orderId: b1!.id, to: 'parked', error: 'HTTP 400' }], 1100);
    expect(await seqs()).toEqual({ a: 2 });
    await store.apply([{ orderId: a2!.id, to: 'retry', error: 'HTTP 503', nextAttemptAt: 9000 }], 1200);
    expect(await store.heads()).toEqual([{ orderId: a2!.id, pointId: 'a', seq: 2, attempts: 1, nextAttemptAt: 9000, receivedAt: 1000 }]);
    // An answer recorded twice (a late flush) changes nothing once the order left pending.
    await store.apply([{ orderId: a1!.id, to: 'parked', error: 'late' }], 1250);
    expect(await store.retryNow(1300)).toBe(1);
    expect((await store.heads())[0]!.nextAttemptAt).toBe(1300);
    expect(await store.backlog(2000)).toMatchObject({ size: 3, pending: 2, parked: 1 });
    expect(await store.forwardedCount()).toBe(1);
    expect(await store.byPoint()).toEqual([
      { pointId: 'a', pending: 2, parked: 0, parkedVoids: 0, oldestReceivedAt: 1000 },
      { pointId: 'b', pending: 0, parked: 1, parkedVoids: 0, oldestReceivedAt: 1000 },
    ]);
    expect(await store.parked(10, null)).toEqual([{ orderId: b1!.id, pointId: 'b', seq: 1, number: b1!.number, attempts: 1, lastError: 'HTTP 400', parkedAt: 1100 }]);
  });

  it('re-drives parked orders by id, by point or all, signals the queue, and keeps its state through a reopen', async () => {
    const orders = [...makeOrders('a', 3), ...makeOrders('b', 2)];
    await store.enqueue(committed(orders, 1000), 1000);
    await store.apply(orders.map((order) => ({ orderId: order.id, to: 'parked', error: 'HTTP 400: no' }) as const), 1100);
    expect((await store.parked(10, 'b')).map((p) => p.number)).toEqual(['b-000002', 'b-000001']);
    const signals: ForwardSignal[] = [];
    const unsubscribe = store.onSignal((signal) => signals.push(signal));
    expect(await store.redrive({ ids: [orders[0]!.id] }, 1200)).toEqual({ orders: [{ orderId: orders[0]!.id, pointId: 'a' }], voids: [] });
    await waitFor(() => signals.some((signal) => signal.kind === 'queue'), 'the re-drive to signal the queue');
    expect((await store.redrive({ pointId: 'b' }, 1200)).orders.map((o) => o.orderId).sort()).toEqual([orders[3]!.id, orders[4]!.id].sort());
    unsubscribe();

    store = await factory.reopen(store);
    expect(await store.backlog(2000)).toMatchObject({ pending: 3, parked: 2 });
    expect((await store.redrive({}, 1300)).orders).toHaveLength(2);
    expect(await store.redrive({}, 1300)).toEqual({ orders: [], voids: [] });
    expect((await store.heads()).map((h) => [h.pointId, h.seq, h.attempts])).toEqual([
      ['a', 1, 0],
      ['b', 1, 0],
    ]);
  });

  it("parks voids like orders: counted per point, re-driven by void id, by their order's id, by point or all, and re-forwarded with a lost sale", async () => {
    const [a1, a2] = makeOrders('a', 2);
    const [b1] = makeOrders('b', 1);
    const voids = [makeVoid(a1!, 'wrong dish'), makeVoid(a2!, 'rang twice'), makeVoid(b1!, 'left')];
    await store.enqueue(committed([a1!, a2!, b1!], 1000), 1000);
    await store.enqueueVoids(voids.map((record) => ({ ...record, receivedAt: 1000 })), 1000);
    await store.apply([a1!, a2!, b1!].map((order) => ({ orderId: order.id, to: 'forwarded' }) as const), 1100);
    await store.apply(voids.map((record) => ({ orderId: record.orderId, voidId: record.id, to: 'parked', error: 'HTTP 400' }) as const), 1200);
    expect(await store.voidBacklog()).toEqual({ pending: 0, waitingForSale: 0, parked: 3, forwarded: 0 });
    expect(await store.byPoint()).toEqual([
      { pointId: 'a', pending: 0, parked: 0, parkedVoids: 2, oldestReceivedAt: null },
      { pointId: 'b', pending: 0, parked: 0, parkedVoids: 1, oldestReceivedAt: null },
    ]);
    expect(await store.redrive({ ids: [voids[0]!.id] }, 1300)).toEqual({ orders: [], voids: [{ voidId: voids[0]!.id, orderId: a1!.id, pointId: 'a' }] });
    expect(await store.redrive({ ids: [a2!.id] }, 1300)).toEqual({ orders: [], voids: [{ voidId: voids[1]!.id, orderId: a2!.id, pointId: 'a' }] });
    expect((await store.voidHeads(10)).map((head) => head.voidId).sort()).toEqual([voids[0]!.id, voids[1]!.id].sort());
    expect((await store.redrive({ pointId: 'b' }, 1300)).voids.map((record) => record.voidId)).toEqual([voids[2]!.id]);
    expect(await store.redrive({}, 1300)).toEqual({ orders: [], voids: [] });
    await store.apply(voids.map((record) => ({ orderId: record.orderId, voidId: record.id, to: 'forwarded' }) as const), 1400);
    // The books check found a1 missing: a1 goes again, and its void after it; b1's void stays forwarded.
    expect(await store.reforward({ ids: [a1!.id] }, 1500)).toBe(1);
    expect(await store.voidBacklog()).toEqual({ pending: 1, waitingForSale: 1, parked: 0, forwarded: 2 });
  });

  it('re-forwards forwarded orders since a time or by id, due now, and leaves pending and parked ones as they are', async () => {
    const orders = makeOrders('a', 5);
    await store.enqueue(committed(orders, 1000), 1000);
    await store.apply([{ orderId: orders[0]!.id, to: 'forwarded' }], 2000);
    await store.apply([{ orderId: orders[1]!.id, to: 'forwarded' }], 3000);
    await store.apply([{ orderId: orders[2]!.id, to: 'forwarded' }], 4000);
    await store.apply([{ orderId: orders[3]!.id, to: 'parked', error: 'HTTP 400' }], 4000);
    const signals: ForwardSignal[] = [];
    const unsubscribe = store.onSignal((signal) => signals.push(signal));
    expect(await store.reforward({ since: 3000 }, 5000)).toBe(2);
    await waitFor(() => signals.length > 0, 'the re-forward to signal the queue');
    unsubscribe();
    expect(await store.statuses(orders.map((order) => order.id))).toEqual(
      new Map([
        [orders[0]!.id, 'forwarded'],
        [orders[1]!.id, 'pending'],
        [orders[2]!.id, 'pending'],
        [orders[3]!.id, 'parked'],
        [orders[4]!.id, 'pending'],
      ]),
    );
    expect((await store.heads())[0]).toMatchObject({ orderId: orders[1]!.id, attempts: 0, nextAttemptAt: 5000 });
    expect(await store.reforward({ ids: [orders[0]!.id, orders[1]!.id, orders[3]!.id] }, 6000)).toBe(1); // only the forwarded one moves
    expect(await store.reforward({ since: 0 }, 6000)).toBe(0);
    expect(await store.forwardedCount()).toBe(0);
  });

  it('lists the forwarded orders central received in a window, by point and seq', async () => {
    const early = makeOrders('a', 2);
    const inWindow = [...makeOrders('b', 2), ...makeOrders('a', 2, 3)];
    await store.enqueue(committed(early, 1000), 1000);
    await store.enqueue(committed(inWindow, 5000), 5000);
    await store.apply([...early, ...inWindow].slice(0, 5).map((order) => ({ orderId: order.id, to: 'forwarded' }) as const), 6000);
    const listed = await store.forwardedBetween(2000, 10_000, null);
    expect(listed.map((order) => order.number)).toEqual(['a-000003', 'b-000001', 'b-000002']); // a-000004 is still pending
    expect(listed[0]).toEqual({ orderId: inWindow[2]!.id, pointId: 'a', number: 'a-000003', forwardedAt: 6000 });
    expect((await store.forwardedBetween(0, 10_000, 'a')).map((order) => order.number)).toEqual(['a-000001', 'a-000002', 'a-000003']);
    expect(await store.forwardedBetween(5000, 5000, null)).toEqual([]);
  });

  it('keeps small values and an audit, newest first', async () => {
    expect(await store.meta('live')).toBeNull();
    await store.setMeta('live', '{"a":1}');
    await store.setMeta('live', '{"a":2}');
    expect(await store.meta('live')).toBe('{"a":2}');
    await store.audit({ at: 1, by: 'nino', action: 'redrive', count: 2, detail: 'first' });
    await store.audit({ at: 2, by: 'runbook database', action: 'reforward', count: 40, detail: 'second' });
    expect(await store.auditLog(1)).toEqual([{ at: 2, by: 'runbook database', action: 'reforward', count: 40, detail: 'second' }]);
    expect((await store.auditLog(10)).map((entry) => entry.detail)).toEqual(['second', 'first']);
  });

  it("passes a signal to this store's listeners until they unsubscribe", async () => {
    const heard: ForwardSignal[] = [];
    const unsubscribe = store.onSignal((signal) => heard.push(signal));
    // Listening may take a moment to start (PostgreSQL's LISTEN connection): signal until heard.
    await waitFor(
      async () => {
        await store.signal({ kind: 'books', pointId: 'tbilisi-01' });
        return heard.some((signal) => signal.kind === 'books');
      },
      'the books signal',
      10_000,
      100,
    );
    expect(heard.find((signal) => signal.kind === 'books')).toEqual({ kind: 'books', pointId: 'tbilisi-01' });
    unsubscribe();
    const count = heard.length;
    await store.signal({ kind: 'books', pointId: null });
    await store.forwardedCount(); // a round trip after the signal
    expect(heard).toHaveLength(count);
  });
}
