import { describe, expect, it } from 'vitest';
import { parseTopic, topics, agentFilters } from '../../sync/topics.js';
import { decodePayload, OrdersMessage, OrderRecord, orderNumber, StatusMessage, MAX_PAYLOAD_BYTES } from '../../sync/schemas.js';
import { uuidv7, UUID_V7 } from '../../lib/uuidv7.js';

function order(overrides: Partial<OrderRecord> = {}): OrderRecord {
  return {
    id: uuidv7(),
    pointId: 'tbilisi-01',
    seq: 7,
    number: orderNumber('tbilisi-01', 7),
    createdAt: 1_700_000_000_000,
    items: [{ sku: 'tofu', name: 'Tofu', unitPrice: 600, qty: 2, lineTotal: 1200 }],
    total: 1200,
    currency: 'GEL',
    payment: 'cash',
    note: null,
    clientRef: null,
    mode: 'offline',
    ...overrides,
  };
}

describe('v1 topic map', () => {
  it('builds and parses every point topic', () => {
    expect(parseTopic(topics.pointOrders('batumi-02'))).toEqual({ kind: 'orders', pointId: 'batumi-02' });
    expect(parseTopic(topics.pointStatus('a'))).toEqual({ kind: 'status', pointId: 'a' });
    expect(parseTopic(topics.pointCommand('a', 'resync'))).toEqual({ kind: 'command', pointId: 'a', name: 'resync' });
    expect(parseTopic(topics.pointCommandResult('a', 'reprint'))).toEqual({ kind: 'commandResult', pointId: 'a', name: 'reprint' });
    expect(parseTopic(topics.menu())).toEqual({ kind: 'menu' });
    expect(parseTopic(topics.centralStatus())).toEqual({ kind: 'centralStatus' });
  });

  it('refuses unknown topics, bad point ids and unknown commands', () => {
    expect(parseTopic('hotpot/v1/points/a/orders/extra')).toBeNull();
    expect(parseTopic('hotpot/v1/points/UPPER/orders')).toBeNull();
    expect(parseTopic('hotpot/v1/points/a/cmd/format-disk')).toBeNull();
    expect(parseTopic('hotpot/v2/points/a/orders')).toBeNull();
  });

  it('lets an agent subscribe only under its own point and the shared read-only topics', () => {
    for (const filter of agentFilters('kutaisi-01')) {
      expect(filter.startsWith('hotpot/v1/points/kutaisi-01/') || filter === topics.menu() || filter === topics.centralStatus()).toBe(true);
    }
  });
});

describe('payload schemas', () => {
  it('accepts a consistent order and carries ts on the message', () => {
    const decoded = decodePayload(OrdersMessage, Buffer.from(JSON.stringify({ ts: 1, orders: [order()] })));
    expect(decoded.ok).toBe(true);
  });

  it.each([
    ['fractional money', { total: 12.5 }, 'total'],
    ['a wrong total', { total: 1 }, 'total'],
    ['a number that is not <pointId>-<seq>', { number: 'tbilisi-01-9' }, 'number'],
    ['a non-v7 id', { id: '123e4567-e89b-12d3-a456-426614174000' }, 'id'],
  ])('rejects %s naming the field', (_label, overrides, field) => {
    const decoded = decodePayload(OrdersMessage, Buffer.from(JSON.stringify({ ts: 1, orders: [order(overrides as Partial<OrderRecord>)] })));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.reason).toBe('bad_schema');
      expect(decoded.detail).toContain(field);
    }
  });

  it('classifies bad JSON and oversize payloads', () => {
    const bad = decodePayload(StatusMessage, Buffer.from('{"online": tru'));
    expect(bad.ok ? null : bad.reason).toBe('bad_json');
    const big = decodePayload(StatusMessage, Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 32));
    expect(big.ok ? null : big.reason).toBe('too_large');
  });
});

describe('uuidv7', () => {
  it('is a valid v7 and sorts in creation order within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => uuidv7(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
