import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteCentralStore } from '../../central/store/sqlite.js';
import { ForwardStore, forwardBacklog, UPSTREAM_MIGRATIONS } from '../../central/upstream/store.js';
import { migrate } from '../../central/migrations.js';
import { tempDir } from '../helpers/hotpot.js';
import { makeOrders } from './orders.js';

describe('forward state in central SQLite', () => {
  const open: SqliteCentralStore[] = [];
  afterEach(() => {
    for (const store of open.splice(0)) store.close();
  });
  function centralStore(file = join(tempDir('forward-store'), 'central.db')): SqliteCentralStore {
    const store = new SqliteCentralStore(file);
    migrate(store.db, 'upstream', UPSTREAM_MIGRATIONS, 0);
    open.push(store);
    return store;
  }
  /** What the forward loop does on each pull: queue what was committed after the watermark. */
  function queueCommitted(central: SqliteCentralStore, forward: ForwardStore, now: number): number {
    return forward.enqueue(central.listOrders({ after: forward.watermark() ?? undefined, limit: 1000 }), now);
  }

  it('queues every committed order after the watermark, even ones committed while nothing listened', () => {
    const central = centralStore();
    expect(forwardBacklog(central.db, 0)).toBeNull();
    central.commitOrders(makeOrders('a', 3), 1000);
    const forward = new ForwardStore(central.db);
    expect(forward.watermark()).toBeNull();
    expect(queueCommitted(central, forward, 1000)).toBe(3);
    const later = [...makeOrders('b', 2), ...makeOrders('a', 1, 4)];
    central.commitOrders(later, 2000);
    expect(queueCommitted(central, forward, 2000)).toBe(3);
    expect(forward.watermark()).toBe(later[2]!.id);
    expect(queueCommitted(central, forward, 2000)).toBe(0);
    expect(forward.enqueue(central.listOrders({ limit: 1000 }), 3000)).toBe(0); // queuing again changes nothing
    expect(forward.order(later[0]!.id)).toEqual(later[0]);
    expect(forwardBacklog(central.db, 5000)).toEqual({ size: 6, pending: 6, parked: 0, oldestReceivedAt: 1000, oldestAgeMs: 4000, oldestPendingAt: 1000 });
  });

  it("offers each point's lowest pending seq, and the next one once it is forwarded or parked", () => {
    const central = centralStore();
    const [a1, a2, a3] = makeOrders('a', 3);
    const [b1] = makeOrders('b', 1);
    central.commitOrders([a3!, b1!, a1!, a2!], 1000); // out of seq order, as a resend can be
    const forward = new ForwardStore(central.db);
    queueCommitted(central, forward, 1000);
    const seqs = () => Object.fromEntries(forward.heads().map((head) => [head.pointId, head.seq]));
    expect(seqs()).toEqual({ a: 1, b: 1 });
    forward.apply([{ orderId: a1!.id, to: 'forwarded' }, { orderId: b1!.id, to: 'parked', error: 'HTTP 400' }], 1100);
    expect(seqs()).toEqual({ a: 2 });
    forward.apply([{ orderId: a2!.id, to: 'retry', error: 'HTTP 503', nextAttemptAt: 9000 }], 1200);
    expect(forward.heads()).toEqual([expect.objectContaining({ orderId: a2!.id, attempts: 1, nextAttemptAt: 9000 })]);
    expect(forward.retryNow(1300)).toBe(1);
    expect(forward.heads()[0]!.nextAttemptAt).toBe(1300);
    expect(forward.order(a2!.id)).toEqual(a2);
    expect(forward.backlog(2000)).toMatchObject({ size: 3, pending: 2, parked: 1 });
    expect(forward.forwardedCount()).toBe(1);
    expect(forward.byPoint()).toEqual([
      { pointId: 'a', pending: 2, parked: 0, oldestReceivedAt: 1000 },
      { pointId: 'b', pending: 0, parked: 1, oldestReceivedAt: 1000 },
    ]);
  });

  it('re-drives parked orders by id, by point or all, and survives reopening the file', () => {
    const file = join(tempDir('forward-redrive'), 'central.db');
    let central = centralStore(file);
    const orders = [...makeOrders('a', 3), ...makeOrders('b', 2)];
    central.commitOrders(orders, 1000);
    let forward = new ForwardStore(central.db);
    queueCommitted(central, forward, 1000);
    forward.apply(orders.map((order) => ({ orderId: order.id, to: 'parked', error: 'HTTP 400: no' }) as const), 1100);
    expect(forward.parked(10, 'b').map((p) => p.number)).toEqual(['b-000002', 'b-000001']);
    expect(forward.redrive({ ids: [orders[0]!.id] }, 1200)).toEqual([{ orderId: orders[0]!.id, pointId: 'a' }]);
    expect(forward.redrive({ pointId: 'b' }, 1200).map((o) => o.orderId).sort()).toEqual([orders[3]!.id, orders[4]!.id].sort());

    central.close();
    open.splice(0);
    central = centralStore(file);
    forward = new ForwardStore(central.db);
    expect(forward.backlog(2000)).toMatchObject({ pending: 3, parked: 2 });
    expect(forward.redrive({}, 1300)).toHaveLength(2);
    expect(forward.redrive({}, 1300)).toEqual([]);
    expect(forward.heads().map((h) => [h.pointId, h.seq, h.attempts])).toEqual([
      ['a', 1, 0],
      ['b', 1, 0],
    ]);
  });
});
