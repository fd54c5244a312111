import { describe, expect, it } from 'vitest';
import { backlogOverdue, backoffMs, classifyExchange, parkedIncidentChanges, planDispatch, type QueueHead } from '../../central/upstream/decisions.js';
import { toUpstreamBody, toUpstreamVoidBody } from '../../central/upstream/body.js';
import { upstreamConfigSchema } from '../../central/upstream/config.js';
import { OrderRecord, VoidRecord } from '../../sync/schemas.js';
import { makeOrders, makeVoid } from './orders.js';

const PERMANENT = new RegExp(upstreamConfigSchema.parse({}).permanentErrorPattern, 'i');
const ok = (body: unknown) => ({ status: 200, text: JSON.stringify(body) });

describe('classifyExchange', () => {
  it('counts only success: true as forwarded in the tagged form', () => {
    expect(classifyExchange(ok({ success: true, data: { sale_id: 'x' }, error: null }), 'recordSale', PERMANENT)).toEqual({ kind: 'forwarded' });
    const failed = classifyExchange(ok({ success: false, data: null, error: 'database unavailable' }), 'recordSale', PERMANENT);
    expect(failed.kind).toBe('transient');
    expect(failed).toMatchObject({ error: expect.stringContaining('database unavailable') });
  });

  it('parks success: false with a validation error, whatever its shape', () => {
    expect(classifyExchange(ok({ success: false, error: 'validation error: unknown item_id' }), 'recordSale', PERMANENT).kind).toBe('permanent');
    expect(classifyExchange(ok({ success: false, error: { kind: 'validation', field: 'items' } }), 'recordSale', PERMANENT).kind).toBe('permanent');
    expect(classifyExchange(ok({ success: false, error: 'missing pos_id' }), 'recordSale', PERMANENT).kind).toBe('permanent');
  });

  it('retries network failures, 5xx, 408 and 429; parks other 4xx', () => {
    expect(classifyExchange({ error: 'POST http://x/: connect ECONNREFUSED' }, 'recordSale', PERMANENT).kind).toBe('transient');
    for (const status of [500, 502, 503, 504, 408, 429]) {
      expect(classifyExchange({ status, text: '' }, 'recordSale', PERMANENT).kind, `HTTP ${status}`).toBe('transient');
    }
    for (const status of [400, 401, 403, 404, 409, 422]) {
      const outcome = classifyExchange({ status, text: '{"error":"no"}' }, 'recordSale', PERMANENT);
      expect(outcome.kind, `HTTP ${status}`).toBe('permanent');
      expect(outcome).toMatchObject({ error: expect.stringContaining(`HTTP ${status}`) });
    }
  });

  it('treats a 200 without the envelope as forwarded in the plain form only', () => {
    expect(classifyExchange({ status: 201, text: '' }, 'plain', PERMANENT).kind).toBe('forwarded');
    expect(classifyExchange({ status: 200, text: '<html>proxy</html>' }, 'recordSale', PERMANENT).kind).toBe('transient');
    expect(classifyExchange(ok({ success: false, error: 'invalid total' }), 'plain', PERMANENT).kind).toBe('permanent');
  });
});

describe('backoffMs', () => {
  it('doubles from base up to max, with half of it jitter', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(4, 1000, 60_000, () => 0)).toBe(4000);
    expect(backoffMs(50, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffMs(10_000, 1000, 60_000, () => 0.5)).toBe(45_000);
  });
});

describe('planDispatch', () => {
  const head = (pointId: string, seq: number, nextAttemptAt: number, receivedAt = seq): QueueHead => ({
    orderId: `${pointId}-${seq}`,
    pointId,
    seq,
    attempts: 0,
    nextAttemptAt,
    receivedAt,
  });

  it('sends due heads of idle points, oldest first, up to the free slots', () => {
    const heads = [head('a', 5, 0, 30), head('b', 1, 0, 10), head('c', 9, 0, 20), head('d', 2, 0, 5)];
    const plan = planDispatch(heads, new Set(['d']), 2, 100);
    expect(plan.send.map((h) => h.pointId)).toEqual(['b', 'c']);
    expect(plan.wakeAt).toBeNull();
  });

  it('waits for the soonest backoff of an idle point, never a busy one', () => {
    const plan = planDispatch([head('a', 1, 500), head('b', 1, 300), head('c', 1, 200)], new Set(['c']), 8, 100);
    expect(plan.send).toEqual([]);
    expect(plan.wakeAt).toBe(300);
  });
});

describe('backlog and parked incidents', () => {
  it('fires the backlog alert at the threshold and not before', () => {
    expect(backlogOverdue(null, 10_000, 1000)).toBe(false);
    expect(backlogOverdue(9_001, 10_000, 1000)).toBe(false);
    expect(backlogOverdue(9_000, 10_000, 1000)).toBe(true);
  });

  it('raises a point when its parked count changes and clears it at zero', () => {
    const changes = parkedIncidentChanges(
      new Map([['a', 1], ['b', 2]]),
      new Map([['a', 1], ['b', 3], ['c', 1], ['d', 0]]),
    );
    expect(changes.raise).toEqual([{ pointId: 'b', parked: 3 }, { pointId: 'c', parked: 1 }]);
    expect(changes.clear).toEqual([]);
    expect(parkedIncidentChanges(new Map([['a', 1], ['b', 2]]), new Map([['b', 0]])).clear).toEqual(['a', 'b']);
    // 0: an incident left open by a previous run, count unknown: raised again or cleared on the first check.
    expect(parkedIncidentChanges(new Map([['a', 0], ['b', 0]]), new Map([['b', 2]]))).toEqual({ raise: [{ pointId: 'b', parked: 2 }], clear: ['a'] });
  });
});

describe('voids', () => {
  it('go in their own lane: a void does not wait for its point, nor the point for it', () => {
    const sale: QueueHead = { orderId: 'o2', pointId: 'p', seq: 2, attempts: 0, nextAttemptAt: 0, receivedAt: 5 };
    const voided: QueueHead = { orderId: 'o1', voidId: 'v1', pointId: 'p', seq: 1, attempts: 0, nextAttemptAt: 0, receivedAt: 6 };
    expect(planDispatch([sale, voided], new Set(['p']), 8, 10).send).toEqual([voided]);
    expect(planDispatch([sale, voided], new Set(['void:v1']), 8, 10).send).toEqual([sale]);
  });

  it('become a VoidSale naming the sale, or go as the plain record', () => {
    const [order] = makeOrders('tbilisi-01', 1);
    const record = makeVoid(order!, 'customer left');
    expect(toUpstreamVoidBody(record, 'voidSale')).toEqual({ VoidSale: { sale_id: order!.id, void_id: record.id, reason: 'customer left', voided_at: record.voidedAt } });
    expect(VoidRecord.parse(toUpstreamVoidBody(record, 'plain'))).toEqual(record);
  });

  it('are configured by upstream.voidUrl and upstream.voidBody', () => {
    expect(upstreamConfigSchema.parse({ url: 'http://main/api/sales' })).toMatchObject({ voidBody: 'voidSale' });
    expect(upstreamConfigSchema.safeParse({ voidBody: 'recordSale' }).error?.issues[0]?.path).toEqual(['voidBody']);
    expect(upstreamConfigSchema.safeParse({ voidUrl: 'ftp://main' }).error?.issues[0]).toMatchObject({ path: ['voidUrl'], message: 'must be an http:// or https:// URL' });
  });
});

describe('toUpstreamBody', () => {
  const [order] = makeOrders('tbilisi-01', 1);

  it('sends the order record itself in the plain form', () => {
    expect(OrderRecord.parse(toUpstreamBody(order!, 'plain', { points: {} }))).toEqual(order);
  });

  it('maps to RecordSale: our id as sale id, totals and unit prices in subunits, ids from the config', () => {
    const body = toUpstreamBody(order!, 'recordSale', { nodeId: 7, points: { 'tbilisi-01': { posId: 'pos-12' } } });
    expect(body).toEqual({
      RecordSale: {
        sale_id: order!.id,
        node_id: 7,
        pos_id: 'pos-12',
        price_subunits: order!.total,
        items: order!.items.map((item) => ({ item_id: item.sku ?? item.name, quantity: item.qty, price_subunits: item.unitPrice })),
        buyer_meta: expect.objectContaining({ order_number: order!.number, point_id: 'tbilisi-01', currency: 'GEL' }),
      },
    });
    const unmapped = toUpstreamBody(order!, 'recordSale', { points: {} });
    expect(unmapped).toMatchObject({ RecordSale: { node_id: 'tbilisi-01', pos_id: 'tbilisi-01' } });
  });
});
